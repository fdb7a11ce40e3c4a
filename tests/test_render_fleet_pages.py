"""A big sweep's HTML: the summary page and a page per host (render/fleet_pages.py), in real
Chromium, from sweeps of real `dockbench scan` reports (tests/render_scans.py) rendered with
`dockbench report`; a sweep at the threshold is still the one page."""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import jsonschema
import pytest

from dockbench.benchmark import render
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.render import fleet_pages, html_parts
from tests import sweepdoc, test_render_browser
from tests.browser import wait_for
from tests.cli_run import dockbench
from tests.render_scans import PAYLOADS, PWNED, hostile_edit
from tests.test_render_browser import no_console_errors, set_filter

OVER = fleet_pages.PAGES_FROM + 1
browser = test_render_browser.browser  # the same Chromium fixture, one browser for this module
HOSTILE_NAMES = ("../../etc/x", "..", "a/b\\c", f"host{PWNED[0]}", PWNED[1], "höst-ünï-名前", "x" * 300, "")


def report_cmd(document: dict, html: Path) -> Path:
    source = html.with_suffix(".json")
    source.write_text(json.dumps(document))
    done = dockbench("report", source, "-o", html)
    assert done.returncode == 0, done.stderr
    return html


def big_fleet(real: dict, count: int) -> dict:
    """A sweep of count hosts cycling through the real reports (the hostile one among them, edited),
    the first few under hostile names, each varied (some results flipped, a few to ERROR), plus an
    unreachable target."""
    r = real["reports"]
    bases = [r["web"], r["both"], r["risky"], hostile_edit(r["hostile"])]
    hosts, rng = [], random.Random(11)
    for i in range(count):
        name = HOSTILE_NAMES[i] if i < len(HOSTILE_NAMES) else f"node-{i + 1:04d}.example.test"
        hosts.append(sweepdoc.vary(sweepdoc.as_host(bases[i % len(bases)], name, target=f"ssh://root@{name or 'empty'}"), rng))
    errors = [sweepdoc.error_entry(f"ssh://root@{PWNED[2]}", "timeout", " ".join(PAYLOADS), name=PWNED[3])]
    document = sweepdoc.sweep(hosts, errors, sweep_id=f"big-{count}")
    jsonschema.validate(document, report_mod.schema())
    return document


@pytest.fixture(scope="module")
def over(real, tmp_path_factory):
    """A sweep just over the threshold, rendered by `dockbench report -o fleet.html`."""
    document = big_fleet(real, OVER)
    html = report_cmd(document, tmp_path_factory.mktemp("over") / "fleet.html")
    return document, html


def labels_shown(browser) -> list[str]:
    return browser.js("return Array.from(document.querySelectorAll('#host-table tbody tr')).map(tr => tr.cells[0].textContent)")


def test_at_the_threshold_a_sweep_is_still_the_one_page(real, tmp_path):
    document = big_fleet(real, fleet_pages.PAGES_FROM)
    html = report_cmd(document, tmp_path / "fleet.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet.html", "fleet.json"]
    assert html.read_text(encoding="utf-8") == render.render(document, "html")
    assert 'id="fleet-data"' in html.read_text(encoding="utf-8")


