"""The daemon's options from its service unit, and its certificates, in a --root tree of real files.

A mounted host has no dockerd process the probe can see: its options come from docker.service
as systemd would load it (unit, drop-ins, EnvironmentFile). Certificates in the tree are real
ones (tests/support/certs.py) with real modes; private keys must never leave the tree.
"""

from __future__ import annotations

import json

from tests.cli_run import by_id, dockbench, load_report
from tests.support.certs import ec_key, issue, key_pem, pem, rsa_key
from tests.test_host_tree import host_tree, put, tree_state  # noqa: F401 (host_tree is a fixture)

VENDOR_UNIT = "/usr/lib/systemd/system/docker.service"
DROPIN = "/etc/systemd/system/docker.service.d/10-site.conf"
SITE_JSON = "/etc/docker/site.json"
REGISTRY = "/etc/docker/certs.d/reg.example:5000"
DEBIAN_UNIT = """[Unit]
Description=Docker Application Container Engine
Requires=docker.socket

[Service]
Type=notify
EnvironmentFile=-/etc/default/docker
ExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS
LimitNOFILE=1048576
"""


def scan(root, tmp_path):
    out, facts_out = tmp_path / "report.json", tmp_path / "facts.json"
    done = dockbench("scan", "--root", root, "-o", out, "--facts-out", facts_out, "-q", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    return by_id(load_report(out)), json.loads(facts_out.read_text()), out.read_text() + facts_out.read_text()


def verdict(results, check_id):
    r = results[check_id]
    return r["status"], [(e["subject"], e["observed"]) for e in r["evidence"]]


def test_daemon_options_come_from_the_service_unit(host_tree, tmp_path):  # noqa: F811 (the imported fixture)
    put(host_tree, VENDOR_UNIT, DEBIAN_UNIT, 0o644)
    put(host_tree, "/usr/lib/systemd/system/docker.socket", "[Socket]\nListenStream=/run/docker.sock\nSocketGroup=docker\n", 0o644)
    put(host_tree, "/etc/default/docker", 'DOCKER_OPTS="--icc=false -H tcp://0.0.0.0:2375"\n', 0o644)
    # The drop-in replaces ExecStart and points dockerd at another daemon.json.
    put(host_tree, DROPIN, f"[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS \\\n  --userns-remap=default --config-file={SITE_JSON}\n", 0o644)
    put(host_tree, SITE_JSON, json.dumps({"live-restore": True, "log-driver": "syslog"}), 0o640)
    before = tree_state(host_tree)
    results, facts, _text = scan(host_tree, tmp_path)
    assert tree_state(host_tree) == before, "the probe changed the audited tree"

    daemon = facts["daemon"]
    assert (daemon["pid"], daemon["uid"], daemon["source"], daemon["selected_by"]) == (None, None, VENDOR_UNIT, "service unit")
    assert daemon["argv"] == ["/usr/sbin/dockerd", "-H", "fd://", "--icc=false", "-H", "tcp://0.0.0.0:2375", "--userns-remap=default", f"--config-file={SITE_JSON}"]
    assert facts["units"]["docker.service"]["dropins"] == [DROPIN]
    # site.json was named by the unit, so the second probe round read it; daemon.json is not used.
    assert facts["probe"]["rounds"] == 2
    assert (facts["daemon_config"]["path"], facts["daemon_config"]["data"]) == (SITE_JSON, {"live-restore": True, "log-driver": "syslog"})

    assert verdict(results, "daemon-icc-disabled") == ("PASS", [("icc", "False (dockerd command line)")])
    assert verdict(results, "daemon-userns-remap") == ("PASS", [("userns-remap", "'default' (dockerd command line)")])
    assert verdict(results, "daemon-live-restore") == ("PASS", [("live-restore", f"True ({SITE_JSON})")])
    assert verdict(results, "daemon-remote-logging") == ("PASS", [("log-driver", f"'syslog' ({SITE_JSON})")])
    assert verdict(results, "registry-no-insecure") == ("PASS", [("daemon configuration", [])])  # daemon.json's list is not in force
    assert verdict(results, "perm-daemon-json-mode") == ("PASS", [(SITE_JSON, "file root:root 0640")])
    assert verdict(results, "daemon-rootless") == ("MANUAL", [(VENDOR_UNIT, "User=root")])
    listener = "tcp://0.0.0.0:2375"
    assert verdict(results, "daemon-api-tls") == ("FAIL", [(listener, "dockerd command line; binds 0.0.0.0:2375; listening sockets not read"), ("tls", "TLS is off")])
    assert verdict(results, "daemon-api-loopback-only")[0] == "FAIL"
    assert verdict(results, "tls-tcp-requires-client-certs")[0] == "FAIL"


def test_a_masked_unit_leaves_the_daemon_unknown(host_tree, tmp_path):  # noqa: F811 (the imported fixture)
    put(host_tree, VENDOR_UNIT, DEBIAN_UNIT, 0o644)
    (host_tree / "etc/systemd/system").mkdir(parents=True)
    (host_tree / "etc/systemd/system/docker.service").symlink_to("/dev/null")
    _results, facts, _text = scan(host_tree, tmp_path)
    assert facts["daemon"] is None
    assert facts["units"]["docker.service"]["masked"] is True


def test_certificates_and_keys_are_judged_with_their_real_modes(host_tree, tmp_path):  # noqa: F811 (the imported fixture)
    ca_key, server_key, client_key = rsa_key(1024, n=7), rsa_key(2048, n=7), ec_key(n=7)
    weak_ca = issue("Docker CA", key=ca_key, days_left=3000)  # RSA 1024: too weak
    server = issue("docker.example", key=server_key, issuer=("Docker CA", ca_key), hash_name="sha1")
    registry_ca = issue("Registry CA", days_left=-2)  # expired
    client = issue("client", key=client_key, days_left=400)
    put(host_tree, "/etc/docker/daemon.json", json.dumps({
        "tlsverify": True, "hosts": ["tcp://127.0.0.1:2376"],
        "tlscacert": "/etc/docker/tls/ca.pem", "tlscert": "/etc/docker/tls/server-cert.pem", "tlskey": "/etc/docker/tls/server-key.pem",
    }), 0o644)
    put(host_tree, "/etc/docker/tls/ca.pem", pem(weak_ca), 0o444)
    put(host_tree, "/etc/docker/tls/server-cert.pem", pem(server), 0o444)
    put(host_tree, "/etc/docker/tls/server-key.pem", key_pem(server_key), 0o640)
    put(host_tree, f"{REGISTRY}/ca.crt", pem(registry_ca), 0o444)
    put(host_tree, f"{REGISTRY}/client.cert", pem(client), 0o444)
    put(host_tree, f"{REGISTRY}/client.key", key_pem(client_key), 0o644)
    put(host_tree, f"{REGISTRY}/bundle.pem", pem(client) + key_pem(client_key), 0o400)  # a key in a .pem: only stat'ed
    results, facts, text = scan(host_tree, tmp_path)

    assert "PRIVATE KEY" not in text, "a private key left the tree"
    assert facts["files"][f"{REGISTRY}/bundle.pem"]["private_key"] is True
    status, evidence = verdict(results, "tls-cert-expiry")
    assert status == "FAIL" and [s for s, _o in evidence] == [f"{REGISTRY}/ca.crt"]
    assert verdict(results, "tls-cert-key-strength") == ("FAIL", [("/etc/docker/tls/ca.pem", "CN=Docker CA: RSA 1024 bits")])
    assert verdict(results, "tls-cert-signature") == ("FAIL", [("/etc/docker/tls/server-cert.pem", "CN=docker.example: signed with sha1 by CN=Docker CA")])
    assert verdict(results, "tls-private-key-private") == ("FAIL", [
        ("/etc/docker/tls/server-key.pem", "file root:root 0640"),
        (f"{REGISTRY}/client.key", "file root:root 0644"),
    ])
    # Registry files: certificates 0444 are fine, keys must be 0400.
    assert verdict(results, "registry-certs-mode") == ("FAIL", [(f"{REGISTRY}/client.key", "file root:root 0644")])
    assert verdict(results, "daemon-api-loopback-only")[0] == "PASS"
    assert verdict(results, "daemon-api-client-verify")[0] == "PASS"


def test_dockerds_default_tls_files_under_the_daemon_users_home(host_tree, tmp_path):  # noqa: F811 (the imported fixture)
    key = ec_key(n=8)
    put(host_tree, "/etc/docker/daemon.json", json.dumps({"tlsverify": True, "hosts": ["tcp://127.0.0.1:2376"]}), 0o644)
    put(host_tree, "/root/.docker/ca.pem", pem(issue("Docker CA", days_left=20)), 0o444)
    put(host_tree, "/root/.docker/cert.pem", pem(issue("docker.example", key=key)), 0o444)
    put(host_tree, "/root/.docker/key.pem", key_pem(key), 0o600)
    results, _facts, text = scan(host_tree, tmp_path)

    assert "PRIVATE KEY" not in text
    assert verdict(results, "tls-tcp-requires-client-certs") == ("PASS", [
        ("listeners", ["tcp://127.0.0.1:2376"]), ("tlsverify", True),
        ("tlscacert", "/root/.docker/ca.pem (dockerd default for root)"),
        ("tlscert", "/root/.docker/cert.pem (dockerd default for root)"),
        ("tlskey", "/root/.docker/key.pem (dockerd default for root)"),
    ])
    status, evidence = verdict(results, "tls-cert-expiry")
    assert status == "FAIL" and evidence[0][0] == "/root/.docker/ca.pem" and "within the 30-day warning" in evidence[0][1]
    assert verdict(results, "tls-server-key-mode") == ("FAIL", [("/root/.docker/key.pem", "file root:root 0600")])  # CIS 3.14: 0400
    assert verdict(results, "tls-private-key-private") == ("PASS", [("/root/.docker/key.pem", "file root:root 0600")])
