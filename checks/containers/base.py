"""Readers of `docker inspect` fields that several container checks interpret the same way."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from dockbench.benchmark.document.model import Evidence
from dockbench.benchmark.judge.facts import Container, Facts
from dockbench.checks.common import Review


def security_opts(c: Container) -> list[str]:
    return [str(o) for o in c.host_config.get("SecurityOpt") or []]


def mount_text(m: dict[str, Any]) -> str:
    return f"{m.get('Source')} -> {m.get('Destination')}"


@dataclass(frozen=True)
class Reach:
    """What one mount of a container reaches on the host: `paths`, the host paths it exposes (its
    source as given and with symbolic links resolved, /var/run read as /run); `source` (a bind's
    source or "volume NAME") and `how` (what it binds, what it resolves to) to show it by; and
    `review`: why a person must look (a volume of another driver, facts the snapshot lacks)."""

    mount: dict[str, Any]
    paths: tuple[str, ...]
    source: str
    how: str = ""
    review: str | None = None

    @property
    def text(self) -> str:
        """e.g. "/var/run -> /host-run", "volume etc -> /e (binds /etc)", "/srv/link -> /l (resolves to /etc)"."""
        return f"{self.source} -> {self.mount.get('Destination')}{self.how}"

    @property
    def mode(self) -> str:
        return "rw" if self.mount.get("RW") else "ro"


def bound_device(volume: dict[str, Any]) -> str | None:
    """The host path a `local` volume binds (`--opt type=none --opt o=bind --opt device=PATH`), if it does."""
    options = volume.get("Options") or {}
    device = str(options.get("device") or "")
    binds = "bind" in str(options.get("o") or "").split(",") or options.get("type") == "bind"
    return device if binds and device.startswith("/") and volume.get("Driver") == "local" else None


def host_reach(c: Container, facts: Facts) -> list[Reach]:
    """Every mount of the container that reaches the host's filesystem: binds (--volumes-from
    copies them into its own Mounts), local volumes that bind a host path, and, for review,
    volumes of other drivers and mounts the snapshot lacks the facts to resolve."""
    reach = []
    for m in c.mounts:
        if m.get("Type") == "bind":
            source, shown, how = str(m.get("Source") or "/"), str(m.get("Source")), ""
        elif m.get("Type") == "volume":
            name, volumes = str(m.get("Name") or ""), facts.volumes
            volume = volumes.get(name) if volumes is not None else None
            shown = f"volume {name}"
            if volume is None:
                why = "the snapshot predates volume facts" if volumes is None else "it was not inspected"
                reach.append(Reach(m, (), shown, review=f"what it holds is unknown ({why})"))
                continue
            if volume.get("Driver") != "local":
                options = ", ".join(f"{k}={v}" for k, v in sorted((volume.get("Options") or {}).items()))
                reach.append(Reach(m, (), shown, review=f"driver {volume.get('Driver')}" + (f" ({options})" if options else "") + ": review what it reaches"))
                continue
            source = bound_device(volume)
            if source is None:
                continue  # the daemon's own storage for the volume
            how = f" (binds {source})"
        else:
            continue
        resolved = facts.realpath(source)
        paths = tuple(dict.fromkeys(host_path(p) for p in (source, resolved) if p))
        if resolved and host_path(resolved) != host_path(source):
            how += f" (resolves to {resolved})"
        why = "the snapshot predates it" if not facts.paths_resolved else "the probe could not read this path off the inspect output"
        review = f"its symbolic links were not resolved ({why})" if resolved is None else None
        reach.append(Reach(m, paths, shown, how, review))
    return reach


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
