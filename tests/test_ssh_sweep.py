"""Fleet sweeps over real sshd processes on 127.0.0.x, probing the real test daemon.

Ten healthy hosts and one of each way a host can misbehave: a changed host key, an unknown
one, refused authentication, a closed port, a command that hangs, garbage output, truncated
output, and sudo that wants a password. Each must end as the right error entry, every healthy
host as a full report, and the sweep within its time bound.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import subprocess
import tempfile
import termios
import time
from pathlib import Path

import pytest
import yaml

from dockbench.benchmark.collect import probe
from tests.cli_run import DOCKBENCH, dockbench, load_report
from tests.support.sshd import Lab, free_port, keygen

HOST_TIMEOUT = 8
SUDO_USER = "dbt-sudo"


def ensure_sudo_user() -> None:
    """A login whose sudo asks for a password (an unusable one: '*' is not locked for sshd)."""
    if subprocess.run(["id", SUDO_USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", SUDO_USER], check=True)
    subprocess.run(["usermod", "-p", "*", SUDO_USER], check=True)
    Path(f"/etc/sudoers.d/{SUDO_USER}").write_text(f"{SUDO_USER} ALL=(ALL) ALL\n")


@pytest.fixture(scope="module")
def lab(docker_daemon):
    lab = Lab(Path(tempfile.mkdtemp(prefix="dbt-sshlab-")))
    ensure_sudo_user()
    try:
        healthy = [lab.start(f"h{i:02d}", f"127.0.0.{10 + i}") for i in range(1, 11)]
        broken = {
            "changed-key": lab.start("changed-key", "127.0.0.31"),
            "unknown-key": lab.start("unknown-key", "127.0.0.32"),
            "no-auth": lab.start("no-auth", "127.0.0.33", authorized=False),
            "hangs": lab.start("hangs", "127.0.0.34", extra_config="ForceCommand sleep 60"),
            "garbage": lab.start("garbage", "127.0.0.35", extra_config="ForceCommand cat >/dev/null; echo 'Permission granted. Welcome!'"),
            "truncated": lab.start("truncated", "127.0.0.36", extra_config="ForceCommand sh -s | head -c 3000"),
            "sudo-password": lab.start("sudo-password", "127.0.0.37"),
        }
    except Exception as exc:
        lab.stop()
        pytest.fail(f"cannot start the sshd lab: {exc}", pytrace=False)
    known = [s for s in healthy + list(broken.values()) if s.name != "unknown-key"]
    known_hosts = lab.known_hosts(lab.directory / "known_hosts", known)
    wrong_key = keygen(lab.directory / "impostor_key")
    changed = broken["changed-key"]
    text = known_hosts.read_text().replace(changed.known_hosts_line(), changed.known_hosts_line(wrong_key))
    known_hosts.write_text(text)
    closed_port = free_port("127.0.0.38")
    inventory = {
        "defaults": {"user": "root", "key": str(lab.client_key), "docker_host": docker_daemon.host},
        "groups": {
            "healthy": {"hosts": {s.name: {"host": s.address, "port": s.port} for s in healthy}},
            "broken": {
                "hosts": {
                    **{name: {"host": s.address, "port": s.port} for name, s in broken.items() if name != "sudo-password"},
                    "sudo-password": {"host": broken["sudo-password"].address, "port": broken["sudo-password"].port, "user": SUDO_USER, "sudo": True},
                    "closed-port": {"host": "127.0.0.38", "port": closed_port},
                }
            },
        },
    }
    inventory_file = lab.directory / "inventory.yaml"
    inventory_file.write_text(yaml.safe_dump(inventory))
    lab.healthy, lab.broken, lab.inventory_file, lab.known_hosts_file = healthy, broken, inventory_file, known_hosts
    yield lab
    lab.stop()


def sweep_args(lab, *extra) -> list[str]:
    return ["scan", "--inventory", lab.inventory_file, "--known-hosts", lab.known_hosts_file, "--ssh-config", "/dev/null",
            "--timeout", HOST_TIMEOUT, "--connect-timeout", 3, "--parallel", 8, "-q", *extra]


@pytest.fixture(scope="module")
def sweep(lab, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "sweep.json"
    began = time.monotonic()
    done = dockbench(*sweep_args(lab, "-o", out))
    return done, load_report(out), time.monotonic() - began


def test_every_broken_host_gets_its_own_error(sweep):
    done, document, _ = sweep
    errors = {e["name"]: e for e in document["errors"]}
    assert {name: e["kind"] for name, e in errors.items()} == {
        "changed-key": "host_key_changed",
        "unknown-key": "host_key_unknown",
        "no-auth": "auth_failed",
        "closed-port": "connection_refused",
        "hangs": "timeout",
        "garbage": "probe_malformed",
        "truncated": "probe_malformed",
        "sudo-password": "sudo_password_required",
    }
    assert "not in known_hosts" in errors["unknown-key"]["message"]
    assert "CHANGED" in errors["changed-key"]["message"]
    assert "truncated" in errors["truncated"]["message"]
    assert "no probe header" in errors["garbage"]["message"] or "unexpected bytes" in errors["garbage"]["message"]
    assert document["summary"]["by_error"]["probe_malformed"] == 2
    assert done.returncode == 1 | 4, done.stderr


def test_every_healthy_host_has_its_full_report(sweep, lab, docker_daemon):
    _, document, _ = sweep
    reports = {h["target"]["name"]: h for h in document["hosts"]}
    assert sorted(reports) == [s.name for s in lab.healthy]
    totals = {h["summary"]["total"] for h in reports.values()}
    assert len(totals) == 1 and totals.pop() > 60
    for name, report in reports.items():
        assert report["target"]["transport"] == "ssh"
        assert report["target"]["docker_status"] == "ok", name
        assert report["target"]["docker_host"] == docker_daemon.host
        assert 1 <= report["target"]["exec_channels"] <= 2, name
    assert document["summary"]["scanned"] == 10 and document["summary"]["unreachable"] == 8


def test_the_sweep_stays_within_its_time_bound(sweep):
    *_, elapsed = sweep
    # The hanging host is given up after HOST_TIMEOUT; nothing may hold the sweep much longer.
    assert elapsed < HOST_TIMEOUT * 2 + 10


def test_ssh_and_local_probes_see_the_same_facts(lab, docker_daemon, tmp_path):
    host = lab.healthy[0]
    remote, local = tmp_path / "remote.json", tmp_path / "local.json"
    done = dockbench("scan", host.url, "-i", lab.client_key, "--known-hosts", lab.known_hosts_file, "--ssh-config", "/dev/null",
                     "--docker-host", docker_daemon.host, "--facts-out", remote, "-o", tmp_path / "r.json", "-q", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    assert dockbench("scan", "--docker-host", docker_daemon.host, "--facts-out", local, "-o", tmp_path / "l.json", "-q", "--fail-on", "never").returncode == 0
    a, b = json.loads(remote.read_text()), json.loads(local.read_text())
    for key in ("host", "users", "groups", "audit", "daemon", "daemon_config", "sysctl", "lsm"):
        assert a[key] == b[key], key
    # Other dockerd processes may come and go between the two runs; what both saw must agree
    # (mtimes aside: procfs reports the time of the stat).
    common = set(a["files"]) & set(b["files"])
    assert len(common) > 40
    def without_mtime(files):
        return {p: {k: v for k, v in files[p].items() if k != "mtime"} for p in common}
    assert without_mtime(a["files"]) == without_mtime(b["files"])
    assert [c["Id"] for c in a["docker"]["containers"]] == [c["Id"] for c in b["docker"]["containers"]]
    assert a["docker"]["images"] == b["docker"]["images"]
    assert (a["target"]["transport"], b["target"]["transport"]) == ("ssh", "local")


def test_new_host_keys_only_with_the_flag(lab, tmp_path):
    host = lab.broken["unknown-key"]
    known_hosts = tmp_path / "known_hosts"
    args = [host.url, "-i", lab.client_key, "--known-hosts", known_hosts, "--ssh-config", "/dev/null", "--include", "host-docker-group-members", "-o", tmp_path / "r.json", "-q", "--fail-on", "never"]
    refused = dockbench("scan", *args)
    assert refused.returncode == 2 and "[host_key_unknown]" in refused.stderr
    assert not known_hosts.exists()
    accepted = dockbench("scan", *args, "--accept-new-host-keys")
    assert accepted.returncode == 0, accepted.stderr
    assert "recorded new host key" in accepted.stderr
    assert known_hosts.read_text().split()[:2] == [f"[{host.address}]:{host.port}", host.host_key.split()[0]]
    again = dockbench("scan", *args)
    assert again.returncode == 0, again.stderr


def test_a_changed_key_fails_even_when_accepting_new_ones(lab, tmp_path):
    host = lab.broken["changed-key"]
    done = dockbench("scan", host.url, "-i", lab.client_key, "--known-hosts", lab.known_hosts_file, "--ssh-config", "/dev/null",
                     "--accept-new-host-keys", "-o", tmp_path / "r.json", "-q")
    assert done.returncode == 2 and "[host_key_changed]" in done.stderr


def test_ssh_config_and_proxy_jump(lab, docker_daemon, tmp_path):
    target, jump = lab.healthy[1], lab.healthy[2]
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host audited\n  HostName {target.address}\n  Port {target.port}\n  User root\n  IdentityFile {lab.client_key}\n"
        f"  ProxyJump root@{jump.address}:{jump.port}\n"
        f"Host {jump.address}\n  IdentityFile {lab.client_key}\n"
    )
    out = tmp_path / "r.json"
    done = dockbench("scan", "ssh://audited", "--known-hosts", lab.known_hosts_file, "--ssh-config", config,
                     "--docker-host", docker_daemon.host, "-o", out, "-q", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    report = load_report(out)
    assert report["target"]["name"] == "audited"
    assert report["target"]["docker_status"] == "ok"
    sshd_log = (target.directory / "sshd.log").read_text()
    assert "error" not in sshd_log.lower()


def test_ctrl_c_writes_what_was_gathered(lab, tmp_path):
    out = tmp_path / "sweep.json"
    args = [DOCKBENCH, *map(str, sweep_args(lab, "--limit", "h0*,hangs", "--parallel", 2, "--timeout", 60, "-o", out))]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(4)
    began = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    assert time.monotonic() - began < 15
    document = load_report(out)
    assert document["interrupted"] is True
    names = {h["target"]["name"] for h in document["hosts"]} | {e["name"] for e in document["errors"]}
    assert names == {f"h0{i}" for i in range(1, 10)} | {"hangs"}
    assert document["hosts"], "hosts finished before Ctrl-C must be kept"
    assert {e["kind"] for e in document["errors"]} <= {"interrupted"}


def test_probe_bytes_survive_the_channel(lab):
    """The same script over a plain OpenSSH channel and a local sh: identical file records."""
    script = probe.build(root="/", docker_host="unix:///nonexistent.sock")
    host = lab.healthy[3]
    remote = probe.parse(subprocess.run(
        ["ssh", "-i", str(lab.client_key), "-o", f"UserKnownHostsFile={lab.known_hosts_file}", "-o", "BatchMode=yes",
         "-p", str(host.port), f"root@{host.address}", "sh -s"], input=script, capture_output=True, check=True).stdout)
    local = probe.parse(subprocess.run(["sh", "-s"], input=script, capture_output=True, check=True).stdout)
    static = [name for name in local if name.startswith(("read:/etc/", "stat:/etc/", "stat:/usr/"))]
    assert len(static) > 10
    assert {n: remote[n] for n in static} == {n: local[n] for n in static}


def test_unreachable_single_host_is_exit_2_with_the_reason(tmp_path):
    port = free_port("127.0.0.39")
    done = dockbench("scan", f"ssh://root@127.0.0.39:{port}", "--known-hosts", tmp_path / "kh", "--ssh-config", "/dev/null", "-o", tmp_path / "r.json")
    assert done.returncode == 2
    assert "[connection_refused]" in done.stderr


def test_sweep_facts_can_be_judged_again(lab, tmp_path):
    out, facts, again = tmp_path / "sweep.json", tmp_path / "facts.json", tmp_path / "again.json"
    done = dockbench(*sweep_args(lab, "--limit", "h01,h02", "--facts-out", facts, "-o", out, "--fail-on", "never"))
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(facts.read_text())["hosts"]) == ["h01", "h02"]
    assert dockbench("evaluate", facts, "-o", again, "-q", "--fail-on", "never").returncode == 0

    def verdicts(path):
        return {(h["target"]["name"], r["id"]): r["status"] for h in load_report(path)["hosts"] for r in h["results"]}

    assert verdicts(again) == verdicts(out)


def test_a_selection_matching_no_container_is_each_hosts_report_in_a_sweep_and_refused_for_one_host(lab, docker_daemon, tmp_path):
    out, facts = tmp_path / "sweep.json", tmp_path / "facts.json"
    args = sweep_args(lab, "--limit", "h01,h02", "--container", "nomatch*", "-o", out, "--facts-out", facts, "--fail-on", "never")
    args.remove("-q")
    done = dockbench(*args)
    assert done.returncode == 0, done.stderr   # the sweep goes on: each host says so
    document = load_report(out)
    for host in document["hosts"]:
        assert (host["scope"]["selected"], host["scope"]["selection_empty"]) == ([], True)
        containers = [r for r in host["results"] if r["layer"] == "containers" and r["status"] == "NOT_APPLICABLE"]
        assert any(r["message"] == f"no running containers matched the selection ({host['scope']['containers_total']} containers in total)" for r in containers)
    assert "\nscope cis-docker-1.8.0, every check · containers: running ones named nomatch*\n" in done.stdout
    lines = [line for line in done.stdout.splitlines() if line.startswith(("h01 ", "h02 "))]
    assert len(lines) == 2 and all(line.endswith("no container matched the selection") for line in lines)
    again = dockbench("evaluate", facts, "--container", "nomatch*", "-o", tmp_path / "again.json", "-q", "--fail-on", "never")   # a sweep's facts: as a sweep
    assert again.returncode == 0 and [h["scope"]["selection_empty"] for h in load_report(tmp_path / "again.json")["hosts"]] == [True, True]
    one = dockbench("scan", lab.healthy[0].url, "-i", lab.client_key, "--known-hosts", lab.known_hosts_file, "--ssh-config", "/dev/null",
                    "--docker-host", docker_daemon.host, "--container", "nomatch*", "-o", tmp_path / "one.json", "-q")
    assert one.returncode == 2 and "dockbench: --container 'nomatch*' matched none of the" in one.stderr and not (tmp_path / "one.json").exists()


def test_progress_shows_on_a_terminal_only(lab, tmp_path):
    args = [DOCKBENCH, *map(str, sweep_args(lab, "--limit", "h01,h02,closed-port", "-o", tmp_path / "s.json"))]
    args.remove("-q")
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(args, stdout=subprocess.PIPE, stderr=terminal, timeout=120)
        os.close(terminal)
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(controller)
    assert done.returncode == 1 | 4
    assert b"3/3 hosts done, 1 failed, 0 remaining" in seen
    piped = dockbench(*args[1:])
    assert "hosts done" not in piped.stderr


def test_an_encrypted_key_without_a_terminal_fails_clearly(lab, tmp_path):
    key = tmp_path / "locked_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "correct horse", "-f", str(key)], check=True)
    done = dockbench("scan", lab.healthy[0].url, "-i", key, "--known-hosts", lab.known_hosts_file, "--ssh-config", "/dev/null",
                     "-o", tmp_path / "r.json", stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "is encrypted and there is no terminal to ask for its passphrase" in done.stderr
    assert not (tmp_path / "r.json").exists()


def _controlling_terminal() -> None:
    """In the child: make the pty on stdin its controlling terminal, as a login shell's is."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_an_encrypted_key_asks_for_its_passphrase_once(lab, docker_daemon, tmp_path):
    key = tmp_path / "locked_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "correct horse", "-f", str(key)], check=True)
    server = lab.start("locked", "127.0.0.40", authorized=False)
    (server.directory / "authorized_keys").write_text(Path(f"{key}.pub").read_text())
    known = lab.known_hosts(tmp_path / "known_hosts", [server])
    out = tmp_path / "r.json"
    controller, terminal = pty.openpty()
    process = subprocess.Popen([DOCKBENCH, "scan", server.url, "-i", str(key), "--known-hosts", str(known), "--ssh-config", "/dev/null",
                                "--docker-host", docker_daemon.host, "-o", str(out), "-q", "--fail-on", "never", "--include", "host-docker-group-members"],
                               stdin=terminal, stdout=terminal, stderr=subprocess.PIPE, preexec_fn=_controlling_terminal)  # noqa: PLW1509 - only setsid and an ioctl
    os.close(terminal)
    seen = b""
    while b"Passphrase for" not in seen:
        ready, _, _ = select.select([controller], [], [], 30)
        if not ready:
            process.kill()
            raise AssertionError(f"no passphrase prompt; got {seen!r}; stderr {process.stderr.read()!r}")
        seen += os.read(controller, 1024)
    os.write(controller, b"correct horse\n")
    assert process.wait(timeout=60) == 0, process.stderr.read()
    os.close(controller)
    assert load_report(out)["target"]["name"] == "127.0.0.40"
