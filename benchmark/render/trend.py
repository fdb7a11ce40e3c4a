"""The archive's trend page: how each host's score and status counts moved from scan to scan.

Rendered from the archive's listing (ScanInfo: score, counts and every check's status per scan),
not from the stored reports, so a page over hundreds of scans reads no report. It follows the
report page's rules: one self-contained HTML file (the same inline style and script, allowed by
hash in a strict Content-Security-Policy), Jinja2 autoescape for every host-supplied string,
charts as inline SVG whose points link within the page.

Scans of different scopes (other --level, --include, --container... options) are compared like
with like: a check whose status changed only because the scope did (see document/scope.py) is
listed with that scope change, not as a flip. Telling that needs the two reports' evidence, so
those two (and only those) are read, through report_of.

A point links to that scan's section on the same page (its counts, the checks that flipped in
it, and the `dockbench show` command that renders its full report): one offline file cannot
point at a report that does not exist yet, and embedding every report would make the page as
large as the archive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from dockbench.benchmark import __version__
from dockbench.benchmark.document import scope
from dockbench.benchmark.document.report import STATUS_ORDER
from dockbench.benchmark.render.html_parts import jinja_environment, page_assets

# The charts' geometry (SVG user units): the plot sits between LEFT (the y labels end there,
# beside the axis) and WIDTH - RIGHT, from TOP down PLOT units; each scan has a slot of that
# width and sits at its centre, so no bar or point reaches the y labels. The x labels' baseline
# is TICK below the plot (clear of the y axis's lowest label), the legend LEGEND below it.
WIDTH, LEFT, RIGHT, TOP, PLOT, TICK, LEGEND = 820, 48, 12, 12, 160, 22, 12
BOTTOM = TOP + PLOT
TICK_FONT = 11       # px, the x labels' font size (svg.chart .tick)
CHAR_WIDTH = 0.64    # a label character's width in ems, taken wide (digits are about 0.55-0.64 em in sans fonts)
TICK_GAP = 10        # the least room between two x labels
EDGE = 2             # the least room between a label and the SVG's edge


def _x(index: int, count: int) -> float:
    slot = (WIDTH - LEFT - RIGHT) / max(1, count)
    return round(LEFT + slot * (index + 0.5), 1)


def tick_texts(scans: list[dict[str, Any]]) -> list[str]:
    """Each scan's x label: its date, with the time of day when other scans share that date (to
    the second when they also share the minute), so that no two scans of a day look alike."""
    stamps = [(s["started_at"] or "?").replace("T", " ").rstrip("Z") for s in scans]
    by_day: dict[str, list[int]] = {}
    for i, stamp in enumerate(stamps):
        by_day.setdefault(stamp[:10], []).append(i)
    texts = [stamp[:10] for stamp in stamps]
    for members in by_day.values():
        if len(members) > 1:
            cut = next((n for n in (16, 19) if len({stamps[i][:n] for i in members}) == len(members)), None)
            for i in members:
                texts[i] = stamps[i][:cut]
    return texts


def _tick(index: int, count: int, text: str) -> dict[str, Any]:
    """One x label under its scan, its estimated extent (left, right) with it; anchored at its
    end instead of its middle where it would cross the SVG's edge."""
    x, width = _x(index, count), len(text) * TICK_FONT * CHAR_WIDTH
    if x - width / 2 < EDGE:
        return {"x": EDGE, "anchor": "start", "text": text, "left": EDGE, "right": EDGE + width}
    if x + width / 2 > WIDTH - EDGE:
        return {"x": WIDTH - EDGE, "anchor": "end", "text": text, "left": WIDTH - EDGE - width, "right": WIDTH - EDGE}
    return {"x": x, "anchor": "middle", "text": text, "left": x - width / 2, "right": x + width / 2}


