"""Readers of `docker inspect` fields that several container checks interpret the same way."""

from __future__ import annotations

import posixpath
from typing import Any

from dockbench.benchmark.document.model import Evidence
from dockbench.benchmark.judge.facts import Container, Facts
from dockbench.checks.common import Review


def security_opts(c: Container) -> list[str]:
    return [str(o) for o in c.host_config.get("SecurityOpt") or []]


def host_mounts(c: Container) -> list[dict[str, Any]]:
    return [m for m in c.mounts if m.get("Type") == "bind"]


def mount_text(m: dict[str, Any]) -> str:
    return f"{m.get('Source')} -> {m.get('Destination')}"


def host_path(path: Any) -> str:
    """A bind source as the host resolves it: normalised, /var/run read as /run (its symlink)."""
    path = posixpath.normpath(str(path or "/"))
    path = "/" if path == "//" else path
    return "/run" + path[len("/var/run") :] if path == "/var/run" or path.startswith("/var/run/") else path


JOINED = "container:"


def shared_namespace(c: Container, facts: Facts, mode: str) -> str | Review | None:
    """How a container shares the host's namespace named by the HostConfig field `mode`
    (PidMode, IpcMode, ...): set there ("PidMode=host"), or joined from another container
    (`container:ID`), followed to the end of the chain, which the answer names. A chain
    through a container that is not on the host (or a loop) cannot be judged: a Review."""
    chain, value = [c], str(c.host_config.get(mode) or "")
    while value.startswith(JOINED):
        ref = value[len(JOINED) :]
        joined = facts.container(ref)
        if joined is None or joined in chain:
            why = "which is not on this host" if joined is None else "a loop"
            return Review(" -> ".join(f"{mode}={step.host_config.get(mode)}" if step is c else step.name for step in chain) + f": joins {ref[:12]}, {why}: what it shares is unknown")
        chain.append(joined)
        value = str(joined.host_config.get(mode) or "")
    if value != "host":
        return None
    if len(chain) == 1:
        return f"{mode}=host"
    return f"{mode}=container:{chain[1].name}" + "".join(f" -> {step.name}" for step in chain[2:]) + f", which has {mode}=host"


def capability(name: Any) -> str:
    """CAP_SYS_ADMIN for sys_admin, SYS_ADMIN or CAP_SYS_ADMIN (Docker accepts and stores each)."""
    name = str(name).upper()
    return name if name == "ALL" or name.startswith("CAP_") else "CAP_" + name


def allowed_capabilities(facts: Facts) -> frozenset[str]:
    return frozenset(capability(c) for c in facts.policy.allowed_capabilities or ())


def capability_policy(facts: Facts) -> list[Evidence]:
    """The policy exemptions a capability verdict took into account, when there are any."""
    allowed = facts.policy.allowed_capabilities
    return [] if allowed is None else [Evidence("policy allowed_capabilities", sorted(allowed_capabilities(facts)))]
