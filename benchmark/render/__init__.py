"""Every output format, rendered from the one JSON document (a host report or a fleet sweep).

Each format is one module of this package: a pure renderer ``document -> str`` and its
``FORMAT`` declaration, which the registry finds, so any command can write any format and a
format is added by adding a module (see registry.py):

    render(document, "html")            the text of the report in that format (archived=: see summary.Archived)
    format_for_path("out/report.html")  "html" (by extension)
    write(document, "report.xml")       render by the path's extension, write atomically

    document.py     reading the document: host reports, results in report order, labels, counts
    json_report.py  json          html_page.py  html        junit_xml.py  junit
    csv_rows.py     csv           markdown.py   md          ocsf.py       ocsf
    json_lines.py   jsonl         prometheus.py prometheus
    html_parts.py   what the HTML pages share: Jinja2, inline assets and CSP, chart, tally, host page
    summary.py      the summary a host page opens with; Archived, what the archive adds to a report
    fleet_pages.py  a big sweep's HTML: a summary page and a page per host in a folder
    trend.py        the archive's trend page (rendered from the archive's listing, not a document)
    registry.py     Format and the registry          output.py   writing to stdout or a file
"""

from __future__ import annotations

from dockbench.benchmark.document.report import host_reports, unreachable
from dockbench.benchmark.render.document import (
    STATUS_LABEL,
    badness,
    host_label,
    observed_lines,
    sorted_results,
    worst_status,
)
from dockbench.benchmark.render.output import OutputError, in_place, write, write_text, write_with
from dockbench.benchmark.render.registry import Format, extension, format_for_path, formats, render
from dockbench.benchmark.render.summary import Archived

__all__ = [
    "STATUS_LABEL", "Archived", "Format", "OutputError", "badness", "extension", "format_for_path", "formats", "host_label", "host_reports", "in_place",
    "observed_lines", "render", "sorted_results", "unreachable", "worst_status", "write", "write_text", "write_with",
]
