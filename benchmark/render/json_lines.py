"""JSON Lines for pipelines: a sweep one host per line, as benchmark.fleet.output streams it."""

from __future__ import annotations

from typing import IO

from dockbench.benchmark.document import json_lines as jsonlines
from dockbench.benchmark.document.reader import Source
from dockbench.benchmark.render.registry import Format


def write_jsonl(source: Source, out: IO[str]) -> None:
    """A sweep as its streamed lines; a host report as one line."""
    lines = jsonlines.lines_of(source.head, source.hosts) if source.head["kind"] == "sweep" else [jsonlines.dumps(source.whole())]
    for line in lines:
        out.write(line.decode("ascii") + "\n")


FORMAT = Format("jsonl", (".jsonl",), writer=write_jsonl, order=55)  # JSON Lines for pipelines: one line per host of a sweep, as it finishes
