"""Terminal summary of a report: counts first, then what needs doing, with the evidence."""

from __future__ import annotations

import json
from typing import Any

from dockbench.benchmark.document import scope
from dockbench.benchmark.document.report import STATUS_ORDER, score_text
from dockbench.benchmark.escaping import hex_escape
from dockbench.benchmark.judge.waivers import listed

_COLORS = {"PASS": "32", "FAIL": "31", "ERROR": "35", "MANUAL": "33", "NOT_APPLICABLE": "2"}
_SHORT = {"NOT_APPLICABLE": "N/A"}
MAX_EVIDENCE = 10


def clean(value: Any) -> str:
    """Text safe for a terminal: control characters (escape sequences) from hosts are shown escaped."""
    text = value if isinstance(value, str) else json.dumps(value)
    return hex_escape(text)


class _Painter:
    def __init__(self, color: bool):
        self.color = color

    def __call__(self, status: str, text: str) -> str:
        return f"\x1b[{_COLORS[status]}m{text}\x1b[0m" if self.color else text


def _header(report: dict[str, Any]) -> list[str]:
    t = report["target"]
    docker = f"Docker {t['docker_version']}" if t["docker_version"] else f"Docker {t['docker_status'].replace('_', ' ')}"
    if t["rootless"]:
        docker += " (rootless)"
    return [
        f"dockbench {report['tool']['version']} · {report['benchmark']['title']}",
        f"target {clean(t['name'])} · host {clean(t['hostname'])} · {clean(t['os'] or '?')} · kernel {clean(t['kernel'] or '?')} · {docker}",
        f"scan {report['scan_id']} · {report['started_at']}",
        f"scope {clean(scope.summary(scope.of(report)))}",
    ]


def _counts(report: dict[str, Any], paint: _Painter) -> list[str]:
    summary = report["summary"]
    cells = [paint(s, f"{_SHORT.get(s, s)} {summary['by_status'][s]}") for s in STATUS_ORDER]
    score = f"score {score_text(summary['score'])}"
    if "waived" in summary:
        cells.append(f"waived {summary['waived']['total']}")
        score += f", {score_text(summary['score_with_waivers'])} with waivers"
    lines = ["", "  ".join(cells) + f"   ({summary['total']} checks, {score})", ""]
    widths = [max(len(layer) for layer in summary["by_layer"] or ["layer"])] + [max(5, len(_SHORT.get(s, s))) for s in STATUS_ORDER]
    head = ["layer"] + [_SHORT.get(s, s) for s in STATUS_ORDER]
    lines.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
    for layer, counts in summary["by_layer"].items():
        row = [layer.ljust(widths[0])] + [str(counts[s]).rjust(w) for s, w in zip(STATUS_ORDER, widths[1:])]
        lines.append("  ".join(row))
    return lines


def _finding(result: dict[str, Any], paint: _Painter) -> list[str]:
    cis = ", ".join(f"CIS {c['id']}" for c in result["cis"])
    lines = [f"{paint(result['status'], result['status'].ljust(5))} {result['id']}" + (f" ({cis})" if cis else "") + f" [{result['severity']}]"]
    lines.append(f"      {clean(result['message'])}")
    evidence = result["evidence"]
    for item in evidence[:MAX_EVIDENCE]:
        waived = f"  (waived: {clean(item['waiver'])})" if "waiver" in item else ""
        lines.append(f"        - {clean(item['subject'])}: {clean(item['observed'])}{waived}")
    if len(evidence) > MAX_EVIDENCE:
        lines.append(f"        … and {len(evidence) - MAX_EVIDENCE} more in the JSON report")
    if result["status"] == "FAIL":
        lines.append(f"      fix: {result['remediation']}")
    return lines


def render(document: dict[str, Any], *, color: bool = False) -> str:
    if document["kind"] == "sweep":
        return _render_sweep(document, _Painter(color))
    return _render_host(document, _Painter(color))


