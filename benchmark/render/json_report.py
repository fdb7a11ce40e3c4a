"""The document itself, as JSON (the source of truth every other format is rendered from)."""

from __future__ import annotations

import json
from typing import IO, Any

from dockbench.benchmark.document.reader import Source, Spans
from dockbench.benchmark.render.registry import Format


def dumps_at(value: Any, level: int) -> str:
    """value as json.dumps(indent=2, ensure_ascii=False) writes it `level` deep in a document."""
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + "  " * level)


def write_json(source: Source, out: IO[str]) -> None:
    """json.dumps(document, indent=2), with a sweep's hosts read and written one at a time."""
    document = source.lazy()
    if not isinstance(source.hosts, Spans) or source.hosts.names is not None:
        out.write(dumps_at(source.whole(), 0) + "\n")
        return
    for i, (key, value) in enumerate(document.items()):
        out.write(("{\n  " if i == 0 else ",\n  ") + json.dumps(key, ensure_ascii=False) + ": ")
        if value is source.hosts:
            for j, host in enumerate(value):
                out.write(("[\n    " if j == 0 else ",\n    ") + dumps_at(host, 2))
            out.write("\n  ]" if len(value) else "[]")
        else:
            out.write(dumps_at(value, 1))
    out.write("\n}\n")


FORMAT = Format("json", (".json",), writer=write_json, order=10)  # the report document itself (the source of truth)
