"""A plan for reviewers, in Markdown: per host, each item with what it changes, why, its impact
and whether it may be applied unattended; the merged files in full; the questions; the waived."""

from __future__ import annotations

import json
import re

from dockbench.benchmark.render.markdown import md


def fenced(text: str, lang: str = "") -> list[str]:
    """Text as a code block whose fence no run of backticks in it can close."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return [fence + lang, text.rstrip("\n"), fence]


def render_md(plan: dict) -> str:
    lines = [f"# Remediation plan ({md(plan['benchmark'].get('title', plan['benchmark']['id']))})", ""]
    for host in plan["hosts"]:
        lines += _host(host)
    return "\n".join(lines) + "\n"


def _value(value) -> str:
    return md(json.dumps(value, ensure_ascii=False))


def _change(change: dict) -> str:
    if "mode" in change or "owner" in change:
        what, values = ("mode", change["mode"]) if "mode" in change else ("owner", change["owner"])
        return f"{md(change['file'])}: {what} {md(values['old'])} → {md(values['new'])}"
    if "add_line" in change:
        return f"{md(change['file'])}: add `{md(change['add_line'])}`"
    old = _value(change["old"]) if change.get("was_set", True) else "(not set)"
    return f"{md(change['file'])}: {md(change['key'])} {old} → {_value(change['new'])}"


def _host(host: dict) -> list[str]:
    lines = [f"## {md(host['host'])}", "", f"Scan {md(host['scan_id'])}" + (f", filesystem mounted at {md(host['root'])}" if host["root"] != "/" else "") + ".", ""]
    if not host["facts"]:
        lines += ["Planned from the report alone: items that need the host's files are refused (pass --facts).", ""]
    for item in host["items"]:
        cis = f" (CIS {', '.join(item['cis'])})" if item["cis"] else ""
        verdict = f"refused: {md(item['refused'])}" if item["refused"] else "safe to apply unattended" if item["safe"] else "review before applying"
        lines += [f"### {md(item['check'])}{cis}: {md(item['title'])}", "", f"- **{verdict}**"]
        lines += [f"- change: {_change(c)}" for c in item.get("changes", [])]
        if item["kind"] == "container":
            lines += [f"- containers: {', '.join(md(n) for n in item['containers'])}", f"- run options: `{md(' '.join(item['options']))}`"]
        restart = {"daemon": "a daemon restart", "container": "re-creating each container"}.get(item["restart"] or "")
        lines += [f"- why: {md(item['why'])}", f"- impact: {md(item['impact'])}", f"- takes effect after: {restart or md(item.get('reload') or 'applying it')}", ""]
    if host["daemon_json"]:
        config = host["daemon_json"]
        lines += [f"### The new {md(config['path'])}", "", "As a diff (the current file as the scan parsed it):", "", *fenced(config["diff"], "diff"), "",
                  "The whole new file:", "", *fenced(config["new_text"], "json"), ""]
    for project in host["compose"]:
        lines += [f"### {md(project['path'])} (Compose project {md(project['project'])})", "", *fenced(project["text"], "yaml"), ""]
    for heading, key, text in (("Questions (MANUAL findings: a person decides)", "questions", "question"), ("Waived (left out)", "waived", "message"),
                               ("Not fixed automatically", "not_covered", "remediation")):
        if host[key]:
            lines += [f"### {heading}", ""] + [f"- {md(e['check'])}: {md(e[text])}" for e in host[key]] + [""]
    return lines
