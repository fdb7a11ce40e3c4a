"""OCSF Compliance Findings (class 2003, schema 1.5.0), for security data lakes and SIEMs.

One finding per result per host, as a JSON array. How our statuses map:

    dockbench        compliance.status_id        finding status_id
    PASS             1 Pass                      1 New
    FAIL             3 Fail                      1 New, or 3 Suppressed when waived
    MANUAL           2 Warning (a person must judge)
    ERROR            0 Unknown (could not be decided; status_detail says why)
    NOT_APPLICABLE   99 Other ("Not Applicable")

A waived result (a FAIL or ERROR covered by a waiver) keeps its compliance status and is
emitted Suppressed. The finding's severity is the check's for FAIL, ERROR and MANUAL and
Informational for PASS and NOT_APPLICABLE. finding_info.uid is derived from the host (its
archive key: the target name, or the hostname of a local scan) and the check id, so the same
finding keeps its uid from one scan to the next. A target a sweep could not audit is one
finding of its own (check "host-reachable", compliance Unknown), as in JUnit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from dockbench.benchmark.document import scope, subjects
from dockbench.benchmark.document.reader import Source
from dockbench.benchmark.document.report import cis_ids, host_key, unreachable
from dockbench.benchmark.render.json_report import dumps_at
from dockbench.benchmark.render.registry import Format

OCSF_VERSION = "1.5.0"
CLASS = {"category_uid": 2, "category_name": "Findings", "class_uid": 2003, "class_name": "Compliance Finding",
         "activity_id": 1, "activity_name": "Create", "type_uid": 200301, "type_name": "Compliance Finding: Create"}
COMPLIANCE_STATUS = {"PASS": (1, "Pass"), "FAIL": (3, "Fail"), "MANUAL": (2, "Warning"), "ERROR": (0, "Unknown"), "NOT_APPLICABLE": (99, "Not Applicable")}
SEVERITY = {"low": (2, "Low"), "medium": (3, "Medium"), "high": (4, "High"), "critical": (5, "Critical")}
INFORMATIONAL = (1, "Informational")
NEW, SUPPRESSED = (1, "New"), (3, "Suppressed")
RESOURCE_TYPES = {"container": "Docker Container", "image": "Docker Image"}
UID_NAMESPACE = uuid.UUID("6b1c3f0e-2d4a-5c1e-9f57-0d0c6b3e1a14")


def finding_uid(report: dict[str, Any], check_id: str) -> str:
    """The same for every scan of this host and check."""
    return str(uuid.uuid5(UID_NAMESPACE, f"{host_key(report)}\n{check_id}"))


def _millis(moment: str) -> int:
    return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)


def _resources(report: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    target = report["target"]
    host = {"type": "Docker Host", "uid": host_key(report), "name": target.get("name") or target.get("hostname") or "local"}
    if target.get("hostname"):
        host["hostname"] = target["hostname"]
    if target.get("docker_version"):
        host["version"] = target["docker_version"]
    return [host] + [{"type": RESOURCE_TYPES[kind], "name": name, **({"uid": uid} if uid else {}), "hostname": target.get("hostname") or ""}
                     for kind, name, uid in subjects.named(result)]


def finding(report: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """One result of one host as an OCSF Compliance Finding."""
    status = result["status"]
    compliance_id, compliance_name = COMPLIANCE_STATUS[status]
    severity_id, severity = SEVERITY[result["severity"]] if status in ("FAIL", "ERROR", "MANUAL") else INFORMATIONAL
    status_id, status_name = SUPPRESSED if result.get("waived") else NEW
    benchmark = report["benchmark"]["title"]
    cis = cis_ids(result)
    out: dict[str, Any] = {
        **CLASS,
        "severity_id": severity_id, "severity": severity,
        "status_id": status_id, "status": status_name,
        "time": _millis(report["finished_at"]), "start_time": _millis(report["started_at"]), "end_time": _millis(report["finished_at"]),
        "timezone_offset": 0,
        "message": result["message"],
        "metadata": {"version": OCSF_VERSION, "uid": f"{report['scan_id']}/{result['id']}",
                     "product": {"name": "dockbench", "vendor_name": "dockbench", "version": report["tool"]["version"]}},
        "finding_info": {"uid": finding_uid(report, result["id"]), "title": result["title"], "desc": result["rationale"],
                         "types": [benchmark], "product_uid": result["id"]},
        "compliance": {
            "standards": [benchmark], "control": cis[0] if cis else result["id"], "requirements": cis,
            "status_id": compliance_id, "status": compliance_name, "status_detail": result["message"],
            "checks": [{"uid": result["id"], "name": result["title"], "severity": result["severity"],
                        "status_id": compliance_id, "status": compliance_name, "standards": [benchmark]}],
        },
        "resources": _resources(report, result),
        "remediation": {"desc": result["remediation"]},
        "unmapped": {"dockbench": {"check_id": result["id"], "status": status, "layer": result["layer"], "level": result["level"], "scan_id": report["scan_id"]}},
    }
    if result.get("evidence"):
        out["evidences"] = [{"name": e["subject"], "data": {"observed": e["observed"], **{k: e[k] for k in ("kind", "id") if k in e}}} for e in result["evidence"]]
    if result.get("waivers"):
        out["unmapped"]["dockbench"]["waivers"] = result["waivers"]
    if "scope" in report:   # without its container list, which each finding's resources name
        out["unmapped"]["dockbench"]["scope"] = {**scope.light(report["scope"]), "key": scope.key(report["scope"])}
    return out


def unreachable_finding(document: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """A sweep target that could not be audited: compliance Unknown, so it never reads as clean."""
    message = f"host could not be audited: {entry['kind']}: {entry['message']}"
    return {
        **CLASS,
        "severity_id": SEVERITY["high"][0], "severity": SEVERITY["high"][1], "status_id": NEW[0], "status": NEW[1],
        "time": _millis(document["finished_at"]), "timezone_offset": 0, "message": message,
        "metadata": {"version": OCSF_VERSION, "uid": f"{document['sweep_id']}/{entry['target']}",
                     "product": {"name": "dockbench", "vendor_name": "dockbench", "version": document["tool"]["version"]}},
        "finding_info": {"uid": str(uuid.uuid5(UID_NAMESPACE, f"{entry['target']}\nhost-reachable")), "title": "Host could be audited",
                         "types": [document["benchmark"]["title"]], "product_uid": "host-reachable"},
        "compliance": {"standards": [document["benchmark"]["title"]], "control": "host-reachable", "status_id": 0, "status": "Unknown", "status_detail": message},
        "resources": [{"type": "Docker Host", "uid": entry["target"], "name": entry.get("name") or entry["target"]}],
        "remediation": {"desc": "Make the host reachable over SSH with the credentials the sweep uses, then scan it again."},
        "unmapped": {"dockbench": {"check_id": "host-reachable", "error_kind": entry["kind"]}},
    }


def findings(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every host's results as findings, and one for each target a sweep could not audit."""
    return list(each_finding(Source.of(document)))


def each_finding(source: Source) -> Iterator[dict[str, Any]]:
    """The findings, host by host."""
    for report in source.reports():
        for result in report["results"]:
            yield finding(report, result)
    for entry in unreachable(source.head):
        yield unreachable_finding(source.head, entry)


def write_ocsf(source: Source, out: IO[str]) -> None:
    """The findings as one JSON array, as json.dumps(indent=2) writes it, a finding at a time."""
    first = True
    for item in each_finding(source):
        out.write(("[\n  " if first else ",\n  ") + dumps_at(item, 1))
        first = False
    out.write("[]\n" if first else "\n]\n")


FORMAT = Format("ocsf", (".ocsf.json",), writer=write_ocsf, order=60)  # OCSF Compliance Findings (class 2003): one per result per host, a JSON array
