"""TLS on the daemon's API: its TCP listeners (TLS, client verification, where they bind) and the
protection of its TLS files."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from dockbench.benchmark.document.model import (
    Evidence,
    Layer,
    Outcome,
    Severity,
    failed,
    manual,
    not_applicable,
    passed,
)
from dockbench.benchmark.judge.facts import Facts
from dockbench.checks.catalog import FileRule, check, register_file_rules
from dockbench.checks.locations import tls_file

DEFAULT_TCP_PORT = 2375
TLS_FILE_KEYS = ("tlscacert", "tlscert", "tlskey")
FIRST_VERIFYING_RELEASE = 27  # Docker 27 verifies clients when tls is on and tlsverify unset


@dataclass(frozen=True)
class Listener:
    """A TCP address the daemon's API is served on: as configured, and what dockerd binds."""

    address: str
    source: str
    host: str
    port: int


def _is_tcp(host: str) -> bool:
    """dockerd reads a -H value without "scheme://" (e.g. "0.0.0.0:2375", ":2375") as TCP."""
    host = host.strip()
    return host.startswith("tcp://") or (bool(host) and "://" not in host)


def _bind(address: str) -> tuple[str, int]:
    """Host and port dockerd binds for a TCP address: a missing host is localhost, the port 2375."""
    rest = address.strip()
    netloc = (rest.removeprefix("tcp://")).split("/", 1)[0]
    if netloc.startswith("["):
        host, _, port = netloc[1:].partition("]")
        port = port.lstrip(":")
    elif netloc.count(":") == 1:
        host, port = netloc.split(":")
    else:
        host, port = netloc, ""  # no port, or a bare IPv6 address such as "::"
    return host or "localhost", int(port) if port.isdigit() else DEFAULT_TCP_PORT


def _activated(facts: Facts) -> list[Listener]:
    """TCP ListenStream= addresses of docker.socket, which dockerd serves when started with -H fd://."""
    unit = facts.unit("docker.socket")
    listeners = []
    for value in unit.get("listen_stream", []):
        if value.startswith(("/", "@", "vsock:")):
            continue  # unix and vsock sockets
        host, port = ("::", int(value)) if value.isdigit() else _bind(value)  # a bare port: every address
        listeners.append(Listener(value, f"{unit['path']} ListenStream", host, port))
    return listeners


def tcp_listeners(facts: Facts) -> list[Listener]:
    """The daemon's TCP listeners, from -H/hosts and, for socket activation, docker.socket."""
    option = facts.daemon_option("hosts", flag="host", many=True)
    hosts = option.value if option else []
    hosts = [h for h in ([hosts] if isinstance(hosts, str) else hosts) if isinstance(h, str)]
    listeners = [Listener(h, option.source, *_bind(h)) for h in hosts if _is_tcp(h)]
    if any(h.startswith("fd://") for h in hosts):
        listeners += _activated(facts)
    return listeners


def _hosts_evidence(facts: Facts) -> list[Evidence]:
    """Where the daemon's listeners are configured, for a verdict that there is no TCP one."""
    option = facts.daemon_option("hosts", flag="host", many=True)
    if option is not None:
        return [Evidence("hosts", f"{option.value!r} ({option.source})")]
    return [Evidence("hosts", "not set: the default unix socket only" if facts.daemon else "not set, and no dockerd process or docker.service was found")]


def _no_tcp(facts: Facts, more: list[Evidence] | None = None) -> Outcome:
    return not_applicable("the daemon listens on no TCP address", _hosts_evidence(facts) + (more or []))


def tcp_hosts(facts: Facts) -> list[str]:
    return [listener.address for listener in tcp_listeners(facts)]


def _engine_release(facts: Facts) -> int | None:
    version = str(facts.info.get("ServerVersion") or "") if facts.docker_ok else ""
    major = version.split(".", 1)[0]
    return int(major) if major.isdigit() else None


