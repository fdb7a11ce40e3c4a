"""Host-file layers against a real directory tree with real owners and modes, via --root.

The tree stands for a host's filesystem mounted elsewhere (as when dockbench runs in a
container with the host at /host). Its daemon socket is a real unix socket nobody serves,
so Docker-dependent checks must say they could not decide while file checks go on.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from dockbench.benchmark.collect import probe, snapshot
from tests.cli_run import by_id, dockbench, load_report

DOCKER_GID = 999
TOKEN = "c2VjcmV0LXRva2Vu"  # base64 of a registry password: must never leave the tree


def put(root: Path, rel: str, text: str, mode: int, uid: int = 0, gid: int = 0) -> Path:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chown(path, uid, gid)
    path.chmod(mode)
    return path


@pytest.fixture
def host_tree():
    # Not under pytest's tmp_path (mode 0700): the unprivileged probe must be able to walk in.
    base = Path(tempfile.mkdtemp(prefix="dbt-host-"))
    base.chmod(0o755)
    root = base / "host"
    put(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n", 0o644)
    put(root, "/etc/group", f"root:x:0:\nalice:x:1000:\ndocker:x:{DOCKER_GID}:alice\n", 0o644)
    put(root, "/etc/hostname", "audited-host\n", 0o644)
    put(root, "/etc/os-release", 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n', 0o644)
    daemon_json = {
        "icc": False,
        "log-level": "debug",
        "insecure-registries": ["10.1.2.3:5000", "127.0.0.1:5000"],
        "hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"],
        "tlscacert": "/etc/docker/tls/ca.pem",
        "tlskey": "/etc/docker/tls/server-key.pem",
    }
    put(root, "/etc/docker/daemon.json", json.dumps(daemon_json), 0o666)
    (root / "etc/docker").chmod(0o775)
    put(root, "/etc/docker/tls/ca.pem", "-----BEGIN CERTIFICATE-----\nnot a real one\n-----END CERTIFICATE-----\n", 0o644)
    put(root, "/etc/docker/tls/server-key.pem", "PRIVATE-KEY-MARKER\n", 0o600)
    put(root, "/etc/docker/certs.d/reg.example:5000/ca.crt", "cert", 0o644, uid=1000)
    put(root, "/etc/audit/rules.d/docker.rules", "# docker\n-w /etc/docker -p wa -k docker\n", 0o640)
    put(root, "/usr/sbin/auditd", "#!/bin/sh\n", 0o750)  # an audit daemon is installed to load it
    put(root, "/root/.docker/config.json", json.dumps({"auths": {"reg.example:5000": {"auth": TOKEN}}}), 0o600)
    put(root, "/home/alice/.docker/config.json", json.dumps({"auths": {"reg.example:5000": {}}, "credsStore": "pass"}), 0o600, uid=1000, gid=1000)
    sock_path = root / "var/run/docker.sock"
    sock_path.parent.mkdir(parents=True)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))  # bound but never accepting: nothing answers there
    os.chown(sock_path, 0, DOCKER_GID)
    sock_path.chmod(0o660)
    yield root
    server.close()
    shutil.rmtree(base)


def tree_state(root: Path) -> dict[str, tuple]:
    return {str(p): (p.stat().st_mode, p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*") if not p.is_socket()}


def test_scan_with_root_judges_the_tree(host_tree, tmp_path):
    before = tree_state(host_tree)
    out, facts_out = tmp_path / "report.json", tmp_path / "facts.json"
    done = dockbench("scan", "--root", host_tree, "-o", out, "--facts-out", facts_out, "-q")
    assert done.returncode == 1, done.stderr
    assert tree_state(host_tree) == before, "the probe changed the audited tree"
    document = load_report(out)
    results = by_id(document)
    assert document["target"]["hostname"] == "audited-host"
    assert document["target"]["docker_status"] == "unreachable"

    def verdict(check_id):
        r = results[check_id]
        return r["status"], [(e["subject"], e["observed"]) for e in r["evidence"]]

    assert verdict("perm-daemon-json-mode") == ("FAIL", [("/etc/docker/daemon.json", "file root:root 0666")])
    assert verdict("perm-etc-docker-mode") == ("FAIL", [("/etc/docker", "directory root:root 0775")])
    assert verdict("perm-docker-sock-owner") == ("PASS", [("/var/run/docker.sock", "socket root:docker 0660")])
    assert verdict("perm-docker-sock-mode")[0] == "PASS"
    assert verdict("perm-etc-default-docker-mode") == ("NOT_APPLICABLE", [("/etc/default/docker", "absent")])
    assert verdict("registry-certs-owner") == ("FAIL", [("/etc/docker/certs.d/reg.example:5000/ca.crt", "file alice:root 0644")])
    assert verdict("tls-ca-cert-mode") == ("FAIL", [("/etc/docker/tls/ca.pem", "file root:root 0644")])
    assert verdict("tls-server-key-mode") == ("FAIL", [("/etc/docker/tls/server-key.pem", "file root:root 0600")])
    assert verdict("tls-server-cert-mode")[0] == "NOT_APPLICABLE"
    assert verdict("tls-tcp-requires-client-certs")[0] == "FAIL"
    # The daemon does not answer: settings come from daemon.json, and say so.
    assert verdict("daemon-icc-disabled") == ("PASS", [("icc", "False (/etc/docker/daemon.json)")])
    assert verdict("daemon-log-level-info")[0] == "FAIL"
    assert verdict("registry-no-insecure") == ("FAIL", [("/etc/docker/daemon.json", ["10.1.2.3:5000", "127.0.0.1:5000"])])
    assert verdict("registry-credentials-not-plaintext") == ("FAIL", [("/root/.docker/config.json", ["reg.example:5000"])])
    assert verdict("host-audit-etc-docker") == ("PASS", [("rule files /etc/audit/rules.d/docker.rules", ["-w /etc/docker -p wa -k docker"]),
                                                         ("audit daemon", "installed at /usr/sbin/auditd, running state unknown"),
                                                         ("loaded rules", "auditctl -l is not run on a host mounted with --root")])
    assert "the verdict rests on the rule files; confirm it with --sudo" in results["host-audit-etc-docker"]["message"]
    assert verdict("host-audit-daemon-json")[0] == "PASS"  # watched through its directory
    assert verdict("host-audit-dockerd")[0] == "NOT_APPLICABLE"
    assert verdict("host-docker-group-members") == ("MANUAL", [("docker group", ["alice"])])
    assert results["container-not-privileged"]["status"] == "ERROR"
    assert "cannot reach the Docker daemon" in results["container-not-privileged"]["message"]
    # Secrets stay on the host: neither the registry token nor the private key is anywhere.
    for path in (out, facts_out):
        text = path.read_text()
        assert TOKEN not in text and "PRIVATE-KEY-MARKER" not in text


def test_audit_rule_files_with_no_audit_daemon_to_load_them_do_not_pass(host_tree, tmp_path):
    (host_tree / "usr/sbin/auditd").unlink()
    out = tmp_path / "report.json"
    done = dockbench("scan", "--root", host_tree, "--include", "host-audit-etc-docker", "-o", out, "-q", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    result = by_id(load_report(out))["host-audit-etc-docker"]
    assert result["status"] == "FAIL"
    assert result["message"] == "/etc/docker is watched only in rule files, and no audit daemon is installed or running to load them: nothing audits it"
    assert {"subject": "audit daemon", "observed": "not installed, running state unknown", "kind": "host"} in result["evidence"]


def test_malformed_daemon_json_is_reported_and_the_scan_goes_on(host_tree, tmp_path):
    (host_tree / "etc/docker/daemon.json").write_text('{"icc": false,,}')
    out = tmp_path / "report.json"
    done = dockbench("scan", "--root", host_tree, "-o", out, "-q", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    results = by_id(load_report(out))
    assert results["daemon-icc-disabled"]["status"] == "ERROR"
    assert results["daemon-icc-disabled"]["message"].endswith("/etc/docker/daemon.json cannot be parsed, so the value it sets for icc is unknown: see daemon-config-valid")
    assert results["daemon-config-valid"]["status"] == "FAIL"
    assert "/etc/docker/daemon.json is not valid daemon configuration" in results["daemon-config-valid"]["evidence"][0]["observed"]
    assert [r for r in results if "is not valid daemon configuration" in json.dumps(results[r])] == ["daemon-config-valid"]
    assert results["perm-daemon-json-mode"]["status"] == "FAIL"
    assert results["perm-etc-docker-owner"]["status"] == "PASS"


def test_absent_unreadable_and_empty_files_are_told_apart(host_tree):
    put(host_tree, "/etc/default/docker", "", 0o644)
    put(host_tree, "/etc/docker/daemon.json", "{}", 0o600)
    script = probe.build(root=str(host_tree), docker_host="unix:///nonexistent.sock")
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-s"]
    run = subprocess.run(nobody, input=script, capture_output=True, check=True, cwd="/")
    facts = snapshot.build(probe.parse(run.stdout), target={"name": "t", "transport": "local", "root": str(host_tree), "docker_host": None})
    files = facts["files"]
    assert files["/etc/default/docker"]["state"] == "present" and files["/etc/default/docker"]["content"] == ""
    assert files["/etc/docker/daemon.json"]["state"] == "unreadable"
    assert "Permission denied" in files["/etc/docker/daemon.json"]["content_error"]
    assert files["/etc/sysconfig/docker"]["state"] == "absent"
    assert facts["daemon_config"]["state"] == "unreadable"
