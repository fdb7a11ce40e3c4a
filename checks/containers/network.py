"""How each container can be reached: the host ports it publishes, the addresses they are bound
to, and whether it sits on Docker's default bridge."""

from __future__ import annotations

from dataclasses import dataclass

from dockbench.benchmark.document.model import Evidence, Layer, Severity, Status, Undecidable, manual
from dockbench.benchmark.judge.facts import Container, Facts
from dockbench.checks.catalog import DOCKER, check, container_check
from dockbench.checks.common import per_container, with_context

PRIVILEGED_BELOW = 1024
WILDCARDS = ("0.0.0.0", "::")
ALLOWED_PORTS = "allowed_host_ports"


@dataclass(frozen=True)
class Published:
    """One published port: host address and port -> container port ("80/tcp").

    `address` is "" and `port` "" or "0" where the daemon chooses (a container not running).
    `port` may be a range ("8000-8010") when a range of host ports was asked for.
    """

    address: str
    port: str
    target: str

    def host_ports(self) -> range:
        """The host ports taken; empty while unknown (the daemon picks a free high one at start)."""
        low, _, high = self.port.partition("-")
        if not low.isdigit() or not int(low) or not (high or low).isdigit():
            return range(0)
        return range(int(low), int(high or low) + 1)

    def text(self, facts: Facts) -> str:
        """Like `docker ps`: 0.0.0.0:80->8080/tcp, [::]:80->8080/tcp."""
        address = self.address or _default_address(facts)
        host = f"[{address}]" if ":" in address else address
        return f"{host}:{self.port if self.host_ports() else 'ephemeral'}->{self.target}"


def _default_address(facts: Facts) -> str:
    """Where dockerd binds a port published without an address: its --ip, else every interface."""
    option = facts.daemon_option("ip")
    return str(option.value) if option and option.value else "0.0.0.0"


def published(c: Container) -> list[Published]:
    """The host ports a container publishes.

    A running container's NetworkSettings.Ports say what is bound (the actual address and the
    port picked for -P or -p 80); a stopped one has only the request in HostConfig.PortBindings
    (and -P, which publishes every exposed port).
    """
    if c.running:
        table = (c.inspect.get("NetworkSettings") or {}).get("Ports") or {}
    else:
        table = dict(c.host_config.get("PortBindings") or {})
        if c.host_config.get("PublishAllPorts"):
            for exposed in c.config.get("ExposedPorts") or {}:
                table.setdefault(exposed, [{"HostIp": "", "HostPort": ""}])
    return [
        Published(str(b.get("HostIp") or ""), str(b.get("HostPort") or ""), target)
        for target, bindings in sorted(table.items())
        for b in bindings or []  # an exposed port that is not published maps to null
    ]


@container_check(
    "container-no-privileged-ports",
    title=f"Containers publish no privileged host ports (below {PRIVILEGED_BELOW})",
    offense="publish privileged host ports",
    severity=Severity.LOW,
    rationale="Ports below 1024 are where hosts run their system services (ssh, dns, http); a container taking one "
    "can be mistaken for, or stand in for, such a service.",
    remediation="Publish the container on a host port of 1024 or above (-p 8080:80), and put a reviewed proxy or "
    "load balancer in front where a low port is required.",
)
def privileged_ports(c: Container, facts: Facts):
    hits = [p.text(facts) for p in published(c) if p.host_ports() and p.host_ports()[0] < PRIVILEGED_BELOW]
    return hits or None


@container_check(
    "container-ports-bound-to-interface",
    title="Published container ports are bound to a specific host address",
    offense="publish ports on every host interface",
    severity=Severity.MEDIUM,
    rationale="A port published on 0.0.0.0 or [::] is reachable on every interface of the host, including public "
    "ones, and Docker's iptables rules let that traffic past the host firewall.",
    remediation="Publish with an address (-p 127.0.0.1:8080:80, or the internal interface's address), or set the "
    "daemon's default with --ip.",
)
def wildcard_ports(c: Container, facts: Facts):
    hits = [p.text(facts) for p in published(c) if (p.address or _default_address(facts)) in WILDCARDS]
    return hits or None


@check(
    "container-only-needed-ports",
    title="Containers publish only the host ports the site allows",
    layer=Layer.CONTAINERS,
    severity=Severity.MEDIUM,
    needs=DOCKER,
    rationale="Every published port is a way into the container from outside the host; only the ports a service "
    "needs should be open, and which those are is the site's decision.",
    remediation=f"Remove -p/-P options for ports the service does not need; list the host ports that may be published "
    f"under {ALLOWED_PORTS} in the policy file (--config).",
)
def needed_ports(facts: Facts):
    """FAIL for ports outside the policy's allowed_host_ports; without it, MANUAL listing every published port."""
    allowed = facts.policy.allowed_host_ports
    if allowed is None:
        outcome = per_container(facts, lambda c: [p.text(facts) for p in published(c)] or None, "publish host ports")
        if outcome.status is not Status.FAIL:
            return outcome
        return manual(f"{outcome.message}: set {ALLOWED_PORTS} in the policy file (--config) to say which are needed", outcome.evidence)

    def outside(c: Container) -> list[str] | None:
        return [p.text(facts) for p in published(c) if not p.host_ports() or set(p.host_ports()) - set(allowed)] or None

    outcome = per_container(facts, outside, f"publish host ports outside {ALLOWED_PORTS}")
    return with_context(outcome, [Evidence(f"policy {ALLOWED_PORTS}", sorted(allowed))])


def _default_bridges(facts: Facts) -> dict[str, str]:
    """Name -> host interface of the daemon's default bridge network (docker0 unless --bridge renamed it)."""
    if not facts.networks:
        raise Undecidable("no Docker networks were collected (docker network inspect returned nothing)")
    return {
        n.get("Name", ""): options.get("com.docker.network.bridge.name", "docker0")
        for n in facts.networks
        for options in [n.get("Options") or {}]
        if options.get("com.docker.network.bridge.default_bridge") == "true"
    }


@container_check(
    "container-not-default-bridge",
    title="Containers are not attached to Docker's default bridge",
    offense="are attached to the default bridge",
    severity=Severity.LOW,
    rationale="On the default bridge (docker0) every container can reach every other one on any port unless icc is "
    "off, and there is no name resolution to scope who talks to whom; user-defined networks isolate groups of "
    "containers from each other.",
    remediation="Create a network per application (docker network create) and run its containers with --network; "
    "use --network none for containers that need no network.",
)
def default_bridge(c: Container, facts: Facts):
    bridges = _default_bridges(facts)
    attached = (c.inspect.get("NetworkSettings") or {}).get("Networks") or {}
    hits = [f"network {name} ({bridges[name]})" for name in attached if name in bridges]
    return f"NetworkMode={c.host_config.get('NetworkMode')}: {', '.join(hits)}" if hits else None
