"""TLS on the daemon's API: TCP listeners must verify client certificates; TLS files are protected."""

from __future__ import annotations

import json

import pytest

from dockbench.benchmark.document.model import Status
from tests.recorded import (
    docker_unreachable,
    judge,
    observed,
    present,
    recorded_snapshot,
    unparsed,
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
    assert observed(outcome) == [("hosts", "['unix:///tmp/dbt/docker.sock'] (dockerd command line)")]


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


def test_tcp_with_tlsverify_but_no_key_uses_dockerds_default_key():
    # dockerd falls back to ~/.docker/key.pem of the user it runs as (root here).
    outcome = judge(with_flags("-H", "tcp://0.0.0.0:2376", "--tlsverify", f"--tlscacert={CA}", f"--tlscert={CERT}"), "tls-tcp-requires-client-certs")
    assert outcome.status is Status.PASS
    assert observed(outcome)[-1] == ("tlskey", "/root/.docker/key.pem (dockerd default for root)")


def test_tcp_with_tlsverify_and_no_paths_uses_the_daemon_users_docker_dir():
    outcome = judge(with_flags("-H", "tcp://0.0.0.0:2376", "--tlsverify"), "tls-tcp-requires-client-certs")
    assert outcome.status is Status.PASS
    assert observed(outcome) == [
        ("listeners", ["tcp://0.0.0.0:2376"]), ("tlsverify", True),
        ("tlscacert", "/root/.docker/ca.pem (dockerd default for root)"),
        ("tlscert", "/root/.docker/cert.pem (dockerd default for root)"),
        ("tlskey", "/root/.docker/key.pem (dockerd default for root)"),
    ]


def test_tcp_with_tlsverify_and_a_daemon_user_without_a_home_fails():
    snap = with_flags("-H", "tcp://0.0.0.0:2376", "--tlsverify", f"--tlscacert={CA}", f"--tlscert={CERT}")
    snap["daemon"]["uid"] = 4242  # not in /etc/passwd: no ~/.docker to fall back on
    outcome = judge(snap, "tls-tcp-requires-client-certs")
    assert (outcome.status, outcome.message) == (Status.FAIL, "tlsverify is on but tlskey is not set")


def test_tcp_with_tls_only_on_an_engine_before_27_fails():
    outcome = judge(with_flags("-H", "tcp://0.0.0.0:2376", "--tls", f"--tlscert={CERT}", f"--tlskey={KEY}"), "tls-tcp-requires-client-certs")
    assert outcome.status is Status.FAIL
    assert observed(outcome)[-1] == ("verification", "tls is on and tlsverify unset: Docker before 27 then accepts any client")


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
    assert outcome.message == unparsed("hosts")


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
    assert (outcome.status, outcome.message) == (Status.ERROR, unparsed("tlscacert"))


def test_tls_files_decided_when_the_daemon_does_not_answer():
    outcome = judge(docker_unreachable(configured(mode=0o644)), "tls-ca-cert-mode")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(CA, "file root:root 0644")])


# --- the daemon API on TCP: daemon-api-tls, daemon-api-client-verify, daemon-api-loopback-only

API_CHECKS = ["daemon-api-tls", "daemon-api-client-verify", "daemon-api-loopback-only"]


def listening(snap, *sockets):
    """The host's listening TCP sockets, as /proc/net/tcp and tcp6 show them."""
    snap["listening"] = [{"address": a, "port": p} for a, p in sockets]
    return snap


@pytest.mark.parametrize("check_id", API_CHECKS)
def test_api_recorded_daemon_has_no_tcp_listener(check_id):
    outcome = judge(recorded_snapshot(), check_id)
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "the daemon listens on no TCP address")
    assert observed(outcome)[0] == ("hosts", "['unix:///tmp/dbt/docker.sock'] (dockerd command line)")


def test_api_tls_plain_http_fails_and_shows_the_listening_socket():
    snap = listening(with_flags("-H", "tcp://0.0.0.0:2375"), ("0.0.0.0", 2375), ("127.0.0.1", 5432))
    outcome = judge(snap, "daemon-api-tls")
    assert (outcome.status, outcome.message) == (Status.FAIL, "the daemon API on tcp://0.0.0.0:2375 is plain HTTP: unencrypted and unauthenticated")
    assert observed(outcome) == [
        ("tcp://0.0.0.0:2375", "dockerd command line; binds 0.0.0.0:2375; listening: 0.0.0.0:2375"),
        ("tls", "TLS is off"),
    ]


