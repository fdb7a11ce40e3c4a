"""A Markdown summary for tickets, host text escaped so it cannot turn into markup."""

from __future__ import annotations

import re
from typing import IO, Any

from dockbench.benchmark.document import scope
from dockbench.benchmark.document.reader import Source
from dockbench.benchmark.document.report import STATUS_ORDER, cis_ids, score_text, unreachable
from dockbench.benchmark.escaping import hex_escape
from dockbench.benchmark.judge.waivers import listed
from dockbench.benchmark.render.document import SEVERITY_ORDER, STATUS_LABEL, badness, host_label, observed_text, sorted_results, waived_label
from dockbench.benchmark.render.registry import Format
from dockbench.benchmark.render.spool import Spool

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
        f"- scope: {md(scope.summary(scope.of(report)))}",
    ]
    if "waived" in summary:
        lines.append(f"- waived {summary['waived']['total']} (accepted risks, not counted toward the exit code) · score with waivers {score_text(summary['score_with_waivers'])}")
    return lines + [""]


def _host_page(document: dict[str, Any]) -> list[str]:
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
    return lines


def _lines(lines: list[str]) -> str:
    """Lines as they follow the first line of the page (each after a line break)."""
    return "".join("\n" + line for line in lines)


class _Fleet:
    """What the sweep's page needs of its hosts, gathered host by host: a table row and the
    worst-first sort key of each host; each check's counts and its text (title, fix) from the
    worst host that has it, as checks_across takes them; every FAIL and ERROR line, set aside
    in a spool to be written under its check, worst host first."""

    def __init__(self, spool: Spool):
        self.spool = spool
        self.counts = {s: 0 for s in STATUS_ORDER}
        self.keys: list[tuple] = []  # each host's badness, in document order
        self.rows: list[str] = []
        self.checks: dict[str, dict[str, Any]] = {}
        self.scopes: set[str] = set()  # the hosts' scopes as text (a sweep's hosts share one)
        self.empty: list[str] = []     # hosts whose container selection matched nothing

    def host(self, report: dict[str, Any]) -> None:
        number, key, label = len(self.keys), badness(report), md(host_label(report))
        self.keys.append(key)
        chosen = scope.of(report)
        self.scopes.add(f"{scope.checks_text(chosen)} · containers: {scope.selection_text(chosen)}")
        if chosen["selection_empty"]:
            self.empty.append(label)
        summary = report["summary"]
        self.rows.append(f"| {label} | {score_text(summary['score'])} | " + " | ".join(str(summary["by_status"].get(s, 0)) for s in STATUS_ORDER) + " |")
        for r in report["results"]:
            self.counts[r["status"]] = self.counts.get(r["status"], 0) + 1
            check = self.checks.get(r["id"])
            if check is None or (key, number) < check["from"]:
                text = {"from": (key, number), "title": r["title"], "severity": r["severity"], "cis": cis_ids(r), "remediation": r["remediation"]}
                check = self.checks[r["id"]] = {**(check or {"counts": {s: 0 for s in STATUS_ORDER}, "total": 0, "waived": 0}), **text}
            check["counts"][r["status"]] = check["counts"].get(r["status"], 0) + 1
            check["total"] += 1
            check["waived"] += bool(r.get("waived"))
            if r["status"] in ("FAIL", "ERROR"):
                note = f" ({waived_label(r)}: {md(', '.join(w['id'] for w in r['waivers']))})" if "waivers" in r else ""
                lines = [f"- {r['status']}{note} {label}: {md(r['message'])}"]
                lines += [f"  - {md(e['subject'])}: {md(e['observed'])}" + (f" (waived: {md(e['waiver'])})" if "waiver" in e else "") for e in r.get("evidence", [])]
                self.spool.add(r["id"], _lines(lines), number)

    def write(self, head: dict[str, Any], out: IO[str]) -> None:
        order = sorted(range(len(self.keys)), key=self.keys.__getitem__)
        rank = [0] * len(order)
        for place, number in enumerate(order):
            rank[number] = place
        summary = head["summary"]
        errors = unreachable(head)
        out.write(f"# dockbench fleet sweep: {summary['scanned']} of {summary['targets']} hosts audited")
        lines = ["", f"- sweep {md(head['sweep_id'])} · {head['started_at']} · dockbench {md(head['tool']['version'])} · {md(head['benchmark']['title'])}",
                 f"- {_md_counts(self.counts)}" + (f" · waived {summary['waived']['total']}" if "waived" in summary else "")
                 + f" · unreachable {len(errors)}" + (" · **interrupted**" if head.get("interrupted") else "")]
        if self.scopes:
            lines.append(f"- scope: {md(next(iter(self.scopes)))}" if len(self.scopes) == 1 else f"- scope differs between hosts ({len(self.scopes)} scopes)")
        if self.empty:
            lines.append("- no container matched the selection on: " + ", ".join(self.empty))
        lines.append("")
        if errors:
            lines += [f"## Unreachable hosts ({len(errors)})", "", "| target | error | message |", "| --- | --- | --- |"]
            lines += [f"| {md(e['target'])} | {e['kind']} | {md(e['message'])} |" for e in errors] + [""]
        if order:
            lines += ["## Hosts, worst first", "", "| host | score | " + " | ".join(STATUS_LABEL[s] for s in STATUS_ORDER) + " |",
                      "| --- | ---: |" + " ---: |" * len(STATUS_ORDER)]
            lines += [self.rows[number] for number in order] + [""]
        lines += _md_waivers(head.get("waivers"))
        severity = {s: i for i, s in enumerate(SEVERITY_ORDER)}
        bad = sorted(((check_id, c) for check_id, c in self.checks.items() if c["counts"]["FAIL"] or c["counts"]["ERROR"]),
                     key=lambda item: (-item[1]["counts"]["FAIL"], -item[1]["counts"]["ERROR"], severity.get(item[1]["severity"], 9), item[0]))
        if bad:
            lines += ["## Failures by check", ""]
        out.write(_lines(lines))
        for check_id, check in bad:
            cis = ", ".join(check["cis"])
            out.write(_lines([f"### `{check_id}`" + (f" (CIS {cis})" if cis else "") + f" [{check['severity']}]: FAIL on {check['counts']['FAIL']}, ERROR on {check['counts']['ERROR']} of {check['total']} hosts"
                              + (f", waived on {check['waived']}" if check["waived"] else ""), "", md(check["title"]), ""]))
            self.spool.copy(check_id, out, rank)
            out.write(_lines(["", f"Fix: {md(check['remediation'])}", ""]))


def write_md(source: Source, out: IO[str]) -> None:
    """A Markdown summary for tickets: counts, failures and errors with evidence, unreachable hosts."""
    if source.head["kind"] == "host":
        out.write("\n".join(_host_page(source.whole())))
        return
    with Spool() as spool:
        fleet = _Fleet(spool)
        for report in source.reports():
            fleet.host(report)
        fleet.write(source.head, out)


FORMAT = Format("md", (".md", ".markdown"), writer=write_md, order=50)  # a Markdown summary for tickets: counts, failures with evidence, unreachable hosts
