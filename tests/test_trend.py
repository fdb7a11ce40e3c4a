"""The archive's trend page (`dockbench history --format html`), in headless Chromium.

The archive holds two real `dockbench scan`s of the test daemon (before and after a container
with --pid host starts, so container-no-host-pid flips) and a few dozen more scans of three
hosts made from real scan reports (tests/render_scans.py) with results varied per scan, one of
them under a hostile hostname.
"""

from __future__ import annotations

import random
import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from dockbench.benchmark import render
from dockbench.benchmark.archive import open_archive
from dockbench.benchmark.document.report import host_key
from dockbench.benchmark.render import html_page
from dockbench.benchmark.render import trend as trend_page
from tests import sweepdoc
from tests.browser import Browser
from tests.cli_run import dockbench, load_report
from tests.html_tags import start_tags
from tests.render_scans import PAYLOADS, PWNED, scans

CHECK = "container-no-host-pid"
HOSTILE = f"odd{PWNED[0]}{PAYLOADS[1]}"
SAME_DAY, BUSY = "ops-01", "batch-01"


@pytest.fixture(scope="module")
def archive(docker_daemon, tmp_path_factory):
    d = docker_daemon
    tmp = tmp_path_factory.mktemp("trend")
    path = tmp / "archive.sqlite3"
    real = scans(d, tmp / "reports")["reports"]
    rng = random.Random(14)
    start = datetime(2026, 10, 1, 6, 0, tzinfo=timezone.utc)
    stored: dict[str, list[dict]] = {}
    with open_archive(path) as store:
        for n in range(12):
            for name, base in (("web-01", "both"), ("build-01", "risky"), (HOSTILE, "hostile")):
                report = sweepdoc.vary(sweepdoc.as_host(real[base], name), rng, flip=0.05)
                report["scan_id"] = f"{n:04d}{report['scan_id'][4:]}"
                moment = start + timedelta(days=n, hours=len(stored))
                report["started_at"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
                report["finished_at"] = (moment + timedelta(seconds=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
                store.put_scan("host", host_key(report), report, None)
                stored.setdefault(host_key(report), []).append(report)
        # scans that share a day (two of them a minute), and a host scanned too often to label every scan
        for name, moments in ((SAME_DAY, [start + timedelta(days=d, hours=h, seconds=s) for d in range(4) for h, s in ((8, 0), (14, 5), (14, 35))]),
                              (BUSY, [start + timedelta(hours=3 * n) for n in range(40)])):
            for n, moment in enumerate(moments):
                report = sweepdoc.vary(sweepdoc.as_host(real["both"], name), rng, flip=0.05)
                report["scan_id"] = f"{n:04d}{report['scan_id'][4:]}"
                report["started_at"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
                report["finished_at"] = (moment + timedelta(seconds=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
                store.put_scan("host", host_key(report), report, None)
                stored.setdefault(host_key(report), []).append(report)
    started = [d.run_container("trend-calm")]
    common = ["scan", "--docker-host", d.host, "--container", d.name("trend-*"), "--archive", path, "-q", "--fail-on", "never"]
    assert dockbench(*common, "-o", tmp / "r1.json").returncode == 0
    started.append(d.run_container("trend-pidhost", "--pid", "host"))
    assert dockbench(*common, "-o", tmp / "r2.json").returncode == 0
    r1, r2 = load_report(tmp / "r1.json"), load_report(tmp / "r2.json")
    stored[host_key(r1)] = [r1, r2]
    yield {"path": path, "tmp": tmp, "stored": stored, "local": host_key(r1)}
    d.remove(started)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium"))
    yield b
    b.quit()


def trend(archive, *args) -> str:
    out = archive["tmp"] / f"trend-{len(list(archive['tmp'].glob('trend-*.html')))}.html"
    done = dockbench("history", "--archive", archive["path"], "--format", "html", "-o", out, *args)
    assert done.returncode == 0, done.stderr
    return out


def test_trend_page_references_nothing_outside_itself(archive):
    text = trend(archive).read_text()
    tags = start_tags(text)
    assert ("meta", {"http-equiv": "Content-Security-Policy", "content": html_page.page_assets()["csp"]}) in tags[:4]
    assert not [t for t, _ in tags if t in ("link", "img", "iframe", "object", "embed", "base", "form")]
    assert all(a["href"].startswith("#") for _, a in tags if "href" in a)
    assert [a for t, a in tags if t == "script"] == [{}]
    for payload in PAYLOADS + PWNED:
        assert payload not in text
    anchors = {a["id"] for _, a in tags if "id" in a}
    assert {a["href"][1:] for _, a in tags if "href" in a} <= anchors  # every link lands on the page


def test_trend_page_in_chromium_charts_every_scan_and_links_points_to_scans(archive, browser, tmp_path):
    stored = archive["stored"]
    browser.open(trend(archive))
    sections = browser.js("return Array.from(document.querySelectorAll('section.trend h2')).map(h => h.textContent)")
    assert len(sections) == len(stored) and all(s.startswith(key) for s, key in zip(sections, stored))  # by archive key, in order of first scan
    for index, reports in enumerate(stored.values()):
        section = f"section.trend#h{index + 1}"
        scored = [r for r in reports if r["summary"]["score"] is not None]
        assert browser.js(f"return document.querySelectorAll('{section} .score-chart circle').length") == len(scored)
        assert browser.js(f"return document.querySelectorAll('{section} .counts-chart g.bar').length") == len(reports)
        titles = browser.js(f"return Array.from(document.querySelectorAll('{section} .score-chart circle title')).map(t => t.textContent)")
        assert titles == [f"{r['started_at']}: score {r['summary']['score']}%" for r in scored]
        heights = browser.js(f"return Array.from(document.querySelectorAll('{section} .counts-chart g.bar')).map(g => Array.from(g.querySelectorAll('rect')).map(r => r.getBBox().height))")
        totals = [sum(r["summary"]["by_status"].values()) for r in reports]
        ratios = [sum(h) / t for h, t in zip(heights, totals)]
        assert max(ratios) - min(ratios) < 0.01  # bar height proportional to the checks counted
        ids = browser.js(f"return Array.from(document.querySelectorAll('{section} .scan dd:first-of-type')).map(d => d.textContent)")
        assert ids == [r["scan_id"] for r in reports]
    # a point is a link to its scan's section, which names the command for the full report
    browser.js("document.querySelector('section.trend#h1 .score-chart a:last-of-type').dispatchEvent(new MouseEvent('click', {bubbles: true}))")
    time.sleep(0.3)
    last = stored["ssh://root@web-01"][-1]
    assert browser.js("return location.hash") == "#h1-s12"
    assert browser.js("return document.querySelector(':target').textContent").count(f"dockbench show {last['scan_id']}") == 1
    assert browser.js("return getComputedStyle(document.querySelector(':target')).backgroundColor") != "rgba(0, 0, 0, 0)"
    browser.shot(tmp_path / "trend.png", full_page=True)
    assert [e for e in browser.console() if e["level"] == "SEVERE"] == []


def test_trend_page_lists_the_checks_that_flipped_and_when(archive, browser):
    local = archive["local"]
    browser.open(trend(archive, "--host", local))
    assert browser.js("return document.querySelectorAll('section.trend').length") == 1
    rows = browser.js("return Array.from(document.querySelectorAll('table.flips tr')).slice(1).map(r => Array.from(r.cells).map(c => c.textContent))")
    r1, r2 = archive["stored"][local]
    before, after = {r["id"]: r["status"] for r in r1["results"]}, {r["id"]: r["status"] for r in r2["results"]}
    flipped = sorted(c for c in set(before) | set(after) if before.get(c) != after.get(c))
    assert CHECK in flipped
    label = render.STATUS_LABEL
    assert rows == [[r2["started_at"], c, label.get(before.get(c), "not run"), label.get(after.get(c), "not run"), r2["scan_id"][:8]] for c in flipped]
    assert [e for e in browser.console() if e["level"] == "SEVERE"] == []


def test_hostile_hostnames_are_text_on_the_trend_page(archive, browser):
    browser.open(trend(archive, "--host", HOSTILE))
    time.sleep(0.3)
    assert browser.js("return typeof window.__pwned") == "undefined"
    assert HOSTILE in browser.js("return document.querySelector('section.trend h2').textContent")
    assert browser.js("return document.querySelectorAll('img, script:not(:last-of-type)').length") == 0
    assert HOSTILE in browser.js("return document.title")


def test_trend_refuses_what_it_cannot_chart_and_says_when_nothing_matches(archive):
    done = dockbench("history", "--archive", archive["path"], "--format", "html", "--sweeps")
    assert done.returncode == 2 and "follows host scans" in done.stderr
    out = archive["tmp"] / "none.html"
    assert dockbench("history", "--archive", archive["path"], "--format", "html", "--host", "nowhere", "-o", out).returncode == 0
    assert re.search(r"No scan matches", out.read_text())
    table = dockbench("history", "--archive", archive["path"], "--format", "json", "--host", "web-01")
    assert table.returncode == 0 and table.stdout.count('"scan_id"') == 12


# Every label's box in each chart, the chart's box, and where its plot's bars and points start.
CHART_BOXES = """
    const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    return Array.from(document.querySelectorAll(arguments[0] + ' svg.chart')).map(svg => ({
        svg: box(svg),
        labels: Array.from(svg.querySelectorAll('text')).map(t => ({text: t.textContent, kind: t.getAttribute('class'), box: box(t)})),
        marks: Array.from(svg.querySelectorAll('g.bar rect, circle.pt')).map(box),
    }));
"""


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("width", [1280, 800])
def test_trend_chart_labels_fit_without_overlapping(archive, browser, tmp_path, width):
    browser.driver.set_window_size(width, 1400)
    try:
        for host in (SAME_DAY, BUSY, "web-01"):
            browser.open(trend(archive, "--host", host))
            charts = browser.js(CHART_BOXES, "section.trend")
            assert len(charts) == 2
            for chart in charts:
                labels = chart["labels"]
                assert {"ylabel", "tick"} <= {label["kind"] for label in labels}
                for i, a in enumerate(labels):
                    svg = chart["svg"]
                    assert svg[0] <= a["box"][0] and a["box"][2] <= svg[2] and svg[1] <= a["box"][1] and a["box"][3] <= svg[3], (host, a)
                    for b in labels[i + 1:]:
                        assert not overlap(a["box"], b["box"]), (host, a, b)
                left = min(m[0] for m in chart["marks"])  # the y labels stand beside the axis, left of every bar and point
                assert all(label["box"][2] < left for label in labels if label["kind"] == "ylabel"), host
            ticks = [label["text"] for label in charts[1]["labels"] if label["kind"] == "tick"]
            assert [label["text"] for label in charts[0]["labels"] if label["kind"] == "tick"] == ticks  # the charts share their x axis
            reports = archive["stored"][next(k for k in archive["stored"] if k.endswith(host))]
            # the date alone; the time where a day has several scans, to the second where two share a minute (20:00:05, 20:00:35)
            cut = {SAME_DAY: 19, BUSY: 16, "web-01": 10}[host]
            labels = [r["started_at"].replace("T", " ")[:cut] for r in reports]
            assert len(set(labels)) == len(labels) and ticks[0] == labels[0] and ticks[-1] == labels[-1]
            rest = iter(labels)
            assert all(tick in rest for tick in ticks)  # each label names its scan, in the scans' order
            assert 2 < len(ticks) < len(labels) if host == BUSY else len(ticks) >= len(labels) // 3  # thinned to fit, never to nothing
            browser.shot(tmp_path / f"trend-labels-{host}-{width}.png", full_page=True)
    finally:
        browser.driver.set_window_size(1300, 1600)


def test_a_scan_label_has_the_time_of_day_where_scans_share_a_date():
    stamps = ["2026-12-01T14:05:00Z", "2026-12-01T16:00:00Z", "2026-12-02T09:00:00Z", "2026-12-03T10:00:01Z", "2026-12-03T10:00:09Z", None]
    assert trend_page.tick_texts([{"started_at": s} for s in stamps]) == [
        "2026-12-01 14:05", "2026-12-01 16:00", "2026-12-02", "2026-12-03 10:00:01", "2026-12-03 10:00:09", "?"]
