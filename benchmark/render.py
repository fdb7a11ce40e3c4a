"""Every output format, rendered from the one JSON document (a host report or a fleet sweep).

Each renderer is a pure function ``document -> str``. The registry maps a format name to its
renderer and default file extension, so any command can write any format:

    render(document, "html")            the text of the report in that format
    format_for_path("out/report.html")  "html" (by extension)
    write(document, "report.xml")       render by the path's extension, write atomically

HTML is one self-contained file rendered by Jinja2 (autoescape on) from the top-level
``templates`` package; its Content-Security-Policy allows nothing but its own inline style and
script (by hash), so the page cannot fetch anything, from file:// or anywhere else.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from dockbench.benchmark import jsonlines
from dockbench.benchmark.escaping import hex_escape
from dockbench.benchmark.model import Layer, Severity
from dockbench.benchmark.report import STATUS_ORDER, score_of, score_text
from dockbench.benchmark.waivers import listed

LAYER_ORDER = [layer.value for layer in Layer]
SEVERITY_ORDER = [s.value for s in reversed(Severity)]  # critical first
STATUS_LABEL = {"PASS": "PASS", "FAIL": "FAIL", "MANUAL": "MANUAL", "NOT_APPLICABLE": "N/A", "ERROR": "ERROR"}
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# ---------------------------------------------------------------- document helpers


def host_reports(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The host reports in a document: itself for a host report, every scanned host for a sweep."""
    return list(document["hosts"]) if document["kind"] == "sweep" else [document]


