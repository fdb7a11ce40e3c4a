"""Registries: insecure registries, per-registry certificates, content trust, stored credentials."""

from __future__ import annotations

import json

import pytest

from dockbench.benchmark.collect.probe import Record
from dockbench.benchmark.document.model import Status
from tests.recorded import (
    build,
    docker_not_installed,
    docker_unreachable,
    judge,
    observed,
    present,
    recorded_records,
    recorded_snapshot,
    stat_record,
    unparsed,
    unreadable,
    with_daemon_json,
    with_file,
)

DAEMON_JSON = "/etc/docker/daemon.json"
CERTS_D = "/etc/docker/certs.d"
REGISTRY_DIR = f"{CERTS_D}/reg.example:5000"
CA, CLIENT_CERT, CLIENT_KEY = f"{REGISTRY_DIR}/ca.crt", f"{REGISTRY_DIR}/client.cert", f"{REGISTRY_DIR}/client.key"
ROOT_CONFIG = "/root/.docker/config.json"


def insecure_index(snap, name):
    """What `docker info` lists for `--insecure-registry NAME` (a name, not a CIDR)."""
    snap["docker"]["info"]["RegistryConfig"]["IndexConfigs"][name] = {"Mirrors": [], "Name": name, "Official": False, "Secure": False}
    return snap


# --- registry-no-insecure


def test_insecure_recorded_daemon_trusts_only_loopback():
    outcome = judge(recorded_snapshot(), "registry-no-insecure")
    assert (outcome.status, outcome.message) == (Status.PASS, "no insecure registries beyond loopback")
    assert observed(outcome) == [("docker info", ["127.0.0.0/8"])]


def test_insecure_cidr_fails():
    snap = recorded_snapshot()
    snap["docker"]["info"]["RegistryConfig"]["InsecureRegistryCIDRs"].append("10.0.0.0/8")
    outcome = judge(snap, "registry-no-insecure")
    assert (outcome.status, outcome.message) == (Status.FAIL, "insecure registries outside loopback: 10.0.0.0/8")
    assert observed(outcome) == [("docker info", ["127.0.0.0/8", "10.0.0.0/8"])]


@pytest.mark.parametrize("name", ["reg.example:5000", "localhost.example.com:5000", "127.0.0.1.nip.io:5000", "10.1.2.3:5000"])
def test_insecure_registry_name_fails(name):
    outcome = judge(insecure_index(recorded_snapshot(), name), "registry-no-insecure")
    assert (outcome.status, outcome.message) == (Status.FAIL, f"insecure registries outside loopback: {name}")
    assert observed(outcome) == [("docker info", ["127.0.0.0/8", name])]


@pytest.mark.parametrize("name", ["localhost:5000", "127.0.0.1:5000", "[::1]:5000", "localhost"])
def test_insecure_loopback_registry_passes(name):
    outcome = judge(insecure_index(recorded_snapshot(), name), "registry-no-insecure")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("docker info", ["127.0.0.0/8", name])])


def test_insecure_from_daemon_json_when_the_daemon_does_not_answer():
    snap = docker_unreachable(with_daemon_json(json.dumps({"insecure-registries": ["reg.example:5000", "127.0.0.1:5000"]})))
    outcome = judge(snap, "registry-no-insecure")
    assert (outcome.status, outcome.message) == (Status.FAIL, "insecure registries outside loopback: reg.example:5000")
    assert observed(outcome) == [(DAEMON_JSON, ["reg.example:5000", "127.0.0.1:5000"])]


def test_insecure_from_flags_when_the_daemon_does_not_answer():
    snap = docker_unreachable(recorded_snapshot())
    snap["daemon"]["argv"] += ["--insecure-registry", "10.1.2.3:5000", "--insecure-registry=localhost:5000"]
    outcome = judge(snap, "registry-no-insecure")
    assert outcome.status is Status.FAIL
    assert observed(outcome) == [("dockerd command line", ["10.1.2.3:5000", "localhost:5000"])]


def test_insecure_none_configured_when_the_daemon_does_not_answer():
    outcome = judge(docker_unreachable(recorded_snapshot()), "registry-no-insecure")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("daemon configuration", [])])


def test_insecure_malformed_daemon_json_when_the_daemon_does_not_answer():
    snap = docker_unreachable(with_daemon_json('{"insecure-registries": ["reg.example:5000",]}'))
    outcome = judge(snap, "registry-no-insecure")
    assert (outcome.status, outcome.message) == (Status.ERROR, unparsed("insecure-registries"))


