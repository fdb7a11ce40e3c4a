"""The JSON report: the one document every output format is rendered from."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dockbench.benchmark import __version__, exit_codes
from dockbench.benchmark.document import scope as scope_mod
from dockbench.benchmark.document.model import Layer, Severity, Status

# 1.1: benchmark.version (the documents are judged against one of several benchmark versions)
# 1.2: waivers (accepted risks): the waivers block, summary.waived and score_with_waivers, results' waived and waivers
# 1.3: evidence items say what they are about: kind and id; and every host report's scope (the checks and containers it judged: see document/scope.py)
SCHEMA_VERSION = "1.3"
STATUS_ORDER = [s.value for s in (Status.FAIL, Status.ERROR, Status.MANUAL, Status.PASS, Status.NOT_APPLICABLE)]


def schema() -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "schema" / "report.schema.json").read_text())


def score_of(counts: dict[str, int]) -> float | None:
    """The share of decided checks (PASS or FAIL) that passed, in percent to one decimal;
    None when none was decided."""
    decided = counts.get("PASS", 0) + counts.get("FAIL", 0)
    return round(100.0 * counts.get("PASS", 0) / decided, 1) if decided else None


def score_text(score: float | None) -> str:
    """A score as the text outputs show it: 87.5% or n/a."""
    return f"{score}%" if score is not None else "n/a"


def counted(summary: dict[str, Any]) -> dict[str, int]:
    """The status counts that gate the exit code: the judged counts less the waived ones."""
    waived = (summary.get("waived") or {}).get("by_status") or {}
    return {s: n - waived.get(s, 0) for s, n in summary["by_status"].items()}


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    by_status = {s: 0 for s in STATUS_ORDER}
    by_layer: dict[str, dict[str, int]] = {}
    for result in results:
        by_status[result["status"]] += 1
        layer = by_layer.setdefault(result["layer"], {s: 0 for s in STATUS_ORDER})
        layer[result["status"]] += 1
    return {
        "total": len(results),
        "by_status": by_status,
        "by_layer": {layer.value: by_layer[layer.value] for layer in Layer if layer.value in by_layer},
        "score": score_of(by_status),
    }


def target_summary(snapshot: dict[str, Any], rootless: bool, connection: dict[str, Any] | None = None) -> dict[str, Any]:
    """Who was audited, as the report header shows it (rootless: as the facts tell it; connection:
    how the host was reached, for a remote one)."""
    docker = snapshot["docker"]
    info = docker.get("info") or {}
    host = snapshot["host"]
    return {
        "name": snapshot["target"]["name"],
        "transport": snapshot["target"]["transport"],
        "hostname": host["hostname"],
        "os": host["os"].get("pretty_name") or host["os"].get("id"),
        "kernel": host["kernel"],
        "arch": host["arch"],
        "root": snapshot["target"]["root"],
        "docker_host": docker.get("host"),
        "docker_status": docker["status"],
        "docker_version": info.get("ServerVersion"),
        "rootless": rootless,
        "probe_uid": snapshot["probe"]["uid"],
        **(connection or {}),
    }


def build(
    results: list[dict[str, Any]],
    snapshot: dict[str, Any],
    *,
    rootless: bool,
    benchmark: dict[str, str],
    started_at: str,
    finished_at: str,
    errors: list[dict[str, str]] | None = None,
    scan_id: str | None = None,
    connection: dict[str, Any] | None = None,
    scope: dict[str, Any] | None = None,
) -> dict[str, Any]:
    errors = list(errors or [])
    errors += [{"stage": "probe", "message": note} for note in snapshot["probe"]["notes"]]
    errors += [{"stage": "docker", "message": message} for message in snapshot["docker"].get("errors", [])]
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    gravity = {s.value: -i for i, s in enumerate(Severity)}
    return {
        "kind": "host",
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "dockbench", "version": __version__},
        "benchmark": dict(benchmark),
        "scan_id": scan_id or str(uuid.uuid4()),
        "started_at": started_at,
        "finished_at": finished_at,
        "facts_collected_at": snapshot["collected_at"],
        "target": target_summary(snapshot, rootless, connection),
        **({"scope": scope} if scope is not None else {}),
        "summary": summarize(results),
        "results": sorted(results, key=lambda r: (order[r["status"]], gravity[r["severity"]], r["layer"], r["id"])),
        "errors": errors,
    }


def sweep_summary(host_summaries: Iterable[dict[str, Any]], errors: list[dict[str, str]]) -> dict[str, Any]:
    """A sweep's counts, from each audited host's summary and the error entries."""
    by_status = {s: 0 for s in STATUS_ORDER}
    scanned = 0
    for summary in host_summaries:
        scanned += 1
        for status in STATUS_ORDER:
            by_status[status] += summary["by_status"][status]
    by_error: dict[str, int] = {}
    for entry in errors:
        by_error[entry["kind"]] = by_error.get(entry["kind"], 0) + 1
    return {"targets": scanned + len(errors), "scanned": scanned, "unreachable": len(errors), "by_status": by_status, "by_error": by_error}


def host_summary(scan_id: str, name: str, summary: dict[str, Any], waivers: dict[str, Any] | None, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a streamed sweep keeps of a host instead of its report: its name and counts (the
    terminal's line, the sweep's totals), its waivers block (the sweep's) and its scope without
    the container list (the terminal's)."""
    light = {"scan_id": scan_id, "target": {"name": name}, "summary": {k: v for k, v in summary.items() if k in ("by_status", "score", "waived")}}
    if waivers is not None:
        light["waivers"] = waivers
    if scope is not None:
        light["scope"] = scope_mod.light(scope)
    return light


