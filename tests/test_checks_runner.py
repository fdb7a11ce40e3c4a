"""How the runner turns checks into results: isolation, Docker gating, and that every check is tested."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from dockbench import checks
from dockbench.benchmark.document.model import Layer, Needs, Severity, Status, Undecidable, passed
from dockbench.benchmark.judge.check_registry import Registry
from dockbench.benchmark.judge.facts import Facts
from dockbench.benchmark.judge.runner import evaluate, run_check
from tests.recorded import (
    DOCKER_HOST,
    docker_not_installed,
    docker_unreachable,
    judge,
    recorded_snapshot,
)

CATALOG = checks.load().all()
DOCKER_CHECKS = [c.meta.id for c in CATALOG if Needs.DOCKER in c.meta.needs]
HOST_CHECKS = [c.meta.id for c in CATALOG if Needs.DOCKER not in c.meta.needs]


def throwaway(needs=(Needs.HOST,)):
    """A fresh registry (never the catalog) for checks that exist only in these tests."""
    registry = Registry()
    return registry, registry.check(
        "test-throwaway", title="t", layer=Layer.HOST_KERNEL, severity=Severity.LOW, rationale="r", remediation="m", needs=needs
    )


def test_a_check_that_raises_becomes_an_error_and_the_scan_goes_on():
    registry, check = throwaway()

    @check
    def crashes(facts):
        return facts.snapshot["no such section"]

    outcome = run_check(registry.get("test-throwaway"), Facts(recorded_snapshot()))
    assert outcome.status is Status.ERROR
    assert outcome.message == "the check crashed (KeyError: 'no such section'); please report this"
    results = evaluate(Facts(recorded_snapshot()), [registry.get("test-throwaway"), checks.load().get("perm-etc-docker-mode")])
    assert [(r["id"], r["status"]) for r in results] == [("test-throwaway", "ERROR"), ("perm-etc-docker-mode", "PASS")]


def test_a_check_that_cannot_decide_says_why():
    registry, check = throwaway()

    @check
    def undecidable(facts):
        raise Undecidable("cannot read /etc/x: re-run with --sudo")

    outcome = run_check(registry.get("test-throwaway"), Facts(recorded_snapshot()))
    assert (outcome.status, outcome.message) == (Status.ERROR, "cannot read /etc/x: re-run with --sudo")


def test_a_check_that_returns_something_else_becomes_an_error():
    registry, check = throwaway()

    @check
    def returns_a_string(facts):
        return "PASS"

    outcome = run_check(registry.get("test-throwaway"), Facts(recorded_snapshot()))
    assert (outcome.status, outcome.message) == (Status.ERROR, "the check returned str, not an Outcome; please report this")


def test_throwaway_checks_stay_out_of_the_catalog():
    _registry, check = throwaway()
    check(lambda facts: passed("ok"))
    assert "test-throwaway" not in [c.meta.id for c in checks.load().all()]


@pytest.mark.parametrize("check_id", DOCKER_CHECKS)
def test_docker_checks_error_when_the_daemon_is_unreachable(check_id):
    outcome = judge(docker_unreachable(recorded_snapshot()), check_id)
    assert outcome.status is Status.ERROR
    assert outcome.message.startswith(f"cannot reach the Docker daemon at {DOCKER_HOST}")


@pytest.mark.parametrize("check_id", DOCKER_CHECKS)
def test_docker_checks_not_applicable_without_docker(check_id):
    outcome = judge(docker_not_installed(recorded_snapshot()), check_id)
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "Docker is not installed on this host")


@pytest.mark.parametrize("docker_state", [docker_unreachable, docker_not_installed])
@pytest.mark.parametrize("check_id", HOST_CHECKS)
def test_host_checks_still_decide_without_the_daemon(check_id, docker_state):
    outcome = judge(docker_state(recorded_snapshot()), check_id)
    assert outcome.status is not Status.ERROR, outcome.message
    assert "Docker daemon" not in outcome.message and "not installed" not in outcome.message


def test_the_catalog_has_both_kinds_of_check():
    assert DOCKER_CHECKS and HOST_CHECKS
    assert len(DOCKER_CHECKS) + len(HOST_CHECKS) == len(CATALOG)
    assert all(c.meta.id in DOCKER_CHECKS for c in CATALOG if c.meta.id.startswith("container-"))


def test_every_registered_check_is_tested():
    here = Path(__file__).parent
    text = "".join(p.read_text() for p in sorted(here.glob("test_checks_*.py")) if p.name != Path(__file__).name)
    untested = []
    for c in CATALOG:
        # owner/mode pairs are parametrized by their common prefix, e.g. "perm-docker-sock"
        prefix = re.sub(r"-(owner|mode)$", "", c.meta.id)
        if c.meta.id not in text and not (prefix != c.meta.id and f'"{prefix}"' in text):
            untested.append(c.meta.id)
    assert untested == []


CHECK_SOURCES = sorted(Path(checks.__file__).parent.rglob("*.py"))
SNAPSHOT_MODULE = "dockbench.benchmark.collect.snapshot"


def facts_boundary_breaches(source: str) -> list[str]:
    """Where a check module reads the raw snapshot (`x.snapshot`, getattr(x, "snapshot")) or
    imports the snapshot builder, as "line N: what"; comments and docstrings do not count."""
    breaches = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "snapshot":
            breaches.append(f"line {node.lineno}: .snapshot")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr" and any(isinstance(a, ast.Constant) and a.value == "snapshot" for a in node.args):
            breaches.append(f"line {node.lineno}: getattr snapshot")
        elif isinstance(node, ast.Import) and any(a.name == SNAPSHOT_MODULE for a in node.names):
            breaches.append(f"line {node.lineno}: import {SNAPSHOT_MODULE}")
        elif isinstance(node, ast.ImportFrom) and (node.module == SNAPSHOT_MODULE or (node.module, "snapshot") in [(SNAPSHOT_MODULE.rsplit(".", 1)[0], a.name) for a in node.names]):
            breaches.append(f"line {node.lineno}: import from the snapshot builder")
    return breaches


@pytest.mark.parametrize(
    "source",
    [
        'def judge(facts):\n    return facts.snapshot["lsm"]\n',
        'def judge(facts):\n    return facts.snapshot.get("listening")\n',
        'def judge(facts):\n    return getattr(facts, "snapshot")\n',
        "from dockbench.benchmark.collect.snapshot import SWARM_STATE\n",
        "from dockbench.benchmark.collect import probe, snapshot\n",
        "import dockbench.benchmark.collect.snapshot\n",
    ],
)
def test_the_facts_boundary_test_sees_a_breach(source):
    assert len(facts_boundary_breaches(source)) == 1


def test_the_facts_boundary_test_ignores_prose_and_other_names():
    source = '"""Judged from the snapshot."""\n# facts.snapshot["x"] in a comment\nfrom dockbench.benchmark import facts\n\ndef judge(facts):\n    return facts.snapshot_time, "facts.snapshot"\n'
    assert facts_boundary_breaches(source) == []


def test_check_modules_read_facts_only_through_facts_accessors():
    """benchmark/judge/facts.py is the boundary: a check that needs a new fact gets an accessor there."""
    assert len(CHECK_SOURCES) > 10
    breaches = {str(p.relative_to(p.parents[1])): found for p in CHECK_SOURCES for found in [facts_boundary_breaches(p.read_text())] if found}
    assert breaches == {}
