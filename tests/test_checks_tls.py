"""TLS on the daemon's API: TCP listeners must verify client certificates; TLS files are protected."""

from __future__ import annotations

import json

import pytest

from benchmark.model import Status
from tests.recorded import (
    docker_unreachable,
    judge,
    observed,
    present,
    recorded_snapshot,
    unreadable,
    with_daemon_json,
)

CA, CERT, KEY = "/etc/docker/tls/ca.pem", "/etc/docker/tls/server-cert.pem", "/etc/docker/tls/server-key.pem"
TLS_FLAGS = ["--tlsverify", f"--tlscacert={CA}", f"--tlscert={CERT}", f"--tlskey={KEY}"]
UNIX = "unix:///tmp/dbt/docker.sock"


def with_flags(*flags):
    snap = recorded_snapshot()
    snap["daemon"]["argv"] += list(flags)
    return snap


# --- tls-tcp-requires-client-certs


def test_tcp_recorded_daemon_listens_on_a_unix_socket_only():
    outcome = judge(recorded_snapshot(), "tls-tcp-requires-client-certs")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "the daemon listens on no TCP address")


def test_tcp_without_tls_fails():
    outcome = judge(with_flags("-H", "tcp://0.0.0.0:2375"), "tls-tcp-requires-client-certs")
    assert outcome.status is Status.FAIL
    assert outcome.message == "the daemon listens on tcp://0.0.0.0:2375 without verifying client certificates"
    assert observed(outcome) == [("listeners", ["tcp://0.0.0.0:2375"]), ("tlsverify", None), ("tlscacert", None), ("tlscert", None), ("tlskey", None)]


def test_tcp_with_verified_client_certificates_passes():
    outcome = judge(with_flags("-H", "tcp://0.0.0.0:2376", *TLS_FLAGS), "tls-tcp-requires-client-certs")
    assert outcome.status is Status.PASS
    assert outcome.message == "TCP listeners tcp://0.0.0.0:2376 require verified client certificates"
    assert observed(outcome) == [("listeners", ["tcp://0.0.0.0:2376"]), ("tlsverify", True), ("tlscacert", CA), ("tlscert", CERT), ("tlskey", KEY)]


def test_tcp_with_tls_but_no_client_verification_fails():
    outcome = judge(with_flags("-H", "tcp://0.0.0.0:2376", "--tls", f"--tlscert={CERT}", f"--tlskey={KEY}"), "tls-tcp-requires-client-certs")
    assert outcome.status is Status.FAIL
    assert outcome.message == "the daemon listens on tcp://0.0.0.0:2376 without verifying client certificates"


def test_tcp_with_tlsverify_false_fails():
    outcome = judge(with_flags("-H", "tcp://0.0.0.0:2376", "--tlsverify=false", f"--tlscacert={CA}", f"--tlscert={CERT}", f"--tlskey={KEY}"), "tls-tcp-requires-client-certs")
    assert outcome.status is Status.FAIL
    assert ("tlsverify", False) in observed(outcome)


def test_tcp_with_tlsverify_but_no_key_fails():
    outcome = judge(with_flags("-H", "tcp://0.0.0.0:2376", "--tlsverify", f"--tlscacert={CA}", f"--tlscert={CERT}"), "tls-tcp-requires-client-certs")
    assert (outcome.status, outcome.message) == (Status.FAIL, "tlsverify is on but tlskey is not set")


@pytest.mark.parametrize("listener", ["0.0.0.0:2375", ":2375", "127.0.0.1:2375"])
def test_tcp_address_without_scheme_is_tcp(listener):
    # dockerd reads a -H value without "scheme://" as a TCP address.
    outcome = judge(with_flags("-H", listener), "tls-tcp-requires-client-certs")
    assert outcome.status is Status.FAIL
    assert observed(outcome)[0] == ("listeners", [listener])


def test_socket_activation_is_not_tcp():
    snap = recorded_snapshot()
    snap["daemon"]["argv"] = ["/usr/sbin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"]
    outcome = judge(snap, "tls-tcp-requires-client-certs")
    assert outcome.status is Status.NOT_APPLICABLE