def client_verification(facts: Facts) -> tuple[bool, bool, str]:
    """(TLS on, clients verified, how that was decided) for the daemon's TCP listeners."""
    tls_on, verified = facts.daemon_tls()
    if not tls_on:
        return False, False, "TLS is off"
    if verified is None:
        release = _engine_release(facts)
        if release is not None and release >= FIRST_VERIFYING_RELEASE:
            return True, True, f"tls is on and tlsverify unset: Docker {release} verifies clients by default"
        return True, False, "tls is on and tlsverify unset: Docker before 27 then accepts any client"
    return True, verified, "tlsverify is on" if verified else "tlsverify is off"


def tls_setting(facts: Facts, key: str) -> str | None:
    """A TLS file for the evidence: the path as configured, or dockerd's default saying so."""
    option = facts.tls_file(key)
    if option is None:
        return None
    return option.value if facts.daemon_option(key) is not None else f"{option.value} ({option.source})"


def _setting(facts: Facts, key: str):
    option = facts.daemon_option(key)
    return option.value if option else None


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
        return _no_tcp(facts)
    files = {key: tls_setting(facts, key) for key in TLS_FILE_KEYS}
    evidence = [Evidence("listeners", hosts), Evidence("tlsverify", _setting(facts, "tlsverify"))] + [Evidence(k, v) for k, v in files.items()]
    tls_on, verified, how = client_verification(facts)
    if not verified:
        return failed(f"the daemon listens on {', '.join(hosts)} without verifying client certificates", evidence + ([Evidence("verification", how)] if tls_on else []))
    missing = [k for k, v in files.items() if not v]
    if missing:
        return failed(f"tlsverify is on but {', '.join(missing)} is not set", evidence)
    return passed(f"TCP listeners {', '.join(hosts)} require verified client certificates", evidence)


def _seen(facts: Facts, listener: Listener) -> str:
    """What the listener binds, corroborated by the host's listening sockets when they were read."""
    text = f"{listener.source}; binds {_endpoint(listener.host, listener.port)}"
    listening = facts.listening
    if listening is None:
        return text + "; listening sockets not read"
    on_port = [_endpoint(s.address, s.port) for s in listening if s.port == listener.port]
    return text + f"; listening: {', '.join(on_port) if on_port else f'nothing on port {listener.port}'}"


