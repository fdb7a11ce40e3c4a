"""Fleet sweep documents assembled from real host reports, for the renderer tests and benchmark.

A sweep document (schema "kind": "sweep") holds one host report per audited host and one error
entry per target that could not be audited. These helpers take real `dockbench scan` reports,
give each copy its own identity (hostname, target, scan id) and optionally vary its results,
and wrap them the way a sweep does, so rendering is tested against the schema, not against
whichever sweep code exists today.
"""

from __future__ import annotations

import copy
import random
import uuid
from typing import Any

from dockbench.benchmark.document.report import SCHEMA_VERSION, STATUS_ORDER, summarize

ERROR_KINDS = ("unreachable", "connection_refused", "auth_failed", "host_key_unknown", "timeout", "sudo_password_required")


def as_host(report: dict[str, Any], hostname: str, target: str | None = None) -> dict[str, Any]:
    """A copy of a real host report that claims to come from another host."""
    copied = copy.deepcopy(report)
    copied["target"].update(hostname=hostname, name=target or f"ssh://root@{hostname}", transport="ssh")
    copied["scan_id"] = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{hostname}/{report['scan_id']}"))
    return copied


def vary(report: dict[str, Any], rng: random.Random, flip: float = 0.15) -> dict[str, Any]:
    """Flip some results between PASS and FAIL (and a few to ERROR), then recount the summary."""
    for result in report["results"]:
        if result["status"] in ("PASS", "FAIL") and rng.random() < flip:
            result["status"] = "PASS" if result["status"] == "FAIL" else "FAIL"
        elif result["status"] == "PASS" and rng.random() < flip / 10:
            result["status"] = "ERROR"
            result["message"] = "could not read the file: re-run with --sudo"
    report["summary"] = summarize(report["results"])
    return report


def error_entry(target: str, kind: str, message: str, name: str | None = None) -> dict[str, Any]:
    entry = {"target": target, "kind": kind, "message": message}
    if name is not None:
        entry["name"] = name
    return entry


def sweep(hosts: list[dict[str, Any]], errors: list[dict[str, Any]] = (), sweep_id: str = "sweep-test") -> dict[str, Any]:
    """The sweep document over these host reports and error entries."""
    hosts, errors = list(hosts), list(errors)
    by_status = {s: 0 for s in STATUS_ORDER}
    for host in hosts:
        for status, count in host["summary"]["by_status"].items():
            by_status[status] += count
    by_error: dict[str, int] = {}
    for entry in errors:
        by_error[entry["kind"]] = by_error.get(entry["kind"], 0) + 1
    first = hosts[0] if hosts else None
    started = min([h["started_at"] for h in hosts] or ["2026-01-01T00:00:00Z"])
    finished = max([h["finished_at"] for h in hosts] or [started])
    return {
        "kind": "sweep",
        "schema_version": SCHEMA_VERSION,
        "tool": copy.deepcopy(first["tool"]) if first else {"name": "dockbench", "version": "0.1.0"},
        "benchmark": copy.deepcopy(first["benchmark"]) if first else {"id": "cis-docker-1.6.0", "title": "CIS Docker Benchmark v1.6.0"},
        "sweep_id": sweep_id,
        "started_at": started,
        "finished_at": finished,
        "summary": {"targets": len(hosts) + len(errors), "scanned": len(hosts), "unreachable": len(errors), "by_status": by_status, "by_error": by_error},
        "hosts": hosts,
        "errors": errors,
    }


def fleet(reports: list[dict[str, Any]], count: int, unreachable: int = 0, seed: int = 7) -> dict[str, Any]:
    """A sweep of `count` hosts cycling through the given real reports, each varied, plus error entries."""
    rng = random.Random(seed)
    hosts = [vary(as_host(reports[i % len(reports)], f"node-{i + 1:03d}.example.test"), rng) for i in range(count)]
    errors = [error_entry(f"ssh://root@down-{i + 1:03d}.example.test", ERROR_KINDS[i % len(ERROR_KINDS)], f"ssh: could not audit down-{i + 1:03d} ({ERROR_KINDS[i % len(ERROR_KINDS)].replace('_', ' ')})")
              for i in range(unreachable)]
    return sweep(hosts, errors, sweep_id=f"sweep-{count}-{seed}")
