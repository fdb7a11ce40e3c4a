"""Two real daemons, one hardened and one exposed, scanned end to end: every check that judges a
setting in which they differ must flip between them, with evidence naming what it saw.

Both daemons (tests/support/dockerd.py) run in network namespaces of their own: judging icc needs
a default bridge, and icc off needs iptables, which dockerd would otherwise set up (flushing the
DOCKER chains) in the host's tables that other daemons use. Each namespace has its own docker0,
iptables and ports, and disappears with its daemon. The scans run in the daemon's namespace too,
so the probe's /proc/net/tcp is the one where the daemon listens, as on a real host.

Started once for the module; a daemon that cannot start is a failure, never a skip.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.cli_run import DOCKBENCH, by_id, load_report
from tests.support import dockerd

# A port of the exposed daemon's own namespace, where nothing else listens.
TCP_PORT = 2375
TCP_LISTENER = f"tcp://127.0.0.1:{TCP_PORT}"
INSECURE = ["10.20.30.40:5000", "127.0.0.1:5000"]

SCENARIOS = {
    "hardened": {
        "config": {
            "icc": False,
            "live-restore": True,
            "no-new-privileges": True,
            "userland-proxy": False,
            "log-level": "info",
            "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 1024, "Soft": 1024}},
        },
        "args": (),
        "modes": {"daemon.json": 0o644, "docker.sock": 0o660},
    },
    "exposed": {
        "config": {"insecure-registries": INSECURE, "debug": True},
        # --tls=false: Docker 27+ refuses an unencrypted TCP listener unless told so explicitly;
        # 20.10 only warns and waits a second before it listens.
        "args": ("--host", TCP_LISTENER, "--tls=false"),
        "modes": {"daemon.json": 0o666, "docker.sock": 0o666},
    },
}


def start_and_scan(name: str, root: Path) -> dict:
    scenario = SCENARIOS[name]
    try:
        host = dockerd.start(root, config=scenario["config"], args=scenario["args"], own_netns=True)
    except dockerd.DaemonError as exc:
        pytest.fail(f"cannot start the {name} dockerd: {exc}", pytrace=False)
    for filename, mode in scenario["modes"].items():
        os.chmod(root / filename, mode)
    report, facts = root / "report.json", root / "facts.json"
    done = subprocess.run(
        [*dockerd.in_netns(root), DOCKBENCH, "scan", "--docker-host", host, "-o", report, "--facts-out", facts],
        check=False, capture_output=True, text=True, timeout=300,
    )
    if done.returncode not in (0, 1) or not report.exists():
        pytest.fail(f"dockbench scan of the {name} daemon exited {done.returncode}:\n{done.stderr}", pytrace=False)
    return {"root": root, "host": host, "results": by_id(load_report(report)), "facts": json.loads(facts.read_text())}


@pytest.fixture(scope="module")
def scans():
    roots = {name: Path(tempfile.mkdtemp(prefix=f"dbt-{name[:4]}-", dir="/tmp")) for name in SCENARIOS}
    try:
        yield {name: start_and_scan(name, root) for name, root in roots.items()}
    finally:
        for root in roots.values():
            dockerd.stop(root, remove=True)


def described(path: Path, kind: str) -> str:
    """How the probe should describe `path`, from our own stat of it."""
    st = path.stat()
    return f"{kind} {pwd.getpwuid(st.st_uid).pw_name}:{grp.getgrgid(st.st_gid).gr_name} {st.st_mode & 0o7777:04o}"


def verdict(scan: dict, check_id: str) -> tuple[str, list]:
    result = scan["results"][check_id]
    return result["status"], [(e["subject"], e["observed"]) for e in result["evidence"]]


def expected_flips(hardened: Path, exposed: Path) -> dict[str, tuple[tuple, tuple]]:
    """check id -> (hardened verdict, exposed verdict)."""
    h_json, e_json = hardened / "daemon.json", exposed / "daemon.json"
    h_sock, e_sock = dockerd.socket_path(hardened), dockerd.socket_path(exposed)
    return {
        "daemon-icc-disabled": (
            ("PASS", [("network bridge", "com.docker.network.bridge.enable_icc=false")]),
            ("FAIL", [("network bridge", "com.docker.network.bridge.enable_icc=true")]),
        ),
        "daemon-live-restore": (
            ("PASS", [("docker info", "LiveRestoreEnabled=true")]),
            ("FAIL", [("docker info", "LiveRestoreEnabled=false")]),
        ),
        "daemon-no-new-privileges": (
            ("PASS", [("no-new-privileges", f"True ({h_json})")]),
            ("FAIL", [("no-new-privileges", "False (not set: daemon default)")]),
        ),
        "daemon-userland-proxy-disabled": (
            ("PASS", [("userland-proxy", f"False ({h_json})")]),
            ("FAIL", [("userland-proxy", "True (not set: daemon default)")]),
        ),
        "daemon-log-level-info": (
            ("PASS", [("log-level", f"'info' ({h_json})"), ("debug", "False (not set: daemon default)")]),
            ("FAIL", [("log-level", "'info' (not set: daemon default)"), ("debug", f"True ({e_json})"),
                      ("docker info", "Debug=true")]),
        ),
        "registry-no-insecure": (
            ("PASS", [("docker info", ["127.0.0.0/8"])]),
            ("FAIL", [("docker info", ["127.0.0.0/8", *INSECURE])]),
        ),
        "tls-tcp-requires-client-certs": (
            ("NOT_APPLICABLE", [("hosts", f"['unix://{h_sock}'] (dockerd command line)")]),
            ("FAIL", [("listeners", [TCP_LISTENER]), ("tlsverify", None), ("tlscacert", None),
                      ("tlscert", None), ("tlskey", None)]),
        ),
        "daemon-api-tls": (
            ("NOT_APPLICABLE", [("hosts", f"['unix://{h_sock}'] (dockerd command line)"), ("listening", "nothing on ports 2375/2376")]),
            ("FAIL", [(TCP_LISTENER, f"dockerd command line; binds 127.0.0.1:{TCP_PORT}; listening: 127.0.0.1:{TCP_PORT}"), ("tls", "TLS is off")]),
        ),
        "daemon-api-loopback-only": (
            ("NOT_APPLICABLE", [("hosts", f"['unix://{h_sock}'] (dockerd command line)")]),
            ("PASS", [(TCP_LISTENER, f"loopback; dockerd command line; binds 127.0.0.1:{TCP_PORT}; listening: 127.0.0.1:{TCP_PORT}")]),
        ),
        "daemon-default-ulimits": (
            ("MANUAL", [("default-ulimits", f"['nofile=1024:1024'] ({h_json})")]),
            ("MANUAL", [("default-ulimits", "not set")]),
        ),
        "perm-daemon-json-mode": (
            ("PASS", [(str(h_json), described(h_json, "file"))]),
            ("FAIL", [(str(e_json), described(e_json, "file"))]),
        ),
        "perm-docker-sock-mode": (
            ("PASS", [(str(h_sock), described(h_sock, "socket"))]),
            ("FAIL", [(str(e_sock), described(e_sock, "socket"))]),
        ),
    }


def test_each_setting_flips_its_check_with_evidence(scans):
    hardened, exposed = scans["hardened"], scans["exposed"]
    flips = expected_flips(hardened["root"], exposed["root"])
    measured = {check_id: (verdict(hardened, check_id), verdict(exposed, check_id)) for check_id in flips}
    assert measured == flips


def test_modes_were_set_as_the_scenarios_say(scans):
    """Guards the test itself: the perm verdicts above are judged on the modes we meant."""
    for name, scan in scans.items():
        for filename, mode in SCENARIOS[name]["modes"].items():
            assert (scan["root"] / filename).stat().st_mode & 0o7777 == mode, (name, filename)


def test_each_daemon_is_selected_by_its_socket(scans):
    """Daemon options from the command line count only if the scan attributed the right dockerd."""
    for name, scan in scans.items():
        daemon = scan["facts"]["daemon"]
        assert daemon["selected_by"] == "socket", name
        assert daemon["config"]["path"] == str(scan["root"] / "daemon.json")
        assert daemon["config"]["data"] == SCENARIOS[name]["config"]
    assert scans["exposed"]["facts"]["daemon"]["argv"][-3:] == ["--host", TCP_LISTENER, "--tls=false"]


def test_the_tcp_listener_shows_in_the_snapshot(scans):
    assert scans["exposed"]["facts"]["listening"] == [{"address": "127.0.0.1", "port": TCP_PORT}]
    assert scans["hardened"]["facts"]["listening"] == []
