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
from tests import sweepdoc
from tests.browser import Browser
from tests.cli_run import dockbench, load_report
from tests.html_tags import start_tags
from tests.render_scans import PAYLOADS, PWNED, scans

CHECK = "container-no-host-pid"
HOSTILE = f"odd{PWNED[0]}{PAYLOADS[1]}"


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
