"""Run the installed `dockbench` console script the way a user does, and read what it wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from dockbench.benchmark.document import report

DOCKBENCH = str(Path(sys.executable).with_name("dockbench"))


def dockbench(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([DOCKBENCH, *map(str, args)], capture_output=True, text=True, timeout=300, **kwargs)


def load_report(path: Path) -> dict:
    """The report at path, validated against the published JSON Schema."""
    document = json.loads(path.read_text())
    jsonschema.validate(document, report.schema())
    return document


def by_id(document: dict) -> dict[str, dict]:
    return {r["id"]: r for r in document["results"]}
