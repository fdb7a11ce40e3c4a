"""Every result carries evidence, whatever the verdict: on the recorded host, and on the same
host with Docker unreachable or not installed."""

from __future__ import annotations

import pytest

from dockbench import checks
from dockbench.benchmark.judge.facts import Facts
from dockbench.benchmark.judge.runner import evaluate
from tests.recorded import recorded_snapshot


def variants():
    yield "recorded", recorded_snapshot()
    unreachable = recorded_snapshot()
    unreachable["docker"].update(status="unreachable", error="Cannot connect to the Docker daemon")
    yield "unreachable", unreachable
    missing = recorded_snapshot()
    missing["docker"] = {"host": None, "status": "not_installed", "error": "the docker command is not installed on the target", "errors": []}
    yield "not installed", missing


@pytest.mark.parametrize("name, snapshot", list(variants()), ids=lambda v: v if isinstance(v, str) else "")
def test_no_result_without_evidence(name, snapshot):
    results = evaluate(Facts(snapshot), checks.load().all())
    bare = [(r["id"], r["status"], r["message"]) for r in results if not r["evidence"]]
    assert bare == []
