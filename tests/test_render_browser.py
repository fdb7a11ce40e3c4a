"""The HTML report in a real browser (headless Chromium): filters, details, fleet navigation,
print layout, no network, and hostile host data that stays text.

Reports come from real scans of the test daemon (tests/render_scans.py), rendered with
`dockbench report`; fleets are sweep documents assembled from those reports. Screenshots land in
each test's tmp dir and once under /tmp/dockbench-shots/ for a person to look at.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from typing import ClassVar

import jsonschema
import pytest

from dockbench.benchmark import render
from dockbench.benchmark.document import report as report_mod
from tests import sweepdoc
from tests.browser import Browser, wait_for
from tests.cli_run import dockbench
from tests.render_scans import PAYLOADS, PWNED, hostile_edit


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium"))
    yield b
    b.quit()


def rendered(document: dict, path) -> object:
    """Write the document as JSON, render it with `dockbench report`, return the HTML path."""
    source = path.with_suffix(".json")
    source.write_text(json.dumps(document))
    done = dockbench("report", source, "--format", "html", "-o", path)
    assert done.returncode == 0, done.stderr
    return path


def visible_ids(browser) -> list[str]:
    return browser.js("return Array.from(document.querySelectorAll('.f')).filter(e => !e.hidden).map(e => e.id)")


def set_filter(browser, statuses=None, layer="", severity="", level="", query="") -> None:
    """Set the controls the way a person does and let the page's own listeners react."""
    browser.js("""
        const [statuses, layer, severity, level, query] = arguments;
        document.querySelectorAll('input[name=status]').forEach(box => { box.checked = statuses === null || statuses.includes(box.value); });
        document.getElementById('f-layer').value = layer;
        document.getElementById('f-severity').value = severity;
        document.getElementById('f-level').value = level;
        document.getElementById('filters').dispatchEvent(new Event('change', {bubbles: true}));
        const q = document.getElementById('q'); q.value = query; q.dispatchEvent(new Event('input', {bubbles: true}));
    """, statuses, layer, severity, level, query)


def no_console_errors(browser) -> None:
    severe = [e for e in browser.console() if e["level"] == "SEVERE"]
    assert not severe, severe  # a CSP violation (e.g. a style or script hash that does not match) shows here


def test_host_report_filters_change_what_is_visible(real, browser, tmp_path):
    doc = real["reports"]["both"]
    browser.open(rendered(doc, tmp_path / "host.html"))
    results = {f"findings-{r['id']}": r for r in doc["results"]}
    assert browser.js("return document.getElementById('filters').hidden") is False
    assert len(visible_ids(browser)) == doc["summary"]["total"]
    assert browser.js("return document.getElementById('shown').textContent") == f"{doc['summary']['total']} of {doc['summary']['total']} shown"

    set_filter(browser, statuses=["FAIL"])
    shown = visible_ids(browser)
    assert len(shown) == doc["summary"]["by_status"]["FAIL"] > 0
    assert {results[i]["status"] for i in shown} == {"FAIL"}
    browser.shot(tmp_path / "render-host-fail-only.png")

    set_filter(browser, statuses=["FAIL"], layer="containers")
    assert sorted(visible_ids(browser)) == sorted(i for i, r in results.items() if r["status"] == "FAIL" and r["layer"] == "containers")
    set_filter(browser, severity="critical")
    assert sorted(visible_ids(browser)) == sorted(i for i, r in results.items() if r["severity"] == "critical")
    set_filter(browser, level="2")
    assert sorted(visible_ids(browser)) == sorted(i for i, r in results.items() if r["level"] == 2)
    set_filter(browser, level="none")
    assert sorted(visible_ids(browser)) == sorted(i for i, r in results.items() if r["level"] is None)

    set_filter(browser, query="5.4")  # a CIS id: exactly that recommendation
    assert visible_ids(browser) == ["findings-container-capabilities-restricted"]
    set_filter(browser, query="5.1")  # a CIS section: 5.1 and 5.1.x, not 5.10-5.19
    assert sorted(visible_ids(browser)) == sorted(i for i, r in results.items() if any(c["id"] == "5.1" or c["id"].startswith("5.1.") for c in r["cis"]))
    set_filter(browser, query="PIDMODE=HOST")  # free text, any case: message, evidence, ids
    assert visible_ids(browser) == ["findings-container-no-host-pid"]
    set_filter(browser, statuses=[], query="")
    assert visible_ids(browser) == []
    assert browser.js("return document.querySelector('.fgroup .empty').hidden") is False

    browser.css("#reset").click()
    assert len(visible_ids(browser)) == doc["summary"]["total"]
    assert 0 <= browser.js("return window.dockbenchFilterMs") < 1000
    no_console_errors(browser)


