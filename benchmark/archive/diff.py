"""What changed between two host reports, or two sweeps (``dockbench diff`` and ``reevaluate``).

Per check: *newly failing* (FAIL now and not waived, anything else before, a new check
included), *fixed* (FAIL before, PASS or NOT_APPLICABLE now), *newly waived* (waived now, not
before: an accepted risk, whatever its status was), *waiver expired* (waived before, a FAIL or
ERROR that counts again now: its waiver expired, was withdrawn from the file, or no longer
covers every offender), *status changed* (every other status change, e.g. PASS -> ERROR),
*evidence changed* (same status, different evidence or message), *changed with the scope*
(what a change of scope alone accounts for: see document/scope.py; never fixed nor newly
failing). When the scopes differ, checks added or removed by the check options are the scope's
too. For sweeps, also the hosts that appeared or disappeared, and those that could not be
audited.
"""

from __future__ import annotations

import json
from typing import Any

from dockbench.benchmark.archive.chain import canonical
from dockbench.benchmark.document import scope
from dockbench.benchmark.document.report import host_key, score_text
from dockbench.benchmark.render.terminal import clean

FIXED_TO = ("PASS", "NOT_APPLICABLE")
MAX_EVIDENCE = 10
SECTIONS = (("newly_failing", "newly failing"), ("fixed", "fixed"), ("newly_waived", "newly waived"), ("waiver_expired", "waiver expired"),
            ("status_changed", "status changed"), ("evidence_changed", "evidence changed"), ("scope_changes", "changed with the scope"))
WAIVABLE = ("FAIL", "ERROR")


def _evidence_delta(before: list, after: list) -> tuple[list, list]:
    """(items only in after, items only in before), as multisets, each item compared by what it
    is about and what it showed (see _about): a container renamed between the scans is the
    same subject, and a document of schema 1.3 compares with an older one item for item."""
    by_id = _says_kind(before) and _says_kind(after)
    return _unique(_minus(after, before, by_id)), _unique(_minus(before, after, by_id))


def _minus(items: list, others: list, by_id: bool) -> list:
    """The items of `items` left over once each of `others` has taken away one it equals."""
    left = [_about(item, by_id) for item in others]
    out = []
    for item in items:
        try:
            left.remove(_about(item, by_id))
        except ValueError:
            out.append(item)
    return out


def _says_kind(evidence: list) -> bool:
    return all("kind" in item for item in evidence if isinstance(item, dict))


def _about(item: Any, by_id: bool) -> Any:
    """An item as it is compared: by its kind and id where both sides give them (an item with
    an id is compared without its subject, the name people read), else by its subject."""
    if not isinstance(item, dict):
        return item
    if by_id:
        return {k: v for k, v in item.items() if not (k == "subject" and "id" in item)}
    return {k: v for k, v in item.items() if k not in ("kind", "id")}