# --- registry-certs-owner / registry-certs-mode


def with_certs(ca_mode=0o444, cert_mode=0o444, key_mode=0o400, owner="root"):
    """/etc/docker/certs.d/reg.example:5000 with a CA, a client certificate and its key."""
    snap = recorded_snapshot()
    files = snap["files"]
    files[CERTS_D] = present(snap, "directory", "root", "root", 0o755)
    files[REGISTRY_DIR] = present(snap, "directory", "root", "root", 0o755)
    files[CA] = present(snap, "file", owner, "root", ca_mode)
    files[CLIENT_CERT] = present(snap, "file", "root", "root", cert_mode)
    files[CLIENT_KEY] = present(snap, "file", "root", "root", key_mode)
    return snap


@pytest.mark.parametrize("check_id", ["registry-certs-owner", "registry-certs-mode"])
def test_certs_recorded_host_has_no_certs_d(check_id):
    outcome = judge(recorded_snapshot(), check_id)
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, f"{CERTS_D} does not exist: no per-registry certificates")
    assert observed(outcome) == [(CERTS_D, "absent")]


def test_certs_owned_by_root_pass():
    outcome = judge(with_certs(), "registry-certs-owner")
    assert (outcome.status, outcome.message) == (Status.PASS, "all 3 registry certificate files comply")
    assert observed(outcome) == [(CA, "file root:root 0444"), (CLIENT_CERT, "file root:root 0444"), (CLIENT_KEY, "file root:root 0400")]


def test_certs_owned_by_a_user_fail():
    outcome = judge(with_certs(owner="cloudsdk"), "registry-certs-owner")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 3 registry certificate files fall short")
    assert observed(outcome) == [(CA, "file cloudsdk:root 0444")]


def test_certs_read_only_pass():
    outcome = judge(with_certs(), "registry-certs-mode")
    assert (outcome.status, outcome.message) == (Status.PASS, "all 3 registry certificate files comply")


def test_certs_writable_fail():
    outcome = judge(with_certs(ca_mode=0o644, key_mode=0o600), "registry-certs-mode")
    assert (outcome.status, outcome.message) == (Status.FAIL, "2 of 3 registry certificate files fall short")
    assert observed(outcome) == [(CA, "file root:root 0644"), (CLIENT_KEY, "file root:root 0600")]


def test_certs_private_keys_must_be_owner_read_only():
    # 0444 is fine for a certificate; a client key readable by all lets anyone log in as this host.
    outcome = judge(with_certs(key_mode=0o444), "registry-certs-mode")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 3 registry certificate files fall short")
    assert observed(outcome) == [(CLIENT_KEY, "file root:root 0444")]


def test_certs_a_key_in_a_certificate_named_file_is_judged_as_a_key():
    records = recorded_records()
    records["stat:" + CERTS_D] = stat_record("directory", 0o755, 0, 0, 4096)
    records["stat:" + f"{REGISTRY_DIR}/client.pem"] = stat_record("file", 0o444, 0, 0, 241)
    records["private-key:" + f"{REGISTRY_DIR}/client.pem"] = Record(out=b"", rc=0)  # the probe found a key: stat only
    outcome = judge(build(records), "registry-certs-mode")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(f"{REGISTRY_DIR}/client.pem", "file root:root 0444")])
    assert outcome.message == "1 of 1 registry certificate files fall short"


def test_certs_mode_is_a_bit_mask():
    outcome = judge(with_certs(cert_mode=0o422), "registry-certs-mode")  # below 0444, yet group/other-writable
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(CLIENT_CERT, "file root:root 0422")])


def test_certs_d_without_certificate_files():
    snap = recorded_snapshot()
    snap["files"][CERTS_D] = present(snap, "directory", "root", "root", 0o755)
    snap["files"][REGISTRY_DIR] = present(snap, "directory", "root", "root", 0o755)
    outcome = judge(snap, "registry-certs-mode")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, f"{CERTS_D} holds no certificate files")


@pytest.mark.parametrize("check_id", ["registry-certs-owner", "registry-certs-mode"])
def test_certs_d_unreadable_errors_and_says_to_use_sudo(check_id):
    snap = recorded_snapshot()
    snap["files"][CERTS_D] = unreadable(CERTS_D)
    outcome = judge(snap, check_id)
    assert outcome.status is Status.ERROR
    assert outcome.message == f"cannot inspect {CERTS_D} unreadable (stat: cannot statx '{CERTS_D}': Permission denied): re-run with --sudo or as root"