def daemon_json_hosts(settings):
    """Listeners and TLS in daemon.json; dockerd refuses -H flags alongside "hosts"."""
    snap = with_daemon_json(json.dumps({"hosts": [UNIX, "tcp://0.0.0.0:2376"], **settings}))
    snap["daemon"]["argv"] = ["dockerd", "--data-root", "/tmp/dbt/data"]
    return snap


def test_tcp_from_daemon_json_with_tls_passes():
    snap = daemon_json_hosts({"tlsverify": True, "tlscacert": CA, "tlscert": CERT, "tlskey": KEY})
    outcome = judge(snap, "tls-tcp-requires-client-certs")
    assert outcome.status is Status.PASS
    assert observed(outcome) == [("listeners", ["tcp://0.0.0.0:2376"]), ("tlsverify", True), ("tlscacert", CA), ("tlscert", CERT), ("tlskey", KEY)]


def test_tcp_from_daemon_json_without_tls_fails():
    outcome = judge(daemon_json_hosts({}), "tls-tcp-requires-client-certs")
    assert outcome.status is Status.FAIL
    assert outcome.message == "the daemon listens on tcp://0.0.0.0:2376 without verifying client certificates"


def test_tcp_decided_when_the_daemon_does_not_answer():
    outcome = judge(docker_unreachable(with_flags("-H", "tcp://0.0.0.0:2375")), "tls-tcp-requires-client-certs")
    assert outcome.status is Status.FAIL


def test_tcp_malformed_daemon_json_errors():
    snap = with_daemon_json('{"hosts": ["tcp://0.0.0.0:2375"')
    snap["daemon"]["argv"] = ["dockerd"]
    outcome = judge(snap, "tls-tcp-requires-client-certs")
    assert outcome.status is Status.ERROR
    assert outcome.message == snap["daemon_config"]["error"]


# --- tls-*-owner / tls-*-mode

# prefix, daemon option, path, most permissive mode, a numerically lower mode with bits beyond it, those bits
TLS_FILES = [
    ("tls-ca-cert", "tlscacert", CA, 0o444, 0o422, 0o022),
    ("tls-server-cert", "tlscert", CERT, 0o444, 0o422, 0o022),
    ("tls-server-key", "tlskey", KEY, 0o400, 0o077, 0o077),
]
IDS = [t[0] for t in TLS_FILES]


def configured(mode=None, owner="root", path_state=None):
    """daemon.json naming the three TLS files; each one as the second probe round stat'ed it."""
    snap = with_daemon_json(json.dumps({"tlsverify": True, "tlscacert": CA, "tlscert": CERT, "tlskey": KEY}))
    for _prefix, _key, path, allowed, _sneaky, _bits in TLS_FILES:
        snap["files"][path] = present(snap, "file", owner, "root", allowed if mode is None else mode)
    return snap


@pytest.mark.parametrize("suffix", ["owner", "mode"])
@pytest.mark.parametrize("prefix, key", [t[:2] for t in TLS_FILES], ids=IDS)
def test_tls_files_recorded_daemon_has_none(prefix, key, suffix):
    outcome = judge(recorded_snapshot(), f"{prefix}-{suffix}")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, f"no {key} is configured for the daemon")


@pytest.mark.parametrize("prefix, key, path, allowed, sneaky, bits", TLS_FILES, ids=IDS)
def test_tls_file_owned_by_root_passes(prefix, key, path, allowed, sneaky, bits):
    outcome = judge(configured(), f"{prefix}-owner")
    assert (outcome.status, outcome.message) == (Status.PASS, f"{path} is owned by root:root")
    assert observed(outcome) == [(path, f"file root:root {allowed:04o}")]


@pytest.mark.parametrize("prefix, key, path, allowed, sneaky, bits", TLS_FILES, ids=IDS)
def test_tls_file_owned_by_a_user_fails(prefix, key, path, allowed, sneaky, bits):
    outcome = judge(configured(owner="cloudsdk"), f"{prefix}-owner")
    assert (outcome.status, outcome.message) == (Status.FAIL, f"{path} is owned by cloudsdk:root, expected root:root")
    assert observed(outcome) == [(path, f"file cloudsdk:root {allowed:04o}")]


