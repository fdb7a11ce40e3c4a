"""Swarm mode: whether it is on, and how a cluster that needs it is protected.

When swarm mode is inactive the section 7 checks are NOT_APPLICABLE (a host without a swarm
neither meets nor misses them). When it is active they read `docker info` (Swarm section,
and on managers the cluster spec), `docker node ls` (collected on managers only), the
overlay networks' inspect data, the listening TCP sockets from /proc/net, and the daemon's
swarm state file (its listen, advertise and data-path addresses; readable by root only).
A worker cannot see the cluster's settings: checks of those say so and name the managers.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from dockbench.benchmark.collect.well_known_paths import SWARM_STATE
from dockbench.benchmark.document.model import (
    Evidence,
    Layer,
    Outcome,
    Severity,
    Undecidable,
    failed,
    manual,
    not_applicable,
    passed,
)
from dockbench.benchmark.document.redact import looks_secret
from dockbench.benchmark.judge.facts import Facts
from dockbench.checks.catalog import DOCKER, check
from dockbench.checks.common import days_before_scan

STATE = "docker info Swarm.LocalNodeState"
SWARM_PORTS = (2377, 7946)  # cluster management (managers) and node gossip (all nodes)
WILDCARDS = ("0.0.0.0", "::")
MAX_MANAGERS = 7
NANOSECONDS_PER_DAY = 86400 * 10**9


def swarm_info(facts: Facts) -> dict[str, Any]:
    swarm = facts.info.get("Swarm")
    if not isinstance(swarm, dict) or not swarm.get("LocalNodeState"):
        raise Undecidable("docker info reported no swarm state (Swarm.LocalNodeState)")
    return swarm


def role(swarm: dict[str, Any]) -> str:
    return "manager" if swarm.get("ControlAvailable") else "worker"


def active(facts: Facts, managers_only: bool = False) -> dict[str, Any] | Outcome:
    """The Swarm section of an active node, or the outcome saying why there is nothing to judge:
    a check of an active swarm starts by returning that outcome when it gets one."""
    swarm = swarm_info(facts)
    state = swarm["LocalNodeState"]
    if state == "inactive":
        return not_applicable("swarm mode is inactive on this node", [Evidence(STATE, state)])
    if state != "active":
        detail = f" ({swarm['Error']})" if swarm.get("Error") else ""
        raise Undecidable(f"the node's swarm state is {state}{detail}: unlock (docker swarm unlock) or repair it, then scan again")
    if managers_only and not swarm.get("ControlAvailable"):
        managers = [m.get("Addr") for m in swarm.get("RemoteManagers") or []]
        return not_applicable(
            "this node is a swarm worker: the cluster's settings are visible only on managers, so scan a manager",
            [Evidence("docker info Swarm.RemoteManagers", managers)],
        )
    return swarm


def cluster_spec(swarm: dict[str, Any]) -> dict[str, Any]:
    spec = (swarm.get("Cluster") or {}).get("Spec")
    if not isinstance(spec, dict):
        raise Undecidable("docker info on this manager reported no cluster spec (Swarm.Cluster.Spec)")
    return spec


@check(
    "swarm-not-enabled",
    title="Swarm mode is enabled only where it is needed",
    layer=Layer.SWARM,
    severity=Severity.MEDIUM,
    needs=DOCKER,
    rationale="Swarm mode opens cluster ports (2377, 7946, 4789) and makes the node take orders from the managers.",
    remediation="If the node needs no swarm, leave it: docker swarm leave (on the last manager: docker swarm leave --force).",
)
def not_enabled(facts: Facts) -> Outcome:
    swarm = swarm_info(facts)
    state = swarm["LocalNodeState"]
    evidence = [Evidence(STATE, state)]
    if state == "inactive":
        return passed("swarm mode is inactive", evidence)
    evidence += [Evidence("role", role(swarm)), Evidence("docker info Swarm.NodeAddr", swarm.get("NodeAddr"))]
    if swarm.get("ControlAvailable"):
        evidence += [Evidence("docker info Swarm.Managers", swarm.get("Managers")), Evidence("docker info Swarm.Nodes", swarm.get("Nodes"))]
    if swarm.get("Error"):
        evidence.append(Evidence("docker info Swarm.Error", swarm["Error"]))
    return manual(f"this node is a swarm {role(swarm)} (state {state}): confirm that it needs swarm mode", evidence)


@check(
    "swarm-manager-count",
    title="The swarm has a small, odd number of managers",
    layer=Layer.SWARM,
    severity=Severity.LOW,
    needs=DOCKER,
    rationale="Every manager holds the cluster's keys and raft log; an even count adds one without tolerating more failures, and more than seven slows consensus.",
    remediation="Keep 1, 3, 5 or 7 managers: demote the others (docker node demote NODE).",
)
def manager_count(facts: Facts) -> Outcome:
    swarm = active(facts, managers_only=True)
    if isinstance(swarm, Outcome):
        return swarm
    count = swarm.get("Managers")
    if not isinstance(count, int):
        raise Undecidable("docker info on this manager reported no manager count (Swarm.Managers)")
    evidence = [Evidence("docker info Swarm.Managers", count), Evidence("docker info Swarm.Nodes", swarm.get("Nodes"))]
    nodes = facts.docker.get("nodes")
    if nodes is None:
        evidence.append(Evidence("docker node ls", "not collected"))
    else:
        evidence += [
            Evidence(n.get("Hostname") or n.get("ID", "?"), f"{n['ManagerStatus']}, {n.get('Status')}, {n.get('Availability')}")
            for n in nodes
            if n.get("ManagerStatus")
        ]
    if count % 2 == 0:
        return failed(f"{count} managers: an even number tolerates no more failures than {count - 1}", evidence)
    if count > MAX_MANAGERS:
        return failed(f"{count} managers: more than {MAX_MANAGERS} slow the raft consensus and spread the cluster's keys", evidence)
    return passed(f"{count} manager{'s' if count > 1 else ''}: an odd number, at most {MAX_MANAGERS}", evidence)


def state_file(facts: Facts) -> tuple[str, dict[str, Any] | None, str]:
    """The daemon's swarm state file: its path, its parsed addresses (None if unseen), why not."""
    root = facts.info.get("DockerRootDir") or "/var/lib/docker"
    path = root.rstrip("/") + SWARM_STATE
    fact = facts.file(path)
    if not fact.present or fact.content is None:
        hint = ": re-run with --sudo or as root" if fact.state in ("unreadable", "not_collected") else ""
        return path, None, f"{fact.describe()}{hint}"
    try:
        data = json.loads(fact.content)
    except json.JSONDecodeError as exc:
        return path, None, f"{path} is not JSON ({exc.msg})"
    return path, data if isinstance(data, dict) else None, "" if isinstance(data, dict) else f"{path} is not a JSON object"