def unreachable(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A sweep's per-target error entries (hosts that could not be audited)."""
    return list(document.get("errors", [])) if document["kind"] == "sweep" else []


def sorted_results(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failures first, then errors, manual, pass, not applicable; gravest first within a status."""
    status = {s: i for i, s in enumerate(STATUS_ORDER)}
    severity = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    layer = {s: i for i, s in enumerate(LAYER_ORDER)}
    return sorted(results, key=lambda r: (status.get(r["status"], 9), severity.get(r["severity"], 9), layer.get(r["layer"], 99), r["id"]))


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


def cis_ids(result: dict[str, Any]) -> list[str]:
    return [c["id"] for c in result.get("cis", [])]


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


def fleet_counts(document: dict[str, Any]) -> dict[str, int]:
    counts = {s: 0 for s in STATUS_ORDER}
    for report in host_reports(document):
        for result in report["results"]:
            counts[result["status"]] = counts.get(result["status"], 0) + 1
    return counts


# ---------------------------------------------------------------- JSON


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_jsonl(document: dict[str, Any]) -> str:
    """JSON Lines: a sweep as benchmark.sweep_output streams it; a host report as one line."""
    lines = jsonlines.lines_of(document) if document["kind"] == "sweep" else [jsonlines.dumps(document)]
    return "".join(line.decode("ascii") + "\n" for line in lines)


# ---------------------------------------------------------------- JUnit XML


def _xml_text(value: Any) -> str:
    """XML 1.0 cannot carry most control characters, even escaped: show them as \\xNN."""
    text = value if isinstance(value, str) else observed_text(value)
    return hex_escape(text, _XML_INVALID)


def _junit_body(result: dict[str, Any]) -> str:
    lines = [result["title"]]
    cis = cis_ids(result)
    if cis:
        lines.append("CIS " + ", ".join(cis))
    lines.append(f"{result['status']} [{result['severity']}] {result['message']}")
    lines += [f"  - {e['subject']}: {observed_text(e['observed'])}" + (f" (waived: {e['waiver']})" if "waiver" in e else "") for e in result.get("evidence", [])]
    lines += [f"{waived_label(result)}: {w['id']} · owner {w['owner']} · expires {w['expires']}: {w['justification']}" for w in result.get("waivers") or []]
    if result["status"] in ("FAIL", "ERROR"):
        lines.append(f"fix: {result['remediation']}")
    return _xml_text("\n".join(lines))


def _seconds(start: str, end: str) -> str:
    try:
        took = datetime.fromisoformat(end.replace("Z", "+00:00")) - datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        return "0"
    return f"{max(0.0, took.total_seconds()):.3f}"


def render_junit(document: dict[str, Any]) -> str:
    """One testsuite per host, one testcase per check (classname: the layer, name: the check id).

    FAIL -> <failure>, ERROR -> <error>, NOT_APPLICABLE -> <skipped>, MANUAL -> <skipped
    message="manual review">; a waived FAIL or ERROR -> <skipped message="waived: ID: JUSTIFICATION">
    (an accepted risk does not fail the build; its body keeps the evidence). A sweep's unreachable target is a testsuite whose single testcase
    "host-reachable" has an <error> carrying the error kind and message, so CI never takes a host
    it could not audit for a clean one.
    """
    root = ET.Element("testsuites", name="dockbench")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for report in host_reports(document):
        target = report["target"]
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        suite = ET.SubElement(root, "testsuite", name=_xml_text(host_label(report)), hostname=_xml_text(target.get("hostname") or ""),
                              id=_xml_text(report["scan_id"]), timestamp=report["started_at"], time=_seconds(report["started_at"], report["finished_at"]))
        props = ET.SubElement(suite, "properties")
        for name, value in (("target", target.get("name")), ("transport", target.get("transport")), ("os", target.get("os")),
                            ("kernel", target.get("kernel")), ("docker_version", target.get("docker_version")),
                            ("benchmark", report["benchmark"]["title"]), ("tool_version", report["tool"]["version"]),
                            ("score", report["summary"]["score"]), ("score_with_waivers", report["summary"].get("score_with_waivers")),
                            ("waivers", (report.get("waivers") or {}).get("source"))):
            if value is not None:
                ET.SubElement(props, "property", name=name, value=_xml_text(str(value)))
        for result in sorted_results(report["results"]):
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=result["layer"], name=result["id"], time="0")
            status = result["status"]
            if result.get("waived"):
                counts["skipped"] += 1
                message = "; ".join(f"waived: {w['id']}: {w['justification']}" for w in result["waivers"])
                ET.SubElement(case, "skipped", message=_xml_text(message)).text = _junit_body(result)
            elif status == "FAIL":
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=_xml_text(result["message"]), type=result["severity"]).text = _junit_body(result)
            elif status == "ERROR":
                counts["errors"] += 1
                ET.SubElement(case, "error", message=_xml_text(result["message"]), type="ERROR").text = _junit_body(result)
            elif status == "NOT_APPLICABLE":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=_xml_text(result["message"]))
            elif status == "MANUAL":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message="manual review").text = _junit_body(result)
            else:
                ET.SubElement(case, "system-out").text = _junit_body(result)
        if report.get("errors"):
            ET.SubElement(suite, "system-err").text = _xml_text("\n".join(f"{e['stage']}: {e['message']}" for e in report["errors"]))
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for entry in unreachable(document):
        suite = ET.SubElement(root, "testsuite", name=_xml_text(entry.get("name") or entry["target"]), tests="1", failures="0", errors="1", skipped="0")
        case = ET.SubElement(suite, "testcase", classname="sweep", name="host-reachable", time="0")
        ET.SubElement(case, "error", message=_xml_text(entry["message"]), type=entry["kind"]).text = _xml_text(f"{entry['target']}: {entry['kind']}: {entry['message']}")
        totals["tests"] += 1
        totals["errors"] += 1
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------- CSV

CSV_COLUMNS = ["target", "hostname", "scan_id", "started_at", "check_id", "title", "cis_ids", "layer", "level", "severity", "status", "message", "evidence",
               "waived", "waiver_ids", "waiver_owners", "waiver_expires", "waiver_justifications"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A spreadsheet cell that cannot become a formula: text starting with = + - @ gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(document: dict[str, Any]) -> str:
    """One row per host and check; a sweep's unreachable target is one row with status UNREACHABLE.

    waived is "yes" (the result is waived), "partly" (some offenders are) or empty; the waiver
    columns list each covering waiver's id, owner, expiry and justification, joined by " | ".
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for report in host_reports(document):
        target = report["target"]
        for r in sorted_results(report["results"]):
            writer.writerow([_cell(v) for v in (
                target.get("name"), target.get("hostname"), report["scan_id"], report["started_at"], r["id"], r["title"],
                ";".join(cis_ids(r)), r["layer"], r["level"], r["severity"], r["status"], r["message"], evidence_text(r, " | "),
                {"waived": "yes", "partly waived": "partly", None: ""}[waived_label(r)],
                *(" | ".join(w[key] for w in r.get("waivers") or []) for key in ("id", "owner", "expires", "justification")),
            )])
    for entry in unreachable(document):
        writer.writerow([_cell(v) for v in (
            entry["target"], entry.get("name", ""), "", document.get("started_at", ""), "", "host could not be audited",
            "", "", "", "", "UNREACHABLE", entry["message"], f"kind: {entry['kind']}", "", "", "", "", "",
        )])
    return out.getvalue()


# ---------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}()#+!|~>])")


def md(value: Any) -> str:
    """Host data as inert Markdown text: one line, HTML and Markdown syntax escaped."""
    text = value if isinstance(value, str) else observed_text(value)
    text = hex_escape(text.replace("\r\n", " ").replace("\n", " "))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_counts(counts: dict[str, int]) -> str:
    return " · ".join(f"{STATUS_LABEL[s]} {counts.get(s, 0)}" for s in STATUS_ORDER)


def _md_result(result: dict[str, Any], level: str = "###") -> list[str]:
    cis = ", ".join(cis_ids(result))
    lines = [f"{level} {result['status']} `{result['id']}`" + (f" (CIS {cis})" if cis else "") + f" [{result['severity']}]", "",
             f"{md(result['title'])}: {md(result['message'])}", ""]
    lines += [f"- {md(e['subject'])}: {md(e['observed'])}" + (f" (waived: {md(e['waiver'])})" if "waiver" in e else "") for e in result.get("evidence", [])]
    if result.get("evidence"):
        lines.append("")
    lines += [f"{waived_label(result).capitalize()} by {md(w['id'])} · owner {md(w['owner'])} · expires {w['expires']}: {md(w['justification'])}" for w in result.get("waivers") or []]
    if result.get("waivers"):
        lines.append("")
    lines += [f"Fix: {md(result['remediation'])}", ""]
    return lines


def _md_waivers(block: dict[str, Any] | None) -> list[str]:
    """The waivers to act on: expired (count again), expiring soon, unmatched (stale)."""
    lists = listed(block)
    if not any(lists.values()):
        return []
    lines = ["## Waivers to review", ""]
    for key, label in (("expired", "expired (counts as no waiver)"), ("expiring", f"expiring within {block['warning_days']} days"), ("unmatched", "matched nothing (stale: prune?)")):
        lines += [f"- {label}: {md(e['id'])} ({md(e['check'])}, owner {md(e['owner'])}, expires {e['expires']})" for e in lists[key]]
    return lines + [""]


def _md_host(report: dict[str, Any]) -> list[str]:
    t, summary = report["target"], report["summary"]
    docker = f"Docker {md(t['docker_version'])}" if t.get("docker_version") else f"Docker {t['docker_status'].replace('_', ' ')}"
    lines = [
        f"- target: {md(t['name'])} · host {md(t['hostname'])} · {md(t.get('os') or '?')} · kernel {md(t.get('kernel') or '?')} · {docker}" + (" (rootless)" if t.get("rootless") else ""),
        f"- scan {md(report['scan_id'])} · {report['started_at']} · dockbench {md(report['tool']['version'])} · {md(report['benchmark']['title'])}",
        f"- **score {score_text(summary['score'])}** · {_md_counts(summary['by_status'])} ({summary['total']} checks)",
    ]
    if "waived" in summary:
        lines.append(f"- waived {summary['waived']['total']} (accepted risks, not counted toward the exit code) · score with waivers {score_text(summary['score_with_waivers'])}")
    return lines + [""]


def render_md(document: dict[str, Any]) -> str:
    """A Markdown summary for tickets: counts, failures and errors with evidence, unreachable hosts."""
    if document["kind"] == "host":
        lines = [f"# dockbench: {md(document['target']['hostname'])}", ""] + _md_host(document)
        lines += ["| layer | " + " | ".join(STATUS_LABEL[s] for s in STATUS_ORDER) + " |", "| --- |" + " ---: |" * len(STATUS_ORDER)]
        lines += [f"| {layer} | " + " | ".join(str(c.get(s, 0)) for s in STATUS_ORDER) + " |" for layer, c in document["summary"]["by_layer"].items()]
        lines.append("")
        for status, heading in (("FAIL", "Failures"), ("ERROR", "Could not be decided"), ("MANUAL", "For manual review"), ("waived", "Waived (accepted risks)")):
            chosen = [r for r in sorted_results(document["results"]) if (r.get("waived") if status == "waived" else r["status"] == status and not r.get("waived"))]
            if chosen:
                lines += [f"## {heading} ({len(chosen)})", ""]
                for r in chosen:
                    lines += _md_result(r)
        lines += _md_waivers(document.get("waivers"))
        if document.get("errors"):
            lines += ["## Scan notes", ""] + [f"- {md(e['stage'])}: {md(e['message'])}" for e in document["errors"]] + [""]
        return "\n".join(lines)

    hosts = sorted(host_reports(document), key=badness)
    summary = document["summary"]
    lines = [
        f"# dockbench fleet sweep: {summary['scanned']} of {summary['targets']} hosts audited", "",
        f"- sweep {md(document['sweep_id'])} · {document['started_at']} · dockbench {md(document['tool']['version'])} · {md(document['benchmark']['title'])}",
        f"- {_md_counts(fleet_counts(document))}" + (f" · waived {summary['waived']['total']}" if "waived" in summary else "")
        + f" · unreachable {len(unreachable(document))}" + (" · **interrupted**" if document.get("interrupted") else ""), "",
    ]
    errors = unreachable(document)
    if errors:
        lines += [f"## Unreachable hosts ({len(errors)})", "", "| target | error | message |", "| --- | --- | --- |"]
        lines += [f"| {md(e['target'])} | {e['kind']} | {md(e['message'])} |" for e in errors] + [""]
    if hosts:
        lines += ["## Hosts, worst first", "", "| host | score | " + " | ".join(STATUS_LABEL[s] for s in STATUS_ORDER) + " |",
                  "| --- | ---: |" + " ---: |" * len(STATUS_ORDER)]
        lines += [f"| {md(host_label(h))} | {score_text(h['summary']['score'])} | " + " | ".join(str(h["summary"]["by_status"].get(s, 0)) for s in STATUS_ORDER) + " |" for h in hosts]
        lines.append("")
    lines += _md_waivers(document.get("waivers"))
    failing = _checks_across(hosts)
    bad = [c for c in failing if c["counts"]["FAIL"] or c["counts"]["ERROR"]]
    if bad:
        lines += ["## Failures by check", ""]
        for check in bad:
            cis = ", ".join(check["cis"])
            waived = sum(1 for _, r in check["hosts"] if r.get("waived"))
            lines += [f"### `{check['id']}`" + (f" (CIS {cis})" if cis else "") + f" [{check['severity']}]: FAIL on {check['counts']['FAIL']}, ERROR on {check['counts']['ERROR']} of {check['total']} hosts"
                      + (f", waived on {waived}" if waived else ""), "", md(check["title"]), ""]
            for host, result in check["hosts"]:
                if result["status"] in ("FAIL", "ERROR"):
                    label = f" ({waived_label(result)}: {md(', '.join(w['id'] for w in result['waivers']))})" if "waivers" in result else ""
                    lines.append(f"- {result['status']}{label} {md(host_label(host))}: {md(result['message'])}")
                    lines += [f"  - {md(e['subject'])}: {md(e['observed'])}" + (f" (waived: {md(e['waiver'])})" if "waiver" in e else "") for e in result.get("evidence", [])]
            lines += ["", f"Fix: {md(check['remediation'])}", ""]
    return "\n".join(lines)


def _checks_across(hosts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each check once, with every host's result for it (hosts in the given order), gravest first."""
    checks: dict[str, dict[str, Any]] = {}
    for host in hosts:
        for r in host["results"]:
            c = checks.get(r["id"])
            if c is None:
                c = checks[r["id"]] = {
                    "id": r["id"], "title": r["title"], "layer": r["layer"], "severity": r["severity"], "level": r["level"],
                    "cis": cis_ids(r), "rationale": r["rationale"], "remediation": r["remediation"],
                    "counts": {s: 0 for s in STATUS_ORDER}, "hosts": [], "total": 0,
                }
            c["counts"][r["status"]] = c["counts"].get(r["status"], 0) + 1
            c["total"] += 1
            c["hosts"].append((host, r))
    severity = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    return sorted(checks.values(), key=lambda c: (-c["counts"]["FAIL"], -c["counts"]["ERROR"], severity.get(c["severity"], 9), c["id"]))


# ---------------------------------------------------------------- HTML


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dockbench.templates", "."),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["observed"] = observed_lines
    env.filters["waived_label"] = waived_label
    env.globals["waiver_lists"] = listed
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "separators": (",", ":"), "ensure_ascii": False}
    env.globals.update(STATUS_ORDER=STATUS_ORDER, STATUS_LABEL=STATUS_LABEL, SEVERITY_ORDER=SEVERITY_ORDER)
    return env


@lru_cache(maxsize=1)
def _assets() -> dict[str, str]:
    """The inline style and script, and the CSP that allows exactly them (by SHA-256) and nothing else."""
    env = _environment()
    css = env.get_template("report.css").render()
    js = env.get_template("report.js").render()

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    csp = (f"default-src 'none'; style-src {digest(css)}; script-src {digest(js)}; img-src 'none'; "
           "connect-src 'none'; font-src 'none'; form-action 'none'; base-uri 'none'")
    return {"css": css, "js": js, "csp": csp}


CHART_WIDTH, CHART_LABEL, CHART_ROW = 820, 150, 22


def _chart(by_layer: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Geometry of a stacked horizontal bar per layer (numbers only: the template draws it)."""
    layers = [layer for layer in LAYER_ORDER if layer in by_layer] + [layer for layer in by_layer if layer not in LAYER_ORDER]
    most = max([sum(by_layer[layer].values()) for layer in layers] or [1]) or 1
    span = CHART_WIDTH - CHART_LABEL - 250
    rows = []
    for i, layer in enumerate(layers):
        x, segments = float(CHART_LABEL), []
        for status in STATUS_ORDER:
            count = by_layer[layer].get(status, 0)
            if count:
                width = span * count / most
                segments.append({"status": status, "x": round(x, 1), "width": round(width, 1), "count": count})
                x += width
        rows.append({"layer": layer, "y": 28 + i * CHART_ROW, "segments": segments, "end": round(x + 6, 1), "total": sum(by_layer[layer].values())})
    legend = [{"status": s, "x": CHART_LABEL + i * 90} for i, s in enumerate(STATUS_ORDER)]
    return {"width": CHART_WIDTH, "height": 36 + len(layers) * CHART_ROW, "rows": rows, "legend": legend, "label_x": CHART_LABEL - 8}


def _by_layer_fleet(hosts: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for host in hosts:
        for layer, counts in host["summary"]["by_layer"].items():
            total = out.setdefault(layer, {s: 0 for s in STATUS_ORDER})
            for status, n in counts.items():
                total[status] = total.get(status, 0) + n
    return out


def _host_view(report: dict[str, Any], anchor: str) -> dict[str, Any]:
    layers: dict[str, dict[str, int]] = report["summary"]["by_layer"]
    return {
        "report": report,
        "anchor": anchor,
        "label": host_label(report),
        "results": sorted_results(report["results"]),
        "worst": {layer: worst_status(counts) for layer, counts in layers.items()},
        "worst_overall": worst_status(report["summary"]["by_status"]),
    }


def _filters(hosts: list[dict[str, Any]]) -> dict[str, list]:
    layers = {r["layer"] for h in hosts for r in h["results"]}
    levels = {r["level"] for h in hosts for r in h["results"]}
    return {
        "layers": [layer for layer in LAYER_ORDER if layer in layers] + sorted(layers - set(LAYER_ORDER)),
        "levels": sorted(level for level in levels if level is not None) + (["none"] if None in levels else []),
        "waivers": any(h.get("waivers") for h in hosts),
    }


def render_html(document: dict[str, Any]) -> str:
    env = _environment()
    assets = _assets()
    if document["kind"] == "host":
        host = _host_view(document, "findings")
        return env.get_template("host.html.j2").render(
            doc=document, host=host, chart=_chart(document["summary"]["by_layer"]), filters=_filters([document]), assets=assets,
        )
    hosts = sorted(host_reports(document), key=badness)
    views = [_host_view(h, f"h{i + 1}") for i, h in enumerate(hosts)]
    checks = _checks_across(hosts)
    for check in checks:
        check["statuses"] = " ".join(s for s in STATUS_ORDER if check["counts"][s])
        del check["hosts"]
    counts = fleet_counts(document)
    layers = _filters(hosts)["layers"]
    for view in views:
        view["cells"] = _matrix_cells(view, layers)
    return env.get_template("fleet.html.j2").render(
        doc=document, hosts=views, checks=checks, layers=layers, unreachable=unreachable(document),
        counts=counts, score=score_of(counts), chart=_chart(_by_layer_fleet(hosts)), filters=_filters(hosts),
        data=_fleet_data(views, checks), assets=assets,
    )


def _matrix_cells(view: dict[str, Any], layers: list[str]) -> list[dict[str, str] | None]:
    """One cell per layer for the hosts x layers matrix: the worst status, its count, all counts."""
    by_layer = view["report"]["summary"]["by_layer"]
    cells: list[dict[str, str] | None] = []
    for layer in layers:
        worst = view["worst"].get(layer)
        if worst is None:
            cells.append(None)
            continue
        counts = by_layer[layer]
        text = STATUS_LABEL[worst] + (f" {counts[worst]}" if worst in ("FAIL", "ERROR", "MANUAL") else "")
        title = f"{layer}: " + ", ".join(f"{counts.get(s, 0)} {STATUS_LABEL[s]}" for s in STATUS_ORDER)
        cells.append({"status": worst, "text": text, "title": title})
    return cells


def _fleet_data(views: list[dict[str, Any]], checks: list[dict[str, Any]]) -> dict[str, Any]:
    """Every host's findings, compact, for the page's script to show on demand.

    A fleet's findings are too many to put in the page as markup (500 hosts x 140 checks), and
    most of their text repeats across hosts, so each distinct string is stored once:
    hosts[i] = [[check index, status index, message string, [subject, observed, ...]], ...]; a row
    with waivers has two more: 1 if waived as a whole (else 0), and the waivers' text.
    The template embeds this with Jinja's tojson (a <script type="application/json"> block, with
    <, >, & and ' escaped), and the script only ever puts it in the page as text.
    """
    strings: list[str] = []
    seen: dict[str, int] = {}

    def intern(text: str) -> int:
        index = seen.get(text)
        if index is None:
            index = seen[text] = len(strings)
            strings.append(text)
        return index

    check_index = {c["id"]: i for i, c in enumerate(checks)}
    status_index = {s: i for i, s in enumerate(STATUS_ORDER)}
    hosts = []
    for view in views:
        rows = []
        for r in view["results"]:
            evidence = []
            for e in r.get("evidence", []):
                evidence += [intern(str(e["subject"]) + (f" (waived: {e['waiver']})" if "waiver" in e else "")), intern(observed_lines(e["observed"]))]
            waiver = [1 if r.get("waived") else 0, intern(f"{waived_label(r)} by {waiver_text(r)}")] if "waivers" in r else []
            rows.append([check_index[r["id"]], status_index[r["status"]], intern(r["message"]), evidence, *waiver])
        hosts.append(rows)
    return {
        "statuses": STATUS_ORDER,
        "labels": {s: STATUS_LABEL[s] for s in STATUS_ORDER},
        "checks": [[c["id"], c["title"], c["layer"], c["severity"], c["level"], c["cis"]] for c in checks],
        "hosts": hosts,
        "names": [view["label"] for view in views],
        "strings": strings,
    }


# ---------------------------------------------------------------- registry


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    renderer: Callable[[dict[str, Any]], str]


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("json", ".json", render_json),    # the report document itself (the source of truth)
    Format("html", ".html", render_html),    # one self-contained page: charts, filters, evidence; fleet matrix for sweeps
    Format("junit", ".xml", render_junit),   # JUnit XML for CI: a testsuite per host, a testcase per check
    Format("csv", ".csv", render_csv),       # one row per host and check, for spreadsheets
    Format("md", ".md", render_md),          # a Markdown summary for tickets: counts, failures with evidence, unreachable hosts
    Format("jsonl", ".jsonl", render_jsonl),  # JSON Lines for pipelines: one line per host of a sweep, as it finishes
)}
_EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".html": "html", ".htm": "html", ".xml": "junit", ".csv": "csv", ".md": "md", ".markdown": "md"}


def formats() -> list[str]:
    """The format names, in the order they are documented."""
    return list(FORMATS)


def extension(fmt: str) -> str:
    return FORMATS[fmt].extension


def format_for_path(path: str | os.PathLike) -> str:
    """The format a file name asks for by its extension (report.html -> html, junit.xml -> junit)."""
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        known = ", ".join(sorted(_EXTENSIONS))
        raise ValueError(f"cannot tell the format of {os.fspath(path)!r} from its extension (known: {known}); name the format")
    return _EXTENSIONS[suffix]


def render(document: dict[str, Any], fmt: str) -> str:
    """The document rendered in format fmt (one of formats())."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return FORMATS[fmt].renderer(document)


def write(document: dict[str, Any], path: str | os.PathLike, fmt: str | None = None) -> str:
    """Render and write to path ('-' for stdout), atomically for regular files. Returns the format used.

    Without fmt, the format comes from the path's extension (format_for_path); stdout needs fmt.
    """
    target = os.fspath(path)
    if fmt is None:
        if target == "-":
            raise ValueError("writing to stdout needs a format")
        fmt = format_for_path(target)
    text = render(document, fmt)
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return fmt
    if os.path.exists(target) and not os.path.isfile(target):
        with open(target, "w", encoding="utf-8", newline="") as stream:  # /dev/null, a FIFO: write in place
            stream.write(text)
        return fmt
    tmp = Path(target).with_name(Path(target).name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as stream:  # CSV rows end in CRLF, as RFC 4180 says
        stream.write(text)
    os.replace(tmp, target)
    return fmt