def test_over_the_threshold_a_summary_and_a_page_per_host_inside_its_folder(over, tmp_path):
    document, html = over
    folder = html.parent / "fleet-hosts"
    assert sorted(p.name for p in html.parent.iterdir()) == ["fleet-hosts", "fleet.html", "fleet.json"]
    pages = sorted(folder.iterdir())
    assert len(pages) == OVER and all(p.is_file() and p.resolve().parent == folder.resolve() for p in pages)
    assert all(re.fullmatch(r"[0-9]{5}-[a-z0-9-]{0,40}\.html", p.name) for p in pages)
    assert len({p.name for p in pages}) == OVER
    assert [p.name for p in pages[:3]] == ["00001-etc-x-ssh-root-etc-x.html", "00002-.html", "00003-a-b-c-ssh-root-a-b-c.html"]
    summary = html.read_text(encoding="utf-8")
    assert 'id="fleet-data"' not in summary and 'id="fleet-index"' in summary
    assert len(summary) < 1_000_000  # the summary holds no findings: well under the one page's size
    for page in (summary, pages[3].read_text(encoding="utf-8")):
        for payload in PWNED:
            assert payload not in page  # escaped wherever a host's text lands
    # the host page is that host's own report page, with a link back to the summary
    first = document["hosts"][0]
    assert pages[0].read_text(encoding="utf-8") == html_parts.host_page(first, fleet="../fleet.html")
    assert '<a href="../fleet.html">fleet summary</a>' in pages[0].read_text(encoding="utf-8")

    # rendering again replaces the folder whole; a folder holding anything else is refused
    (folder / "00001-etc-x.html").write_text("stale")
    fleet_pages.write_pages({k: v for k, v in document.items() if k != "hosts"}, iter(document["hosts"][:3]), tmp_path / "fleet.html")
    assert sorted(p.name for p in (tmp_path / "fleet-hosts").iterdir()) == [p.name for p in pages[:3]]
    (tmp_path / "fleet-hosts" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="notes.txt"):
        fleet_pages.write_pages({k: v for k, v in document.items() if k != "hosts"}, iter(document["hosts"][:3]), tmp_path / "fleet.html")
    assert (tmp_path / "fleet-hosts" / "notes.txt").read_text() == "mine"


def test_the_summary_opens_offline_and_filters_its_host_table(over, browser, tmp_path):
    document, html = over
    hosts = document["hosts"]
    ranked = sorted(hosts, key=render.badness)
    browser.open(html)
    assert browser.js("return performance.getEntriesByType('resource').length") == 0
    no_console_errors(browser)
    assert labels_shown(browser) == [render.host_label(h) for h in ranked[:fleet_pages.ROWS]]
    total = sum(h["summary"]["total"] for h in hosts)
    assert browser.js("return document.getElementById('shown').textContent").startswith(f"{total} of {total} findings on {OVER} of {OVER} hosts")
    browser.css("#more").click()
    assert labels_shown(browser) == [render.host_label(h) for h in ranked[:2 * fleet_pages.ROWS]]
    first = browser.js("return Array.from(document.querySelectorAll('#host-table tbody tr:first-child td')).map(td => [td.className, td.textContent])")
    counts = ranked[0]["summary"]["by_status"]
    assert [text for _, text in first[2:7]] == [str(counts.get(s, 0)) for s in report_mod.STATUS_ORDER]
    worst = [cls for cls, _ in first[7:]]
    assert worst == [f"w {render.worst_status(c)}" for c in ranked[0]["summary"]["by_layer"].values()]
    browser.shot(tmp_path / "render-fleet-summary.png")

    def having(pred):
        return [render.host_label(h) for h in ranked if any(pred(r) for r in h["results"])]

    set_filter(browser, statuses=["ERROR"])
    expected = having(lambda r: r["status"] == "ERROR")
    assert 0 < len(expected) < OVER and labels_shown(browser) == expected[:fleet_pages.ROWS]
    set_filter(browser, statuses=["FAIL"], layer="containers", severity="critical")
    expected = having(lambda r: r["status"] == "FAIL" and r["layer"] == "containers" and r["severity"] == "critical")
    assert 0 < len(expected) < OVER and labels_shown(browser) == expected[:fleet_pages.ROWS]
    set_filter(browser, statuses=["FAIL"], query="5.16")  # a CIS id: the hosts that fail it, and that check alone
    expected = having(lambda r: r["status"] == "FAIL" and "5.16" in report_mod.cis_ids(r))
    assert labels_shown(browser)[:len(expected)] == expected[:fleet_pages.ROWS]
    assert browser.js("return Array.from(document.querySelectorAll('details.f')).filter(e => !e.hidden).map(e => e.id)") == ["c-container-no-host-pid"]
    set_filter(browser, query="node-0042")
    assert labels_shown(browser) == ["node-0042.example.test"]
    set_filter(browser, query="höst")
    assert labels_shown(browser) == [render.host_label(hosts[5])]
    set_filter(browser, statuses=[])
    assert labels_shown(browser) == [] and browser.css("#no-host").is_displayed()
    browser.css("#reset").click()
    assert len(labels_shown(browser)) == fleet_pages.ROWS
    assert 0 <= browser.js("return window.dockbenchFilterMs") < 1000
    no_console_errors(browser)