def build_sweep(hosts: list[dict[str, Any]], errors: list[dict[str, str]], *, benchmark: dict[str, str], started_at: str, finished_at: str,
                interrupted: bool = False, sweep_id: str | None = None, summary: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fleet document: each reachable host's report (all judged against `benchmark`), and
    an error entry for every other.

    A streamed sweep (benchmark.fleet.output) passes each host's counts and waivers only, and
    writes the host reports itself."""
    document = {
        "kind": "sweep",
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "dockbench", "version": __version__},
        "benchmark": dict(benchmark),
        "sweep_id": sweep_id or str(uuid.uuid4()),
        "started_at": started_at,
        "finished_at": finished_at,
        "interrupted": interrupted,
        "summary": summary or sweep_summary((h["summary"] for h in hosts), errors),
        "hosts": sorted(hosts, key=lambda h: h["target"]["name"]),
        "errors": sorted(errors, key=lambda e: e["name"]),
    }
    judged = [h for h in hosts if "waivers" in h]
    if judged:
        document["summary"]["waived"] = {"total": sum(h["summary"]["waived"]["total"] for h in judged),
                                         "by_status": {s: sum(h["summary"]["waived"]["by_status"][s] for h in judged) for s in STATUS_ORDER}}
        document["waivers"] = _sweep_waivers([h["waivers"] for h in judged])
    return document


def _sweep_waivers(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The hosts' waivers blocks as one: `matched` adds up, `in_scope` on any host is in scope, and
    each waiver keeps the entry with the fewest days left (its gravest state: a sweep may span midnight)."""
    entries: dict[str, dict[str, Any]] = {}
    for block in blocks:
        for entry in block["entries"]:
            seen = entries.get(entry["id"])
            matched, in_scope = entry["matched"] + (seen["matched"] if seen else 0), entry["in_scope"] or bool(seen and seen["in_scope"])
            if seen is None or entry["days_left"] < seen["days_left"]:
                seen = entries[entry["id"]] = dict(entry)
            seen["matched"], seen["in_scope"] = matched, in_scope
    return {"source": blocks[0]["source"], "judged_on": max(b["judged_on"] for b in blocks), "warning_days": blocks[0]["warning_days"],
            "entries": list(entries.values())}


def host_key(report: dict[str, Any]) -> str:
    """The name a host report is filed under: the target name, or the hostname for local scans."""
    target = report.get("target") or {}
    name = target.get("name")
    if not name or name == "local":
        return target.get("hostname") or "local"
    return name


def host_reports(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The host reports in a document: itself for a host report, every scanned host for a sweep."""
    return list(document["hosts"]) if document["kind"] == "sweep" else [document]


def unreachable(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A sweep's per-target error entries (hosts that could not be audited)."""
    return list(document.get("errors", [])) if document["kind"] == "sweep" else []


def cis_ids(result: dict[str, Any]) -> list[str]:
    return [c["id"] for c in result.get("cis", [])]


def exit_code(document: dict[str, Any], fail_on: str) -> int:
    """Bit 1: a result crossed the --fail-on threshold (waived ones do not); bit 4: a sweep missed some hosts."""
    counts = counted(document["summary"])
    code = exit_codes.OK
    if fail_on != "never" and (counts["FAIL"] or (fail_on == "error" and counts["ERROR"])):
        code |= exit_codes.FINDINGS
    if document["kind"] == "sweep" and document["errors"]:
        code |= exit_codes.HOSTS_MISSED
    return code
