"""Judge a snapshot: run each check in isolation, so one broken check never stops a scan."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dockbench.benchmark.document.model import LAYER_KINDS, Evidence, Needs, Outcome, Undecidable, error, not_applicable
from dockbench.benchmark.judge.check_registry import Check
from dockbench.benchmark.judge.facts import Facts


def _docker_gate(facts: Facts) -> Outcome | None:
    docker = facts.docker
    status = docker["status"]
    if status == "ok":
        return None
    where = docker.get("host") or "the default socket"
    evidence = [Evidence("docker", f"{status}: {docker.get('error')}")]
    if status == "not_installed":
        return not_applicable("Docker is not installed on this host", evidence)
    if status == "unreachable":
        return error(
            f"cannot reach the Docker daemon at {where}: {docker['error']}. "
            "Check --docker-host, that dockerd runs, and that the scanning user may use the socket (--sudo)",
            evidence,
        )
    return error(docker.get("error") or f"Docker facts unavailable ({status})", evidence)


def gate(needs: Iterable[Needs], facts: Facts) -> Outcome | None:
    """The outcome for a check whose prerequisites are missing, or None to run it."""
    if Needs.DOCKER in needs:
        return _docker_gate(facts)
    return None


def run_check(check: Check, facts: Facts) -> Outcome:
    outcome = gate(check.meta.needs, facts)
    if outcome is not None:
        return outcome
    try:
        outcome = check.func(facts)
    except Undecidable as exc:
        return error(str(exc), [Evidence("undecided", str(exc))])
    except Exception as exc:  # a bug in one check must not cost the rest of the scan
        return error(f"the check crashed ({type(exc).__name__}: {exc}); please report this", [Evidence("exception", f"{type(exc).__name__}: {exc}")])
    if not isinstance(outcome, Outcome):
        return error(f"the check returned {type(outcome).__name__}, not an Outcome; please report this", [Evidence("returned", repr(outcome)[:200])])
    return outcome


def evaluate(facts: Facts, checks: Iterable[Check]) -> list[dict[str, Any]]:
    """Results in report form: each check's metadata with its status, message and evidence."""
    results = []
    for check in checks:
        outcome = run_check(check, facts)
        results.append(
            {
                **check.meta.to_dict(),
                "status": outcome.status.value,
                "message": outcome.message,
                "evidence": [e.with_kind(LAYER_KINDS[check.meta.layer]).to_dict() for e in outcome.evidence],
            }
        )
    return results