def _ticks(scans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """As many x labels as fit side by side a gap apart, spread evenly from the first scan to
    the last (every scan's own label when there is room)."""
    count = len(scans)
    texts = tick_texts(scans)
    room = max([len(t) for t in texts] or [0]) * TICK_FONT * CHAR_WIDTH + TICK_GAP
    for shown in range(min(count, int(WIDTH // room) + 1), 0, -1):
        chosen = sorted({round(i * (count - 1) / (shown - 1)) for i in range(shown)}) if shown > 1 else [0]
        ticks = [_tick(i, count, texts[i]) for i in chosen]
        if all(a["right"] + TICK_GAP <= b["left"] for a, b in zip(ticks, ticks[1:])):
            return ticks
    return []


def _axes(scans: list[dict[str, Any]], grid: list[dict[str, Any]]) -> dict[str, Any]:
    """What both charts draw around their data: the grid with its y labels, the x labels."""
    return {"width": WIDTH, "left": LEFT, "right": WIDTH - RIGHT, "label_x": LEFT - 6, "grid": grid,
            "ticks": _ticks(scans), "tick_y": BOTTOM + TICK}


def score_chart(scans: list[dict[str, Any]]) -> dict[str, Any]:
    """A line of the score (0-100 %) per scan; scans without a score leave a gap."""
    points: list[dict[str, Any]] = []
    runs: list[list[dict[str, Any]]] = []
    run: list[dict[str, Any]] = []
    for i, scan in enumerate(scans):
        if scan["score"] is None:
            run = []
            continue
        point = {"x": _x(i, len(scans)), "y": round(TOP + PLOT * (1 - scan["score"] / 100), 1), "scan": scan}
        points.append(point)
        if not run:
            runs.append(run)
        run.append(point)
    lines = [" ".join(f"{p['x']},{p['y']}" for p in r) for r in runs if len(r) > 1]
    grid = [{"y": round(TOP + PLOT * (1 - v / 100), 1), "label": f"{v}%"} for v in (0, 25, 50, 75, 100)]
    return {**_axes(scans, grid), "height": BOTTOM + TICK + 8, "points": points, "lines": lines}


def counts_chart(scans: list[dict[str, Any]]) -> dict[str, Any]:
    """A stacked bar of the status counts per scan."""
    most = max([sum(s["counts"].values()) for s in scans] or [1]) or 1
    width = max(2.0, min(28.0, (WIDTH - LEFT - RIGHT) / max(1, len(scans)) * 0.7))
    bars = []
    for i, scan in enumerate(scans):
        y, segments = float(BOTTOM), []
        for status in STATUS_ORDER:
            n = scan["counts"].get(status, 0)
            if n:
                h = PLOT * n / most
                y -= h
                segments.append({"status": status, "y": round(y, 1), "height": round(h, 1), "count": n})
        bars.append({"x": round(_x(i, len(scans)) - width / 2, 1), "width": round(width, 1), "segments": segments, "scan": scan})
    grid = [{"y": round(TOP + PLOT * (1 - f), 1), "label": str(round(most * f))} for f in (0, 0.5, 1)]
    legend_y = BOTTOM + TICK + LEGEND
    legend = [{"status": s, "x": LEFT + i * 90} for i, s in enumerate(STATUS_ORDER)]
    return {**_axes(scans, grid), "height": legend_y + 16, "bars": bars, "legend": legend, "legend_y": legend_y}


def listed_status(text: str | None) -> dict[str, str] | None:
    """A status as the archive lists it ("FAIL", or "FAIL+waived" for a waived result) split into
    the status and its note; None when the check did not run in that scan."""
    if text is None:
        return None
    status, _, note = text.partition("+")
    return {"status": status, "note": note}


def flips(scans: list[dict[str, Any]], report_of: Callable[[str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Every check whose status changed from one scan to the next, a result becoming waived or
    no longer waived included (None: not run in that scan); a change the scope accounts for
    goes to the later scan's scope_change instead."""
    out = []
    for before, after in zip(scans, scans[1:]):
        changed = [check for check in sorted(set(before["statuses"]) | set(after["statuses"])) if before["statuses"].get(check) != after["statuses"].get(check)]
        moved = scope.delta(before["options"] or {}, after["options"] or {})
        explained: set[str] = set()
        if moved:
            old, new = report_of(before["scan_id"]), report_of(after["scan_id"])
            moved = scope.delta(scope.of(old, before["options"]), scope.of(new, after["options"])) or moved
            results = [{r["id"]: r for r in report["results"]} for report in (old, new)]
            explained = {check for check in changed if scope.explains(moved, results[0].get(check), results[1].get(check))}
            after["scope_change"] = {"lines": scope.delta_lines(moved), "checks": []}
        for check in changed:
            flip = {"check": check, "was": listed_status(before["statuses"].get(check)), "now": listed_status(after["statuses"].get(check)), "scan": after}
            (after["scope_change"]["checks"] if check in explained else out).append(flip)
    for flip in out:
        flip["scan"]["flips"].append(flip)
    return out


def _scope_text(options: dict[str, Any] | None) -> str:
    """A scan's scope as its archive entry stored the options."""
    if options is None:
        return "not recorded"
    return f"{scope.checks_text(options)} · containers: {scope.selection_text(options)}"


def host_view(index: int, host: str, infos: list[Any], report_of: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    scans = [{"anchor": f"h{index}-s{i + 1}", "scan_id": info.scan_id, "started_at": info.started_at, "finished_at": info.finished_at,
              "hostname": info.hostname, "sweep_id": info.sweep_id, "score": info.score, "counts": dict(info.counts),
              "total": info.total, "statuses": dict(info.statuses), "options": info.options, "scope": _scope_text(info.options),
              "flips": [], "scope_change": None} for i, info in enumerate(infos)]
    changes = flips(scans, report_of)
    hostnames = list(dict.fromkeys(s["hostname"] for s in scans if s["hostname"]))
    return {"anchor": f"h{index}", "host": host, "hostnames": hostnames, "scans": scans, "flips": changes,
            "scope_changes": [s for s in scans if s["scope_change"]], "latest": scans[-1], "score": score_chart(scans), "counts": counts_chart(scans)}


def render_trend(infos: Iterable[Any], source: str, selection: str, *, report_of: Callable[[str], dict[str, Any]]) -> str:
    """The trend page over these host scans (oldest first), grouped by host in order of first scan;
    report_of(scan id) gives a stored report (read only for scans whose scope changed)."""
    by_host: dict[str, list[Any]] = {}
    for info in infos:
        by_host.setdefault(info.host or info.hostname or "?", []).append(info)
    hosts = [host_view(i + 1, host, scans, report_of) for i, (host, scans) in enumerate(by_host.items())]
    env = jinja_environment()
    return env.get_template("trend.html.j2").render(
        doc={"tool": {"version": __version__}}, hosts=hosts, source=source, selection=selection,
        scans=sum(len(h["scans"]) for h in hosts), assets=page_assets(),
    )
