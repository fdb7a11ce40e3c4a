"""JUnit XML for CI: a testsuite per host, a testcase per check."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from itertools import chain
from typing import IO, Any

from dockbench.benchmark.document import scope, subjects
from dockbench.benchmark.document.reader import Source
from dockbench.benchmark.document.report import cis_ids, unreachable
from dockbench.benchmark.escaping import hex_escape
from dockbench.benchmark.render.document import host_label, observed_text, sorted_results, waived_label
from dockbench.benchmark.render.registry import Format
from dockbench.benchmark.render.spool import Spool

COUNTS = ("tests", "failures", "errors", "skipped")

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


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


def _suite(report: dict[str, Any]) -> tuple[ET.Element, dict[str, int]]:
    """A host's testsuite, and its counts."""
    target = report["target"]
    counts = dict.fromkeys(COUNTS, 0)
    suite = ET.Element("testsuite", name=_xml_text(host_label(report)), hostname=_xml_text(target.get("hostname") or ""),
                       id=_xml_text(report["scan_id"]), timestamp=report["started_at"], time=_seconds(report["started_at"], report["finished_at"]))
    props = ET.SubElement(suite, "properties")
    chosen = scope.of(report)
    for name, value in (("target", target.get("name")), ("transport", target.get("transport")), ("os", target.get("os")),
                        ("kernel", target.get("kernel")), ("docker_version", target.get("docker_version")),
                        ("benchmark", report["benchmark"]["title"]), ("tool_version", report["tool"]["version"]),
                        ("score", report["summary"]["score"]), ("score_with_waivers", report["summary"].get("score_with_waivers")),
                        ("waivers", (report.get("waivers") or {}).get("source")),
                        ("scope_checks", scope.checks_text(chosen)), ("scope_containers", scope.containers_text(chosen)),
                        ("containers_selected", scope.selected_count(chosen)), ("containers_total", chosen["containers_total"])):
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
        named = subjects.offenders(result)
        if named:  # what the finding is about: each property's name is a kind, its value a container or image id
            about = ET.SubElement(case, "properties")
            for kind, _, uid in named:
                ET.SubElement(about, "property", name=kind, value=_xml_text(uid))
    if report.get("errors"):
        ET.SubElement(suite, "system-err").text = _xml_text("\n".join(f"{e['stage']}: {e['message']}" for e in report["errors"]))
    for key, value in counts.items():
        suite.set(key, str(value))
    return suite, counts


def _unreachable_suite(entry: dict[str, Any]) -> tuple[ET.Element, dict[str, int]]:
    suite = ET.Element("testsuite", name=_xml_text(entry.get("name") or entry["target"]), tests="1", failures="0", errors="1", skipped="0")
    case = ET.SubElement(suite, "testcase", classname="sweep", name="host-reachable", time="0")
    ET.SubElement(case, "error", message=_xml_text(entry["message"]), type=entry["kind"]).text = _xml_text(f"{entry['target']}: {entry['kind']}: {entry['message']}")
    return suite, {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}


def write_junit(source: Source, out: IO[str]) -> None:
    """One testsuite per host, one testcase per check (classname: the layer, name: the check id).

    FAIL -> <failure>, ERROR -> <error>, NOT_APPLICABLE -> <skipped>, MANUAL -> <skipped
    message="manual review">; a waived FAIL or ERROR -> <skipped message="waived: ID: JUSTIFICATION">
    (an accepted risk does not fail the build; its body keeps the evidence). A sweep's unreachable target is a testsuite whose single testcase
    "host-reachable" has an <error> carrying the error kind and message, so CI never takes a host
    it could not audit for a clean one.
    """
    totals = dict.fromkeys(COUNTS, 0)
    suites = chain((_suite(report) for report in source.reports()), (_unreachable_suite(e) for e in unreachable(source.head)))
    with Spool() as spool:  # the suites wait there for the totals, which open the document
        for suite, counts in suites:
            ET.indent(suite, level=1)  # as ET.indent indents the whole document
            spool.add(0, "\n  " + ET.tostring(suite, encoding="unicode"))
            totals = {key: totals[key] + counts[key] for key in COUNTS}
        root = '<testsuites name="dockbench" ' + " ".join(f'{key}="{value}"' for key, value in totals.items())
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n' + root)
        if 0 in spool:
            out.write(">")
            spool.copy(0, out)
            out.write("\n</testsuites>\n")
        else:
            out.write(" />\n")


FORMAT = Format("junit", (".xml",), writer=write_junit, order=30)  # JUnit XML for CI: a testsuite per host, a testcase per check
