"""Building blocks several layers share: per-container verdicts, owner/mode verdicts, scan dates."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from dockbench.benchmark.document.model import Evidence, Outcome, Status, Undecidable, failed, manual, not_applicable, passed
from dockbench.benchmark.judge.facts import Container, Facts, FileFact

DATA = Path(__file__).parent / "data"


@cache
def load_data(name: str) -> Any:
    """A reference table from checks/data/ (release lines, kernel flaws): facts that change
    more often than the code that judges them, so they live as data beside it."""
    # libyaml's safe loader when PyYAML has it: the same data in a tenth of the pure-Python time
    return yaml.load((DATA / name).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@dataclass(frozen=True)
class Review:
    """A container the facts cannot settle (a volume of another driver, a namespace joined from a
    container that is not there): listed for a person to judge, never passed in silence."""

    value: Any


def per_container(facts: Facts, offending: Callable[[Container], Any], what: str) -> Outcome:
    """FAIL listing each container for which `offending` returns a value (the offending one);
    MANUAL when the only values are Review ones, which a FAIL lists too.

    `what` completes "N of M containers ..." (e.g. "run privileged").
    """
    containers = facts.containers
    if not containers:
        scope = "containers" if facts.selection.include_stopped else "running containers"
        total = len(facts.all_containers)
        return not_applicable(f"no {scope} matched the selection ({total} containers in total)", [Evidence("containers", f"{total} in total, none selected", "rule")])
    found = [(c, v) for c in containers for v in [offending(c)] if v is not None]
    bad = [(c, v) for c, v in found if not isinstance(v, Review)]
    review = [(c, v.value) for c, v in found if isinstance(v, Review)]
    evidence = [Evidence.container(c, v) for c, v in bad + review]
    if bad:
        return failed(f"{len(bad)} of {len(containers)} containers {what}" + (f"; {len(review)} more to review" if review else ""), evidence)
    if review:
        return manual(f"{len(review)} of {len(containers)} containers may {what}: review what the facts could not settle", evidence)
    return passed(f"none of {len(containers)} containers {what}", [Evidence("containers checked", [c.name for c in containers], "container", [c.id for c in containers])])


def with_context(outcome: Outcome, evidence: list[Evidence]) -> Outcome:
    """The outcome with evidence the verdict also rested on; a NOT_APPLICABLE one judged nothing."""
    if outcome.status is Status.NOT_APPLICABLE:
        return outcome
    return dataclasses.replace(outcome, evidence=outcome.evidence + tuple(evidence))


def mode_text(mode: int) -> str:
    return f"{mode:04o}"


def judge_mode(fact: FileFact, allowed: int) -> Outcome:
    """PASS when no permission bit outside `allowed` is set: "0644 or more restrictive"."""
    extra = fact.mode & ~allowed
    evidence = [Evidence(fact.path, f"{fact.type} {fact.owner}:{fact.group} {mode_text(fact.mode)}")]
    if extra:
        return failed(f"{fact.path} has mode {mode_text(fact.mode)}: bits {mode_text(extra)} go beyond {mode_text(allowed)}", evidence)
    return passed(f"{fact.path} has mode {mode_text(fact.mode)}, within {mode_text(allowed)}", evidence)


def judge_owner(fact: FileFact, owner: str, group: str) -> Outcome:
    """PASS when the file's owning user and group have the expected names."""
    evidence = [Evidence(fact.path, f"{fact.type} {fact.owner}:{fact.group} {mode_text(fact.mode)}")]
    owner_ok = fact.owner == owner or (owner == "root" and fact.uid == 0)
    group_ok = fact.group == group or (group == "root" and fact.gid == 0)
    if not (owner_ok and group_ok):
        return failed(f"{fact.path} is owned by {fact.owner}:{fact.group}, expected {owner}:{group}", evidence)
    return passed(f"{fact.path} is owned by {owner}:{group}", evidence)


def located(facts: Facts, path: str | None, missing: str) -> FileFact | Outcome:
    """The FileFact for a path, or the NOT_APPLICABLE outcome saying why there is none to judge."""
    if path is None:
        return not_applicable(missing, [Evidence("location", missing)])
    fact = facts.file(path)
    if fact.state == "absent":
        return not_applicable(f"{path} does not exist", [Evidence(path, "absent")])
    fact.require()
    return fact


def scanned_at(facts: Facts, what: str = "dates") -> datetime:
    """When the facts were collected (UTC): the "now" of every date comparison, so an archived
    snapshot judged later gives the answer it gave on the day of the scan."""
    if facts.collected_at is None:
        raise Undecidable(f"the snapshot has no collected_at time to compare {what} with")
    return facts.collected_at


def days_before_scan(facts: Facts, moment: datetime) -> int | None:
    """Whole days from `moment` (naive means UTC) to when the facts were collected, None if unknown."""
    try:
        scanned = scanned_at(facts)
    except Undecidable:
        return None
    return (scanned - (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))).days