def _render_sweep(sweep: dict[str, Any], paint: _Painter) -> str:
    """One line per host, worst first, then the hosts that could not be audited."""
    summary = sweep["summary"]
    lines = [
        f"dockbench {sweep['tool']['version']} · {sweep['benchmark']['title']} · fleet sweep {sweep['sweep_id']}",
        f"{summary['targets']} hosts: {summary['scanned']} scanned, {summary['unreachable']} not audited" + (" (interrupted)" if sweep.get("interrupted") else ""),
        *_sweep_scope(sweep["hosts"]),
        "  ".join(paint(s, f"{_SHORT.get(s, s)} {summary['by_status'][s]}") for s in STATUS_ORDER),
        "",
    ]
    hosts = sorted(sweep["hosts"], key=lambda h: (-h["summary"]["by_status"]["FAIL"], -h["summary"]["by_status"]["ERROR"], h["target"]["name"]))
    width = max([len(clean(h["target"]["name"])) for h in hosts] + [4])
    for host in hosts:
        counts = host["summary"]["by_status"]
        cells = "  ".join(paint(s, f"{_SHORT.get(s, s)} {counts[s]:>3}") for s in STATUS_ORDER)
        waived = f"  waived {host['summary']['waived']['total']:>3}" if "waived" in host["summary"] else ""
        empty = "  no container matched the selection" if (host.get("scope") or {}).get("selection_empty") else ""
        lines.append(f"{clean(host['target']['name']).ljust(width)}  {cells}{waived}  score {host['summary']['score']}{empty}")
    for entry in sweep["errors"]:
        lines.append(f"{paint('ERROR', 'NOT AUDITED')} {clean(entry['name'])} [{entry['kind']}] {clean(entry['message'])}")
    notes = waiver_notes(sweep.get("waivers"))
    lines += [""] + notes if notes else []
    return "\n".join(lines)


def _sweep_scope(hosts: list[dict[str, Any]]) -> list[str]:
    """The hosts' scope, once when they share it (a sweep judges every host with the same options)."""
    scopes = {f"{scope.checks_text(h['scope'])} · containers: {scope.selection_text(h['scope'])}" for h in hosts if "scope" in h}
    if not scopes:
        return []
    return [f"scope {clean(scopes.pop())}" if len(scopes) == 1 else f"scope differs between hosts ({len(scopes)} scopes)"]


def waiver_notes(block: dict[str, Any] | None) -> list[str]:
    """One line each for the expired, expiring and unmatched waivers of a report or sweep."""
    notes = []
    for key, (label, what) in {"expired": ("expired", "counts as no waiver: renew or fix"), "expiring": ("expiring", "review soon"),
                               "unmatched": ("unmatched", "matched nothing: prune it?")}.items():
        for entry in listed(block)[key]:
            notes.append(f"waiver {label}: {clean(entry['id'])} ({clean(entry['check'])}, owner {clean(entry['owner'])}, expires {entry['expires']}): {what}")
    return notes


def _waived(results: list[dict[str, Any]], paint: _Painter) -> list[str]:
    if not results:
        return []
    lines = ["", f"waived ({len(results)}): accepted risks, not counted toward the exit code"]
    for result in results:
        for waiver in result["waivers"]:
            lines.append(f"{paint(result['status'], result['status'].ljust(5))} {result['id']}  waiver {clean(waiver['id'])} · owner {clean(waiver['owner'])} · expires {waiver['expires']}"
                         + (" (expiring)" if waiver["state"] == "expiring" else ""))
    return lines


def _render_host(report: dict[str, Any], paint: _Painter) -> str:
    lines = _header(report) + _counts(report, paint)
    todo = [r for r in report["results"] if r["status"] in ("FAIL", "ERROR") and not r.get("waived")]
    if todo:
        lines.append("")
    for result in todo:
        lines += _finding(result, paint)
    lines += _waived([r for r in report["results"] if r.get("waived")], paint)
    notes = waiver_notes(report.get("waivers"))
    lines += [""] + notes if notes else []
    for problem in report["errors"]:
        lines.append(f"note ({problem['stage']}): {clean(problem['message'])}")
    return "\n".join(lines)
