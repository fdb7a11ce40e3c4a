"""The catalog's integrity: unique ids, complete metadata, CIS mapping that points at real checks."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml

from dockbench import checks
from dockbench.benchmark.document.model import Layer

CATALOG = checks.load()
MAPPING = yaml.safe_load((checks.MAPPINGS / "cis-docker-1.6.0.yaml").read_text())


def test_ids_are_unique_and_stable_looking():
    ids = [c.meta.id for c in CATALOG.all()]
    assert len(ids) == len(set(ids))
    for check_id in ids:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", check_id), check_id


def test_metadata_is_complete():
    for check in CATALOG.all():
        meta = check.meta
        for field in ("title", "rationale", "remediation"):
            text = getattr(meta, field)
            assert text and text.strip() == text and len(text) > 15, (meta.id, field)
        assert meta.layer in Layer


def test_every_layer_of_the_foundation_has_at_least_three_checks():
    per_layer = Counter(c.meta.layer for c in CATALOG.all())
    for layer in (Layer.HOST_KERNEL, Layer.DAEMON_CONFIG, Layer.SOCKET_PERMISSIONS, Layer.TLS, Layer.REGISTRIES, Layer.CONTAINERS):
        assert per_layer[layer] >= 3, layer


def test_cis_ids_are_mapped_once_to_existing_checks_with_levels():
    cis_ids = [str(e["cis_id"]) for e in MAPPING["recommendations"]]
    assert len(cis_ids) == len(set(cis_ids))
    known = {c.meta.id for c in CATALOG.all()}
    for entry in MAPPING["recommendations"]:
        assert entry["check"] in known
        assert entry["level"] in (1, 2, None)  # v1.6.0 states no level for 6.1 and 6.2
        assert isinstance(entry["automated"], bool)
    mapped = {ref.id: c.meta.id for c in CATALOG.all("cis-docker-1.6.0") for ref in c.meta.cis}
    assert mapped == {str(e["cis_id"]): e["check"] for e in MAPPING["recommendations"]}


def test_registering_an_id_twice_is_refused():
    from dockbench.benchmark.document.model import Severity
    from dockbench.benchmark.judge.check_registry import Registry

    registry = Registry()
    meta = dict(title="t", layer=Layer.HOST_KERNEL, severity=Severity.LOW, rationale="r", remediation="m")
    registry.check("dup-id", **meta)(lambda facts: None)
    try:
        registry.check("dup-id", **meta)(lambda facts: None)
    except ValueError as exc:
        assert "duplicate check id 'dup-id'" in str(exc)
    else:
        raise AssertionError("a duplicate id was accepted")


# The recommendations of CIS Docker Benchmark v1.6.0, sections 1 to 7: the mapping must cover
# each exactly once. Written out as ranges per section, as the benchmark numbers them.
CIS_1_6_0 = (
    [f"1.1.{i}" for i in range(1, 19)] + ["1.2.1", "1.2.2"]
    + [f"2.{i}" for i in range(1, 19)] + [f"3.{i}" for i in range(1, 25)] + [f"4.{i}" for i in range(1, 13)]
    + [f"5.{i}" for i in range(1, 33)] + ["6.1", "6.2"] + [f"7.{i}" for i in range(1, 10)]
)


def test_all_117_recommendations_are_mapped_exactly_once():
    assert len(CIS_1_6_0) == 117
    mapped = [str(e["cis_id"]) for e in MAPPING["recommendations"]]
    assert sorted(mapped) == sorted(CIS_1_6_0)


def test_manual_recommendations_are_flagged_as_such():
    # the CIS document's assessments (docker-bench-security called 2.2 and 5.5 Automated)
    manual = {str(e["cis_id"]) for e in MAPPING["recommendations"] if not e["automated"]}
    assert {"1.2.1", "2.2", "2.8", "4.2", "5.5", "5.9", "6.1", "7.4"} <= manual
    assert not {"1.1.3", "3.16"} & manual


def _declares(text: str, check_id: str) -> bool:
    """Whether source text holds the id as a string, or the FileRule id of an owner/mode pair."""
    return f'"{check_id}"' in text or (check_id.endswith(("-owner", "-mode")) and '"' + re.sub(r"-(owner|mode)$", "", check_id) + '"' in text)


def _code(path: Path) -> str:
    """A module's text less its docstring (checks/__init__.py quotes ids in its examples)."""
    text = path.read_text()
    docstring = ast.get_docstring(ast.parse(text), clean=False)
    return text.replace(docstring, "", 1) if docstring else text


def test_each_check_names_the_importable_module_that_declares_it():
    """`dockbench checks list` shows the module; it must be the one place a search for the id finds."""
    sources = {}
    for check in CATALOG.all():
        module = importlib.import_module(check.module)
        sources.setdefault(check.module, _code(Path(module.__file__)))
    for path in sorted(Path(checks.__file__).parent.rglob("*.py")):
        name = "dockbench.checks." + ".".join(path.relative_to(Path(checks.__file__).parent).with_suffix("").parts)
        sources.setdefault(name.removesuffix(".__init__"), _code(path))
    for check in CATALOG.all():
        declared_in = [name for name, text in sources.items() if _declares(text, check.meta.id)]
        assert declared_in == [check.module], check.meta.id


def test_threads_asking_for_the_catalog_at_once_get_the_one_catalog():
    """A sweep worker's threads judge their first hosts at the same moment: the catalog is loaded
    once (loading it twice applied each mapping twice: "benchmark ... is defined twice")."""
    script = """
import threading
from dockbench import checks
found, start = [], threading.Barrier(4)
def ask():
    start.wait()
    found.append(checks.load())
threads = [threading.Thread(target=ask) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(len(found), len({id(c) for c in found}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.split()) == (0, ["4", "1"]), done.stderr
