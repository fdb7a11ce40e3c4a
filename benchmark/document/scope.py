"""The scope of a scan: which checks it ran and which containers its per-container checks looked
at. A host report carries it (`scope`, schema 1.3) so that every output says what a score
covers, and so that a comparison of two scans can tell a change of scope (other checks, other
containers) from a change of the host.

A report made before 1.3 has no scope block: `of` derives what it can (the options its archive
entry stored, the containers its evidence names) and marks the result `derived`.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

# The options that make a scan's scope, as JudgingOptions.stored() and an archive entry record them
OPTIONS = ("benchmark", "level", "include", "exclude", "include_stopped", "containers", "labels")
CHECK_OPTIONS = ("benchmark", "level", "include", "exclude")
CONTAINER_OPTIONS = ("include_stopped", "containers", "labels")
FLAGS = {"benchmark": "--benchmark", "level": "--level", "include": "--include", "exclude": "--exclude",
         "include_stopped": "--include-stopped", "containers": "--container", "labels": "--label"}
SHOWN = 8  # container names a one-line summary lists
CONTAINER_NAME = re.compile(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]*")  # what Docker accepts as a container name


def block(options: dict[str, Any], selected: list[dict[str, str]] | None, total: int | None) -> dict[str, Any]:
    """A host report's scope: the options (as stored), the containers selected (name and short id;
    None when the daemon's containers could not be listed) and how many the host has."""
    scope = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
    scope.update(selected=selected, containers_total=total, selection_empty=chooses_containers(scope) and selected == [])
    return scope


def chooses_containers(scope: dict[str, Any]) -> bool:
    """Whether the scan named its containers (--container, --label), rather than taking them all."""
    return bool(scope.get("containers") or scope.get("labels"))


def containers_named(result: dict[str, Any]) -> list[str]:
    """The containers a containers-layer result judged: the offenders it lists, or those checked."""
    if result.get("layer") != "containers" or result["status"] == "NOT_APPLICABLE":
        return []
    names: list[str] = []
    for e in result.get("evidence", []):
        if e["subject"] == "containers checked" and isinstance(e["observed"], list):
            names += [str(n) for n in e["observed"]]
        elif CONTAINER_NAME.fullmatch(e["subject"]):
            names.append(e["subject"])
    return list(dict.fromkeys(names))


def of(report: dict[str, Any], stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """A host report's scope: its own block, or for a report made before 1.3 what can be derived:
    the options `stored` (its archive entry's) records, absent when unknown, and the containers
    its evidence names (`derived`: true)."""
    if report.get("scope") is not None:
        return report["scope"]
    derived: dict[str, Any] = {k: stored[k] for k in OPTIONS if stored and k in stored}
    derived.setdefault("benchmark", (report.get("benchmark") or {}).get("id"))
    names = sorted({name for r in report.get("results") or [] for name in containers_named(r)})
    derived.update(selected=[{"name": n} for n in names], containers_total=None, selection_empty=False, derived=True)
    return derived


def recorded(scope: dict[str, Any]) -> str | None:
    """Where a scope's options come from: "report" (its own block), "archive" (the options its
    archive entry stored), None (unknown: a report before 1.3 with no stored options)."""
    if not scope.get("derived"):
        return "report"
    return "archive" if "level" in scope else None


def names(scope: dict[str, Any]) -> set[str]:
    return {c["name"] for c in scope.get("selected") or []}


def selected_count(scope: dict[str, Any]) -> int | None:
    """How many containers were selected (a sweep's light host summary keeps the count alone)."""
    if scope.get("selected") is not None:
        return len(scope["selected"])
    return scope.get("selected_count")


def light(scope: dict[str, Any]) -> dict[str, Any]:
    """The scope without its container list, as a streamed sweep keeps it for each host."""
    return {**{k: v for k, v in scope.items() if k != "selected"}, "selected_count": selected_count(scope)}


def default(scope: dict[str, Any]) -> bool:
    """Whether the scan took the default scope (every check, every running container) under its benchmark."""
    return not any(scope.get(k) for k in OPTIONS if k != "benchmark")


def key(scope: dict[str, Any]) -> str:
    """A short digest of the scope's options: equal for scans of the same scope."""
    chosen = {k: _plain(scope.get(k)) for k in OPTIONS}
    return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:12]


def _plain(value: Any) -> Any:
    """An option value compared as stored: lists (JSON) and tuples alike, None and empty alike."""
    if isinstance(value, (list, tuple)):
        return list(value) or None
    return value or None


# ---------------------------------------------------------------- text (plain: each output escapes it)


def option_text(name: str, value: Any) -> str:
    """One option as the command line gives it: "--container web* --container api", "(none)"."""
    value = _plain(value)
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return " ".join(f"{FLAGS[name]} {v}" for v in value)
    return FLAGS[name] if value is True else f"{FLAGS[name]} {value}"