def test_certs_judged_without_the_daemon():
    outcome = judge(docker_unreachable(with_certs(ca_mode=0o666)), "registry-certs-mode")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(CA, "file root:root 0666")])


# --- registry-content-trust


def test_content_trust_recorded_environment_has_none():
    outcome = judge(recorded_snapshot(), "registry-content-trust")
    assert (outcome.status, outcome.message) == (Status.FAIL, "DOCKER_CONTENT_TRUST is not 1 in the probe's environment")
    assert observed(outcome) == [("DOCKER_CONTENT_TRUST", "unset")]


def test_content_trust_enabled_passes():
    snap = recorded_snapshot()
    snap["env"]["DOCKER_CONTENT_TRUST"] = "1"
    outcome = judge(snap, "registry-content-trust")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("DOCKER_CONTENT_TRUST", "1")])


def test_content_trust_set_to_zero_fails():
    snap = recorded_snapshot()
    snap["env"]["DOCKER_CONTENT_TRUST"] = "0"
    outcome = judge(snap, "registry-content-trust")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("DOCKER_CONTENT_TRUST", "0")])


def test_content_trust_from_the_probe_record():
    records = recorded_records()
    records["env:DOCKER_CONTENT_TRUST"] = Record(out=b"1", rc=0)
    outcome = judge(build(records), "registry-content-trust")
    assert outcome.status is Status.PASS


# --- registry-credentials-not-plaintext


def with_client_config(content, path=ROOT_CONFIG):
    return build(with_file(recorded_records(), path, content, mode=0o600))


def test_credentials_recorded_host_has_no_client_config():
    outcome = judge(recorded_snapshot(), "registry-credentials-not-plaintext")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "no Docker client config.json found for root or docker group members")


def test_credentials_in_plain_text_fail():
    snap = with_client_config('{"auths": {"reg.example:5000": {"auth": "c2VjcmV0"}, "docker.io": {}}}')
    outcome = judge(snap, "registry-credentials-not-plaintext")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 client config(s) store registry passwords in plain text")
    assert observed(outcome) == [(ROOT_CONFIG, ["reg.example:5000"])]
    assert "c2VjcmV0" not in json.dumps(snap)


def test_credentials_identity_token_is_a_credential_too():
    outcome = judge(with_client_config('{"auths": {"reg.example": {"identitytoken": "eyJhbGciOi"}}}'), "registry-credentials-not-plaintext")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(ROOT_CONFIG, ["reg.example"])])


def test_credentials_in_a_credential_store_pass():
    outcome = judge(with_client_config('{"auths": {"reg.example:5000": {}}, "credsStore": "pass"}'), "registry-credentials-not-plaintext")
    assert (outcome.status, outcome.message) == (Status.PASS, "1 client config(s) keep no plain-text registry passwords")
    assert observed(outcome) == [(ROOT_CONFIG, "ok")]


def test_credentials_with_a_helper_for_that_registry_pass():
    content = '{"auths": {"reg.example:5000": {"auth": "c2VjcmV0"}}, "credHelpers": {"reg.example:5000": "ecr-login"}}'
    outcome = judge(with_client_config(content), "registry-credentials-not-plaintext")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [(ROOT_CONFIG, "ok")])


def test_credentials_helper_for_another_registry_does_not_cover():
    content = '{"auths": {"reg.example:5000": {"auth": "c2VjcmV0"}}, "credHelpers": {"other.example": "ecr-login"}}'
    outcome = judge(with_client_config(content), "registry-credentials-not-plaintext")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(ROOT_CONFIG, ["reg.example:5000"])])


def test_credentials_config_that_cannot_be_stated_errors_and_says_to_use_sudo():
    # /root is 0700: a scan without --sudo cannot even stat root's client config.
    snap = recorded_snapshot()
    snap["files"][ROOT_CONFIG] = unreadable(ROOT_CONFIG)
    outcome = judge(snap, "registry-credentials-not-plaintext")
    assert outcome.status is Status.ERROR
    assert outcome.message == f"cannot inspect {ROOT_CONFIG} unreadable (stat: cannot statx '{ROOT_CONFIG}': Permission denied): re-run with --sudo or as root"
    assert observed(outcome) == [(ROOT_CONFIG, "unreadable")]