def _host(address: str) -> str:
    """"10.0.0.1:2377" -> "10.0.0.1", "[::1]:2377" -> "::1", "10.0.0.1" -> itself."""
    if address.startswith("["):
        return address[1 : address.find("]")]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@check(
    "swarm-bound-to-interface",
    title="Swarm ports listen on a specific interface",
    layer=Layer.SWARM,
    severity=Severity.MEDIUM,
    needs=DOCKER,
    rationale="Bound to all addresses, the cluster management (2377) and gossip (7946) ports are reachable from every network the host is on.",
    remediation="Initialise or join with --listen-addr ADDRESS:2377 on the cluster network's interface (a node must leave and rejoin to change it).",
)
def bound_to_interface(facts: Facts) -> Outcome:
    swarm = active(facts)
    if isinstance(swarm, Outcome):
        return swarm
    path, state, why = state_file(facts)
    listen = (state or {}).get("ListenAddr")
    ports = set(SWARM_PORTS) | ({int(listen.rsplit(":", 1)[1])} if listen and listen.rsplit(":", 1)[-1].isdigit() else set())
    sockets = facts.listening
    if sockets is None and not listen:
        raise Undecidable(f"neither /proc/net/tcp nor the swarm state file could be read ({why})")
    seen = [s for s in sockets or [] if s.port in ports]
    evidence = [Evidence(_endpoint(s.address, s.port), "listening") for s in seen]
    evidence.append(Evidence(path, f"ListenAddr={listen}" if listen else why))
    wide = [_endpoint(s.address, s.port) for s in seen if s.address in WILDCARDS]
    if listen and _host(listen) in WILDCARDS + ("",):
        wide.append(f"ListenAddr {listen}")
    if wide:
        return failed(f"swarm ports listen on all addresses: {', '.join(wide)}", evidence)
    if not seen and not listen:
        raise Undecidable(f"no swarm port ({', '.join(map(str, sorted(ports)))}) listens in the probe's network namespace, and {why}")
    return passed("swarm ports listen on specific addresses only", evidence)


