"""What a result's evidence is about, read the same way from documents of every schema version:
since 1.3 each item says it (kind and id); before, the containers layer's items were read
from their subjects (a container's name, or "containers checked" and the list of names)."""

from __future__ import annotations

import re
from typing import Any

from dockbench.benchmark.document.model import OFFENDER_KINDS

CONTAINER_NAME = re.compile(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]*")  # what Docker accepts as a container name


def named(result: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(kind, name, id) of each container and image a result judged, in order, once each: the
    offenders it lists, or those it checked. An older document gives containers only, without ids."""
    if result["status"] == "NOT_APPLICABLE":
        return []
    evidence = result.get("evidence") or []
    if any("kind" in e for e in evidence):
        return list(dict.fromkeys(one for e in evidence if e.get("kind") in OFFENDER_KINDS for one in _each(e)))
    if result["layer"] != "containers":
        return []
    found: list[tuple[str, str, str | None]] = []
    for e in evidence:
        if e["subject"] == "containers checked" and isinstance(e["observed"], list):
            found += [("container", str(n), None) for n in e["observed"]]
        elif CONTAINER_NAME.fullmatch(e["subject"]):
            found.append(("container", e["subject"], None))
    return list(dict.fromkeys(found))


def _each(item: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """One item's subjects: one, or for a set ("containers checked") each name with its id."""
    if isinstance(item.get("id"), list) and isinstance(item["observed"], list):
        return [(item["kind"], str(n), str(i)) for n, i in zip(item["observed"], item["id"])]
    return [(item["kind"], str(item["subject"]), item.get("id") if isinstance(item.get("id"), str) else None)]


def offenders(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, name, id) of the containers and images a FAIL, ERROR or MANUAL result names (the
    offenders, or those to review), where the document gives their ids (schema 1.3)."""
    if result["status"] not in ("FAIL", "ERROR", "MANUAL"):
        return []
    return [(kind, name, uid) for kind, name, uid in named(result) if uid]
