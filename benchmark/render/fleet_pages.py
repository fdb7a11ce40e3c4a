"""A big sweep's HTML: a summary page plus one page per host, in a folder beside it.

One page cannot carry a big fleet (2,000 hosts make a 12 MB page that Chromium did not open in
two minutes), so a sweep of more than PAGES_FROM hosts written to ``fleet.html`` becomes

    fleet.html          the summary: fleet counts, results by layer, every check with its counts
                        across the hosts (opening one lists the hosts it fails on), and the host
                        table (worst first, filterable, shown a page of rows at a time)
    fleet-hosts/        one page per host, 00001-<name>.html in the sweep's host order: the host
                        report's own page, with a link back to the summary

Every page is self-contained like the single page (inline style and script allowed by hash, no
request of any kind) and every link between them is relative, so the folder and its summary
can be moved, zipped and opened anywhere. File names come from our counter and a slug of
[a-z0-9-] only: a host's name cannot reach outside the folder or into the markup.

The pages are written one host at a time from (head, hosts): the sweep document without its
hosts, and its host reports in document order, iterated once; the summary keeps a few numbers
and a status letter per check for each host, never a host report.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dockbench.benchmark.document.reader import Source
from dockbench.benchmark.document.report import STATUS_ORDER
from dockbench.benchmark.render.document import STATUS_LABEL, badness, host_label
from dockbench.benchmark.render.html_parts import Tally, host_page, jinja_environment, page_assets
from dockbench.benchmark.render.output import in_place, write_text

PAGES_FROM = 500  # hosts; measured (tests/perf/bench_fleet_pages.py): one page of 1,000 hosts already takes seconds to open
ROWS = 100  # host rows the summary shows at a time
CODES = "".join(s[0] for s in STATUS_ORDER)  # a result's status as one letter: F E M P N (lower case when waived)
PAGE_NAME = re.compile(r"[0-9]{5,}-[a-z0-9-]*\.html")


def hosts_folder(target: str | os.PathLike) -> Path:
    """Where the host pages of summary page fleet.html go: fleet-hosts/ beside it."""
    path = Path(target)
    return path.with_name(path.stem + "-hosts")


def page_name(position: int, label: str) -> str:
    """A host page's file name: its position in the sweep and a slug of its name (ASCII letters,
    digits and dashes, at most 40), e.g. 00007-web-01-example-test.html."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:40].strip("-")
    return f"{position:05d}-{slug}.html"


def write_if_big(source: Source, target: str) -> bool:
    """Write a sweep of more than PAGES_FROM hosts to the file target as the summary and its host
    pages, reading its host reports one at a time; False (nothing written) for a smaller sweep, a
    host report, stdout or a device."""
    if source.head.get("kind") != "sweep" or len(source.hosts) <= PAGES_FROM:
        return False
    if in_place(target):
        return False
    write_pages(source.head, source.hosts, target)
    return True


def write_pages(head: dict[str, Any], hosts: Iterable[dict[str, Any]], target: str | os.PathLike) -> None:
    """The summary page at target and a page per host in hosts_folder(target), one host at a time.

    The folder is built beside its final place and then swapped in, so a folder of an earlier
    render is replaced whole (a folder there that holds anything but host pages is refused)."""
    folder = hosts_folder(target)
    staging, old = folder.with_name(folder.name + ".tmp"), folder.with_name(folder.name + ".old")
    for existing in (folder, staging, old):
        _refuse_foreign(existing)
    for leftover in (staging, old):
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir()
    back = "../" + quote(Path(target).name)
    tally, rows, ranks, index = Tally(), [], [], {}
    for position, report in enumerate(hosts, 1):
        name = page_name(position, host_label(report))
        (staging / name).write_text(host_page(report, fleet=back), encoding="utf-8")
        tally.add(report)
        rows.append(_row(report, quote(folder.name) + "/" + name, index))
        ranks.append(badness(report))
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    worst_first = [rows[i] for i in sorted(range(len(rows)), key=ranks.__getitem__)]
    write_text(_summary(head, tally, worst_first, index, folder.name), os.fspath(target))


def _refuse_foreign(folder: Path) -> None:
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise FileExistsError(f"{folder} is in the way of the sweep's host pages: move it or write the summary elsewhere")
    if folder.is_dir():
        foreign = [p.name for p in folder.iterdir() if not (PAGE_NAME.fullmatch(p.name) and p.is_file() and not p.is_symlink())]
        if foreign:
            raise FileExistsError(f"{folder} holds files that are not host pages ({foreign[0]}, ...): move it or write the summary elsewhere")


def _row(report: dict[str, Any], href: str, index: dict[str, int]) -> list:
    """A host's row of the summary's data: label, score, a status letter per check (in the order
    of index, which it extends; "-" where the host has no result), and the link to its page."""
    letters: list[str] = ["-"] * len(index)
    for r in report["results"]:
        i = index.setdefault(r["id"], len(index))
        letters += ["-"] * (i + 1 - len(letters))
        code = CODES[STATUS_ORDER.index(r["status"])]
        letters[i] = code.lower() if r.get("waived") else code
    return [host_label(report), report["summary"]["score"], "".join(letters), href]


def _summary(head: dict[str, Any], tally: Tally, rows: list[list], index: dict[str, int], folder: str) -> str:
    view = tally.view()
    meta = {c["id"]: c for c in view["checks"]}
    data = {
        "codes": CODES, "statuses": STATUS_ORDER, "labels": STATUS_LABEL, "rows": ROWS, "layers": view["filters"]["layers"],
        "checks": [[i, meta[i]["title"], meta[i]["layer"], meta[i]["severity"], meta[i]["level"], meta[i]["cis"]] for i in index],
        "hosts": rows,
    }
    unreachable = list(head.get("errors", []))
    return jinja_environment().get_template("fleet_summary.html.j2").render(
        doc=head, unreachable=unreachable, layers=view["filters"]["layers"], data=data, folder=folder,
        assets=page_assets("fleet_summary.js", "fleet_summary.css"), **view,
    )
