"""The certificates the daemon's API and its registries rely on, read and judged (validity, key
size, signature), and the private keys beside them, judged by their permissions only: the probe
never reads a private key, so neither does any check.

Certificates come from the daemon's tlscacert and tlscert (configured, or dockerd's defaults
under ~/.docker when TLS is on) and from *.crt, *.cert and *.pem files in /etc/docker/certs.d.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from dockbench.benchmark.collect.paths import is_below
from dockbench.benchmark.document.model import (
    Evidence,
    Layer,
    Outcome,
    Severity,
    Status,
    error,
    failed,
    not_applicable,
    passed,
)
from dockbench.benchmark.judge.facts import Facts
from dockbench.checks.catalog import check
from dockbench.checks.common import judge_mode, scanned_at
from dockbench.checks.locations import CERTS_D, is_private_key, tls_file

if TYPE_CHECKING:
    from cryptography import x509

CERT_SUFFIXES = (".crt", ".cert", ".pem")
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.DOTALL)


@dataclass(frozen=True)
class Certificate:
    label: str  # the file, with "#n" for the n-th certificate of a bundle
    cert: x509.Certificate

    @property
    def subject(self) -> str:
        return self.cert.subject.rfc4514_string() or "(empty subject)"


def _unique(paths: list[str]) -> list[str]:
    return list(dict.fromkeys(paths))


def _daemon_files(facts: Facts, keys: tuple[str, ...]) -> list[str]:
    return [path for path in (tls_file(facts, key) for key in keys) if path and path.startswith("/")]


def _registry_files(facts: Facts, wanted) -> list[str]:
    return [f.path for f in facts.files if is_below(f.path, CERTS_D) and f.type == "file" and wanted(f.path, f.entry)]


def certificate_files(facts: Facts) -> list[str]:
    """The daemon's CA and server certificates, then the registry certificates under certs.d
    (less the files the probe found a private key in and so did not read)."""
    registry = _registry_files(facts, lambda path, entry: path.endswith(CERT_SUFFIXES) and not (entry.get("private_key") and "content" not in entry))
    return _unique(_daemon_files(facts, ("tlscacert", "tlscert")) + registry)


def private_key_files(facts: Facts) -> list[str]:
    """The daemon's tlskey, any certificate file that also holds a key, and the keys under certs.d."""
    holding_keys = [p for p in _daemon_files(facts, ("tlscacert", "tlscert")) if facts.file(p).entry.get("private_key")]
    return _unique(_daemon_files(facts, ("tlskey",)) + holding_keys + _registry_files(facts, is_private_key))


def _looked(facts: Facts, daemon_files: str) -> list[Evidence]:
    """Where files were looked for, when none was found."""
    base = facts.file(CERTS_D)
    return [Evidence(daemon_files, "none configured"), Evidence(CERTS_D, "no certificate or key files" if base.present else base.state)]


def _unseen(facts: Facts, path: str) -> Evidence | None:
    """Why a file cannot be judged (unreadable, not collected), or None when it can."""
    fact = facts.file(path)
    if fact.state in ("unreadable", "error"):
        return Evidence(path, f"{fact.describe()}: re-run with --sudo or as root")
    if fact.state == "not_collected":
        return Evidence(path, "not collected by the probe")
    return None


def _load_pem(block: str) -> x509.Certificate:
    from cryptography import x509  # here: most hosts have no certificate, and importing it costs a scan ~20 ms

    return x509.load_pem_x509_certificate(block.encode())


def _certificates(facts: Facts) -> tuple[list[Certificate], list[Evidence], list[Evidence]]:
    """Parsed certificates, files that do not exist, and files that could not be judged."""
    certs, missing, problems = [], [], []
    for path in certificate_files(facts):
        fact = facts.file(path)
        if fact.state == "absent":
            missing.append(Evidence(path, "absent"))
            continue
        problem = _unseen(facts, path)
        if problem:
            problems.append(problem)
            continue
        blocks = _PEM_CERTIFICATE.findall(fact.content or "")
        if not blocks:
            problems.append(Evidence(path, "not a PEM certificate"))
        for n, block in enumerate(blocks, 1):
            label = path if len(blocks) == 1 else f"{path} #{n}"
            try:
                certs.append(Certificate(label, _load_pem(block)))
            except ValueError as exc:
                problems.append(Evidence(label, f"not a parseable PEM certificate ({exc})"))
    return certs, missing, problems


def _verdict(facts: Facts, judge: Callable[[Certificate], tuple[bool, str]], what: str, ok: str) -> Outcome:
    """FAIL on any certificate `judge` rejects; ERROR for files that could not be judged; else PASS.

    `what` completes "N of M certificates ..." for the failures, `ok` the pass message.
    """
    certs, missing, problems = _certificates(facts)
    if not certs and not problems:
        if missing:
            return not_applicable("the configured TLS certificate files do not exist", missing)
        return not_applicable(f"no TLS certificate is configured for the daemon and none is under {CERTS_D}", _looked(facts, "daemon TLS files"))
    return _conclude([(cert.label, *judge(cert)) for cert in certs], problems, missing, f"certificates {what}", f"certificates {ok}")


def _conclude(judged: list[tuple[str, bool, str]], problems: list[Evidence], missing: list[Evidence], bad_text: str, ok_text: str) -> Outcome:
    """FAIL listing the (label, good, observed) entries judged bad, with the files that could not
    be judged; ERROR when only those remain; else PASS showing every entry."""
    bad = [Evidence(label, text) for label, good, text in judged if not good]
    if bad:
        return failed(f"{len(bad)} of {len(judged)} {bad_text}", bad + problems)
    if problems:
        return error("cannot judge " + "; ".join(f"{e.subject}: {e.observed}" for e in problems), problems)
    return passed(f"all {len(judged)} {ok_text}", [Evidence(label, text) for label, _good, text in judged] + missing)


