"""A sweep as JSON Lines, line by line: what benchmark.fleet.output streams and the jsonl
format renders (see fleet.output for the layout)."""

from __future__ import annotations

import json
from typing import Any

HEADER_KEYS = ("schema_version", "tool", "benchmark", "sweep_id", "started_at")


def dumps(document: Any) -> bytes:
    """One line of JSON (ASCII: valid whatever bytes a host reported)."""
    return json.dumps(document, separators=(",", ":")).encode("ascii")


def start_line(document: dict[str, Any]) -> bytes:
    return dumps({"kind": "sweep_start", **{k: document[k] for k in HEADER_KEYS}})


def error_line(entry: dict[str, str]) -> bytes:
    return dumps({"kind": "unreachable", "error": entry})


def end_line(document: dict[str, Any]) -> bytes:
    return dumps({k: v for k, v in document.items() if k not in ("hosts", "errors")})


def lines_of(head: dict[str, Any], hosts):
    """A sweep document (its head, and its hosts one at a time) as JSON Lines (what a streamed
    sweep writes, hosts by name)."""
    yield start_line(head)
    for host in hosts:
        yield dumps(host)
    for entry in head["errors"]:
        yield error_line(entry)
    yield end_line(head)
