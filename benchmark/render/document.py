"""Reading the one JSON document every format renders: its host reports, their results in
report order, host names for fleet views, counts and scores, evidence as text."""

from __future__ import annotations

import json
from typing import Any

from dockbench.benchmark.document.model import Layer, Severity
from dockbench.benchmark.document.report import STATUS_ORDER, cis_ids

LAYER_ORDER = [layer.value for layer in Layer]

SEVERITY_ORDER = [s.value for s in reversed(Severity)]  # critical first

STATUS_LABEL = {"PASS": "PASS", "FAIL": "FAIL", "MANUAL": "MANUAL", "NOT_APPLICABLE": "N/A", "ERROR": "ERROR"}


def sorted_results(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failures first, then errors, manual, pass, not applicable; gravest first within a status."""
    status = {s: i for i, s in enumerate(STATUS_ORDER)}
    severity = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    layer = {s: i for i, s in enumerate(LAYER_ORDER)}
    return sorted(results, key=lambda r: (status.get(r["status"], 9), severity.get(r["severity"], 9), layer.get(r["layer"], 99), r["id"]))


def cis_key(cis_id: str) -> tuple[int, ...]:
    """A CIS id as numbers, so that 1.1.2 comes before 1.1.10 and 5.9 before 5.10."""
    return tuple(int(part) if part.isdigit() else 0 for part in cis_id.split("."))


def cis_order(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results in the benchmark's order, as its document lists them: by CIS id (a result
    at its first), then the checks beyond CIS by layer and id."""
    layer = {s: i for i, s in enumerate(LAYER_ORDER)}

    def key(r: dict[str, Any]) -> tuple:
        ids = [cis_key(c["id"]) for c in r.get("cis") or []]
        return (0, min(ids), r["id"]) if ids else (1, (layer.get(r["layer"], 99),), r["id"])
    return sorted(results, key=key)


def host_label(report: dict[str, Any]) -> str:
    """How a host is named in fleet views: its hostname, with the target when they differ."""
    target = report["target"]
    hostname, name = target.get("hostname") or "?", target.get("name") or ""
    address = name.split("://", 1)[-1].rsplit("@", 1)[-1].split("/", 1)[0]
    address = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
    same = name in ("", "local") or address == hostname or address.startswith(hostname + ".") or hostname.startswith(address + ".")
    return hostname if same else f"{hostname} ({name})"


def worst_status(counts: dict[str, int]) -> str | None:
    for status in STATUS_ORDER:
        if counts.get(status):
            return status
    return None


def badness(report: dict[str, Any]) -> tuple:
    """Sort key putting the worst host first: grave failures, then failures, errors, score."""
    fails = [r for r in report["results"] if r["status"] == "FAIL"]
    by_severity = [-sum(1 for r in fails if r["severity"] == s) for s in SEVERITY_ORDER]
    counts = report["summary"]["by_status"]
    score = report["summary"]["score"]
    return (*by_severity, -counts.get("ERROR", 0), -counts.get("MANUAL", 0), score if score is not None else 101, host_label(report))


def observed_text(value: Any) -> str:
    """Evidence value as one line of text: strings as they are, anything else as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def observed_lines(value: Any) -> str:
    """Evidence value for the HTML page: list items and mapping entries one per line."""
    if isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value):
        return "\n".join(observed_text(v) for v in value) if value else "(none)"
    if isinstance(value, dict) and all(not isinstance(v, (list, dict)) for v in value.values()):
        return "\n".join(f"{k}: {observed_text(v)}" for k, v in value.items()) if value else "(none)"
    return observed_text(value)


def evidence_text(result: dict[str, Any], sep: str = "; ") -> str:
    return sep.join(f"{e['subject']}: {observed_text(e['observed'])}" + (f" (waived: {e['waiver']})" if "waiver" in e else "") for e in result.get("evidence", []))


def waiver_text(result: dict[str, Any]) -> str:
    """The waivers on a result in one line: id, owner, expiry, justification (empty when none)."""
    return "; ".join(f"{w['id']} (owner {w['owner']}, expires {w['expires']}): {w['justification']}" for w in result.get("waivers") or [])


def waived_label(result: dict[str, Any]) -> str | None:
    """"waived" when the whole result is, "partly waived" when some offenders are, else None."""
    if "waivers" not in result:
        return None
    return "waived" if result.get("waived") else "partly waived"


def checks_across(hosts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each check once, with every host's result for it (hosts in the given order), gravest first."""
    checks: dict[str, dict[str, Any]] = {}
    for host in hosts:
        for r in host["results"]:
            count_check(checks, r)["hosts"].append((host, r))
    return gravest_first(checks)


def count_check(checks: dict[str, dict[str, Any]], r: dict[str, Any]) -> dict[str, Any]:
    """Count a result in its check's entry of checks (made when the check is first seen; its
    "hosts" list is the caller's to fill); the entry."""
    c = checks.get(r["id"])
    if c is None:
        c = checks[r["id"]] = {
            "id": r["id"], "title": r["title"], "layer": r["layer"], "severity": r["severity"], "level": r["level"],
            "cis": cis_ids(r), "rationale": r["rationale"], "remediation": r["remediation"],
            "counts": {s: 0 for s in STATUS_ORDER}, "hosts": [], "total": 0,
        }
    c["counts"][r["status"]] = c["counts"].get(r["status"], 0) + 1
    c["total"] += 1
    return c


def gravest_first(checks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The checks, most failing hosts first, then most errors, then severity."""
    severity = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    return sorted(checks.values(), key=lambda c: (-c["counts"]["FAIL"], -c["counts"]["ERROR"], severity.get(c["severity"], 9), c["id"]))
