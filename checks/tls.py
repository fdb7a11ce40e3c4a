"""TLS on the daemon's API: whether TCP listeners require it, and the TLS files' protection."""

from __future__ import annotations

from benchmark.facts import Facts
from benchmark.model import Evidence, Layer, Outcome, Severity, failed, not_applicable, passed
from checks.catalog import check
from checks.common import FileRule, register_file_rules
from checks.locations import tls_file


def _is_tcp(host: str) -> bool:
    """dockerd reads a -H value without "scheme://" (e.g. "0.0.0.0:2375", ":2375") as TCP."""
    host = host.strip()
    return host.startswith("tcp://") or (bool(host) and "://" not in host)


def tcp_hosts(facts: Facts) -> list[str]:
    option = facts.daemon_option("hosts", flag="host", many=True)
    hosts = option.value if option else []
    return [h for h in ([hosts] if isinstance(hosts, str) else hosts) if isinstance(h, str) and _is_tcp(h)]


def _enabled(facts: Facts, key: str) -> bool:
    option = facts.daemon_option(key)
    return bool(option and option.value is True)


@check(
    "tls-tcp-requires-client-certs",
    title="A daemon listening on TCP requires TLS with client certificate verification",
    layer=Layer.TLS,
    severity=Severity.CRITICAL,
    rationale="Anyone who can reach an unauthenticated Docker API can start a privileged container and own the host.",
    remediation="Set tlsverify, tlscacert, tlscert and tlskey in daemon.json (or the matching --tls* flags), or stop listening on TCP.",
)
def tcp_requires_tlsverify(facts: Facts) -> Outcome:
    hosts = tcp_hosts(facts)
    if not hosts:
        return not_applicable("the daemon listens on no TCP address")
    settings = {key: (facts.daemon_option(key).value if facts.daemon_option(key) else None) for key in ("tlsverify", "tlscacert", "tlscert", "tlskey")}
    evidence = [Evidence("listeners", hosts)] + [Evidence(k, v) for k, v in settings.items()]
    if not _enabled(facts, "tlsverify"):
        return failed(f"the daemon listens on {', '.join(hosts)} without verifying client certificates", evidence)
    missing = [k for k in ("tlscacert", "tlscert", "tlskey") if not settings[k]]
    if missing:
        return failed(f"tlsverify is on but {', '.join(missing)} is not set", evidence)
    return passed(f"TCP listeners {', '.join(hosts)} require verified client certificates", evidence)


def _tls_rule(key: str, option: str, what: str, example: str, mode: int, why: str) -> FileRule:
    return FileRule(
        key, what, example, lambda f: tls_file(f, option), f"no {option} is configured for the daemon",
        ("root", "root"), mode, why, Severity.HIGH,
    )


register_file_rules(
    "tls",
    Layer.TLS,
    [
        _tls_rule("ca-cert", "tlscacert", "The daemon's TLS CA certificate", "/etc/docker/ca.pem", 0o444,
                  "The CA certificate decides which clients the daemon trusts."),
        _tls_rule("server-cert", "tlscert", "The daemon's TLS server certificate", "/etc/docker/server-cert.pem", 0o444,
                  "The server certificate proves the daemon's identity to clients."),
        _tls_rule("server-key", "tlskey", "The daemon's TLS private key", "/etc/docker/server-key.pem", 0o400,
                  "Whoever reads the private key can impersonate the daemon."),
    ],
)
