"""The HTML page: one self-contained file (see html_parts: Jinja2 with autoescape, inline style
and script allowed by hash and nothing else); a sweep of more than fleet_pages.PAGES_FROM hosts
written to a file becomes a summary page and a page per host (fleet_pages)."""

from __future__ import annotations

from typing import Any

from dockbench.benchmark.document.report import STATUS_ORDER, host_reports, unreachable
from dockbench.benchmark.render import fleet_pages
from dockbench.benchmark.render.document import STATUS_LABEL, badness, observed_lines, waived_label, waiver_text
from dockbench.benchmark.render.html_parts import Tally, host_page, host_view, jinja_environment, page_assets
from dockbench.benchmark.render.registry import Format
from dockbench.benchmark.render.summary import Archived


def render_html(document: dict[str, Any], archived: Archived | None = None) -> str:
    """A host report's page (archived: what the archive knows of it, for its summary) or a sweep's."""
    if document["kind"] == "host":
        return host_page(document, archived=archived)
    hosts = sorted(host_reports(document), key=badness)
    views = [host_view(h, f"h{i + 1}") for i, h in enumerate(hosts)]
    tally = Tally()
    for host in hosts:
        tally.add(host)
    view = tally.view()
    layers = view["filters"]["layers"]
    for host in views:
        host["cells"] = _matrix_cells(host, layers)
    return jinja_environment().get_template("fleet.html.j2").render(
        doc=document, hosts=views, layers=layers, unreachable=unreachable(document), data=_fleet_data(views, view["checks"]), assets=page_assets(), **view,
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


FORMAT = Format("html", (".html", ".htm"), render_html, order=20, pages=fleet_pages.write_if_big, archived=True)  # one self-contained HTML page: charts, filters, evidence; fleet matrix for sweeps
