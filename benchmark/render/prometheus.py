"""The Prometheus text exposition format, for node_exporter's textfile collector.

A periodic scan writes FILE.prom into the collector's directory (``render.write`` replaces it
atomically, so the collector never reads half a file) and Prometheus scrapes it with the
node's other metrics. Every series is labelled with the host (its hostname) and the target
it was audited as; the values are in base units (ratios, seconds since the epoch, seconds).
No sample carries a timestamp: the textfile collector refuses them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dockbench.benchmark.render.registry import Format
from dockbench.benchmark.report import STATUS_ORDER, cis_ids, host_reports, unreachable

PREFIX = "dockbench_"
WAIVER_STATES = ("active", "expiring", "expired")


def label_value(value: Any) -> str:
    r"""A label value as the exposition format quotes it: \ " and newline escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _epoch(moment: str) -> float | None:
    try:
        return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()
    except (AttributeError, ValueError):
        return None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Exposition:
    """Metric families in the order first declared, each with its samples kept together."""

    def __init__(self) -> None:
        self.families: dict[str, dict[str, Any]] = {}

    def family(self, name: str, help_text: str) -> None:
        self.families.setdefault(PREFIX + name, {"help": help_text, "samples": []})

    def add(self, name: str, labels: dict[str, Any], value: float | None) -> None:
        if value is not None:
            self.families[PREFIX + name]["samples"].append((labels, value))

    def text(self) -> str:
        lines = []
        for name, family in self.families.items():
            if not family["samples"]:
                continue
            lines += [f"# HELP {name} {family['help']}", f"# TYPE {name} gauge"]
            for labels, value in family["samples"]:
                pairs = ",".join(f'{key}="{label_value(v)}"' for key, v in labels.items())
                lines.append(f"{name}{{{pairs}}} {_number(value)}" if pairs else f"{name} {_number(value)}")
        return "\n".join(lines) + "\n" if lines else ""


FAMILIES = (
    ("scan_info", "The scanned host, the benchmark it was judged against and the dockbench version (always 1)."),
    ("score_ratio", "Share of decided checks (PASS or FAIL) that passed, 0 to 1."),
    ("score_with_waivers_ratio", "The score with waived failures left out of the count, 0 to 1."),
    ("results", "Checks by status."),
    ("layer_results", "Checks by layer and status."),
    ("waived_results", "Results waived as a whole, by their judged status."),
    ("waivers", "Waivers of the waiver file in force for this host, by state (active, expiring, expired)."),
    ("scan_end_timestamp_seconds", "When the scan finished, in seconds since the Unix epoch."),
    ("scan_duration_seconds", "How long the scan took, in seconds."),
    ("check_failed", "One series per failing check (value 1); waived=\"true\" when a waiver covers the failure."),
    ("sweep_targets", "Targets of the fleet sweep."),
    ("target_unreachable", "A sweep target that could not be audited (value 1), with the kind of error and its message."),
)


def _host(out: Exposition, report: dict[str, Any]) -> None:
    target, summary = report["target"], report["summary"]
    host = {"host": target.get("hostname") or "", "target": target.get("name") or ""}
    out.add("scan_info", {**host, "benchmark": report["benchmark"]["id"], "version": report["tool"]["version"]}, 1)
    for name, score in (("score_ratio", summary.get("score")), ("score_with_waivers_ratio", summary.get("score_with_waivers"))):
        out.add(name, host, round(score / 100, 4) if score is not None else None)
    for status in STATUS_ORDER:
        out.add("results", {**host, "status": status}, summary["by_status"].get(status, 0))
    for layer, counts in summary["by_layer"].items():
        for status in STATUS_ORDER:
            out.add("layer_results", {**host, "layer": layer, "status": status}, counts.get(status, 0))
    waived = summary.get("waived")
    if waived is not None:
        for status in STATUS_ORDER:
            out.add("waived_results", {**host, "status": status}, waived["by_status"].get(status, 0))
    waivers = report.get("waivers")
    if waivers is not None:
        entries = [e for e in waivers["entries"] if e.get("in_scope", True)]
        for state in WAIVER_STATES:
            out.add("waivers", {**host, "state": state}, sum(1 for e in entries if e["state"] == state))
    finished, started = _epoch(report["finished_at"]), _epoch(report["started_at"])
    out.add("scan_end_timestamp_seconds", host, finished)
    out.add("scan_duration_seconds", host, max(0.0, finished - started) if finished is not None and started is not None else None)
    for result in report["results"]:
        if result["status"] == "FAIL":
            labels = {**host, "check": result["id"], "cis": ",".join(cis_ids(result)), "layer": result["layer"],
                      "severity": result["severity"], "waived": "true" if result.get("waived") else "false"}
            out.add("check_failed", labels, 1)


def render_prometheus(document: dict[str, Any]) -> str:
    """Gauges per host: score, counts by status and by layer, waivers, scan end and duration,
    one series per failing check; for a sweep also its targets and each unreachable one."""
    out = Exposition()
    for name, help_text in FAMILIES:
        out.family(name, help_text)
    for report in host_reports(document):
        _host(out, report)
    if document["kind"] == "sweep":
        out.add("sweep_targets", {}, document["summary"]["targets"])
        for entry in unreachable(document):
            out.add("target_unreachable", {"target": entry["target"], "name": entry.get("name") or "", "kind": entry["kind"], "message": entry["message"]}, 1)
    return out.text()


FORMAT = Format("prometheus", (".prom",), render_prometheus, order=70)  # Prometheus text format for node_exporter's textfile collector
