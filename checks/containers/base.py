"""Readers of `docker inspect` fields that several container checks interpret the same way."""

from __future__ import annotations

import posixpath
from typing import Any

from dockbench.benchmark.document.model import Evidence
from dockbench.benchmark.judge.facts import Container, Facts


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
