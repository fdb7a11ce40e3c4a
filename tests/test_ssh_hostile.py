"""Hostile hosts in a real sweep over real sshd: one floods the probe's stdout, one its stderr,
one trickles a byte at a time to stay alive. Each ends with its own error within its limit and
the host timeout, the auditor's memory stays bounded, and every healthy host is reported and
archived (issue 21)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from tests.cli_run import DOCKBENCH, dockbench, load_report
from tests.support.sshd import Lab

HOST_TIMEOUT = 8
MAX_PROBE_BYTES = 8 << 20
FLOOD = 2 << 30  # what a flooding host would send: 2 GiB of zeros, 256 times the limit
# Peak RSS of the whole `dockbench scan` process. A sweep of a few hosts peaks near 100 MB;
# issue 21 measured 2.98 GB for a 1.5 GB flood before the bound.
RSS_BOUND_MB = 400
# Runs the sweep and prints its peak RSS (KiB): the only child this process waits for.
_MEASURED = "import resource, subprocess, sys; subprocess.run(sys.argv[1:]); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"


@pytest.fixture(scope="module")
def lab(docker_daemon):
    lab = Lab(Path(tempfile.mkdtemp(prefix="dbt-sshhostile-")))
    try:
        healthy = [lab.start(f"ok{i}", f"127.0.0.{60 + i}") for i in range(1, 4)]
        hostile = {
            "floods-stdout": lab.start("floods-stdout", "127.0.0.71", extra_config=f"ForceCommand cat >/dev/null; head -c {FLOOD} /dev/zero"),
            "floods-stderr": lab.start("floods-stderr", "127.0.0.72", extra_config=f"ForceCommand cat >/dev/null; head -c {FLOOD} /dev/zero >&2"),
            "trickles": lab.start("trickles", "127.0.0.73", extra_config="ForceCommand cat >/dev/null; while :; do printf @; sleep 0.2; done"),
        }
    except Exception as exc:
        lab.stop()
        pytest.fail(f"cannot start the sshd lab: {exc}", pytrace=False)
    inventory = {
        "defaults": {"user": "root", "key": str(lab.client_key), "docker_host": docker_daemon.host},
        "hosts": {s.name: {"host": s.address, "port": s.port} for s in healthy + list(hostile.values())},
    }
    lab.inventory_file = lab.directory / "inventory.yaml"
    lab.inventory_file.write_text(yaml.safe_dump(inventory))
    lab.known_hosts_file = lab.known_hosts(lab.directory / "known_hosts", healthy + list(hostile.values()))
    lab.healthy = healthy
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def sweep(lab, tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile")
    out, archive = work / "sweep.json", work / "archive.db"
    command = [DOCKBENCH, "scan", "--inventory", lab.inventory_file, "--known-hosts", lab.known_hosts_file, "--ssh-config", "/dev/null",
               "--timeout", HOST_TIMEOUT, "--connect-timeout", 3, "--max-probe-bytes", MAX_PROBE_BYTES, "--archive", archive,
               "-q", "--fail-on", "never", "-o", out]
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _MEASURED, *map(str, command)], capture_output=True, text=True, timeout=300)
    return {"elapsed": time.monotonic() - began, "peak_kib": int(done.stdout.split()[-1]), "document": load_report(out), "archive": archive, "stderr": done.stderr}


def test_each_hostile_host_ends_with_its_own_error(sweep):
    errors = {e["name"]: e for e in sweep["document"]["errors"]}
    assert {name: e["kind"] for name, e in errors.items()} == {"floods-stdout": "probe_too_large", "floods-stderr": "probe_too_large", "trickles": "timeout"}
    assert errors["floods-stdout"]["message"] == f"floods-stdout: the probe sent more than {MAX_PROBE_BYTES:,} bytes on stdout; the host was abandoned"
    assert errors["floods-stderr"]["message"] == "floods-stderr: the probe sent more than 1,048,576 bytes on stderr; the host was abandoned"
    assert errors["trickles"]["message"] == f"trickles: gave up after the host timeout of {HOST_TIMEOUT} s"


def test_the_auditor_memory_stays_bounded(sweep):
    print(f"peak RSS of the sweep: {sweep['peak_kib'] // 1024} MB in {sweep['elapsed']:.1f} s")
    assert sweep["peak_kib"] < RSS_BOUND_MB * 1024, f"peak RSS {sweep['peak_kib'] // 1024} MB"


def test_a_trickling_host_does_not_outlive_the_host_timeout(sweep):
    assert sweep["elapsed"] < HOST_TIMEOUT + 20  # the hosts run at once: one timeout, plus start-up and judging


def test_every_healthy_host_is_reported_and_archived(sweep, lab):
    names = sorted(s.name for s in lab.healthy)
    assert sorted(h["target"]["name"] for h in sweep["document"]["hosts"]) == names
    rows = json.loads(dockbench("history", "--json", "--archive", sweep["archive"]).stdout)
    assert sorted(row["host"] for row in rows) == names