@check(
    "swarm-overlay-encrypted",
    title="Overlay networks encrypt their traffic",
    layer=Layer.SWARM,
    severity=Severity.HIGH,
    needs=DOCKER,
    rationale="Unencrypted overlay (VXLAN) traffic between nodes can be read and injected by anyone on the network in between.",
    remediation="Create overlay networks with --opt encrypted; for the routing mesh, recreate ingress: docker network create --driver overlay --ingress --opt encrypted ingress.",
)
def overlay_encrypted(facts: Facts) -> Outcome:
    swarm = active(facts)
    if isinstance(swarm, Outcome):
        return swarm
    overlays = sorted((n for n in facts.networks if n.get("Driver") == "overlay"), key=lambda n: n.get("Name", ""))
    scope = "" if swarm.get("ControlAvailable") else " (a worker sees only the overlay networks its tasks use)"
    if not overlays:
        return passed(f"no overlay networks{scope}", [Evidence("docker network inspect", "no overlay network")])

    def state(network: dict[str, Any]) -> str:
        # the overlay driver encrypts when the option is present, whatever its value
        encrypted = "encrypted" in (network.get("Options") or {})
        text = "encrypted" if encrypted else "not encrypted"
        return text + (" (the routing mesh's ingress network)" if network.get("Ingress") else "")

    evidence = [Evidence(n.get("Name", n.get("Id", "?")), state(n)) for n in overlays]
    plain = [e for e in evidence if e.observed.startswith("not")]
    if plain:
        return failed(f"{len(plain)} of {len(overlays)} overlay networks are not encrypted{scope}", plain)
    return passed(f"all {len(overlays)} overlay networks are encrypted{scope}", evidence)


@check(
    "swarm-secrets-managed",
    title="Swarm services get their secrets from docker secret",
    layer=Layer.SWARM,
    severity=Severity.MEDIUM,
    needs=DOCKER,
    rationale="Secrets passed as environment variables show in inspect output, logs and crash dumps; swarm secrets are encrypted at rest and mounted only into the tasks granted them.",
    remediation="Create secrets with docker secret create and grant them to services (--secret); move credentials out of service environments.",
)
def secrets_managed(facts: Facts) -> Outcome:
    """MANUAL: secrets are never collected; service tasks with secret-looking env names are a lead."""
    swarm = active(facts)
    if isinstance(swarm, Outcome):
        return swarm
    tasks = [c for c in facts.all_containers if "com.docker.swarm.service.name" in c.labels]
    leads = [
        Evidence.container(c, [name for name in c.config.get("Env") or [] if looks_secret(name)])
        for c in tasks
        if any(looks_secret(name) for name in c.config.get("Env") or [])
    ]
    evidence = [Evidence("role", role(swarm)), Evidence("swarm service tasks on this node", len(tasks))] + leads
    lead = f"; {len(leads)} of them have secret-looking environment variables" if leads else ""
    return manual(
        f"{len(tasks)} swarm service tasks run on this node{lead}: confirm with docker secret ls and docker service inspect that credentials come from docker secret",
        evidence,
    )


@check(
    "swarm-autolock",
    title="Swarm managers run in auto-lock mode",
    layer=Layer.SWARM,
    severity=Severity.MEDIUM,
    needs=DOCKER,
    rationale="Without auto-lock, the keys that decrypt the raft log (and every swarm secret in it) sit unencrypted on each manager's disk.",
    remediation="docker swarm update --autolock=true, and keep the unlock key in a password manager (never on the nodes).",
)
def autolock(facts: Facts) -> Outcome:
    swarm = swarm_info(facts)
    if swarm["LocalNodeState"] == "locked":
        return passed("the manager is locked: auto-lock is on", [Evidence(STATE, "locked")])
    swarm = active(facts, managers_only=True)
    if isinstance(swarm, Outcome):
        return swarm
    on = (cluster_spec(swarm).get("EncryptionConfig") or {}).get("AutoLockManagers")
    evidence = [Evidence("docker info Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers", bool(on))]
    return passed("auto-lock is on", evidence) if on else failed("auto-lock is off", evidence)


@check(
    "swarm-autolock-rotation",
    title="The swarm unlock key is rotated periodically",
    layer=Layer.SWARM,
    severity=Severity.LOW,
    needs=DOCKER,
    rationale="An unlock key that never changes stays valid for anyone who ever saw it.",
    remediation="Rotate on a schedule: docker swarm unlock-key --rotate, and store the new key safely.",
)
def autolock_rotation(facts: Facts) -> Outcome:
    swarm = active(facts, managers_only=True)
    if isinstance(swarm, Outcome):
        return swarm
    on = (cluster_spec(swarm).get("EncryptionConfig") or {}).get("AutoLockManagers")
    if not on:
        return not_applicable("auto-lock is off, so there is no unlock key to rotate (see swarm-autolock)", [Evidence("AutoLockManagers", False)])
    updated = (swarm.get("Cluster") or {}).get("UpdatedAt")
    return manual(
        "Docker does not report when the unlock key was last rotated: confirm docker swarm unlock-key --rotate runs on a schedule",
        [Evidence("AutoLockManagers", True), Evidence("docker info Swarm.Cluster.UpdatedAt (last cluster change, a rotation is one)", updated)],
    )