def checks_text(scope: dict[str, Any]) -> str:
    """Which checks ran: "cis-docker-1.8.0, every check", "cis-docker-1.8.0, level 1, only 5, except tls"."""
    if "level" not in scope:
        return f"{scope.get('benchmark') or 'benchmark unknown'}, check selection not recorded"
    parts = [scope.get("benchmark") or "benchmark unknown"]
    if scope.get("level"):
        parts.append(f"level {scope['level']}")
    if scope.get("include"):
        parts.append("only " + ", ".join(scope["include"]))
    if scope.get("exclude"):
        parts.append("except " + ", ".join(scope["exclude"]))
    return ", ".join(parts) if len(parts) > 1 else f"{parts[0]}, every check"


def selection_text(scope: dict[str, Any]) -> str:
    """How containers were chosen: "running ones", "running and stopped ones named web*, labelled tier=db"."""
    if "include_stopped" not in scope:
        return "selection not recorded"
    text = "running and stopped ones" if scope["include_stopped"] else "running ones"
    if scope.get("containers"):
        text += " named " + " or ".join(scope["containers"])
    if scope.get("labels"):
        text += ", labelled " + " and ".join(scope["labels"])
    return text


def containers_text(scope: dict[str, Any], shown: int = SHOWN) -> str:
    """Which containers were checked: "4 of 21 containers (running ones named web*): web-1, web-2, ..."."""
    count, total = selected_count(scope), scope.get("containers_total")
    if scope.get("derived"):
        listed = _names(scope, shown)
        return f"containers not recorded (a report of schema 1.2 or older); its evidence names {len(names(scope))}" + (f": {listed}" if listed else "")
    if count is None:
        return f"containers unknown (the daemon's containers could not be listed); selection: {selection_text(scope)}"
    if scope.get("selection_empty"):
        return f"no container matched ({selection_text(scope)}) of {total} on the host"
    listed = _names(scope, shown)
    return f"{count} of {total} containers ({selection_text(scope)})" + (f": {listed}" if listed else "")


def _names(scope: dict[str, Any], shown: int) -> str:
    chosen = sorted(names(scope))
    return ", ".join(chosen[:shown]) + (f", … and {len(chosen) - shown} more" if len(chosen) > shown else "")


def summary(scope: dict[str, Any]) -> str:
    """The scope on one line: checks, then containers."""
    return f"{checks_text(scope)} · {containers_text(scope)}"


# ---------------------------------------------------------------- comparing two scans


def delta(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """How scope b differs from scope a, or None when their options are the same (an option not
    recorded on one side is not a difference). With the same options, containers that came or
    went are the host's change, not the scope's."""
    options = {k: {"a": a[k], "b": b[k]} for k in OPTIONS if k in a and k in b and _plain(a[k]) != _plain(b[k])}
    if not options:
        return None
    before, after = names(a), names(b)
    return {"options": options, "checks": any(k in CHECK_OPTIONS for k in options), "containers": any(k in CONTAINER_OPTIONS for k in options),
            "containers_added": sorted(after - before), "containers_dropped": sorted(before - after),
            "selected": {"a": selected_count(a), "b": selected_count(b)}}


def explains(d: dict[str, Any] | None, old: dict[str, Any] | None, new: dict[str, Any] | None) -> bool:
    """Whether scope change d alone accounts for a check's change from result old to new (None:
    not run): a check added or dropped with the check options; a per-container verdict whose
    offenders (evidence subjects) changed only by containers entering or leaving the selection,
    or that had no container to judge on one side."""
    if d is None:
        return False
    if old is None or new is None:
        return d["checks"]
    if not d["containers"]:
        return False
    if old["status"] != new["status"] and (new["status"] == "NOT_APPLICABLE" and d["selected"]["b"] == 0
                                           or old["status"] == "NOT_APPLICABLE" and d["selected"]["a"] == 0):
        return True
    added, dropped = set(d["containers_added"]), set(d["containers_dropped"])
    moved = [(_subjects(old, "offenders"), _subjects(new, "offenders"))]
    if old["status"] == new["status"]:
        moved.append((_subjects(old, "checked"), _subjects(new, "checked")))
    changed = False
    for was, now in moved:
        if not (was - now <= dropped and now - was <= added):
            return False
        changed = changed or was != now
    return changed


def _subjects(result: dict[str, Any], which: str) -> set[str]:
    """A result's evidence subjects ("offenders"), or the containers it lists as checked."""
    found: set[str] = set()
    for e in result.get("evidence") or []:
        if e["subject"] == "containers checked":
            if which == "checked" and isinstance(e["observed"], list):
                found.update(str(n) for n in e["observed"])
        elif which == "offenders":
            found.add(e["subject"])
    return found


def delta_lines(d: dict[str, Any]) -> list[str]:
    """A scope change as text: each option that changed, then the containers that came and went."""
    lines = [f"scope changed: {FLAGS[k]}: {option_text(k, v['a'])} -> {option_text(k, v['b'])}" for k, v in d["options"].items()]
    for label, key_ in (("containers added to the scope", "containers_added"), ("containers dropped from the scope", "containers_dropped")):
        if d[key_]:
            shown = d[key_][:SHOWN]
            lines.append(f"{label} ({len(d[key_])}): " + ", ".join(shown) + (f", … and {len(d[key_]) - SHOWN} more" if len(d[key_]) > SHOWN else ""))
    return lines