def _unique(items: list) -> list:
    seen, out = set(), []
    for item in items:
        key = canonical(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _side(report: dict[str, Any]) -> dict[str, Any]:
    return {"scan_id": report.get("scan_id"), "host": host_key(report), "started_at": report.get("started_at"), "benchmark": _benchmark(report),
            "score": (report.get("summary") or {}).get("score"), "counts": (report.get("summary") or {}).get("by_status")}


def _benchmark(document: dict[str, Any]) -> str | None:
    return (document.get("benchmark") or {}).get("id")


def _versions(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """Set when the two documents were judged against different benchmark versions: results
    are matched by check id, so a CIS id may name another recommendation on each side."""
    before, after = _benchmark(a), _benchmark(b)
    return {"a": before, "b": after} if before != after else None


def diff_hosts(a: dict[str, Any], b: dict[str, Any], options: tuple[dict[str, Any] | None, dict[str, Any] | None] = (None, None)) -> dict[str, Any]:
    """How host report b differs from host report a; options: the options their archive entries
    stored, for reports made before they carried a scope."""
    before = {r["id"]: r for r in a.get("results") or []}
    after = {r["id"]: r for r in b.get("results") or []}
    scopes = scope.of(a, options[0]), scope.of(b, options[1])
    moved = scope.delta(*scopes)
    out: dict[str, Any] = {"kind": "host", "a": _side(a), "b": _side(b), "benchmarks_differ": _versions(a, b), "scope": moved,
                           "scope_recorded": {side: scope.recorded(s) for side, s in zip("ab", scopes)},
                           **{key: [] for key, _ in SECTIONS}, "added_checks": [], "removed_checks": []}
    for check_id, new in after.items():
        old = before.get(check_id)
        if old is None:
            out["added_checks"].append({"id": check_id, "status": new["status"]})
            if scope.explains(moved, None, new):
                continue   # a check the new scope brought in: neither newly failing nor fixed
        was = old["status"] if old else None
        if (old is not None and was == new["status"] and old.get("evidence") == new.get("evidence") and old.get("message") == new.get("message")
                and old.get("waived") == new.get("waived")):
            continue   # the common case, decided without serialising anything
        evidence_added, evidence_removed = _evidence_delta(old.get("evidence", []) if old else [], new.get("evidence", []))
        change = {"id": check_id, "title": new.get("title"), "severity": new.get("severity"), "before": was, "after": new["status"],
                  "message_before": old.get("message") if old else None, "message_after": new.get("message"),
                  "evidence_added": evidence_added, "evidence_removed": evidence_removed}
        lapse = waiver_lapse(old, new, b)
        if scope.explains(moved, old, new):
            out["scope_changes"].append(change)
        elif new.get("waived") and not (old or {}).get("waived"):
            change["waivers"] = [w["id"] for w in new["waivers"]]
            out["newly_waived"].append(change)
        elif lapse:
            change["waivers"], change["lapse"] = [w["id"] for w in old["waivers"]], lapse
            out["waiver_expired"].append(change)
        elif new["status"] == "FAIL" and was != "FAIL":
            out["newly_failing"].append(change)
        elif was is None:
            continue
        elif was == "FAIL" and new["status"] in FIXED_TO:
            out["fixed"].append(change)
        elif was != new["status"]:
            out["status_changed"].append(change)
        elif evidence_added or evidence_removed or change["message_before"] != change["message_after"]:
            out["evidence_changed"].append(change)
    out["removed_checks"] = [{"id": i, "status": r["status"]} for i, r in before.items() if i not in after]
    return out


def waiver_lapse(old: dict[str, Any] | None, new: dict[str, Any], report: dict[str, Any]) -> str | None:
    """Why a result waived in `old` counts again in `new` (None when it does not): "expired" when
    its waiver expired, "withdrawn" when the waiver is gone from the file, else "not covered"
    (the waiver no longer covers every offending subject, or the check now fails another way)."""
    if not (old or {}).get("waived") or new.get("waived") or new["status"] not in WAIVABLE:
        return None
    states = {e["id"]: e["state"] for e in (report.get("waivers") or {}).get("entries") or []}
    ids = [w["id"] for w in old.get("waivers") or []]
    if any(states.get(i) == "expired" for i in ids):
        return "expired"
    return "withdrawn" if all(i not in states for i in ids) else "not covered"


def host_changed(d: dict[str, Any]) -> bool:
    return any(d[k] for k, _ in SECTIONS) or bool(d["added_checks"] or d["removed_checks"] or d["scope"])


def diff_sweeps(a: dict[str, Any], b: dict[str, Any], options: tuple[dict[str, Any] | None, dict[str, Any] | None] = (None, None)) -> dict[str, Any]:
    """How sweep b differs from sweep a: hosts in and out, then each common host's changes
    (options: what the sweeps' archive entries stored, as diff_hosts takes them)."""
    hosts_a = {host_key(h): h for h in a.get("hosts") or []}
    hosts_b = {host_key(h): h for h in b.get("hosts") or []}
    missed_a = {e.get("name") or e["target"]: e for e in a.get("errors") or []}
    missed_b = {e.get("name") or e["target"]: e for e in b.get("errors") or []}
    known_a, known_b = set(hosts_a) | set(missed_a), set(hosts_b) | set(missed_b)
    per_host = {}
    for name in sorted(set(hosts_a) & set(hosts_b)):
        d = diff_hosts(hosts_a[name], hosts_b[name], options)
        if host_changed(d):
            per_host[name] = d
    totals = {k: sum(len(d[k]) for d in per_host.values()) for k, _ in SECTIONS}
    return {
        "kind": "sweep",
        "a": {"sweep_id": a.get("sweep_id"), "started_at": a.get("started_at"), "benchmark": _benchmark(a), "scanned": len(hosts_a), "not_audited": len(missed_a)},
        "b": {"sweep_id": b.get("sweep_id"), "started_at": b.get("started_at"), "benchmark": _benchmark(b), "scanned": len(hosts_b), "not_audited": len(missed_b)},
        "benchmarks_differ": _versions(a, b),
        "hosts_appeared": sorted(known_b - known_a),
        "hosts_disappeared": sorted(known_a - known_b),
        "newly_not_audited": [{"host": n, "kind": missed_b[n]["kind"], "message": missed_b[n]["message"]} for n in sorted(set(missed_b) - set(missed_a))],
        "audited_again": sorted(set(missed_a) & set(hosts_b)),
        "totals": totals,
        "hosts": per_host,
    }


def worse(d: dict[str, Any]) -> bool:
    """Did things get worse: a check newly failing or counting again as its waiver lapsed, or a
    host newly not audited (exit 1)."""
    if d["kind"] == "host":
        return bool(d["newly_failing"] or d["waiver_expired"])
    return bool(d["newly_not_audited"]) or any(h["newly_failing"] or h["waiver_expired"] for h in d["hosts"].values())


# ---------------------------------------------------------------- text


def _side_text(side: dict[str, Any]) -> str:
    return f"{(side['scan_id'] or '?')[:8]} ({clean(side['host'])}, {side['started_at']}, score {score_text(side['score'])})"


def _observed(value: Any) -> str:
    return clean(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def _change_lines(change: dict[str, Any], indent: str) -> list[str]:
    was = change["before"] or "(new check)"
    waivers = f" (waiver {', '.join(clean(w) for w in change['waivers'])}" + (f": {change['lapse']})" if "lapse" in change else ")") if "waivers" in change else ""
    lines = [f"{indent}{change['id']} [{change.get('severity') or '?'}] {was} -> {change['after']}{waivers}"]
    if change["message_after"] and change["message_after"] != change["message_before"]:
        lines.append(f"{indent}    {clean(change['message_after'])}")
    shown = 0
    for sign, key in (("-", "evidence_removed"), ("+", "evidence_added")):
        for item in change[key]:
            if shown == MAX_EVIDENCE:
                break
            lines.append(f"{indent}    {sign} {clean(item.get('subject', '?'))}: {_observed(item.get('observed'))}")
            shown += 1
    more = len(change["evidence_removed"]) + len(change["evidence_added"]) - shown
    if more > 0:
        lines.append(f"{indent}    … and {more} more evidence changes (see --json)")
    return lines


def _brief(change: dict[str, Any], indent: str) -> list[str]:
    counts = f"+{len(change['evidence_added'])} -{len(change['evidence_removed'])} evidence"
    message = " (message changed)" if change["message_after"] != change["message_before"] else ""
    status = change["after"] if change["before"] == change["after"] else f"{change['before']} -> {change['after']}"
    return [f"{indent}{change['id']} [{change.get('severity') or '?'}] {status}: {counts}{message}"]


def _scope_lines(d: dict[str, Any], indent: str) -> list[str]:
    """What changed in the scope, or which side's scope is not recorded."""
    lines = [indent + clean(line) for line in scope.delta_lines(d["scope"])] if d["scope"] else []
    for side, name in (("a", "A"), ("b", "B")):
        where = d["scope_recorded"][side]
        if where == "archive":
            lines.append(f"{indent}scope of {name}: not in its report (schema 1.2 or older), taken from its archive entry's options and its evidence")
        elif where is None:
            lines.append(f"{indent}scope of {name} unknown (a report of schema 1.2 or older, no stored options): a change of scope may show here as fixed or newly failing")
    return lines


def _host_body(d: dict[str, Any], indent: str = "", verbose: bool = False) -> list[str]:
    lines = _scope_lines(d, indent)
    lines.append(indent + "   ".join(f"{label}: {len(d[key])}" for key, label in SECTIONS)
                 + f"   checks added: {len(d['added_checks'])}   removed: {len(d['removed_checks'])}")
    for key, label in SECTIONS:
        if d[key]:
            brief = key in ("evidence_changed", "scope_changes") and not verbose
            lines.append(f"{indent}{label.upper()}" + (" (not fixed, not newly failing: the checks or containers compared differ)" if key == "scope_changes" else "")
                         + (" (details: -v or --json)" if brief else ""))
            for change in d[key]:
                lines += (_brief if brief else _change_lines)(change, indent + "  ")
    by_scope = " BY THE SCOPE" if d["scope"] and d["scope"]["checks"] else ""
    for key, label in (("added_checks", "checks added"), ("removed_checks", "checks removed")):
        if d[key]:
            lines.append(f"{indent}{label.upper()}{by_scope}: " + ", ".join(f"{c['id']} ({c['status']})" for c in d[key]))
    return lines


def _versions_text(d: dict[str, Any]) -> list[str]:
    versions = d.get("benchmarks_differ")
    if not versions:
        return []
    return [f"benchmarks differ: {versions['a'] or '?'} -> {versions['b'] or '?'}; checks are compared by check id, CIS ids follow each side's version"]


def render_text(d: dict[str, Any], labels: tuple[str, str] = ("", ""), verbose: bool = False) -> str:
    """The diff for a terminal; evidence-only changes are one line each unless verbose."""
    if d["kind"] == "host":
        lines = [f"{labels[0]}{_side_text(d['a'])}  ->  {labels[1]}{_side_text(d['b'])}", *_versions_text(d), *_host_body(d, verbose=verbose)]
        return "\n".join(lines)
    a, b = d["a"], d["b"]
    lines = [
        f"{labels[0]}sweep {(a['sweep_id'] or '?')[:8]} ({a['started_at']}, {a['scanned']} hosts scanned, {a['not_audited']} not audited)  ->  "  # noqa: ISC004
        f"{labels[1]}sweep {(b['sweep_id'] or '?')[:8]} ({b['started_at']}, {b['scanned']} hosts scanned, {b['not_audited']} not audited)",
        *_versions_text(d),
        "   ".join(f"{label}: {d['totals'][key]}" for key, label in SECTIONS) + f"   hosts changed: {len(d['hosts'])}",
    ]
    if d["hosts_appeared"]:
        lines.append("hosts appeared: " + ", ".join(clean(h) for h in d["hosts_appeared"]))
    if d["hosts_disappeared"]:
        lines.append("hosts disappeared: " + ", ".join(clean(h) for h in d["hosts_disappeared"]))
    for entry in d["newly_not_audited"]:
        lines.append(f"not audited any more: {clean(entry['host'])} [{entry['kind']}] {clean(entry['message'])}")
    if d["audited_again"]:
        lines.append("audited again: " + ", ".join(clean(h) for h in d["audited_again"]))
    for name, hd in d["hosts"].items():
        lines += ["", f"== {clean(name)}  score {score_text(hd['a']['score'])} -> {score_text(hd['b']['score'])}", *_host_body(hd, "  ", verbose)]
    return "\n".join(lines)
