"""What a fix of a failed check changes, declared next to the check (`fixable(check_id, fix)`).

`dockbench fix` (benchmark/remediate/) reads these declarations to write a remediation plan:
each says what to change on the host or in a container's run options, the impact of the
change in a sentence or two, and whether a person must weigh it before it is applied. A check
with no declaration has no automatic fix; its remediation text stays the advice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dockbench.benchmark.judge.facts import Facts


@dataclass(frozen=True)
class DaemonSetting:
    """Options to set in daemon.json (merged into the file, the other keys kept); the daemon
    reads them when it restarts."""

    settings: dict[str, Any]
    impact: str
    safe: bool = True
    refuse: Callable[[Facts], str | None] | None = None  # why this host cannot take it, if it cannot


@dataclass(frozen=True)
class AuditWatch:
    """An audit watch (`-w PATH -p wa -k docker`) of the path `locate` finds on the host."""

    locate: Callable[[Facts], str | None]
    impact: str = "Adds an audit record for each write to the path; loaded with augenrules --load (or at the next boot)."
    safe: bool = True


@dataclass(frozen=True)
class FileSetting:
    """The owner or the most permissive mode a file should have (the path is in the evidence)."""

    owner: tuple[str, str] | None = None
    mode: int | None = None
    impact: str = "Only the owner and group change; programs reading the file as another user lose that access."
    safe: bool = True


@dataclass(frozen=True)
class KernelSetting:
    """A sysctl value, written to a drop-in under /etc/sysctl.d/ and loaded with sysctl -p."""

    name: str
    value: str
    impact: str
    safe: bool = True


@dataclass(frozen=True)
class RunOption:
    """A change of the offending containers' run options; `compose` is the same change as the
    keys of a service in docker-compose.override.yml. Run options apply when a container is
    re-created, so a person always decides when."""

    options: tuple[str, ...]
    compose: dict[str, Any]
    impact: str
    safe: bool = False


Fix = DaemonSetting | AuditWatch | FileSetting | KernelSetting | RunOption
FIXES: dict[str, Fix] = {}


def fixable(check_id: str, fix: Fix) -> None:
    """Declare how a FAIL of `check_id` is fixed."""
    if check_id in FIXES:
        raise ValueError(f"check {check_id!r} declares two fixes")
    FIXES[check_id] = fix
