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
from collections.abc import Callable
from typing import Any

from dockbench.benchmark.archive.chain import canonical

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


LITE = ("title", "severity", "layer")


def lite_fields(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: meta["static"][k] for k in LITE if k in meta["static"]}


def lite(stored: dict[str, Any], extras: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """The report with results cut down to id, status, message, evidence, title, severity and
    layer (what diffs need), for a fraction of join's cost; ``extras(ID)`` is lite_fields of the
    shared metadata ID (cached by the caller). Changes ``stored`` in place."""
    for item in stored.get("results") or []:
        ident = item.pop(MARK, None)
        if ident is not None:
            item.update(extras(ident))
    return stored