@check(
    "swarm-node-cert-rotation",
    title="Swarm node certificates expire and renew on a suitable schedule",
    layer=Layer.SWARM,
    severity=Severity.LOW,
    needs=DOCKER,
    rationale="Short-lived node certificates limit how long a stolen node certificate lets a machine act as a cluster member.",
    remediation="Set the expiry your policy asks for: docker swarm update --cert-expiry 720h (Docker's default is 90 days).",
)
def node_cert_rotation(facts: Facts) -> Outcome:
    swarm = active(facts, managers_only=True)
    if isinstance(swarm, Outcome):
        return swarm
    ca = cluster_spec(swarm).get("CAConfig") or {}
    expiry = ca.get("NodeCertExpiry")
    period = f"{expiry / NANOSECONDS_PER_DAY:g} days" if isinstance(expiry, int) and expiry > 0 else "90 days (Docker's default)"
    evidence = [Evidence("docker info Swarm.Cluster.Spec.CAConfig.NodeCertExpiry", expiry)]
    if ca.get("ExternalCAs"):
        evidence.append(Evidence("external CAs", [c.get("URL") for c in ca["ExternalCAs"]]))
    return manual(f"node certificates expire and are renewed every {period}: confirm this matches your certificate policy", evidence)


def _ca_validity(pem: str) -> tuple[datetime, datetime] | None:
    """The swarm root CA certificate's validity period (the certificate is public)."""
    try:
        from cryptography import (
            x509,  # a dependency of paramiko, installed with dockbench
        )

        cert = x509.load_pem_x509_certificate(pem.encode())
    except (ImportError, ValueError):
        return None
    start = getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before.replace(tzinfo=timezone.utc)
    end = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(tzinfo=timezone.utc)
    return start, end


@check(
    "swarm-ca-rotation",
    title="The swarm root CA is rotated as policy requires",
    layer=Layer.SWARM,
    severity=Severity.LOW,
    needs=DOCKER,
    rationale="Rotating the root CA retires every certificate it signed, including any a departed or compromised node still holds.",
    remediation="docker swarm ca --rotate on a schedule (and after a manager is compromised).",
)
def ca_rotation(facts: Facts) -> Outcome:
    swarm = active(facts, managers_only=True)
    if isinstance(swarm, Outcome):
        return swarm
    cluster = swarm.get("Cluster") or {}
    validity = _ca_validity((cluster.get("TLSInfo") or {}).get("TrustRoot") or "")
    evidence = [Evidence("docker info Swarm.Cluster.RootRotationInProgress", bool(cluster.get("RootRotationInProgress")))]
    if validity is None:
        evidence.append(Evidence("docker info Swarm.Cluster.TLSInfo.TrustRoot", "missing or not a PEM certificate"))
        return manual("the root CA certificate could not be read: check when it was last rotated (docker swarm ca)", evidence)
    start, end = validity
    evidence.append(Evidence("root CA certificate", f"valid {start:%Y-%m-%d} to {end:%Y-%m-%d}"))
    age = days_before_scan(facts, start)
    since = f" ({age} days before the scan)" if age is not None else ""
    return manual(f"the swarm root CA was issued on {start:%Y-%m-%d}{since}: confirm this meets your rotation policy", evidence)


@check(
    "swarm-plane-separation",
    title="Swarm data traffic uses another address than management traffic",
    layer=Layer.SWARM,
    severity=Severity.MEDIUM,
    needs=DOCKER,
    rationale="On one interface, busy or hostile container traffic competes with and can reach the cluster's control traffic.",
    remediation="Initialise or join with --data-path-addr on an interface other than --advertise-addr (a node must leave and rejoin to change it).",
)
def plane_separation(facts: Facts) -> Outcome:
    swarm = active(facts)
    if isinstance(swarm, Outcome):
        return swarm
    node_addr = swarm.get("NodeAddr")
    path, state, why = state_file(facts)
    evidence = [Evidence("docker info Swarm.NodeAddr", node_addr)]
    if state is None:
        evidence.append(Evidence(path, why))
        return manual(
            "the data-path address is recorded only in the daemon's swarm state file, which was not read: check that the node was "
            "initialised or joined with --data-path-addr on another interface than its advertise address",
            evidence,
        )
    advertise, data_path = state.get("AdvertiseAddr") or node_addr or "", state.get("DataPathAddr") or ""
    evidence.append(Evidence(path, f"AdvertiseAddr={advertise or '(unset)'} DataPathAddr={data_path or '(unset)'}"))
    management = _host(advertise) or node_addr
    if not data_path:
        return failed(f"no data-path address is set: data traffic shares the management address {management}", evidence)
    if _host(data_path) == management:
        return failed(f"the data-path address is the management address {management}", evidence)
    return passed(f"data traffic uses {_host(data_path)}, management traffic {management}", evidence)