def _not_after(cert: x509.Certificate) -> datetime:
    when = getattr(cert, "not_valid_after_utc", None)  # cryptography 42+
    return when if when is not None else cert.not_valid_after.replace(tzinfo=timezone.utc)


def _days(span: timedelta) -> str:
    return "1 day" if span.days == 1 else f"{span.days} days"


@check(
    "tls-cert-expiry",
    title="TLS certificates of the daemon and its registries are valid and not about to expire",
    layer=Layer.TLS,
    severity=Severity.HIGH,
    rationale="An expired certificate breaks TLS, and the usual quick fix (turning verification off) opens the API or the registry to anyone.",
    remediation="Renew the certificate before it expires and restart the daemon (registry certificates are read per pull).",
)
def cert_expiry(facts: Facts) -> Outcome:
    now, days = scanned_at(facts, "expiry dates"), facts.policy.cert_expiry_warning_days

    def judge(cert: Certificate) -> tuple[bool, str]:
        end = _not_after(cert.cert)
        text = f"{cert.subject}, notAfter {end:%Y-%m-%dT%H:%M:%SZ}"
        if end <= now:
            return False, f"{text}: expired {_days(now - end)} before the scan"
        if end - now < timedelta(days=days):
            return False, f"{text}: expires in {_days(end - now)}, within the {days}-day warning"
        return True, f"{text}: {_days(end - now)} left"

    return _verdict(facts, judge, f"have expired or expire within {days} days", f"are valid for more than {days} days")


def _key_strength(cert: Certificate) -> tuple[bool, str]:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa  # loaded with the certificate

    key = cert.cert.public_key()
    if isinstance(key, (rsa.RSAPublicKey, dsa.DSAPublicKey)):
        kind = "RSA" if isinstance(key, rsa.RSAPublicKey) else "DSA"
        return key.key_size >= MIN_RSA_BITS, f"{cert.subject}: {kind} {key.key_size} bits"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.key_size >= MIN_EC_BITS, f"{cert.subject}: EC {key.curve.name} ({key.curve.key_size} bits)"
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return True, f"{cert.subject}: {'Ed25519' if isinstance(key, ed25519.Ed25519PublicKey) else 'Ed448'}"
    return True, f"{cert.subject}: {type(key).__name__}"


@check(
    "tls-cert-key-strength",
    title="TLS certificates use strong keys (RSA 2048 bits or more, EC 256 bits or more)",
    layer=Layer.TLS,
    severity=Severity.HIGH,
    rationale="RSA keys under 2048 bits and small curves are within reach of factoring and discrete-log attacks; "
    "a broken key lets an attacker impersonate the daemon or a registry.",
    remediation="Issue a new certificate with an RSA key of at least 2048 bits (3072 preferred) or an EC P-256/P-384 key.",
)
def cert_key_strength(facts: Facts) -> Outcome:
    return _verdict(facts, _key_strength, "have weak keys", f"have keys of at least RSA {MIN_RSA_BITS} / EC {MIN_EC_BITS} bits")


def _signature(cert: Certificate) -> tuple[bool, str]:
    from cryptography.exceptions import UnsupportedAlgorithm  # loaded with the certificate
    from cryptography.hazmat.primitives import hashes

    try:
        algorithm = cert.cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        algorithm = None
    name = algorithm.name if algorithm else cert.cert.signature_algorithm_oid.dotted_string
    if not isinstance(algorithm, (hashes.SHA1, hashes.MD5)):
        return True, f"{cert.subject}: signed with {name}"
    if cert.cert.issuer == cert.cert.subject:
        # A self-signed certificate is trusted because it is installed, not because of its signature.
        return True, f"{cert.subject}: self-signed with {name}; trusted as installed, its signature is not relied on"
    return False, f"{cert.subject}: signed with {name} by {cert.cert.issuer.rfc4514_string()}"


@check(
    "tls-cert-signature",
    title="TLS certificates are not signed with SHA-1 or MD5",
    layer=Layer.TLS,
    severity=Severity.MEDIUM,
    rationale="Collisions in SHA-1 and MD5 let an attacker forge a certificate that carries a CA's valid signature.",
    remediation="Have the certificate re-issued with a SHA-256 (or stronger) signature.",
)
def cert_signature(facts: Facts) -> Outcome:
    return _verdict(facts, _signature, "are signed with SHA-1 or MD5", "are signed with a strong hash (or are self-signed anchors)")


@check(
    "tls-private-key-private",
    title="Private keys of the daemon and registries are readable by their owner only",
    layer=Layer.TLS,
    severity=Severity.HIGH,
    rationale="A private key readable by a group or other users lets them impersonate the daemon or authenticate to a registry as this host.",
    remediation="chmod 600 (or 400) every private key shown in the evidence and keep it owned by root.",
)
def private_key_private(facts: Facts) -> Outcome:
    paths = private_key_files(facts)
    missing = [Evidence(p, "absent") for p in paths if facts.file(p).state == "absent"]
    problems = [e for e in (_unseen(facts, p) for p in paths) if e]
    modes = {p: judge_mode(facts.file(p), 0o700) for p in paths if facts.file(p).present}  # no bit for group or other
    if not modes and not problems:
        if missing:
            return not_applicable("the configured private key files do not exist", missing)
        return not_applicable(f"no private key is configured for the daemon and none is under {CERTS_D}", _looked(facts, "daemon tlskey"))
    judged = [(p, o.status is Status.PASS, o.evidence[0].observed) for p, o in modes.items()]
    return _conclude(judged, problems, missing, "private keys can be read or written by group or other users", "private keys are accessible to their owner only")
