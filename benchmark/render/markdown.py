"""A Markdown summary for tickets, host text escaped so it cannot turn into markup."""

from __future__ import annotations

import re
from typing import Any

from dockbench.benchmark.escaping import hex_escape
from dockbench.benchmark.render.document import STATUS_LABEL, badness, checks_across, fleet_counts, host_label, observed_text, sorted_results, waived_label
from dockbench.benchmark.render.registry import Format
from dockbench.benchmark.report import STATUS_ORDER, cis_ids, host_reports, score_text, unreachable
from dockbench.benchmark.waivers import listed

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
    failing = checks_across(hosts)
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


FORMAT = Format("md", (".md", ".markdown"), render_md, order=50)  # a Markdown summary for tickets: counts, failures with evidence, unreachable hosts