def test_host_report_details_expand_to_evidence_and_remediation(real, browser, tmp_path):
    doc = real["reports"]["both"]
    browser.open(rendered(doc, tmp_path / "host.html"))
    finding = browser.css("#findings-container-no-host-pid")
    body = browser.css("#findings-container-no-host-pid .d")
    assert finding.get_attribute("open") is None and not body.is_displayed()
    browser.css("#findings-container-no-host-pid > summary").click()
    assert finding.get_attribute("open") is not None and body.is_displayed()
    text = body.text
    result = next(r for r in doc["results"] if r["id"] == "container-no-host-pid")
    assert result["rationale"] in text and result["remediation"] in text
    assert f"{real['names']['risky']} PidMode=host" in text  # subject and observed cells
    assert "5.16 (cis-docker-1.6.0, level 1, manual)" in text  # the CIS document's assessment
    # in CIS order, as the benchmark lists its recommendations, the checks beyond CIS last (failures came first before)
    cis = browser.js("return Array.from(document.querySelectorAll('.f')).map(e => e.dataset.cis)")
    keys = [(0, min(tuple(int(p) for p in c.split(".")) for c in ids.split())) if ids else (1,) for ids in cis]
    assert keys == sorted(keys) and len(keys) == doc["summary"]["total"] and keys[0][0] == 0 and keys[-1] == (1,)
    browser.shot(tmp_path / "render-host.png")
    browser.shot(tmp_path / "render-host-full.png", full_page=True)
    browser.css("#expand").click()
    assert browser.js("return Array.from(document.querySelectorAll('.f')).every(e => e.open)")
    browser.css("#collapse").click()
    assert browser.js("return Array.from(document.querySelectorAll('.f')).every(e => !e.open)")