def test_links_go_from_the_summary_to_host_pages_and_back(over, browser):
    document, html = over
    browser.open(html)
    check = browser.css("#c-container-no-host-pid")
    check.find_element("css selector", "summary").click()
    assert wait_for(browser, "return arguments[0].querySelectorAll('.hl tr').length", check)
    def status(h):
        return next(r for r in h["results"] if r["id"] == "container-no-host-pid")["status"]

    failing = [h for h in sorted(document["hosts"], key=render.badness) if status(h) in ("FAIL", "ERROR", "MANUAL")]
    failing.sort(key=lambda h: report_mod.STATUS_ORDER.index(status(h)))  # FAILs first, each status worst host first
    listed = browser.js("return Array.from(arguments[0].querySelectorAll('.hl tr')).slice(1).map(tr => tr.cells[0].textContent)", check)
    assert listed == [render.host_label(h) for h in failing] and status(failing[0]) == "FAIL"
    # from the check to that host's page, the finding open
    link = check.find_element("css selector", ".hl a")
    name = link.text
    link.click()
    assert wait_for(browser, "return location.pathname.includes('/fleet-hosts/') && document.readyState === 'complete'")
    assert browser.js("return location.hash") == "#findings-container-no-host-pid"
    assert wait_for(browser, "const e = document.getElementById('findings-container-no-host-pid'); return e && e.open")
    assert browser.css("h1").text.startswith(name.split(" (")[0])
    assert browser.js("return performance.getEntriesByType('resource').length") == 0
    no_console_errors(browser)
    # and back to the summary
    browser.css("nav.toc a").click()
    assert wait_for(browser, "return location.pathname.endsWith('/fleet.html') && document.getElementById('shown').textContent")
    # a host row's link opens the host page of that very host (hostile names included)
    for i in (0, 3, 4, 5):
        host = document["hosts"][i]
        set_filter(browser, query=render.host_label(host).lower()[:60])
        row = browser.js("return Array.from(document.querySelectorAll('#host-table tbody tr')).find(tr => tr.cells[0].textContent === arguments[0]).querySelector('a').href",
                         render.host_label(host))
        browser.driver.get(row)
        assert browser.js("return document.querySelector('h1').firstChild.textContent.trim()") == (host["target"]["hostname"] or "")
        assert browser.js("return typeof window.__pwned") == "undefined"
        no_console_errors(browser)
        browser.driver.back()
        wait_for(browser, "return document.getElementById('shown') && document.getElementById('shown').textContent")


def test_hostile_names_stay_text_on_the_summary(over, browser):
    document, html = over
    browser.open(html)
    browser.css("#expand").click()
    browser.js("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    time.sleep(0.5)  # an onerror handler would have fired by now
    assert browser.js("return typeof window.__pwned") == "undefined"
    assert browser.js("return document.querySelectorAll('script:not([type=\"application/json\"])').length") == 1
    assert browser.js("return document.querySelectorAll('img, svg:not(.chart)').length") == 0
    set_filter(browser, query="pwned")
    shown = labels_shown(browser)
    assert render.host_label(document["hosts"][3]) in shown and render.host_label(document["hosts"][4]) in shown
    text = browser.js("return document.body.textContent")
    for payload in (PWNED[2], PWNED[3], *PAYLOADS):  # the unreachable target's text
        assert payload in text
    no_console_errors(browser)