@pytest.mark.parametrize("prefix, key, path, allowed, sneaky, bits", TLS_FILES, ids=IDS)
def test_tls_file_mode_within_the_rule_passes(prefix, key, path, allowed, sneaky, bits):
    outcome = judge(configured(), f"{prefix}-mode")
    assert (outcome.status, outcome.message) == (Status.PASS, f"{path} has mode {allowed:04o}, within {allowed:04o}")


@pytest.mark.parametrize("prefix, key, path, allowed, sneaky, bits", TLS_FILES, ids=IDS)
def test_tls_file_mode_read_by_owner_only_passes(prefix, key, path, allowed, sneaky, bits):
    outcome = judge(configured(mode=0o400), f"{prefix}-mode")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [(path, "file root:root 0400")])


@pytest.mark.parametrize("prefix, key, path, allowed, sneaky, bits", TLS_FILES, ids=IDS)
def test_tls_file_mode_numerically_lower_but_wider_fails(prefix, key, path, allowed, sneaky, bits):
    assert sneaky < allowed
    outcome = judge(configured(mode=sneaky), f"{prefix}-mode")
    assert outcome.status is Status.FAIL
    assert outcome.message == f"{path} has mode {sneaky:04o}: bits {bits:04o} go beyond {allowed:04o}"
    assert observed(outcome) == [(path, f"file root:root {sneaky:04o}")]


def test_tls_private_key_readable_by_group_fails():
    outcome = judge(configured(mode=0o640), "tls-server-key-mode")
    assert outcome.status is Status.FAIL
    assert outcome.message == f"{KEY} has mode 0640: bits 0240 go beyond 0400"


def test_tls_file_named_on_the_command_line_is_judged():
    snap = with_flags(f"--tlskey={KEY}")
    snap["files"][KEY] = present(snap, "file", "root", "root", 0o644)
    outcome = judge(snap, "tls-server-key-mode")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(KEY, "file root:root 0644")])


@pytest.mark.parametrize("prefix, key, path, allowed, sneaky, bits", TLS_FILES, ids=IDS)
def test_tls_file_configured_but_absent(prefix, key, path, allowed, sneaky, bits):
    snap = configured()
    snap["files"][path] = {"state": "absent", "error": f"stat: cannot statx '{path}': No such file or directory"}
    outcome = judge(snap, f"{prefix}-mode")
    assert (outcome.status, observed(outcome)) == (Status.NOT_APPLICABLE, [(path, "absent")])


@pytest.mark.parametrize("suffix", ["owner", "mode"])
@pytest.mark.parametrize("prefix, key, path, allowed, sneaky, bits", TLS_FILES, ids=IDS)
def test_tls_file_unreadable_errors_and_says_to_use_sudo(prefix, key, path, allowed, sneaky, bits, suffix):
    snap = configured()
    snap["files"][path] = unreadable(path)
    outcome = judge(snap, f"{prefix}-{suffix}")
    assert outcome.status is Status.ERROR
    assert outcome.message == f"cannot inspect {path} unreadable (stat: cannot statx '{path}': Permission denied): re-run with --sudo or as root"


def test_tls_file_not_stated_by_the_probe_errors():
    snap = configured()
    del snap["files"][CA]
    outcome = judge(snap, "tls-ca-cert-mode")
    assert (outcome.status, outcome.message) == (Status.ERROR, f"{CA} was not collected by the probe")


def test_tls_files_malformed_daemon_json_errors():
    snap = with_daemon_json('{"tlscacert": ')
    outcome = judge(snap, "tls-ca-cert-owner")
    assert (outcome.status, outcome.message) == (Status.ERROR, snap["daemon_config"]["error"])


def test_tls_files_decided_when_the_daemon_does_not_answer():
    outcome = judge(docker_unreachable(configured(mode=0o644)), "tls-ca-cert-mode")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(CA, "file root:root 0644")])
