"""JSON Lines for pipelines: a sweep one host per line, as benchmark.sweep_output streams it."""

from __future__ import annotations

from typing import Any

from dockbench.benchmark import jsonlines
from dockbench.benchmark.render.registry import Format


def render_jsonl(document: dict[str, Any]) -> str:
    """A sweep as its streamed lines; a host report as one line."""
    lines = jsonlines.lines_of(document) if document["kind"] == "sweep" else [jsonlines.dumps(document)]
    return "".join(line.decode("ascii") + "\n" for line in lines)


FORMAT = Format("jsonl", (".jsonl",), render_jsonl, order=55)  # JSON Lines for pipelines: one line per host of a sweep, as it finishes