def test_api_tls_with_tls_passes():
    snap = listening(with_flags("-H", "tcp://127.0.0.1:2376", *TLS_FLAGS), ("127.0.0.1", 2376))
    outcome = judge(snap, "daemon-api-tls")
    assert (outcome.status, outcome.message) == (Status.PASS, "the daemon API on tcp://127.0.0.1:2376 uses TLS")
    assert observed(outcome) == [("tcp://127.0.0.1:2376", "dockerd command line; binds 127.0.0.1:2376; listening: 127.0.0.1:2376"), ("tls", "tlsverify is on")]


def test_api_tls_tlsverify_false_still_means_tls():
    # Setting tlsverify at all, even false, turns TLS on in dockerd.
    outcome = judge(daemon_json_hosts({"tlsverify": False, "tlscert": CERT, "tlskey": KEY}), "daemon-api-tls")
    assert outcome.status is Status.PASS
    assert observed(outcome)[-1] == ("tls", "tlsverify is off")


def test_api_tls_nothing_configured_but_something_on_the_api_port_is_manual():
    snap = listening(recorded_snapshot(), ("0.0.0.0", 2375))
    outcome = judge(snap, "daemon-api-tls")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "no dockerd TCP listener is configured, but sockets listen on Docker's API ports: check what serves them"
    assert observed(outcome) == [("listening", ["0.0.0.0:2375"])]


def test_api_tls_nothing_on_the_api_ports():
    outcome = judge(listening(recorded_snapshot(), ("127.0.0.1", 5432)), "daemon-api-tls")
    assert (outcome.status, observed(outcome)[-1]) == (Status.NOT_APPLICABLE, ("listening", "nothing on ports 2375/2376"))


def test_api_client_verify_tls_without_verification_fails():
    outcome = judge(with_flags("-H", "tcp://127.0.0.1:2376", "--tlsverify=false", f"--tlscert={CERT}", f"--tlskey={KEY}"), "daemon-api-client-verify")
    assert outcome.status is Status.FAIL
    assert outcome.message == "the daemon API on tcp://127.0.0.1:2376 accepts any TLS client without a verified certificate"
    assert observed(outcome) == [
        ("tcp://127.0.0.1:2376", "dockerd command line; binds 127.0.0.1:2376; listening sockets not read"),
        ("verification", "tlsverify is off"),
        ("tlscacert", "/root/.docker/ca.pem (dockerd default for root)"),
    ]


def test_api_client_verify_no_tls_fails():
    outcome = judge(with_flags("-H", "127.0.0.1:2375"), "daemon-api-client-verify")
    assert (outcome.status, outcome.message) == (Status.FAIL, "the daemon API on 127.0.0.1:2375 has no TLS, so no client is verified")


def test_api_client_verify_tlsverify_passes():
    outcome = judge(with_flags("-H", "tcp://127.0.0.1:2376", *TLS_FLAGS), "daemon-api-client-verify")
    assert (outcome.status, outcome.message) == (Status.PASS, "the daemon API on tcp://127.0.0.1:2376 requires client certificates signed by its CA")
    assert observed(outcome)[1:] == [("verification", "tlsverify is on"), ("tlscacert", CA)]


def test_api_client_verify_tls_alone_on_docker_27_is_verified():
    snap = with_flags("-H", "tcp://127.0.0.1:2376", "--tls", f"--tlscacert={CA}")
    snap["docker"]["info"]["ServerVersion"] = "27.3.1"
    outcome = judge(snap, "daemon-api-client-verify")
    assert outcome.status is Status.PASS
    assert observed(outcome)[1] == ("verification", "tls is on and tlsverify unset: Docker 27 verifies clients by default")


def test_api_client_verify_tls_alone_on_docker_20_fails():
    outcome = judge(with_flags("-H", "tcp://127.0.0.1:2376", "--tls", f"--tlscacert={CA}"), "daemon-api-client-verify")
    assert outcome.status is Status.FAIL
    assert observed(outcome)[1] == ("verification", "tls is on and tlsverify unset: Docker before 27 then accepts any client")