def _endpoint(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _addresses(listeners: list[Listener]) -> str:
    return ", ".join(listener.address for listener in listeners)


def _listener_evidence(facts: Facts, listeners: list[Listener]) -> list[Evidence]:
    return [Evidence(listener.address, _seen(facts, listener)) for listener in listeners]


def _no_listener(facts: Facts) -> Outcome:
    """No configured TCP listener; but something on Docker's API ports deserves a look."""
    listening = facts.listening
    api_ports = [_endpoint(s.address, s.port) for s in listening or [] if s.port in (DEFAULT_TCP_PORT, DEFAULT_TCP_PORT + 1)]
    if api_ports:
        return manual(
            "no dockerd TCP listener is configured, but sockets listen on Docker's API ports: check what serves them",
            [Evidence("listening", api_ports)],
        )
    seen = "nothing on ports 2375/2376" if listening is not None else "not read"
    return _no_tcp(facts, [Evidence("listening", seen)])


@check(
    "daemon-api-tls",
    title="The daemon API is not served over TCP without TLS",
    layer=Layer.TLS,
    severity=Severity.CRITICAL,
    rationale="Plain HTTP on TCP carries no authentication at all: whoever reaches the port controls the daemon and so the host.",
    remediation="Stop listening on TCP (use the unix socket, or ssh:// contexts), or set tlsverify with tlscacert, tlscert and tlskey.",
)
def api_tls(facts: Facts) -> Outcome:
    listeners = tcp_listeners(facts)
    if not listeners:
        return _no_listener(facts)
    tls_on, _verified, how = client_verification(facts)
    evidence = _listener_evidence(facts, listeners) + [Evidence("tls", how)]
    addresses = _addresses(listeners)
    if not tls_on:
        return failed(f"the daemon API on {addresses} is plain HTTP: unencrypted and unauthenticated", evidence)
    return passed(f"the daemon API on {addresses} uses TLS", evidence)


@check(
    "daemon-api-client-verify",
    title="The daemon API on TCP verifies client certificates",
    layer=Layer.TLS,
    severity=Severity.CRITICAL,
    rationale="TLS without client verification encrypts the traffic but lets any client in: the Docker API has no other authentication.",
    remediation="Set tlsverify: true and tlscacert to the CA that signs your clients' certificates.",
)
def api_client_verify(facts: Facts) -> Outcome:
    listeners = tcp_listeners(facts)
    if not listeners:
        return _no_tcp(facts)
    tls_on, verified, how = client_verification(facts)
    evidence = _listener_evidence(facts, listeners) + [Evidence("verification", how), Evidence("tlscacert", tls_setting(facts, "tlscacert"))]
    addresses = _addresses(listeners)
    if not tls_on:
        return failed(f"the daemon API on {addresses} has no TLS, so no client is verified", evidence)
    if not verified:
        return failed(f"the daemon API on {addresses} accepts any TLS client without a verified certificate", evidence)
    return passed(f"the daemon API on {addresses} requires client certificates signed by its CA", evidence)


def _scope(facts: Facts, listener: Listener) -> str:
    """loopback, every address, another address, or unknown (a host name the facts cannot resolve)."""
    if listener.host == "localhost":
        return "loopback"
    try:
        address = ipaddress.ip_address(listener.host.split("%", 1)[0])
    except ValueError:
        on_port = [s.address for s in facts.listening or [] if s.port == listener.port]
        if on_port:  # what the name resolved to, as the kernel shows it
            return "loopback" if all(ipaddress.ip_address(a).is_loopback for a in on_port) else "another address"
        return "unknown"
    address = getattr(address, "ipv4_mapped", None) or address
    if address.is_loopback:
        return "loopback"
    return "every address" if address.is_unspecified else "another address"


@check(
    "daemon-api-loopback-only",
    title="The daemon API on TCP is bound to loopback only",
    layer=Layer.TLS,
    severity=Severity.HIGH,
    rationale="A listener on 0.0.0.0, :: or an interface address exposes the daemon to the network; "
    "on loopback only local processes (and SSH tunnels) reach it.",
    remediation="Bind the TCP listener to 127.0.0.1 (tcp://127.0.0.1:2376), or remove it and use ssh:// contexts for remote access.",
)
def api_loopback_only(facts: Facts) -> Outcome:
    listeners = tcp_listeners(facts)
    if not listeners:
        return _no_tcp(facts)
    scopes = {listener: _scope(facts, listener) for listener in listeners}
    evidence = [Evidence(one.address, f"{scopes[one]}; {_seen(facts, one)}") for one in listeners]
    exposed = [one.address for one in listeners if scopes[one] in ("every address", "another address")]
    if exposed:
        return failed(f"the daemon API listens beyond loopback on {', '.join(exposed)}", evidence)
    unknown = [one.address for one in listeners if scopes[one] == "unknown"]
    if unknown:
        return manual(f"the daemon API binds host names the facts cannot resolve ({', '.join(unknown)}): confirm they are loopback", evidence)
    return passed(f"the daemon API listens on loopback only ({_addresses(listeners)})", evidence)


def _tls_rule(id: str, option: str, what: str, example: str, mode: int, why: str) -> FileRule:
    return FileRule(
        id, what, example, lambda f: tls_file(f, option), f"no {option} is configured for the daemon",
        ("root", "root"), mode, why, Severity.HIGH,
    )


register_file_rules(
    Layer.TLS,
    [
        _tls_rule("tls-ca-cert", "tlscacert", "The daemon's TLS CA certificate", "/etc/docker/ca.pem", 0o444,
                  "The CA certificate decides which clients the daemon trusts."),
        _tls_rule("tls-server-cert", "tlscert", "The daemon's TLS server certificate", "/etc/docker/server-cert.pem", 0o444,
                  "The server certificate proves the daemon's identity to clients."),
        _tls_rule("tls-server-key", "tlskey", "The daemon's TLS private key", "/etc/docker/server-key.pem", 0o400,
                  "Whoever reads the private key can impersonate the daemon."),
    ],
)
