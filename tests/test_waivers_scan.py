"""Waivers on real scans: containers on the test daemon that pass and fail, every output format,
the archive (history, diff, reevaluate, the hash chain), a sweep of real sshd hosts with host
globs, and the HTML "waived" filter in headless Chromium.

Two containers run with --pid host ("agent" and "other"), one without ("calm"). The scans judge
three container checks only, so the exit code depends on container-no-host-pid alone.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import tempfile
import xml.etree.ElementTree as ET
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from tests.browser import Browser, wait_for
from tests.cli_run import by_id, dockbench, load_report
from tests.support.sshd import Lab

CHECK = "container-no-host-pid"
ONLY = ("--include", CHECK, "--include", "container-not-privileged", "--include", "container-no-host-ipc")
HOSTILE = "=HYPERLINK(\"http://x\") <img src=x onerror=alert(1)> **bold** ticket SEC-1"
FORMATS = (".json", ".html", ".xml", ".csv", ".md")


def waiver_file(path: Path, *entries: dict) -> Path:
    path.write_text(yaml.safe_dump({"waivers": list(entries)}))
    return path


def entry(id, containers=None, expires="2099-12-31", **extra) -> dict:
    out = {"id": id, "check": CHECK, "justification": extra.pop("justification", "node exporter reads the host's processes; SEC-1234"),
           "owner": extra.pop("owner", "platform-security"), "expires": expires, **extra}
    if containers:
        out["containers"] = containers
    return out


@pytest.fixture(scope="module")
def scans(docker_daemon, tmp_path_factory):
    d = docker_daemon
    tmp = tmp_path_factory.mktemp("waiver-scans")
    started = [d.run_container("wv-calm"), d.run_container("wv-agent", "--pid", "host"), d.run_container("wv-other", "--pid", "host")]
    yesterday = (datetime.now(timezone.utc).date() - timedelta(days=1)).isoformat()
    files = {
        "none": None,
        "one": waiver_file(tmp / "one.yaml", entry("agent-pid", [d.name("wv-agent")])),
        "both": waiver_file(tmp / "both.yaml", entry("agent-pid", [d.name("wv-agent")]),
                            entry("other-pid", ["*-wv-other"], owner="team <b>ops</b>", justification=HOSTILE)),
        "expired": waiver_file(tmp / "expired.yaml", entry("agent-pid", ["*-wv-*"], expires=yesterday)),
    }
    archive = tmp / "archive.sqlite3"
    runs = {}
    for name, path in files.items():   # in this order: the archive's history follows it
        outputs = [a for ext in FORMATS for a in ("-o", tmp / f"{name}{ext}")]
        args = ["scan", "--docker-host", d.host, "--container", d.name("wv-*"), *ONLY, "--archive", archive, *outputs]
        done = dockbench(*args, *(("--waivers", path) if path else ()))
        assert done.returncode in (0, 1), done.stderr
        runs[name] = {"done": done, "report": load_report(tmp / f"{name}.json"), "out": {ext: tmp / f"{name}{ext}" for ext in FORMATS}}
    yield {"daemon": d, "tmp": tmp, "files": files, "archive": archive, "runs": runs, "names": started, "yesterday": yesterday}
    d.remove(started)


def arch(scans, *args):
    return dockbench(*args, "--archive", scans["archive"])


def test_a_waiver_for_one_of_two_offenders_leaves_the_check_failing(scans):
    d, run = scans["daemon"], scans["runs"]["one"]
    result = by_id(run["report"])[CHECK]
    assert (result["status"], result["waived"]) == ("FAIL", False)
    assert sorted((e["subject"], e["observed"], e.get("waiver")) for e in result["evidence"]) == [
        (d.name("wv-agent"), "PidMode=host", "agent-pid"), (d.name("wv-other"), "PidMode=host", None)]
    assert run["done"].returncode == 1
    assert f"- {d.name('wv-agent')}: PidMode=host  (waived: agent-pid)" in run["done"].stdout
    assert run["report"]["summary"]["waived"]["total"] == 0


def test_waivers_for_every_offender_waive_the_check_and_the_exit_code(scans):
    runs = scans["runs"]
    assert [runs[n]["done"].returncode for n in ("none", "one", "both", "expired")] == [1, 1, 0, 1]
    both = runs["both"]["report"]
    result = by_id(both)[CHECK]
    assert (result["status"], result["waived"], [w["id"] for w in result["waivers"]]) == ("FAIL", True, ["agent-pid", "other-pid"])
    assert result["message"] == by_id(runs["none"]["report"])[CHECK]["message"] == "2 of 3 containers share the host's process namespace"
    assert by_id(both)["container-not-privileged"]["status"] == "PASS" and "waivers" not in by_id(both)["container-not-privileged"]
    summary = both["summary"]
    assert (summary["by_status"]["FAIL"], summary["waived"]["total"], summary["score"], summary["score_with_waivers"]) == (1, 1, 66.7, 100.0)
    out = runs["both"]["done"].stdout
    assert "waived 1   (3 checks, score 66.7%, 100.0% with waivers)" in out
    assert f"FAIL  {CHECK}  waiver agent-pid · owner platform-security · expires 2099-12-31" in out
    assert "FAIL  container-no-host-pid (CIS 5.16)" not in out   # not among the findings to fix


def test_an_expired_waiver_counts_as_none_and_is_listed(scans):
    run = scans["runs"]["expired"]
    assert "waivers" not in by_id(run["report"])[CHECK]
    assert run["report"]["waivers"]["entries"][0]["state"] == "expired"
    assert f"waiver expired: agent-pid ({CHECK}, owner platform-security, expires {scans['yesterday']}): counts as no waiver" in run["done"].stdout


def test_junit_skips_a_waived_check_with_its_justification(scans):
    suite = ET.parse(scans["runs"]["both"]["out"][".xml"]).getroot().find("testsuite")
    case = next(c for c in suite.iter("testcase") if c.get("name") == CHECK)
    skipped = case.find("skipped")
    assert case.find("failure") is None and skipped is not None
    assert skipped.get("message") == f"waived: agent-pid: node exporter reads the host's processes; SEC-1234; waived: other-pid: {HOSTILE}"
    assert "PidMode=host" in skipped.text
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "1")
    partly = ET.parse(scans["runs"]["one"]["out"][".xml"]).getroot().find("testsuite")
    case = next(c for c in partly.iter("testcase") if c.get("name") == CHECK)
    assert case.find("failure") is not None and "(waived: agent-pid)" in case.find("failure").text
    assert "partly waived: agent-pid" in case.find("failure").text


def test_csv_has_waiver_columns_that_cannot_become_formulas(scans):
    rows = list(csv.DictReader(io.StringIO(scans["runs"]["both"]["out"][".csv"].read_text())))
    row = next(r for r in rows if r["check_id"] == CHECK)
    assert (row["status"], row["waived"], row["waiver_ids"], row["waiver_expires"]) == ("FAIL", "yes", "agent-pid | other-pid", "2099-12-31 | 2099-12-31")
    assert row["waiver_owners"] == "platform-security | team <b>ops</b>"
    assert row["waiver_justifications"].endswith(HOSTILE)
    assert next(r for r in rows if r["check_id"] == "container-not-privileged")["waived"] == ""
    partly = list(csv.DictReader(io.StringIO(scans["runs"]["one"]["out"][".csv"].read_text())))
    assert next(r for r in partly if r["check_id"] == CHECK)["waived"] == "partly"
    hostile = dict(scans["runs"]["both"]["report"], results=[dict(r, waivers=[dict(r["waivers"][1], justification=HOSTILE)]) for r in scans["runs"]["both"]["report"]["results"] if r.get("waived")])
    source = scans["tmp"] / "formula.json"
    source.write_text(json.dumps(hostile))
    dockbench("report", source, "-o", scans["tmp"] / "formula.csv")
    cell = next(csv.DictReader(io.StringIO((scans["tmp"] / "formula.csv").read_text())))["waiver_justifications"]
    assert cell.startswith("'=HYPERLINK")


def test_markdown_has_a_waived_section_with_escaped_justification(scans):
    text = scans["runs"]["both"]["out"][".md"].read_text()
    assert "## Waived (accepted risks) (1)" in text and "## Failures" not in text
    assert "score with waivers 100.0%" in text
    assert "Waived by other-pid · owner team &lt;b&gt;ops&lt;/b&gt; · expires 2099-12-31: " in text
    assert "<img" not in text and "&lt;img src=x onerror=alert\\(1\\)&gt; \\*\\*bold\\*\\*" in text
    assert "## Waivers to review" in scans["runs"]["expired"]["out"][".md"].read_text()


def test_html_shows_badge_details_and_escapes_the_justification(scans):
    page = scans["runs"]["both"]["out"][".html"].read_text()
    assert '<span class="wb">waived</span>' in page and 'id="f-waived"' in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "team &lt;b&gt;ops&lt;/b&gt;" in page
    assert "100.0% with waivers" in page
    expired = scans["runs"]["expired"]["out"][".html"].read_text()
    assert f"Waiver <b>agent-pid</b> ({CHECK}, owner platform-security) expired on {scans['yesterday']}" in expired


def test_history_tells_newly_waived_and_waiver_expired_apart(scans):
    host = scans["runs"]["none"]["report"]["target"]["hostname"]
    rows = json.loads(arch(scans, "history", "--host", host, "--check", CHECK, "--json").stdout)
    assert [(r["check"]["status"], r["check"]["waived"], r["check"]["change"]) for r in rows] == [
        ("FAIL", False, None), ("FAIL", False, None), ("FAIL", True, "newly waived"), ("FAIL", False, "waiver expired")]
    table = arch(scans, "history", "--host", host, "--check", CHECK).stdout.splitlines()
    assert table[-2].split()[-4:] == ["FAIL", "(waived)", "newly", "waived"] and table[-1].split()[-3:] == ["FAIL", "waiver", "expired"]
    listing = arch(scans, "history", "--host", host).stdout.splitlines()
    assert listing[0].split()[3:10] == ["FAIL", "ERROR", "MANUAL", "PASS", "N/A", "waived", "score"]
    assert [line.split()[8] for line in listing[1:]] == ["0", "0", "1", "0"]


def test_diff_tells_newly_waived_and_waiver_expired_apart(scans):
    ids = [scans["runs"][n]["report"]["scan_id"] for n in ("none", "one", "both", "expired")]
    waived = arch(scans, "diff", ids[1], ids[2], "--json")
    assert waived.returncode == 0   # an accepted risk is not a regression
    result = json.loads(waived.stdout)
    assert [(c["id"], c["waivers"]) for c in result["newly_waived"]] == [(CHECK, ["agent-pid", "other-pid"])]
    assert result["newly_failing"] == result["fixed"] == result["waiver_expired"] == []
    lapsed = arch(scans, "diff", ids[2], ids[3], "--json")
    assert lapsed.returncode == 1   # it counts again
    result = json.loads(lapsed.stdout)
    assert [(c["id"], c["lapse"]) for c in result["waiver_expired"]] == [(CHECK, "expired")]
    assert result["newly_failing"] == []
    text = arch(scans, "diff", ids[2], ids[3]).stdout
    assert "WAIVER EXPIRED" in text and f"{CHECK} [high] FAIL -> FAIL (waiver agent-pid, other-pid: expired)" in text
    withdrawn = json.loads(arch(scans, "diff", ids[2], ids[0], "--json").stdout)
    assert [(c["id"], c["lapse"]) for c in withdrawn["waiver_expired"]] == [(CHECK, "withdrawn")]


def test_reevaluate_applies_the_waiver_file_given_now_else_the_stored_one(scans, tmp_path):
    ids = {n: scans["runs"][n]["report"]["scan_id"] for n in scans["runs"]}
    now = arch(scans, "reevaluate", ids["none"], "--waivers", scans["files"]["both"], "--json", "-o", tmp_path / "again.json")
    assert now.returncode == 0, now.stderr
    assert [c["id"] for c in json.loads(now.stdout)["newly_waived"]] == [CHECK]
    assert by_id(load_report(tmp_path / "again.json"))[CHECK]["waived"] is True
    same = arch(scans, "reevaluate", ids["both"], "--json")
    assert same.returncode == 0, same.stderr
    assert not any(json.loads(same.stdout)[k] for k in ("newly_failing", "newly_waived", "waiver_expired", "fixed", "status_changed"))
    # dates are judged against the scan's day: yesterday's waiver stays expired on that scan
    still = json.loads(arch(scans, "reevaluate", ids["expired"], "--json").stdout)
    assert still["newly_waived"] == []
    bad = arch(scans, "reevaluate", ids["none"], "--waivers", waiver_file(tmp_path / "bad.yaml", entry("x", owner="")))
    assert bad.returncode == 2 and "bad.yaml: waivers[0] (id 'x'): owner: is required" in bad.stderr


def test_the_waivers_applied_are_inside_what_the_hash_chain_covers(scans, tmp_path):
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(scans["archive"].read_bytes())
    assert dockbench("archive", "verify", "--archive", copy).returncode == 0
    scan_id = scans["runs"]["both"]["report"]["scan_id"]
    db = sqlite3.connect(copy)
    stored = json.loads(zlib.decompress(db.execute("SELECT report FROM entries WHERE scan_id = ?", (scan_id,)).fetchone()[0]))
    assert [e["id"] for e in stored["waivers"]["entries"]] == ["agent-pid", "other-pid"]
    stored["waivers"]["entries"][0]["expires"] = "2199-12-31"   # someone extends a waiver after the fact
    db.execute("UPDATE entries SET report = ? WHERE scan_id = ?", (zlib.compress(json.dumps(stored).encode()), scan_id))
    db.commit()
    db.close()
    done = dockbench("archive", "verify", "--archive", copy)
    assert done.returncode == 1 and scan_id in done.stdout


def test_waivers_check_lints_and_prints_each_state(scans):
    ok = dockbench("waivers", "check", scans["files"]["both"])
    assert ok.returncode == 0, ok.stderr
    assert "ACTIVE   agent-pid  container-no-host-pid  containers " in ok.stdout
    expired = dockbench("waivers", "check", scans["files"]["expired"])
    assert expired.returncode == 1 and expired.stdout.splitlines()[1].startswith("EXPIRED  agent-pid")
    rows = json.loads(dockbench("waivers", "check", scans["files"]["expired"], "--on", scans["yesterday"], "--json").stdout)["waivers"]
    assert [(r["state"], r["days_left"], r["checks"]) for r in rows] == [("expiring", 0, [CHECK])]


# ---------------------------------------------------------------- a sweep over real sshd hosts


@pytest.fixture(scope="module")
def sweep(docker_daemon, tmp_path_factory):
    d = docker_daemon
    tmp = tmp_path_factory.mktemp("waiver-sweep")
    lab = Lab(Path(tempfile.mkdtemp(prefix="dbt-wvlab-")))
    started = [d.run_container("wvs-pid", "--pid", "host")]
    try:
        servers = [lab.start(name, f"127.0.0.{61 + i}") for i, name in enumerate(("web1", "web2", "db1"))]
        known = lab.known_hosts(lab.directory / "known_hosts", servers)
        inventory = lab.directory / "inventory.yaml"
        inventory.write_text(yaml.safe_dump({"defaults": {"user": "root", "key": str(lab.client_key), "docker_host": d.host},
                                             "hosts": {s.name: {"host": s.address, "port": s.port} for s in servers}}))

        def run(name, hosts):
            path = waiver_file(tmp / f"{name}.yaml", entry("pid-web", hosts=hosts))
            out = tmp / f"{name}.json"
            done = dockbench("scan", "--inventory", inventory, "--known-hosts", known, "--ssh-config", "/dev/null", "--archive", tmp / "archive.sqlite3",
                             "--container", d.name("wvs-*"), *ONLY, "--waivers", path, "-o", out, "-o", tmp / f"{name}.html", "-o", tmp / f"{name}.md")
            return done, load_report(out)

        yield {"web": run("web", ["web*"]), "all": run("all", ["web*", "db1"]), "tmp": tmp, "archive": tmp / "archive.sqlite3"}
    finally:
        lab.stop()
        d.remove(started)


def test_host_globs_waive_on_the_hosts_they_name(sweep):
    done, document = sweep["web"]
    assert done.returncode == 1, done.stderr   # db1 still fails
    waived = {h["target"]["name"]: by_id(h)[CHECK].get("waived", False) for h in document["hosts"]}
    assert waived == {"web1": True, "web2": True, "db1": False}
    assert document["summary"]["waived"]["total"] == 2 and document["summary"]["by_status"]["FAIL"] == 3
    assert [(e["id"], e["matched"], e["state"]) for e in document["waivers"]["entries"]] == [("pid-web", 2, "active")]
    assert "waived   1" in next(line for line in done.stdout.splitlines() if line.startswith("web1"))
    assert "waived   0" in next(line for line in done.stdout.splitlines() if line.startswith("db1"))
    done, document = sweep["all"]
    assert done.returncode == 0, done.stdout
    assert document["summary"]["waived"]["total"] == 3
    text = (sweep["tmp"] / "web.md").read_text()
    assert "waived on 2" in text and "FAIL (waived: pid-web)" in text


def test_sweeps_diff_and_reevaluate_per_host(sweep):
    web, every = sweep["web"][1]["sweep_id"], sweep["all"][1]["sweep_id"]
    done = dockbench("diff", web, every, "--json", "--archive", sweep["archive"])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["totals"]["newly_waived"] == 1 and list(result["hosts"]) == ["db1"]
    assert [c["id"] for c in result["hosts"]["db1"]["newly_waived"]] == [CHECK]
    back = dockbench("diff", every, web, "--json", "--archive", sweep["archive"])
    assert back.returncode == 1 and [c["lapse"] for c in json.loads(back.stdout)["hosts"]["db1"]["waiver_expired"]] == ["not covered"]
    again = dockbench("reevaluate", web, "--waivers", sweep["tmp"] / "all.yaml", "--json", "--archive", sweep["archive"])
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["totals"]["newly_waived"] == 1


# ---------------------------------------------------------------- the HTML filter in a browser


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium"))
    yield b
    b.quit()


def visible(browser) -> list[str]:
    return browser.js("return Array.from(document.querySelectorAll('.f')).filter(e => !e.hidden).map(e => e.id)")


def pick(browser, value: str) -> None:
    browser.js("const s = document.getElementById('f-waived'); s.value = arguments[0];"
               "document.getElementById('filters').dispatchEvent(new Event('change', {bubbles: true}));", value)


def test_host_page_waived_filter_badge_and_details(scans, browser):
    run = scans["runs"]["both"]
    browser.open(run["out"][".html"])
    everything = visible(browser)
    assert len(everything) == 3
    pick(browser, "yes")
    assert visible(browser) == [f"findings-{CHECK}"]
    assert browser.js("return document.getElementById('printed').textContent") == "Printed with filters: waived only."
    pick(browser, "no")
    assert sorted(visible(browser)) == sorted(i for i in everything if i != f"findings-{CHECK}")
    pick(browser, "yes")
    browser.css(f"#findings-{CHECK} > summary").click()
    text = browser.css(f"#findings-{CHECK} .d").text
    assert "Justification: node exporter reads the host's processes; SEC-1234" in text
    assert "owner team <b>ops</b>" in text and HOSTILE in text   # shown as text, never as markup
    assert browser.js("return document.querySelectorAll('img').length") == 0
    assert browser.css(f"#findings-{CHECK} summary .wb").text == "waived"
    browser.css("#reset").click()
    assert len(visible(browser)) == 3
    browser.open(scans["runs"]["one"]["out"][".html"])   # partly waived: not a waived result
    pick(browser, "yes")
    assert visible(browser) == []
    assert not [e for e in browser.console() if e["level"] == "SEVERE"]


def test_fleet_page_waived_filter_finds_the_waived_hosts(sweep, browser):
    browser.open(sweep["tmp"] / "web.html")
    assert "expired" not in browser.css("header").text
    pick(browser, "yes")
    assert visible(browser) == [f"c-{CHECK}"]
    shown = browser.js("return document.getElementById('shown').textContent")
    assert shown.startswith("2 of ") and "on 2 of 3 hosts" in shown
    hosts = browser.js("return Array.from(document.querySelectorAll('details.host')).filter(e => !e.hidden).map(e => e.querySelector('h3').textContent)")
    assert sorted(re.search(r"\((\w+)\)", h).group(1) for h in hosts) == ["web1", "web2"]   # "vm (web1)": hostname (target)
    pick(browser, "no")
    browser.js("document.querySelectorAll('input[name=status]').forEach(b => { b.checked = b.value === 'FAIL'; });"
               "document.getElementById('filters').dispatchEvent(new Event('change', {bubbles: true}));")
    hosts = browser.js("return Array.from(document.querySelectorAll('details.host')).filter(e => !e.hidden).map(e => e.id)")
    assert len(hosts) == 1
    section = browser.css(f"#{hosts[0]}")
    browser.css(f"#{hosts[0]} > summary").click()
    assert wait_for(browser, "return arguments[0].querySelectorAll('.x').length", section)
    assert "db1" in section.text and "waived" not in browser.css(f"#{hosts[0]} .hf").text.lower()
    browser.css("#reset").click()
    pick(browser, "yes")
    web = browser.js("return Array.from(document.querySelectorAll('details.host')).filter(e => !e.hidden).map(e => e.id)")[0]
    browser.css(f"#{web} > summary").click()
    assert wait_for(browser, "return document.getElementById(arguments[0])", f"{web}-{CHECK}")
    browser.css(f"#{web}-{CHECK} > summary").click()
    text = browser.css(f"#{web}-{CHECK}").text
    assert "waived by pid-web (owner platform-security, expires 2099-12-31): node exporter reads the host's processes; SEC-1234" in text
    assert not [e for e in browser.console() if e["level"] == "SEVERE"]
