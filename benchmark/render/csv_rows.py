"""CSV for spreadsheets: one row per host and check, no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
from typing import IO, Any

from dockbench.benchmark.document import subjects
from dockbench.benchmark.document.reader import Source
from dockbench.benchmark.document.report import cis_ids, unreachable
from dockbench.benchmark.render.document import evidence_text, sorted_results, waived_label
from dockbench.benchmark.render.registry import Format

CSV_COLUMNS = ["target", "hostname", "scan_id", "started_at", "check_id", "title", "cis_ids", "layer", "level", "severity", "status", "message", "evidence",
               "waived", "waiver_ids", "waiver_owners", "waiver_expires", "waiver_justifications", "subject_ids"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A spreadsheet cell that cannot become a formula: text starting with = + - @ gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(source: Source, out: IO[str]) -> None:
    """One row per host and check; a sweep's unreachable target is one row with status UNREACHABLE.

    waived is "yes" (the result is waived), "partly" (some offenders are) or empty; the waiver
    columns list each covering waiver's id, owner, expiry and justification, joined by " | ";
    subject_ids the containers and images a FAIL, ERROR or MANUAL names, as KIND:ID (schema 1.3).
    """
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for report in source.reports():
        target = report["target"]
        for r in sorted_results(report["results"]):
            writer.writerow([_cell(v) for v in (
                target.get("name"), target.get("hostname"), report["scan_id"], report["started_at"], r["id"], r["title"],
                ";".join(cis_ids(r)), r["layer"], r["level"], r["severity"], r["status"], r["message"], evidence_text(r, " | "),
                {"waived": "yes", "partly waived": "partly", None: ""}[waived_label(r)],
                *(" | ".join(w[key] for w in r.get("waivers") or []) for key in ("id", "owner", "expires", "justification")),
                " | ".join(f"{kind}:{uid}" for kind, _, uid in subjects.offenders(r)),
            )])
    for entry in unreachable(source.head):
        writer.writerow([_cell(v) for v in (
            entry["target"], entry.get("name", ""), "", source.head.get("started_at", ""), "", "host could not be audited",
            "", "", "", "", "UNREACHABLE", entry["message"], f"kind: {entry['kind']}", "", "", "", "", "", "",
        )])


FORMAT = Format("csv", (".csv",), writer=write_csv, order=40)  # one row per host and check, for spreadsheets
