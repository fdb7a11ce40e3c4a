"""Compact storage of host reports: each check's static metadata is stored once, by reference.

Two thirds of a host report is the catalog talking (title, rationale, remediation...), the same
in every scan made by the same dockbench version. ``split`` replaces those fields of each result
with ``{"_m": ID}``, ID being the SHA-256 (16 bytes, hex) of ``{"keys", "static"}`` where
``keys`` is the result's key order; ``join`` restores the exact result, key order included.
The shared pieces are content-addressed, so any change to one is caught by its ID, and every
entry's chain hash covers the joined report.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from benchmark.archive.chain import canonical

STATIC = ("title", "layer", "severity", "level", "cis", "rationale", "remediation")
MARK = "_m"


def meta_id(meta: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(meta)).hexdigest()[:32]


def split(report: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(the report with results by reference, {ID: shared metadata}) for a host report."""
    results = report.get("results")
    if not isinstance(results, list):
        return report, {}
    metas: dict[str, dict[str, Any]] = {}
    compact = []
    for result in results:
        if not isinstance(result, dict) or MARK in result:
            return report, {}   # nothing we can split safely: store as is
        meta = {"keys": list(result), "static": {k: result[k] for k in STATIC if k in result}}
        ident = meta_id(meta)
        metas[ident] = meta
        item = {MARK: ident}
        item.update((k, v) for k, v in result.items() if k not in meta["static"])
        compact.append(item)
    return dict(report, results=compact), metas


def join(stored: dict[str, Any], lookup: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    results = stored.get("results")
    if not isinstance(results, list) or not results or not isinstance(results[0], dict) or MARK not in results[0]:
        return stored
    full = []
    for item in results:
        meta = lookup(item[MARK])
        static = meta["static"]
        full.append({k: static[k] if k in static else item[k] for k in meta["keys"]})
    return dict(stored, results=full)


def dynamic_results(stored: dict[str, Any]) -> list[dict[str, Any]]:
    """The results without their static metadata (id, status, message, evidence), cheaply."""
    return [{k: v for k, v in item.items() if k != MARK} for item in stored.get("results") or []]