@pytest.mark.parametrize(
    "listener, scope",
    [
        ("tcp://0.0.0.0:2376", "every address; dockerd command line; binds 0.0.0.0:2376"),
        ("tcp://[::]:2376", "every address; dockerd command line; binds [::]:2376"),
        ("0.0.0.0:2375", "every address; dockerd command line; binds 0.0.0.0:2375"),
        ("tcp://192.0.2.10:2376", "another address; dockerd command line; binds 192.0.2.10:2376"),
    ],
)
def test_api_loopback_only_fails_beyond_loopback(listener, scope):
    outcome = judge(with_flags("-H", listener, *TLS_FLAGS), "daemon-api-loopback-only")
    assert (outcome.status, outcome.message) == (Status.FAIL, f"the daemon API listens beyond loopback on {listener}")
    assert observed(outcome) == [(listener, scope + "; listening sockets not read")]


@pytest.mark.parametrize(
    "listener, binds",
    [
        ("tcp://127.0.0.1:2376", "127.0.0.1:2376"),
        ("tcp://[::1]:2376", "[::1]:2376"),
        ("tcp://localhost:2376", "localhost:2376"),
        # dockerd fills a missing host with localhost (opts.DefaultHTTPHost), not 0.0.0.0
        (":2375", "localhost:2375"),
        ("tcp://", "localhost:2375"),
    ],
)
def test_api_loopback_only_passes_on_loopback(listener, binds):
    outcome = judge(with_flags("-H", listener, *TLS_FLAGS), "daemon-api-loopback-only")
    assert (outcome.status, outcome.message) == (Status.PASS, f"the daemon API listens on loopback only ({listener})")
    assert observed(outcome) == [(listener, f"loopback; dockerd command line; binds {binds}; listening sockets not read")]


def test_api_loopback_only_host_name_resolved_by_the_listening_sockets():
    snap = listening(with_flags("-H", "tcp://docker-api.internal:2376", *TLS_FLAGS), ("10.0.0.5", 2376))
    outcome = judge(snap, "daemon-api-loopback-only")
    assert outcome.status is Status.FAIL
    assert observed(outcome) == [("tcp://docker-api.internal:2376", "another address; dockerd command line; binds docker-api.internal:2376; listening: 10.0.0.5:2376")]


def test_api_loopback_only_unresolvable_host_name_is_manual():
    outcome = judge(with_flags("-H", "tcp://docker-api.internal:2376", *TLS_FLAGS), "daemon-api-loopback-only")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "the daemon API binds host names the facts cannot resolve (tcp://docker-api.internal:2376): confirm they are loopback"


def socket_activated(listen_stream):
    """dockerd -H fd:// started by systemd with docker.socket listening where it says."""
    snap = recorded_snapshot()
    snap["daemon"]["argv"] = ["/usr/sbin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"]
    snap["units"]["docker.socket"]["listen_stream"] = listen_stream
    return snap


@pytest.mark.parametrize("check_id", ["daemon-api-tls", "daemon-api-loopback-only", "tls-tcp-requires-client-certs"])
def test_socket_activation_on_a_tcp_port_is_a_tcp_listener(check_id):
    outcome = judge(socket_activated(["/run/docker.sock", "2375"]), check_id)
    assert outcome.status is Status.FAIL


def test_socket_activation_bare_port_binds_every_address():
    outcome = judge(socket_activated(["/run/docker.sock", "2375"]), "daemon-api-loopback-only")
    unit = "/usr/lib/systemd/system/docker.socket"
    assert observed(outcome) == [("2375", f"every address; {unit} ListenStream; binds [::]:2375; listening sockets not read")]


def test_socket_activation_on_a_unix_socket_only_is_not_tcp():
    outcome = judge(socket_activated(["/run/docker.sock"]), "daemon-api-tls")
    assert (outcome.status, observed(outcome)[0]) == (Status.NOT_APPLICABLE, ("hosts", "['fd://'] (dockerd command line)"))


@pytest.mark.parametrize("check_id", API_CHECKS)
def test_api_checks_decided_when_the_daemon_does_not_answer(check_id):
    outcome = judge(docker_unreachable(with_flags("-H", "tcp://0.0.0.0:2375")), check_id)
    assert outcome.status is Status.FAIL


@pytest.mark.parametrize("check_id", API_CHECKS)
def test_api_checks_malformed_daemon_json_errors(check_id):
    snap = with_daemon_json('{"hosts": ["tcp://0.0.0.0:2375"')
    snap["daemon"]["argv"] = ["dockerd"]
    outcome = judge(snap, check_id)
    assert (outcome.status, outcome.message) == (Status.ERROR, unparsed("hosts"))
