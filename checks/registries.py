"""How the daemon and its clients talk to registries: TLS, certificates, credentials, trust."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from dockbench.benchmark.collect.paths import is_below
from dockbench.benchmark.collect.well_known_paths import CLIENT_CONFIG
from dockbench.benchmark.document.model import (
    Evidence,
    Layer,
    Needs,
    Outcome,
    Severity,
    error,
    failed,
    not_applicable,
    passed,
)
from dockbench.benchmark.judge.facts import Facts
from dockbench.checks.catalog import check
from dockbench.checks.common import judge_mode, judge_owner
from dockbench.checks.locations import CERTS_D, is_private_key


def _is_loopback(entry: str) -> bool:
    """True for 127.0.0.0/8, ::1/128, localhost:5000, [::1]:5000 and the like."""
    try:
        return ipaddress.ip_network(entry, strict=False).is_loopback
    except ValueError:
        pass
    if entry.startswith("["):
        host = entry[1 : entry.find("]")]
    else:
        host = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_registries(facts: Facts) -> tuple[list[str], str]:
    """Registries reached without TLS verification, from the live daemon when it answers."""
    if facts.docker_ok:
        config = facts.info.get("RegistryConfig") or {}
        entries = list(config.get("InsecureRegistryCIDRs") or [])
        entries += [name for name, index in (config.get("IndexConfigs") or {}).items() if not index.get("Secure", True)]
        return entries, "docker info"
    option = facts.daemon_option("insecure-registries", flag="insecure-registry", many=True)
    return (list(option.value) if option else []), (option.source if option else "daemon configuration")


@check(
    "registry-no-insecure",
    title="No insecure (plain HTTP or unverified TLS) registries are configured",
    layer=Layer.REGISTRIES,
    severity=Severity.HIGH,
    rationale="Images pulled from an insecure registry can be swapped in transit; loopback registries are the only safe exception.",
    remediation="Remove entries from insecure-registries in daemon.json (and --insecure-registry flags); give the registry a trusted TLS certificate.",
)
def no_insecure_registries(facts: Facts) -> Outcome:
    entries, source = insecure_registries(facts)
    outside = [e for e in entries if not _is_loopback(e)]
    evidence = [Evidence(source, entries)]
    if outside:
        return failed(f"insecure registries outside loopback: {', '.join(outside)}", evidence)
    return passed("no insecure registries beyond loopback", evidence)


def _registry_certs(facts: Facts) -> list[str] | Outcome:
    base = facts.file(CERTS_D)
    if base.state == "absent":
        return not_applicable(f"{CERTS_D} does not exist: no per-registry certificates", [Evidence(CERTS_D, "absent")])
    base.require()
    certs = [f.path for f in facts.files if is_below(f.path, CERTS_D) and f.type == "file"]
    return certs or not_applicable(f"{CERTS_D} holds no certificate files", [Evidence(CERTS_D, "no files")])


def _each_cert(facts: Facts, judge) -> Outcome:
    certs = _registry_certs(facts)
    if isinstance(certs, Outcome):
        return certs
    outcomes = [judge(facts.file(path)) for path in certs]
    bad = [e for o in outcomes if o.status.value == "FAIL" for e in o.evidence]
    if bad:
        return failed(f"{len(bad)} of {len(certs)} registry certificate files fall short", bad)
    return passed(f"all {len(certs)} registry certificate files comply", [e for o in outcomes for e in o.evidence])


@check(
    "registry-certs-owner",
    title="Registry certificate files are owned by root:root",
    layer=Layer.REGISTRIES,
    severity=Severity.MEDIUM,
    rationale="Registry certificates decide which registries the daemon trusts; only root may replace them.",
    remediation=f"chown -R root:root {CERTS_D}",
)
def registry_certs_owner(facts: Facts) -> Outcome:
    return _each_cert(facts, lambda fact: judge_owner(fact, "root", "root"))


@check(
    "registry-certs-mode",
    title="Registry certificate files have mode 0444 or stricter (their private keys 0400)",
    layer=Layer.REGISTRIES,
    severity=Severity.MEDIUM,
    rationale="A writable registry certificate lets a local user make the daemon trust a rogue registry; "
    "a readable client key lets them authenticate to the registry as this host.",
    remediation=f"chmod 444 the certificates under {CERTS_D} and chmod 400 the private keys there (*.key)",
)
def registry_certs_mode(facts: Facts) -> Outcome:
    return _each_cert(facts, lambda fact: judge_mode(fact, 0o400 if is_private_key(fact.path, fact.entry) else 0o444))


def _is_loopback_url(url: str) -> bool:
    netloc = urlsplit(url).netloc.rsplit("@", 1)[-1]
    return _is_loopback(netloc)


@check(
    "registry-mirrors-https",
    title="Registry mirrors are reached over HTTPS",
    layer=Layer.REGISTRIES,
    severity=Severity.HIGH,
    rationale="Every pull of a Docker Hub image goes to the mirror first: over plain HTTP, anyone on the path can serve altered images.",
    remediation="Use https:// URLs in registry-mirrors (daemon.json) or --registry-mirror, with a certificate the daemon trusts.",
)
def mirrors_https(facts: Facts) -> Outcome:
    if facts.docker_ok:
        mirrors, source = list((facts.info.get("RegistryConfig") or {}).get("Mirrors") or []), "docker info"
    else:
        option = facts.daemon_option("registry-mirrors", flag="registry-mirror", many=True)
        mirrors, source = (list(option.value) if option else []), (option.source if option else "daemon configuration")
    if not mirrors:
        return not_applicable("no registry mirrors are configured", [Evidence(source, [])])
    plain = [m for m in mirrors if isinstance(m, str) and m.lower().startswith("http://") and not _is_loopback_url(m)]
    evidence = [Evidence(source, mirrors)]
    if plain:
        return failed(f"registry mirrors over plain HTTP: {', '.join(plain)}", evidence)
    return passed(f"all {len(mirrors)} registry mirrors use HTTPS (or loopback)", evidence)


@check(
    "registry-content-trust",
    title="Docker content trust is enabled for the auditing environment",
    layer=Layer.REGISTRIES,
    severity=Severity.LOW,
    rationale="With content trust, the client refuses unsigned images on pull, push, build and run.",
    remediation="export DOCKER_CONTENT_TRUST=1 in the environment that runs docker (e.g. /etc/environment or the CI runner).",
)
def content_trust(facts: Facts) -> Outcome:
    value = facts.env("DOCKER_CONTENT_TRUST")
    evidence = [Evidence("DOCKER_CONTENT_TRUST", value if value else "unset")]
    if value == "1":
        return passed("DOCKER_CONTENT_TRUST=1 in the probe's environment", evidence)
    return failed("DOCKER_CONTENT_TRUST is not 1 in the probe's environment", evidence)


@check(
    "registry-credentials-not-plaintext",
    title="Registry credentials are kept in a credential store, not in plain text",
    layer=Layer.REGISTRIES,
    severity=Severity.HIGH,
    needs=(Needs.HOST,),
    rationale="docker login without a credential helper writes a reusable base64 password into ~/.docker/config.json.",
    remediation="Configure credsStore (or credHelpers) in the client config and log in again; delete the auths entries holding credentials.",
)
def credentials_not_plaintext(facts: Facts) -> Outcome:
    configs = facts.client_configs
    # Client configs the probe could not stat or read, and (below) ones that are not JSON, get no verdict.
    found = [fact for fact in facts.files if fact.path.endswith(CLIENT_CONFIG)]
    unseen = [fact for fact in found if fact.state in ("unreadable", "error")]
    if not configs and not unseen:
        return not_applicable("no Docker client config.json found for root or docker group members", [Evidence("client configs", "none found")])
    bad, broken = [], []
    for path, config in sorted(configs.items()):
        if "error" in config:
            broken.append(Evidence(path, config["error"]))
            continue
        plain = [reg for reg, auth in config["auths"].items() if auth["has_credentials"] and reg not in config["cred_helpers"]]
        if plain and not config["creds_store"]:
            bad.append(Evidence(path, plain))
    if bad:
        return failed(f"{len(bad)} client config(s) store registry passwords in plain text", bad)
    if unseen or broken:
        why = [f"cannot inspect {f.describe()}" for f in unseen] + [f"{e.subject}: {e.observed}" for e in broken]
        hint = ": re-run with --sudo or as root" if unseen else ""
        return error("; ".join(why) + hint, [Evidence(f.path, f.state) for f in unseen] + broken)
    return passed(f"{len(configs)} client config(s) keep no plain-text registry passwords", [Evidence(p, "ok") for p in sorted(configs)])
