"""The Prometheus text exposition format, for node_exporter's textfile collector.

A periodic scan writes FILE.prom into the collector's directory (``render.write`` replaces it
atomically, so the collector never reads half a file) and Prometheus scrapes it with the
node's other metrics. Every series is labelled with the host (its hostname) and the target
it was audited as; the values are in base units (ratios, seconds since the epoch, seconds).
No sample carries a timestamp: the textfile collector refuses them.
"""

from __future__ import annotations

from datetime import datetime
from typing import IO, Any

from dockbench.benchmark.document import scope
from dockbench.benchmark.document.reader import Source
from dockbench.benchmark.document.report import STATUS_ORDER, cis_ids, unreachable
from dockbench.benchmark.render.registry import Format
from dockbench.benchmark.render.spool import Spool

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
    """Metric families in the order first declared, each with its samples kept together: a
    host's samples are set aside (a Spool) family by family once the host is done."""

    def __init__(self, spool: Spool) -> None:
        self.families: dict[str, str] = {}  # name -> help text
        self.pending: dict[str, list[str]] = {}  # the current host's sample lines, by family
        self.spool = spool

    def family(self, name: str, help_text: str) -> None:
        self.families.setdefault(PREFIX + name, help_text)

    def add(self, name: str, labels: dict[str, Any], value: float | None) -> None:
        if value is not None:
            pairs = ",".join(f'{key}="{label_value(v)}"' for key, v in labels.items())
            name = PREFIX + name
            self.pending.setdefault(name, []).append(f"{name}{{{pairs}}} {_number(value)}\n" if pairs else f"{name} {_number(value)}\n")

    def flush(self) -> None:
        for name, lines in self.pending.items():
            self.spool.add(name, "".join(lines))
        self.pending = {}

    def write(self, out: IO[str]) -> None:
        self.flush()
        for name, help_text in self.families.items():
            if name in self.spool:
                out.write(f"# HELP {name} {help_text}\n# TYPE {name} gauge\n")
                self.spool.copy(name, out)


FAMILIES = (
    ("scan_info", "The scanned host, the benchmark it was judged against and the dockbench version (always 1)."),
    ("scope_info", "The scan's scope (always 1): a digest of its options (scope), scoped=\"true\" unless every check and every running container, and the options."),
    ("selected_containers", "Containers the per-container checks judged."),
    ("host_containers", "Containers on the host, running or not."),
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
    if "scope" in report:
        _scope(out, host, report["scope"])
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


def _scope(out: Exposition, host: dict[str, str], chosen: dict[str, Any]) -> None:
    """The scope as an info series (its own, so a change of scope adds no label to the other series)
    and the containers selected of those on the host."""
    options = {k: ",".join(v) if isinstance(v, list) else "" if v is None else str(v).lower() for k, v in chosen.items() if k in scope.OPTIONS and k != "benchmark"}
    out.add("scope_info", {**host, "scope": scope.key(chosen), "scoped": "false" if scope.default(chosen) else "true", **options}, 1)
    out.add("selected_containers", host, scope.selected_count(chosen))
    out.add("host_containers", host, chosen["containers_total"])


def write_prometheus(source: Source, out: IO[str]) -> None:
    """Gauges per host: score, counts by status and by layer, waivers, scan end and duration,
    one series per failing check; for a sweep also its targets and each unreachable one."""
    head = source.head
    with Spool() as spool:
        exposition = Exposition(spool)
        for name, help_text in FAMILIES:
            exposition.family(name, help_text)
        for report in source.reports():
            _host(exposition, report)
            exposition.flush()
        if head["kind"] == "sweep":
            exposition.add("sweep_targets", {}, head["summary"]["targets"])
            for entry in unreachable(head):
                exposition.add("target_unreachable", {"target": entry["target"], "name": entry.get("name") or "", "kind": entry["kind"], "message": entry["message"]}, 1)
        exposition.write(out)


FORMAT = Format("prometheus", (".prom",), writer=write_prometheus, order=70)  # Prometheus text format for node_exporter's textfile collector
