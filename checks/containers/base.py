"""What the container checks share: registration over the selected containers, and readers of
`docker inspect` fields that several checks interpret the same way."""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable
from functools import partial
from typing import Any

from dockbench.benchmark.facts import Container, Facts
from dockbench.benchmark.model import Evidence, Layer, Needs, Outcome, Severity, Status
from dockbench.checks.catalog import check
from dockbench.checks.common import per_container

DOCKER = (Needs.DOCKER,)
containers_check = partial(check, layer=Layer.CONTAINERS, needs=DOCKER)


def container_check(
    id: str,
    *,
    title: str,
    offense: str,
    severity: Severity,
    rationale: str,
    remediation: str,
    found: Status = Status.FAIL,
    precondition: Callable[[Facts], Outcome | None] | None = None,
    context: Callable[[Facts], list[Evidence]] | None = None,
):
    """Register a check over the selected containers; the function returns the offending value or None.

    `offense` completes "N of M containers ...", e.g. "run privileged". `found` is the status
    when some container offends: MANUAL where only a person can tell whether the value is
    intended. `precondition` may settle the check for every container at once (no AppArmor on
    the host); `context` adds the evidence the verdict also rests on (the site policy in force).
    """

    def register(offending):
        def judge(facts: Facts) -> Outcome:
            settled = precondition(facts) if precondition else None
            if settled is not None:
                return settled
            outcome = per_container(facts, lambda c: offending(c, facts), offense)
            if outcome.status is Status.FAIL:
                outcome = dataclasses.replace(outcome, status=found)
            return with_context(outcome, context(facts)) if context else outcome

        judge.__doc__ = offending.__doc__
        containers_check(id, title=title, severity=severity, rationale=rationale, remediation=remediation)(judge)
        return offending

    return register


def with_context(outcome: Outcome, evidence: list[Evidence]) -> Outcome:
    """The outcome with evidence the verdict also rested on; a NOT_APPLICABLE one judged nothing."""
    if outcome.status is Status.NOT_APPLICABLE:
        return outcome
    return dataclasses.replace(outcome, evidence=outcome.evidence + tuple(evidence))


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