class _Trap(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):
        _Trap.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_page_makes_no_request_and_its_policy_forbids_any(real, browser, tmp_path):
    browser.open(rendered(real["reports"]["both"], tmp_path / "host.html"))
    assert browser.js("return performance.getEntriesByType('resource').length") == 0
    assert browser.js("return document.getElementById('shown').textContent") != ""  # its own script ran under the policy
    no_console_errors(browser)
    # Anything that would try to fetch is refused by the page's Content-Security-Policy: a loopback
    # server of our own sees no request, and the browser reports each violation.
    server = http.server.HTTPServer(("127.0.0.1", 0), _Trap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        blocked = browser.driver.execute_async_script("""
            const [url, done] = arguments, seen = [];
            document.addEventListener('securitypolicyviolation', e => seen.push(e.violatedDirective));
            const img = document.createElement('img'); img.src = url + 'img'; document.body.append(img);
            const s = document.createElement('link'); s.rel = 'stylesheet'; s.href = url + 'css'; document.head.append(s);
            fetch(url + 'fetch').then(() => seen.push('fetch went through'), () => seen.push('fetch refused'))
                .finally(() => setTimeout(() => done(seen), 300));
        """, url)
        time.sleep(0.3)
    finally:
        server.shutdown()
    assert _Trap.hits == []
    assert "fetch refused" in blocked and {"img-src", "style-src-elem", "connect-src"} <= set(blocked)


@pytest.fixture(scope="module")
def fleet(real):
    r = real["reports"]
    hosts = [sweepdoc.as_host(r["web"], "web-02"), sweepdoc.as_host(r["both"], "web-01"), sweepdoc.as_host(r["risky"], "build-01")]
    errors = [sweepdoc.error_entry("ssh://root@db-01", "host_key_changed", "the host key of db-01 changed: refusing to connect", name="db-01"),
              sweepdoc.error_entry("ssh://root@db-02", "timeout", "no answer within 10 s")]
    document = sweepdoc.sweep(hosts, errors)
    jsonschema.validate(document, report_mod.schema())
    return document


def host_sections(browser) -> list[tuple[str, bool]]:
    return browser.js("return Array.from(document.querySelectorAll('details.host')).map(d => [d.id, d.hidden])")


def test_fleet_report_matrix_worst_first_and_click_through_to_a_host(fleet, browser, tmp_path):
    hosts = fleet["hosts"]
    ranked = sorted(hosts, key=render.badness)
    browser.open(rendered(fleet, tmp_path / "fleet.html"))
    rows = browser.js("return Array.from(document.querySelectorAll('table.matrix tr')).slice(1).map(tr => [tr.cells[0].textContent, tr.querySelector('a').getAttribute('href')])")
    assert [label for label, _ in rows] == [render.host_label(h) for h in ranked]
    assert rows[-1][0] == "web-02"  # the hardened container alone: fewest failures
    cells = browser.js("return Array.from(document.querySelectorAll('table.matrix tr:nth-child(2) td.w')).map(td => td.className)")
    assert cells == [f"w {render.worst_status(c)}" for c in ranked[0]["summary"]["by_layer"].values()]
    unreachable = browser.css("#unreachable + table").text
    assert "ssh://root@db-01" in unreachable and "host key changed" in unreachable and "refusing to connect" in unreachable
    assert "no answer within 10 s" in unreachable
    total = sum(h["summary"]["total"] for h in hosts)
    assert browser.js("return document.getElementById('shown').textContent").startswith(f"{total} of {total} findings on 3 of 3 hosts")
    browser.shot(tmp_path / "render-fleet.png")

    href = dict(rows)["web-02"]
    section = browser.css(href)
    assert section.get_attribute("open") is None
    browser.css(f"table.matrix a[href='{href}']").click()
    assert wait_for(browser, "return arguments[0].open && arguments[0].querySelectorAll('.x').length", section)
    assert browser.js("return location.hash") == href
    assert "web-02" in section.find_element("css selector", "h3").text
    assert browser.js("const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight", section)
    ids = browser.js("return Array.from(arguments[0].querySelectorAll('.x')).map(e => e.id)", section)
    assert ids == [f"{href[1:]}-{r['id']}" for r in render.sorted_results(hosts[0]["results"])]
    first = section.find_element("css selector", ".x")
    first.find_element("css selector", "summary").click()
    assert first.find_element("css selector", ".d").is_displayed()
    browser.shot(tmp_path / "render-fleet-host.png")
    no_console_errors(browser)


def test_fleet_report_one_check_across_hosts(fleet, browser, tmp_path):
    hosts = fleet["hosts"]
    browser.open(rendered(fleet, tmp_path / "fleet.html"))
    failing = [h for h in hosts if next(x for x in h["results"] if x["id"] == "container-no-host-pid")["status"] == "FAIL"]
    assert len(failing) == 2
    # which hosts fail 5.16? the check, and only the hosts that fail it
    set_filter(browser, statuses=["FAIL"], query="5.16")
    assert visible_ids(browser) == ["c-container-no-host-pid"]
    anchors = {render.host_label(h): f"h{i + 1}" for i, h in enumerate(sorted(hosts, key=render.badness))}
    shown = [sid for sid, hidden in host_sections(browser) if not hidden]
    assert shown == sorted(anchors[render.host_label(h)] for h in failing)
    assert browser.js("return document.getElementById('shown').textContent").startswith("2 of ")

    check = browser.css("#c-container-no-host-pid")
    check.find_element("css selector", "summary").click()
    assert wait_for(browser, "return arguments[0].querySelectorAll('.hl tr').length", check)
    listed = browser.js("return Array.from(arguments[0].querySelectorAll('.hl tr')).slice(1).map(tr => tr.cells[0].textContent)", check)
    assert listed == [render.host_label(h) for h in sorted(failing, key=render.badness)]
    assert "FAIL on 2 · PASS on 1 of 3 hosts" in check.find_element("css selector", "summary").text
    browser.shot(tmp_path / "render-fleet-check.png")

    # from the check to that host's finding: the host opens with only the findings the filters keep
    link = check.find_element("css selector", ".hl a")
    target = link.get_attribute("href").split("#")[1]
    link.click()
    assert wait_for(browser, "const e = document.getElementById(arguments[0]); return e && e.open", target)
    section = browser.css("#" + target.split("-")[0])
    assert browser.js("return Array.from(arguments[0].querySelectorAll('.x')).map(e => e.id)", section) == [target]
    set_filter(browser)  # all again: the open host shows all its findings
    assert browser.js("return arguments[0].querySelectorAll('.x').length", section) > 1
    assert [hidden for _, hidden in host_sections(browser)] == [False, False, False]
    set_filter(browser, query="build-01")  # a host name: that host's findings only, and the checks it has
    assert [sid for sid, hidden in host_sections(browser) if not hidden] == [anchors["build-01"]]
    assert sorted(visible_ids(browser)) == sorted(f"c-{r['id']}" for r in hosts[2]["results"])
    set_filter(browser, statuses=["FAIL"], query="pidmode=host")  # evidence text: the check and the hosts it was seen on
    assert visible_ids(browser) == ["c-container-no-host-pid"]
    assert [sid for sid, hidden in host_sections(browser) if not hidden] == sorted(anchors[render.host_label(h)] for h in failing)
    no_console_errors(browser)


def test_fleet_print_renders_what_the_filters_keep_all_expanded(fleet, browser, tmp_path):
    browser.open(rendered(fleet, tmp_path / "fleet.html"))
    hosts = fleet["hosts"]
    for statuses, expected in ((["FAIL"], fleet["summary"]["by_status"]["FAIL"]), (None, sum(h["summary"]["total"] for h in hosts))):
        set_filter(browser, statuses=statuses)
        browser.js("window.dispatchEvent(new Event('beforeprint'))")
        assert browser.js("return document.querySelectorAll('details.host[open] .x').length") == expected
        assert browser.js("return Array.from(document.querySelectorAll('details:not([hidden])')).every(d => d.open)")
        assert browser.js("return document.querySelectorAll('details.f:not([hidden]) .hl table, details.f:not([hidden]) .hl .none').length") == \
            browser.js("return document.querySelectorAll('details.f:not([hidden])').length") > 0
        browser.media("print")
        try:
            assert browser.js("return Array.from(document.querySelectorAll('details.host')).every(d => d.checkVisibility())")
            assert browser.js("return document.getElementById('filters').checkVisibility()") is False
            assert browser.css("#printed").text == ("Printed with filters: status FAIL." if statuses else "All findings.")
        finally:
            browser.media("")
        if statuses is None:
            pdf = browser.pdf(tmp_path / "render-fleet.pdf")
            assert pdf.read_bytes().startswith(b"%PDF")
        browser.js("window.dispatchEvent(new Event('afterprint'))")
        assert browser.js("return document.querySelectorAll('details.host[open], .x[open]').length") == 0


def test_print_layout_expands_what_the_filters_keep_and_drops_the_controls(real, browser, tmp_path):
    doc = real["reports"]["both"]
    browser.open(rendered(doc, tmp_path / "host.html"))
    visible_bodies = "return Array.from(document.querySelectorAll('.f .d')).filter(d => d.checkVisibility()).length"
    assert browser.js(visible_bodies) == 0
    for statuses, expected, note in ((["FAIL", "ERROR"], doc["summary"]["by_status"]["FAIL"] + doc["summary"]["by_status"]["ERROR"], "Printed with filters: status FAIL, ERROR."),
                                     (None, doc["summary"]["total"], "All findings.")):
        set_filter(browser, statuses=statuses)
        browser.media("print")  # CSS alone (no beforeprint): every kept finding's details show
        try:
            assert browser.js("return document.getElementById('filters').checkVisibility()") is False
            assert browser.js(visible_bodies) == expected
            assert browser.css("#printed").text == note
        finally:
            browser.media("")
    browser.js("window.dispatchEvent(new Event('beforeprint'))")
    assert browser.js("return Array.from(document.querySelectorAll('details')).every(d => d.open)")
    browser.js("window.dispatchEvent(new Event('afterprint'))")
    pdf = browser.pdf(tmp_path / "render-host.pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
    assert browser.js("return Array.from(document.querySelectorAll('.f')).every(e => !e.open)")  # afterprint closed them again


@pytest.mark.parametrize("kind", ["host", "sweep"])
def test_hostile_host_data_is_shown_as_text_and_never_runs(real, browser, tmp_path, kind):
    names = real["names"]
    hostile = real["reports"]["hostile"]
    mounts = next(x for x in hostile["results"] if x["id"] == "container-docker-socket-not-mounted")
    assert mounts["status"] == "FAIL" and all(p in json.dumps(mounts["evidence"], ensure_ascii=False) for p in PAYLOADS + PWNED)
    edited = hostile_edit(hostile)
    if kind == "host":
        document = edited
    else:
        document = sweepdoc.sweep([edited, sweepdoc.as_host(real["reports"]["web"], f"web{PWNED[3]}")],
                                  [sweepdoc.error_entry(f"ssh://root@{PWNED[1]}", "probe_malformed", " ".join(PWNED), name=PWNED[0])])
    jsonschema.validate(document, report_mod.schema())
    browser.open(rendered(document, tmp_path / f"hostile-{kind}.html"))
    anchor = "findings" if kind == "host" else f"h{sorted(document['hosts'], key=render.badness).index(edited) + 1}"
    if kind == "sweep":  # host findings become markup when opened: open them all, and every check
        browser.js("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        wait_for(browser, "return document.querySelectorAll('details.host .x').length === arguments[0]", sum(len(h["results"]) for h in document["hosts"]))
    browser.css("#expand").click()
    time.sleep(0.5)  # an onerror handler would have fired by now
    assert browser.js("return typeof window.__pwned") == "undefined"
    assert browser.js("return document.querySelectorAll('script:not([type=\"application/json\"])').length") == 1
    assert browser.js("return document.querySelectorAll('img, svg:not(.chart)').length") == 0
    text = browser.js("return document.body.textContent")
    for payload in PAYLOADS + PWNED:
        assert payload in text
    # the real container's bind-mount sources, exactly as Docker reported them
    offender = mounts["evidence"][0]
    assert offender["subject"] == names["hostile"]
    cell = browser.js("return document.querySelector(arguments[0]).textContent",
                      f"#{anchor}-container-docker-socket-not-mounted td.o")
    assert cell.split("\n") == [x for x in offender["observed"]]
    assert browser.js("return document.title").startswith("dockbench")
    if kind == "host":
        assert browser.css("h1").text.startswith(f"host{PWNED[0]}")
    browser.shot(tmp_path / f"render-hostile-{kind}.png")
    no_console_errors(browser)