def test_credentials_config_that_cannot_be_read_errors():
    path = "/home/cloudsdk/.docker/config.json"
    records = recorded_records()
    records["stat:" + path] = stat_record("file", 0o600, 1000, 1000, 60)
    records["read:" + path] = Record(rc=1, err=f"cat: {path}: Permission denied".encode())
    outcome = judge(build(records), "registry-credentials-not-plaintext")
    assert outcome.status is Status.ERROR
    assert f"cat: {path}: Permission denied" in outcome.message
    assert "--sudo" in outcome.message


def test_credentials_config_that_is_not_json_errors():
    outcome = judge(with_client_config('{"auths": '), "registry-credentials-not-plaintext")
    assert outcome.status is Status.ERROR
    assert outcome.message == f"{ROOT_CONFIG}: not valid JSON: Expecting value"
    assert observed(outcome) == [(ROOT_CONFIG, "not valid JSON: Expecting value")]


def test_credentials_plain_text_found_beside_an_unreadable_config_still_fails():
    records = with_file(recorded_records(), ROOT_CONFIG, '{"auths": {"reg.example": {"auth": "c2VjcmV0"}}}', mode=0o600)
    snap = build(records)
    snap["files"]["/home/cloudsdk/.docker/config.json"] = unreadable("/home/cloudsdk/.docker/config.json")
    outcome = judge(snap, "registry-credentials-not-plaintext")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(ROOT_CONFIG, ["reg.example"])])


@pytest.mark.parametrize("docker_state", [docker_unreachable, docker_not_installed])
def test_credentials_judged_without_the_daemon(docker_state):
    snap = docker_state(with_client_config('{"auths": {"reg.example": {"auth": "c2VjcmV0"}}}'))
    outcome = judge(snap, "registry-credentials-not-plaintext")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(ROOT_CONFIG, ["reg.example"])])


# --- registry-mirrors-https


def mirrors(*urls):
    """What `docker info` shows for registry-mirrors (Docker normalises them to end in /)."""
    snap = recorded_snapshot()
    snap["docker"]["info"]["RegistryConfig"]["Mirrors"] = list(urls)
    return snap


def test_mirrors_recorded_daemon_has_none():
    outcome = judge(recorded_snapshot(), "registry-mirrors-https")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.NOT_APPLICABLE, "no registry mirrors are configured", [("docker info", [])])


def test_mirrors_over_https_pass():
    outcome = judge(mirrors("https://mirror.gcr.io/", "https://hub-cache.example:5443/"), "registry-mirrors-https")
    assert (outcome.status, outcome.message) == (Status.PASS, "all 2 registry mirrors use HTTPS (or loopback)")
    assert observed(outcome) == [("docker info", ["https://mirror.gcr.io/", "https://hub-cache.example:5443/"])]


def test_mirror_over_http_fails():
    outcome = judge(mirrors("https://mirror.gcr.io/", "http://10.0.0.7:5000/"), "registry-mirrors-https")
    assert (outcome.status, outcome.message) == (Status.FAIL, "registry mirrors over plain HTTP: http://10.0.0.7:5000/")
    assert observed(outcome) == [("docker info", ["https://mirror.gcr.io/", "http://10.0.0.7:5000/"])]


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000/", "http://localhost:5000/", "http://[::1]:5000/"])
def test_mirror_over_http_on_loopback_passes(url):
    assert judge(mirrors(url), "registry-mirrors-https").status is Status.PASS


def test_mirrors_from_daemon_json_when_the_daemon_does_not_answer():
    snap = docker_unreachable(with_daemon_json(json.dumps({"registry-mirrors": ["http://mirror.internal"]})))
    outcome = judge(snap, "registry-mirrors-https")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(DAEMON_JSON, ["http://mirror.internal"])])


def test_mirrors_from_flags_when_the_daemon_does_not_answer():
    snap = docker_unreachable(recorded_snapshot())
    snap["daemon"]["argv"] += ["--registry-mirror", "https://mirror.internal", "--registry-mirror=http://cache.internal"]
    outcome = judge(snap, "registry-mirrors-https")
    assert (outcome.status, outcome.message) == (Status.FAIL, "registry mirrors over plain HTTP: http://cache.internal")
    assert observed(outcome) == [("dockerd command line", ["https://mirror.internal", "http://cache.internal"])]
