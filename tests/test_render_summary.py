"""The HTML host report as a deliverable, in headless Chromium: the summary it opens with
(scope, scores, top findings, the change since the previous archived scan), the findings in CIS
order and sorted by a column, and the printed report (a PDF from Chromium, read with pdftotext)
with every finding and the sign-off block.

The archive holds two real `dockbench scan`s of the test daemon, with a real waiver file:
before and after a container with --pid host starts; the pages come from `scan` itself, from
`dockbench show` and, without the archive, from `dockbench report`.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import unicodedata

import pytest
import yaml

from tests.browser import Browser
from tests.cli_run import dockbench, load_report

CHECK = "container-no-host-pid"
GRAVITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}
STATUSES = ["FAIL", "ERROR", "MANUAL", "PASS", "NOT_APPLICABLE"]
LAYERS = ["host_kernel", "daemon_config", "socket_permissions", "tls", "registries", "containers", "images", "swarm", "operations"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium"))
    yield b
    b.quit()


@pytest.fixture(scope="module")
def scans(docker_daemon, real, tmp_path_factory):
    """Two archived scans of one host, each writing its HTML page as it is stored."""
    d = docker_daemon
    tmp = tmp_path_factory.mktemp("summary")
    # waive a host-wide FAIL of a real scan of this daemon: it fails in both scans
    waived = next(r for r in real["reports"]["web"]["results"] if r["status"] == "FAIL" and r["layer"] in ("host_kernel", "daemon_config"))
    waivers = tmp / "waivers.yaml"
    waivers.write_text(yaml.safe_dump({"waivers": [{"id": "accepted-one", "check": waived["id"], "justification": "reviewed by the platform team",
                                                    "owner": "platform", "expires": "2099-12-31"}]}))
    started = [d.run_container("sum-calm")]
    common = ["scan", "--docker-host", d.host, "--container", d.name("sum-*"), "--archive", tmp / "archive.sqlite3", "--waivers", waivers,
              "--exclude", "swarm", "-q", "--fail-on", "never"]
    first = dockbench(*common, "-o", tmp / "r1.json", "-o", tmp / "r1.html")
    assert first.returncode == 0, first.stderr
    started.append(d.run_container("sum-pidhost", "--pid", "host"))
    second = dockbench(*common, "-o", tmp / "r2.json", "-o", tmp / "r2.html")
    assert second.returncode == 0, second.stderr
    yield {"tmp": tmp, "archive": tmp / "archive.sqlite3", "r1": load_report(tmp / "r1.json"), "r2": load_report(tmp / "r2.json"),
           "waived": waived["id"], "selection": d.name("sum-*")}
    d.remove(started)


def summary_of(browser) -> dict:
    """What the summary shows, read from the page."""
    return browser.js("""
        const rows = sel => Array.from(document.querySelectorAll(sel + ' tr')).map(tr => Array.from(tr.cells).map(c => c.textContent));
        const items = sel => Array.from(document.querySelectorAll(sel + ' li')).map(li => ({
            id: li.querySelector('a').getAttribute('href').replace('#findings-', ''),
            severity: li.querySelector('.sev').textContent, cis: li.querySelector('.cis-id').textContent, text: li.textContent}));
        const box = document.getElementById('summary').getBoundingClientRect();
        return {scope: rows('#summary-scope'), scores: rows('#summary-score'), top: items('#summary-failures'),
                failures: document.getElementById('summary-failures').textContent, since: document.getElementById('summary-since').textContent,
                newly: items('#summary-since ul:nth-of-type(1)'), bottom: box.bottom, screen: window.innerHeight};
    """)


def check_top_findings(shown: list[dict], report: dict) -> None:
    """The worst FAILs first: unwaived FAILs, gravest first, none left out that is graver than the last shown."""
    results = {r["id"]: r for r in report["results"]}
    open_fails = [r for r in report["results"] if r["status"] == "FAIL" and not r.get("waived")]
    assert len(shown) == min(5, len(open_fails)) > 0
    assert all(results[item["id"]]["status"] == "FAIL" and not results[item["id"]].get("waived") for item in shown)
    ranks = [GRAVITY[item["severity"]] for item in shown]
    assert ranks == sorted(ranks)
    listed = {item["id"] for item in shown}
    assert not [r for r in open_fails if r["id"] not in listed and GRAVITY[r["severity"]] < ranks[-1]]
    for item in shown:  # each with its CIS id as the report's benchmark numbers it
        ids = [c["id"] for c in results[item["id"]]["cis"]]
        assert item["cis"] == ("CIS " + ", ".join(ids) if ids else "beyond CIS")
        assert item["severity"] == results[item["id"]]["severity"]


def test_the_summary_from_the_archive_states_scope_scores_top_findings_and_what_changed(scans, browser, tmp_path):
    r1, r2 = scans["r1"], scans["r2"]
    diff = json.loads(dockbench("diff", r1["scan_id"], r2["scan_id"], "--archive", scans["archive"], "--json").stdout)
    assert CHECK in [c["id"] for c in diff["newly_failing"]]
    shown = dockbench("show", r2["scan_id"][:8], "--archive", scans["archive"], "-o", tmp_path / "show2.html")
    assert shown.returncode == 0, shown.stderr
    for page in (scans["tmp"] / "r2.html", tmp_path / "show2.html"):  # as `scan` wrote it, and as `show` renders it again
        browser.open(page)
        seen = summary_of(browser)
        assert seen["bottom"] <= seen["screen"]  # one screen, at the top of the page
        assert dict(seen["scope"]) == {
            "benchmark": f"{r2['benchmark']['title']} ({r2['benchmark']['id']})", "CIS level": "1 and 2", "include": "every check",
            "exclude": "swarm", "containers": f"running containers named {scans['selection']}", "checks judged": str(r2["summary"]["total"])}
        scores = {row[0]: row[1] for row in seen["scores"]}
        assert scores == {"score": f"{r2['summary']['score']:.1f}%", "with waivers": f"{r2['summary']['score_with_waivers']:.1f}%"}
        assert r2["summary"]["score_with_waivers"] != r2["summary"]["score"]
        check_top_findings(seen["top"], r2)
        assert "1 waived failure(s) not listed" in seen["failures"]
        assert f"Since scan {r1['scan_id'][:8]} of {r1['started_at']}: score {r1['summary']['score']:.1f}% → {r2['summary']['score']:.1f}%" in seen["since"]
        assert f"newly failing {len(diff['newly_failing'])}" in seen["since"] and f"fixed {len(diff['fixed'])}" in seen["since"]
        newly = [item["id"] for item in seen["newly"]]
        assert CHECK in newly and set(newly) <= {c["id"] for c in diff["newly_failing"]}
        assert [GRAVITY[item["severity"]] for item in seen["newly"]] == sorted(GRAVITY[item["severity"]] for item in seen["newly"])
        assert [e for e in browser.console() if e["level"] == "SEVERE"] == []
    browser.shot(tmp_path / "summary-since.png")

    browser.open(scans["tmp"] / "r1.html")  # the host's first scan: nothing to compare with, and the page says so
    assert "this is the first scan of this host in the archive" in summary_of(browser)["since"]
    alone = tmp_path / "alone.html"  # rendered from the report alone: no previous scan is known
    assert dockbench("report", scans["tmp"] / "r2.json", "-o", alone).returncode == 0
    browser.open(alone)
    seen = summary_of(browser)
    assert "No previous scan known" in seen["since"] and f"dockbench show {r2['scan_id']}" in seen["since"]
    assert dict(seen["scope"]) == {  # the report states its own scope (schema 1.3): the same rows as the archive's
        "benchmark": f"{r2['benchmark']['title']} ({r2['benchmark']['id']})", "CIS level": "1 and 2", "include": "every check",
        "exclude": "swarm", "containers": f"running containers named {scans['selection']}", "checks judged": str(r2["summary"]["total"])}
    check_top_findings(seen["top"], r2)


def test_the_summary_shows_a_scope_block_and_attestations_when_the_report_has_them(real, browser, tmp_path):
    report = copy.deepcopy(real["reports"]["both"])
    report["scope"] = dict(report["scope"], level=2, include=[], exclude=[], include_stopped=True, containers=["web*", "risky*"], labels=[])
    manual = [r for r in report["results"] if r["status"] == "MANUAL"][:2]
    for r in manual:  # a person attested two MANUAL results as passing
        r.update(status="PASS", attested_from="MANUAL", attestation={"by": "alice", "on": "2026-11-20", "statement": "checked <b>by hand</b>"})
    report["summary"]["by_status"]["MANUAL"] -= 2
    report["summary"]["by_status"]["PASS"] += 2
    counts = report["summary"]["by_status"]
    report["summary"]["score"] = round(100 * counts["PASS"] / (counts["PASS"] + counts["FAIL"]), 1)
    source = tmp_path / "attested.json"
    source.write_text(json.dumps(report))
    assert dockbench("report", source, "-o", tmp_path / "attested.html").returncode == 0
    browser.open(tmp_path / "attested.html")
    seen = summary_of(browser)
    benchmark = report["benchmark"]
    assert seen["scope"] == [["benchmark", f"{benchmark['title']} ({benchmark['id']})"], ["CIS level", "2"], ["include", "every check"], ["exclude", "nothing"],
                             ["containers", "running or stopped containers named web*, risky*"], ["checks judged", str(report["summary"]["total"])]]
    judged = real["reports"]["both"]["summary"]["score"]
    assert {row[0]: row[1] for row in seen["scores"]} == {"score": f"{report['summary']['score']:.1f}%", "without attestations": f"{judged:.1f}%"}
    for r in manual:
        body = browser.js("return document.querySelector(arguments[0]).textContent", f"#findings-{r['id']} .attested")
        assert "judged MANUAL" in body and "checked <b>by hand</b>" in body and "alice" in body
    assert browser.js("return document.querySelectorAll('.attested b b').length") == 0  # the statement stays text


def ranks(browser) -> list[dict]:
    return browser.js("""return Array.from(document.querySelectorAll('#findings > .f')).map(e => ({
        id: e.id.replace('findings-', ''), s: e.dataset.s, v: e.dataset.v, l: e.dataset.l, cis: e.dataset.cis}))""")


def cis_key(row: dict) -> tuple:
    """CIS order, written out again: by the first CIS id as numbers, the checks beyond CIS last."""
    ids = [tuple(int(p) for p in c.split(".")) for c in row["cis"].split()]
    return (0, min(ids)) if ids else (1, ())


def test_findings_are_in_cis_order_and_sort_by_a_column_header(real, browser, tmp_path):
    report = real["reports"]["both"]
    page = tmp_path / "host.html"
    page.with_suffix(".json").write_text(json.dumps(report))
    assert dockbench("report", page.with_suffix(".json"), "-o", page).returncode == 0
    browser.open(page)
    rows = ranks(browser)
    assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in report["results"])
    keys = [cis_key(r) for r in rows]
    assert keys == sorted(keys) and keys[0][0] == 0 and keys[-1][0] == 1  # CIS ids in their order, then the checks beyond CIS
    beyond = [r for r in rows if not r["cis"]]
    assert [LAYERS.index(r["l"]) for r in beyond] == sorted(LAYERS.index(r["l"]) for r in beyond)
    assert browser.js("return document.querySelector('[aria-sort=ascending] button').dataset.sort") == "cis"

    orders = {"status": lambda r: STATUSES.index(r["s"]), "severity": lambda r: GRAVITY[r["v"]], "layer": lambda r: LAYERS.index(r["l"]),
              "check": lambda r: r["id"], "cis": cis_key}
    for column, key in orders.items():
        browser.css(f"button[data-sort={column}]").click()
        rows = ranks(browser)
        assert [key(r) for r in rows] == sorted(key(r) for r in rows), column
        if column != "cis":  # ties keep CIS order
            for a, b in zip(rows, rows[1:]):
                assert key(a) != key(b) or cis_key(a) <= cis_key(b), (column, a, b)
        browser.css(f"button[data-sort={column}]").click()  # again: the other way round
        backwards = [key(r) for r in ranks(browser)]
        assert backwards == sorted(backwards, reverse=True), column
        assert browser.js("return document.querySelector('[aria-sort=descending] button').dataset.sort") == column
    browser.css("button[data-sort=status]").click()
    assert ranks(browser)[0]["s"] == "FAIL"
    browser.shot(tmp_path / "summary-sorted-by-status.png")
    # sorting leaves the filters working: only FAILs, still in status order
    browser.js("document.querySelectorAll('input[name=status]').forEach(b => { b.checked = b.value === 'FAIL'; });"
               "document.getElementById('filters').dispatchEvent(new Event('change', {bubbles: true}))")
    visible = browser.js("return Array.from(document.querySelectorAll('#findings > .f')).filter(e => !e.hidden).map(e => e.dataset.s)")
    assert visible == ["FAIL"] * report["summary"]["by_status"]["FAIL"]
    assert [e for e in browser.console() if e["level"] == "SEVERE"] == []


def pdf_text(path) -> str:
    """The PDF's text in the order Chromium drew it (-raw: a check id broken over two lines of
    its column stays one word), for comparing: NFKC (ligatures as letters), without whitespace
    or hyphens (where a line broke)."""
    assert shutil.which("pdftotext"), "pdftotext not found: install poppler-utils (tests/run.sh does)"
    text = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return flat(text)


def flat(text: str) -> str:
    return re.sub(r"[\s\-\u00ad]+", "", unicodedata.normalize("NFKC", text))


def test_the_printed_report_has_every_finding_with_its_evidence_and_a_sign_off(scans, browser, tmp_path):
    report = scans["r2"]
    browser.open(scans["tmp"] / "r2.html")
    pdf = browser.pdf(tmp_path / "report.pdf")  # Chromium's own print to PDF: print media, no script run for it
    text = pdf_text(pdf)
    for r in report["results"]:
        assert flat(r["id"]) in text and flat(r["message"]) in text, r["id"]
        for e in r["evidence"]:
            assert flat(str(e["subject"])) in text, (r["id"], e["subject"])
        assert flat(r["remediation"]) in text, r["id"]
    for words in ("Sign-off", "Auditor", "Reviewed by", "Signature", "Date", f"scan {report['scan_id']}", "Summary", "Top findings"):
        assert flat(words) in text, words
    assert text.rindex(flat("Reviewed by")) > max(text.rindex(flat(r["id"])) for r in report["results"])  # the sign-off comes last
    for control in ("expand all", "collapse all"):
        assert flat(control) not in text, control
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Top findings" in first and "Since the previous scan" in first and int(re.search(r"Pages:\s+(\d+)", pages).group(1)) > 5
    browser.shot(tmp_path / "summary-print-source.png")
