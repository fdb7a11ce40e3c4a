"""The one registry every layer module adds its checks to, and the three ways a check is
declared into it (described, with an example each, in checks/__init__.py)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dockbench.benchmark.document.model import Evidence, Layer, Needs, Outcome, Severity, Status
from dockbench.benchmark.judge.check_registry import Registry
from dockbench.benchmark.judge.facts import Container, Facts, FileFact
from dockbench.checks.common import judge_mode, judge_owner, located, mode_text, per_container, with_context
from dockbench.checks.fixes import FileSetting, fixable

CATALOG = Registry()
DOCKER = (Needs.DOCKER,)  # needs=DOCKER: the check judges what the daemon reports

check = CATALOG.check


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

    def register(offending: Callable[[Container, Facts], Any]):
        def judge(facts: Facts) -> Outcome:
            settled = precondition(facts) if precondition else None
            if settled is not None:
                return settled
            outcome = per_container(facts, lambda c: offending(c, facts), offense)
            if outcome.status is Status.FAIL:
                outcome = dataclasses.replace(outcome, status=found)
            return with_context(outcome, context(facts)) if context else outcome

        judge.__doc__ = offending.__doc__
        check(id, title=title, layer=Layer.CONTAINERS, severity=severity, needs=DOCKER, rationale=rationale, remediation=remediation, module=offending.__module__)(judge)
        return offending

    return register


@dataclass(frozen=True)
class FileRule:
    """Expected owner and most permissive mode of one file, judged by the checks `<id>-owner` and `<id>-mode`.

    `locate` returns the path on this host, or None with `missing` saying why there is none.
    """

    id: str
    what: str
    example: str
    locate: Callable[[Facts], str | None]
    missing: str
    owner: tuple[str, str]
    mode: int
    why: str
    severity: Severity = Severity.MEDIUM
    needs: tuple[Needs, ...] = (Needs.HOST,)


def register_file_rules(layer: Layer, rules: list[FileRule]) -> None:
    """Register an owner and a mode check for each rule; the calling module declares them."""
    module = sys._getframe(1).f_globals["__name__"]
    for rule in rules:
        owner, mode = ":".join(rule.owner), mode_text(rule.mode)
        kinds = (
            ("owner", f"is owned by {owner}", f"Only {owner} should be able to replace or re-permission it.", f"chown {owner}", lambda fact, rule=rule: judge_owner(fact, *rule.owner),
             FileSetting(owner=rule.owner)),
            ("mode", f"has mode {mode} or stricter", f"Any permission beyond {mode} lets other users read or change it.", f"chmod {rule.mode:o}", lambda fact, rule=rule: judge_mode(fact, rule.mode),
             FileSetting(mode=rule.mode, impact=f"The permission bits beyond {mode} are removed; users who relied on them lose that access.")),
        )
        for suffix, verdict, why, fix, judge, setting in kinds:
            check(
                f"{rule.id}-{suffix}",
                title=f"{rule.what} {verdict}",
                layer=layer,
                severity=rule.severity,
                needs=rule.needs,
                rationale=f"{rule.why} {why}",
                remediation=f"{fix} on the path shown in the evidence (usually {rule.example}).",
                module=module,
            )(_where_located(rule, judge))
            fixable(f"{rule.id}-{suffix}", setting)


def _where_located(rule: FileRule, verdict: Callable[[FileFact], Outcome]) -> Callable[[Facts], Outcome]:
    """The check of one rule: the verdict on its file, or why this host has none to judge."""

    def judge(facts: Facts) -> Outcome:
        fact = located(facts, rule.locate(facts), rule.missing)
        return fact if isinstance(fact, Outcome) else verdict(fact)

    return judge
