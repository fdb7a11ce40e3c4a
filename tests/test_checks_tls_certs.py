"""Certificates of the daemon and its registries, read and judged; private keys judged by mode only.

Certificates are real ones made with `cryptography` (tests/support/certs.py) and fed through the
probe's own record format, so parsing (and the dropping of private keys) is part of each test.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from dockbench import checks
from dockbench.benchmark.collect.probe import Record
from dockbench.benchmark.document.model import Status
from dockbench.benchmark.judge.facts import Facts
from dockbench.benchmark.judge.policy import Policy
from dockbench.benchmark.judge.runner import run_check
from tests.recorded import (
    build,
    judge,
    observed,
    recorded_records,
    stat_record,
    unreadable,
    with_file,
)
from tests.support.certs import SCAN, ec_key, issue, key_pem, pem, rsa_key

CA, CERT, KEY = "/etc/docker/tls/ca.pem", "/etc/docker/tls/server-cert.pem", "/etc/docker/tls/server-key.pem"
TLS_FLAGS = ["-H", "tcp://0.0.0.0:2376", "--tlsverify", f"--tlscacert={CA}", f"--tlscert={CERT}", f"--tlskey={KEY}"]
REGISTRY = "/etc/docker/certs.d/reg.example:5000"
COLLECTED = SCAN.strftime("%Y-%m-%dT%H:%M:%SZ")
NOT_AFTER = "notAfter {:%Y-%m-%dT%H:%M:%SZ}"


def scan(files: dict[str, str], flags=TLS_FLAGS, modes=None, keys=()):
    """The recorded host with these files (path -> content) read, `keys` only stat'ed, the daemon's flags."""
    records = recorded_records()
    for path, content in files.items():
        with_file(records, path, content, (modes or {}).get(path, 0o444))
    for path in keys:
        records["stat:" + path] = stat_record("file", (modes or {}).get(path, 0o400), 0, 0, 241)
    snap = build(records)
    snap["daemon"]["argv"] += list(flags)
    snap["collected_at"] = COLLECTED
    return snap


def daemon_certs(ca_days=3650, cert_days=365, **cert_options):
    ca = issue("Docker CA", key=rsa_key(), days_left=ca_days, days_valid=7300)
    cert = issue("docker.example", issuer=("Docker CA", rsa_key()), days_left=cert_days, **cert_options)
    return {CA: pem(ca), CERT: pem(cert)}, ca, cert


def day(n):
    return SCAN + timedelta(days=n)


# --- tls-cert-expiry


def test_expiry_recorded_host_has_no_certificates():
    outcome = judge(build(recorded_records()), "tls-cert-expiry")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "no TLS certificate is configured for the daemon and none is under /etc/docker/certs.d")
    assert observed(outcome) == [("daemon TLS files", "none configured"), ("/etc/docker/certs.d", "absent")]


def test_expiry_valid_certificates_pass_with_their_not_after():
    files, _ca, _cert = daemon_certs()
    outcome = judge(scan(files), "tls-cert-expiry")
    assert (outcome.status, outcome.message) == (Status.PASS, "all 2 certificates are valid for more than 30 days")
    assert observed(outcome) == [
        (CA, f"CN=Docker CA, {NOT_AFTER.format(day(3650))}: 3650 days left"),
        (CERT, f"CN=docker.example, {NOT_AFTER.format(day(365))}: 365 days left"),
    ]


def test_expiry_an_expired_certificate_fails():
    files, _ca, _cert = daemon_certs(cert_days=-3)
    outcome = judge(scan(files), "tls-cert-expiry")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 2 certificates have expired or expire within 30 days")
    assert observed(outcome) == [(CERT, f"CN=docker.example, {NOT_AFTER.format(day(-3))}: expired 3 days before the scan")]


def test_expiry_within_the_warning_period_fails():
    files, _ca, _cert = daemon_certs(cert_days=10.5)
    outcome = judge(scan(files), "tls-cert-expiry")
    assert outcome.status is Status.FAIL
    assert observed(outcome) == [(CERT, f"CN=docker.example, {NOT_AFTER.format(day(10.5))}: expires in 10 days, within the 30-day warning")]


def test_expiry_warning_period_comes_from_the_policy():
    files, _ca, _cert = daemon_certs(cert_days=10.5)
    facts = Facts(scan(files), policy=Policy(cert_expiry_warning_days=7))
    outcome = run_check(checks.load().get("tls-cert-expiry"), facts)
    assert (outcome.status, outcome.message) == (Status.PASS, "all 2 certificates are valid for more than 7 days")


def test_expiry_each_certificate_of_a_bundle_is_judged():
    old = issue("Old CA", days_left=-400)
    new = issue("New CA", days_left=900)
    outcome = judge(scan({f"{REGISTRY}/ca.crt": pem(new, old)}, flags=()), "tls-cert-expiry")
    assert outcome.status is Status.FAIL
    assert observed(outcome) == [(f"{REGISTRY}/ca.crt #2", f"CN=Old CA, {NOT_AFTER.format(day(-400))}: expired 400 days before the scan")]


def test_expiry_registry_client_certificates_are_judged():
    client = issue("client", days_left=5)
    outcome = judge(scan({f"{REGISTRY}/client.cert": pem(client)}, flags=()), "tls-cert-expiry")
    assert (outcome.status, observed(outcome)) == (
        Status.FAIL, [(f"{REGISTRY}/client.cert", f"CN=client, {NOT_AFTER.format(day(5))}: expires in 5 days, within the 30-day warning")])


def test_expiry_a_file_that_is_not_a_pem_certificate_errors():
    outcome = judge(scan({f"{REGISTRY}/ca.crt": "this is not a certificate\n"}, flags=()), "tls-cert-expiry")
    assert (outcome.status, outcome.message) == (Status.ERROR, f"cannot judge {REGISTRY}/ca.crt: not a PEM certificate")
    assert observed(outcome) == [(f"{REGISTRY}/ca.crt", "not a PEM certificate")]


def test_expiry_a_damaged_pem_certificate_errors_naming_the_file():
    damaged = "-----BEGIN CERTIFICATE-----\nMIIBnotbase64atall\n-----END CERTIFICATE-----\n"
    outcome = judge(scan({f"{REGISTRY}/ca.crt": damaged}, flags=()), "tls-cert-expiry")
    assert outcome.status is Status.ERROR
    assert outcome.message.startswith(f"cannot judge {REGISTRY}/ca.crt: not a parseable PEM certificate (")


def test_expiry_a_failure_is_reported_with_the_files_that_could_not_be_judged():
    files, _ca, _cert = daemon_certs(cert_days=-1)
    files[f"{REGISTRY}/ca.crt"] = "garbage"
    outcome = judge(scan(files), "tls-cert-expiry")
    assert outcome.status is Status.FAIL
    assert observed(outcome)[-1] == (f"{REGISTRY}/ca.crt", "not a PEM certificate")


def test_expiry_an_unreadable_certificate_errors_and_says_to_use_sudo():
    files, _ca, _cert = daemon_certs()
    snap = scan(files)
    snap["files"][CERT] = unreadable(CERT)
    outcome = judge(snap, "tls-cert-expiry")
    assert outcome.status is Status.ERROR
    assert outcome.message == f"cannot judge {CERT}: {CERT} unreadable (stat: cannot statx '{CERT}': Permission denied): re-run with --sudo or as root"


def test_expiry_configured_certificates_that_do_not_exist():
    snap = scan({})
    for path in (CA, CERT):
        snap["files"][path] = {"state": "absent", "error": "No such file or directory"}
    outcome = judge(snap, "tls-cert-expiry")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "the configured TLS certificate files do not exist")
    assert observed(outcome) == [(CA, "absent"), (CERT, "absent")]


def test_expiry_certificates_not_collected_by_the_probe_error():
    outcome = judge(scan({}), "tls-cert-expiry")  # the second round did not run
    assert (outcome.status, outcome.message) == (Status.ERROR, f"cannot judge {CA}: not collected by the probe; {CERT}: not collected by the probe")


def test_expiry_dockerd_default_files_under_the_daemon_users_home():
    # --tlsverify and no paths: dockerd uses ~/.docker/{ca,cert,key}.pem of the user it runs as.
    ca = issue("Docker CA", days_left=-1)
    snap = scan({"/root/.docker/ca.pem": pem(ca), "/root/.docker/cert.pem": pem(issue("docker.example"))}, flags=["-H", "tcp://0.0.0.0:2376", "--tlsverify"])
    outcome = judge(snap, "tls-cert-expiry")
    assert outcome.status is Status.FAIL
    assert observed(outcome) == [("/root/.docker/ca.pem", f"CN=Docker CA, {NOT_AFTER.format(day(-1))}: expired 1 day before the scan")]


# --- tls-cert-key-strength


def test_key_strength_rsa_2048_and_ec_p256_pass():
    files, _ca, _cert = daemon_certs()  # RSA 2048 CA, EC P-256 server certificate
    outcome = judge(scan(files), "tls-cert-key-strength")
    assert (outcome.status, outcome.message) == (Status.PASS, "all 2 certificates have keys of at least RSA 2048 / EC 256 bits")
    assert observed(outcome) == [(CA, "CN=Docker CA: RSA 2048 bits"), (CERT, "CN=docker.example: EC secp256r1 (256 bits)")]


def test_key_strength_rsa_1024_fails():
    files, _ca, _cert = daemon_certs(key=rsa_key(1024))
    outcome = judge(scan(files), "tls-cert-key-strength")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 2 certificates have weak keys")
    assert observed(outcome) == [(CERT, "CN=docker.example: RSA 1024 bits")]


def test_key_strength_small_curve_fails():
    weak = issue("reg.example", key=ec_key("secp192r1"))
    outcome = judge(scan({f"{REGISTRY}/ca.crt": pem(weak)}, flags=()), "tls-cert-key-strength")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(f"{REGISTRY}/ca.crt", "CN=reg.example: EC secp192r1 (192 bits)")])


# --- tls-cert-signature


def test_signature_sha256_passes():
    files, _ca, _cert = daemon_certs()
    outcome = judge(scan(files), "tls-cert-signature")
    assert (outcome.status, outcome.message) == (Status.PASS, "all 2 certificates are signed with a strong hash (or are self-signed anchors)")
    assert observed(outcome) == [(CA, "CN=Docker CA: signed with sha256"), (CERT, "CN=docker.example: signed with sha256")]


@pytest.mark.parametrize("hash_name", ["sha1", "md5"])
def test_signature_sha1_or_md5_by_a_ca_fails(hash_name):
    files, _ca, _cert = daemon_certs(hash_name=hash_name)
    outcome = judge(scan(files), "tls-cert-signature")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 2 certificates are signed with SHA-1 or MD5")
    assert observed(outcome) == [(CERT, f"CN=docker.example: signed with {hash_name} by CN=Docker CA")]


def test_signature_sha1_on_a_self_signed_root_is_not_relied_on():
    root = issue("Old Root", key=rsa_key(), issuer=("Old Root", rsa_key()), hash_name="sha1")
    outcome = judge(scan({f"{REGISTRY}/ca.crt": pem(root)}, flags=()), "tls-cert-signature")
    assert outcome.status is Status.PASS
    assert observed(outcome) == [(f"{REGISTRY}/ca.crt", "CN=Old Root: self-signed with sha1; trusted as installed, its signature is not relied on")]


# --- tls-private-key-private


def test_private_keys_recorded_host_has_none():
    outcome = judge(build(recorded_records()), "tls-private-key-private")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "no private key is configured for the daemon and none is under /etc/docker/certs.d")
    assert observed(outcome) == [("daemon tlskey", "none configured"), ("/etc/docker/certs.d", "absent")]


def test_private_keys_owner_only_pass():
    snap = scan({}, keys=[KEY, f"{REGISTRY}/client.key"], modes={KEY: 0o600})
    outcome = judge(snap, "tls-private-key-private")
    assert (outcome.status, outcome.message) == (Status.PASS, "all 2 private keys are accessible to their owner only")
    assert observed(outcome) == [(KEY, "file root:root 0600"), (f"{REGISTRY}/client.key", "file root:root 0400")]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602])
def test_private_keys_readable_or_writable_by_others_fail(mode):
    snap = scan({}, keys=[KEY, f"{REGISTRY}/client.key"], modes={f"{REGISTRY}/client.key": mode})
    outcome = judge(snap, "tls-private-key-private")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 2 private keys can be read or written by group or other users")
    assert observed(outcome) == [(f"{REGISTRY}/client.key", f"file root:root {mode:04o}")]


def test_private_key_in_a_pem_file_under_certs_d_is_a_key_not_a_certificate():
    path = f"{REGISTRY}/client.pem"
    records = recorded_records()  # as the probe reports it: stat'ed, marked, never read
    records["stat:" + path] = stat_record("file", 0o644, 0, 0, 241)
    records["private-key:" + path] = Record(out=b"", rc=0)
    snap = build(records)
    snap["collected_at"] = COLLECTED
    assert snap["files"][path]["private_key"] is True and "content" not in snap["files"][path]
    assert judge(snap, "tls-cert-expiry").status is Status.NOT_APPLICABLE
    outcome = judge(snap, "tls-private-key-private")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(path, "file root:root 0644")])


def test_a_certificate_file_holding_its_key_is_judged_as_both_and_the_key_is_dropped():
    key = ec_key(n=1)
    cert = issue("docker.example", key=key)
    files, _ca, _c = daemon_certs()
    files[CERT] = pem(cert) + key_pem(key)
    snap = scan(files, modes={CERT: 0o644})
    assert "PRIVATE KEY" not in json.dumps(snap)
    assert judge(snap, "tls-cert-expiry").status is Status.PASS
    outcome = judge(snap, "tls-private-key-private")
    assert (outcome.status, outcome.evidence[0].subject) == (Status.FAIL, CERT)


def test_private_key_that_cannot_be_inspected_errors():
    snap = scan({}, keys=[KEY])
    snap["files"][KEY] = unreadable(KEY)
    outcome = judge(snap, "tls-private-key-private")
    assert outcome.status is Status.ERROR
    assert outcome.message == f"cannot judge {KEY}: {KEY} unreadable (stat: cannot statx '{KEY}': Permission denied): re-run with --sudo or as root"


def test_configured_private_key_that_does_not_exist():
    snap = scan({})
    snap["files"][KEY] = {"state": "absent", "error": "No such file or directory"}
    outcome = judge(snap, "tls-private-key-private")
    assert (outcome.status, observed(outcome)) == (Status.NOT_APPLICABLE, [(KEY, "absent")])
