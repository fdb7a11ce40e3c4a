"""Every result carries evidence, whatever the verdict: on the recorded host, and on the same
host with Docker unreachable or not installed."""

from __future__ import annotations

import pytest

from dockbench import checks
from dockbench.benchmark.archive.diff import diff_hosts
from dockbench.benchmark.document.model import EVIDENCE_KINDS
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


@pytest.mark.parametrize("name, snapshot", list(variants()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_item_says_what_it_is_about(name, snapshot):
    results = evaluate(Facts(snapshot), checks.load().all())
    kinds = {e["kind"] for r in results for e in r["evidence"]}
    assert kinds <= set(EVIDENCE_KINDS)
    ids = {c["Name"].lstrip("/"): c["Id"] for c in snapshot["docker"].get("containers") or []}
    about_containers = [e for r in results for e in r["evidence"] if e["kind"] == "container"]
    for item in about_containers:
        if isinstance(item["id"], list):   # "containers checked"
            assert item["id"] == [ids[n] for n in item["observed"]]
        else:
            assert item["id"] == ids[item["subject"]]
    paths = [e for r in results for e in r["evidence"] if e["subject"].startswith("/")]
    assert paths and all((e["kind"], e["id"]) == ("file", e["subject"]) for e in paths)


def test_a_diff_compares_items_by_what_they_are_about():
    old = {"id": "container-no-host-pid", "status": "FAIL", "message": "1 of 2", "evidence": [{"subject": "risky", "observed": "PidMode=host"}]}
    new = dict(old, evidence=[{"subject": "risky", "observed": "PidMode=host", "kind": "container", "id": "3456"}])
    renamed = dict(old, evidence=[{"subject": "risky-2", "observed": "PidMode=host", "kind": "container", "id": "3456"}])
    other = dict(old, evidence=[{"subject": "risky", "observed": "PidMode=host", "kind": "container", "id": "9999"}])

    def changed(a, b):
        d = diff_hosts({"results": [a]}, {"results": [b]})
        return [(c["evidence_added"], c["evidence_removed"]) for c in d["evidence_changed"]]

    assert changed(old, new) == []            # a schema 1.2 document against a 1.3 one
    assert changed(new, renamed) == []        # the same container under a new name
    assert changed(new, other) == [(other["evidence"], new["evidence"])]  # another container, same name
