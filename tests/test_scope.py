"""A scan's scope, end to end on the test daemon: three containers (a plain one, a risky one with
--pid host and SYS_ADMIN, a stopped privileged one), one full scan of them and one narrowed by
each scope option (--container, --label, --include-stopped, --level, --include, --exclude,
--benchmark), all stored in a real archive of each backend. A diff between the full scan and a
narrowed one reports a change of scope and calls nothing fixed or newly failing because of it;
history and the trend page say the same; every output format carries the scope; and a
--container/--label selection that matches nothing exits 2 unless --allow-empty.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dockbench.benchmark.archive import open_archive
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.document import scope
from dockbench.benchmark.judge.options import JudgingOptions
from dockbench.benchmark.render import terminal
from dockbench.benchmark.render.markdown import md
from tests.cli_run import by_id, dockbench, load_report
from tests.conftest import BACKENDS
from tests.recorded import recorded_snapshot
from tests.support.archive import module_archive

NARROWED = {   # name: the scope option it changes, as the diff names it
    "container": "containers", "label": "labels", "include_stopped": "include_stopped", "level": "level",
    "include": "include", "exclude": "exclude", "benchmark": "benchmark",
}


@pytest.fixture(scope="module", params=BACKENDS)
def scoped(request, docker_daemon, tmp_path_factory):
    d = docker_daemon
    tmp = tmp_path_factory.mktemp("scope")
    archive = module_archive(request, tmp_path_factory, "scope")
    names = {"web": d.run_container("scope-web", "--label", "tier=web"),
             "risky": d.run_container("scope-risky", "--label", "tier=ops", "--pid", "host", "--cap-add", "SYS_ADMIN"),
             "stopped": d.create_container("scope-stopped", "--label", "tier=web", "--privileged")}
    full = ["--container", d.name("scope-*"), "--include-stopped"]
    scans = {
        "full": full,
        "container": ["--container", names["web"], "--include-stopped"],
        "label": [*full, "--label", "tier=web"],
        "include_stopped": ["--container", d.name("scope-*")],
        "level": [*full, "--level", "1"],
        "include": [*full, "--include", "5"],
        "exclude": [*full, "--exclude", "container-dangerous-capabilities"],
        "benchmark": [*full, "--benchmark", "cis-docker-1.6.0"],
    }
    reports = {}
    for name, args in scans.items():   # stored in this order: each scan's scope differs from the one before
        out = tmp / f"{name}.json"
        done = dockbench("scan", "--docker-host", d.host, *args, "--archive", archive, "-o", out, "-q", "--fail-on", "never")
        assert done.returncode == 0, done.stderr
        reports[name] = load_report(out)
    yield {"archive": archive, "tmp": tmp, "reports": reports, "names": names, "host": reports["full"]["target"]["hostname"], "daemon": d}
    d.remove(list(names.values()))


def arch(scoped, *args):
    return dockbench(*args, "--archive", scoped["archive"])


def diff(scoped, a: str, b: str) -> tuple[int, dict]:
    done = arch(scoped, "diff", scoped["reports"][a]["scan_id"], scoped["reports"][b]["scan_id"], "--json")
    return done.returncode, json.loads(done.stdout)


def changes(result: dict, section: str) -> dict[str, tuple[str, str]]:
    return {c["id"]: (c["before"], c["after"]) for c in result[section]}


def test_every_report_carries_its_scope(scoped, docker_daemon):
    reports, names = scoped["reports"], scoped["names"]
    full = reports["full"]["scope"]
    assert {k: full[k] for k in scope.OPTIONS} == {"benchmark": "cis-docker-1.8.0", "level": None, "include": [], "exclude": [], "include_stopped": True,
                                                  "containers": [docker_daemon.name("scope-*")], "labels": []}
    ids = {name: docker_daemon.inspect(name)["Id"][:12] for name in names.values()}
    assert sorted(full["selected"], key=lambda c: c["name"]) == [{"name": n, "id": ids[n]} for n in sorted(names.values())]
    assert full["containers_total"] >= 3 and full["selection_empty"] is False
    assert [c["name"] for c in reports["container"]["scope"]["selected"]] == [names["web"]]
    assert sorted(c["name"] for c in reports["label"]["scope"]["selected"]) == sorted([names["web"], names["stopped"]])
    assert reports["label"]["scope"]["labels"] == ["tier=web"]
    assert sorted(c["name"] for c in reports["include_stopped"]["scope"]["selected"]) == sorted([names["web"], names["risky"]])
    assert (reports["level"]["scope"]["level"], reports["include"]["scope"]["include"], reports["exclude"]["scope"]["exclude"]) == (1, ["5"], ["container-dangerous-capabilities"])
    assert reports["benchmark"]["scope"]["benchmark"] == "cis-docker-1.6.0"


@pytest.mark.parametrize("narrowed", list(NARROWED))
def test_a_narrowed_scan_is_a_change_of_scope_never_a_fix_or_a_regression(scoped, narrowed):
    reports, names = scoped["reports"], scoped["names"]
    code, result = diff(scoped, "full", narrowed)
    assert code == 0
    assert list(result["scope"]["options"]) == [NARROWED[narrowed]]
    assert result["fixed"] == [] and result["newly_failing"] == [] and result["status_changed"] == []
    back_code, back = diff(scoped, narrowed, "full")
    assert back_code == 0 and back["fixed"] == [] and back["newly_failing"] == [] and back["status_changed"] == []
    assert (back["scope"]["containers_added"], back["scope"]["containers_dropped"]) == (result["scope"]["containers_dropped"], result["scope"]["containers_added"])
    full, narrow = by_id(reports["full"]), by_id(reports[narrowed])
    if narrowed == "container":   # the risky and the stopped container leave: a critical FAIL turns PASS, by scope alone
        assert result["scope"]["containers_dropped"] == sorted([names["risky"], names["stopped"]])
        assert full["container-dangerous-capabilities"]["status"] == "FAIL" and narrow["container-dangerous-capabilities"]["status"] == "PASS"
        assert changes(result, "scope_changes")["container-dangerous-capabilities"] == ("FAIL", "PASS")
        assert changes(back, "scope_changes")["container-dangerous-capabilities"] == ("PASS", "FAIL")
    elif narrowed == "label":
        assert result["scope"]["containers_dropped"] == [names["risky"]]
        assert changes(result, "scope_changes")["container-no-host-pid"] == ("FAIL", "PASS")
        assert changes(result, "scope_changes")["container-dangerous-capabilities"] == ("FAIL", "FAIL")   # one offender of two left
    elif narrowed == "include_stopped":
        assert result["scope"]["containers_dropped"] == [names["stopped"]]
        assert changes(result, "scope_changes")["container-not-privileged"] == ("FAIL", "PASS")
    elif narrowed in ("level", "include", "exclude"):   # other checks, the same containers
        dropped = {i for i in full if i not in narrow}
        expected = {"level": {i for i, r in full.items() if r["level"] == 2}, "exclude": {"container-dangerous-capabilities"},
                    "include": {i for i, r in full.items() if not any(c["id"].startswith("5.") for c in r["cis"])}}[narrowed]
        assert dropped == expected and dropped
        assert {c["id"] for c in result["removed_checks"]} == dropped and {c["id"] for c in back["added_checks"]} == dropped
        assert any(full[i]["status"] == "FAIL" for i in dropped)   # failing checks come back, yet nothing is newly failing
        assert result["scope_changes"] == [] and result["scope"]["containers_added"] == result["scope"]["containers_dropped"] == []
    else:
        assert result["benchmarks_differ"] == {"a": "cis-docker-1.8.0", "b": "cis-docker-1.6.0"}
    text = arch(scoped, "diff", reports["full"]["scan_id"], reports[narrowed]["scan_id"]).stdout
    option = next(iter(result["scope"]["options"].values()))
    flag = scope.FLAGS[NARROWED[narrowed]]
    assert f"scope changed: {flag}: {scope.option_text(NARROWED[narrowed], option['a'])} -> {scope.option_text(NARROWED[narrowed], option['b'])}" in text
    assert "FIXED" not in text and "NEWLY FAILING" not in text


def test_a_real_change_within_a_change_of_scope_still_counts(containers, tmp_path):
    """The scope changes (a label narrows it) while a container that stays in it gains SYS_ADMIN:
    that check is newly failing, whatever else the scope accounts for."""
    d = containers
    archive = tmp_path / "archive.sqlite3"
    calm, other = d.run_container("mix-calm", "--label", "tier=x"), d.run_container("mix-other", "--pid", "host")
    common = ["scan", "--docker-host", d.host, "--container", d.name("mix-*"), "--archive", archive, "-q", "--fail-on", "never"]
    assert dockbench(*common, "-o", tmp_path / "a.json").returncode == 0
    d.remove([calm])
    d.run_container("mix-calm", "--label", "tier=x", "--cap-add", "SYS_ADMIN")
    assert dockbench(*common, "--label", "tier=x", "-o", tmp_path / "b.json").returncode == 0
    a, b = load_report(tmp_path / "a.json"), load_report(tmp_path / "b.json")
    done = dockbench("diff", a["scan_id"], b["scan_id"], "--json", "--archive", archive)
    result = json.loads(done.stdout)
    assert done.returncode == 1   # worse: that container was in both scopes
    assert list(result["scope"]["options"]) == ["labels"] and result["scope"]["containers_dropped"] == [other]
    assert changes(result, "newly_failing")["container-capabilities-restricted"] == ("PASS", "FAIL")
    assert changes(result, "scope_changes")["container-no-host-pid"] == ("FAIL", "PASS")   # the --pid host one left the scope


def test_history_shows_a_change_of_scope_not_a_score_change(scoped):
    reports = scoped["reports"]
    rows = json.loads(arch(scoped, "history", "--host", scoped["host"], "--json").stdout)
    assert [r["scan_id"] for r in rows] == [r["scan_id"] for r in reports.values()]
    assert rows[0]["scope_changed"] == [] and all(r["scope_changed"] and r["score_change"] is None for r in rows[1:])
    assert rows[1]["scope_changed"] == ["containers"]
    table = arch(scoped, "history", "--host", scoped["host"]).stdout.splitlines()
    assert [line.split()[-1] for line in table[2:]] == ["scope"] * (len(rows) - 1)
    check = json.loads(arch(scoped, "history", "--host", scoped["host"], "--check", "container-no-host-pid", "--json").stdout)
    assert [(r["check"]["status"], r["check"]["change"]) for r in check][:3] == [("FAIL", None), ("PASS", "scope changed"), ("PASS", None)]


class _Rows(HTMLParser):
    """The text of each row of the tables with a given class, cell by cell."""

    def __init__(self, table_class: str):
        super().__init__()
        self.table_class, self.inside, self.rows = table_class, False, []

    def handle_starttag(self, tag, attrs):
        if tag == "table" and self.table_class in (dict(attrs).get("class") or "").split():
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.inside and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def table(html_text: str, table_class: str) -> list[list[str]]:
    parser = _Rows(table_class)
    parser.feed(html_text)
    return [[cell.strip() for cell in row] for row in parser.rows[1:]]   # the head row aside


def test_the_trend_page_lists_changes_of_scope_not_flips(scoped):
    out = scoped["tmp"] / "trend.html"
    done = arch(scoped, "history", "--host", scoped["host"], "--format", "html", "-o", out)
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    reports = list(scoped["reports"].values())
    rows = table(page, "scope-changes")
    assert [(r[0], r[-1]) for r in rows] == [(r["started_at"], r["scan_id"][:8]) for r in reports[1:]]
    assert rows[0][1].startswith(f"scope changed: --container: --container {scoped['daemon'].name('scope-*')} -> --container {scoped['names']['web']}")
    assert table(page, "flips") == [] and "No check changed status between these scans." in page
    # the scan that dropped the risky containers lists the checks that turned with its scope
    section = page[page.index('id="h1-s2"'):page.index('id="h1-s3"')]
    assert "Changed with the scope, not flips" in section and "container-dangerous-capabilities" in section


def test_the_scope_is_in_every_output_format(containers, tmp_path):
    d = containers
    web = d.run_container("fmt-web")
    d.run_container("fmt-other")
    paths = {fmt: tmp_path / f"r.{fmt}" for fmt in ("json", "html", "md", "xml", "ocsf.json", "prom", "csv")}
    done = dockbench("scan", "--docker-host", d.host, "--container", web, "--level", "1", "--no-archive", *[a for p in paths.values() for a in ("-o", p)], "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    doc = load_report(paths["json"])
    chosen = doc["scope"]
    total = chosen["containers_total"]
    assert chosen == {"benchmark": "cis-docker-1.8.0", "level": 1, "include": [], "exclude": [], "include_stopped": False, "containers": [web], "labels": [],
                      "selected": [{"name": web, "id": d.inspect(web)["Id"][:12]}], "containers_total": total, "selection_empty": False}
    checks, kept = "cis-docker-1.8.0, level 1", f"1 of {total} containers (running ones named {web}): {web}"
    assert f"\nscope {checks} · {kept}\n" in done.stdout   # the terminal header
    html_text = paths["html"].read_text()
    assert f'<dt>checks</dt><dd class="scope">{checks}</dd>' in html_text and f'<dt>containers</dt><dd class="scope">{kept}</dd>' in html_text
    assert f"\n- scope: {md(checks + ' · ' + kept)}\n" in paths["md"].read_text()
    props = {p.get("name"): p.get("value") for p in ET.parse(paths["xml"]).getroot().find("testsuite/properties")}
    assert (props["scope_checks"], props["scope_containers"], props["containers_selected"], props["containers_total"]) == (checks, kept, "1", str(total))
    findings = json.loads(paths["ocsf.json"].read_text())
    light = {**{k: v for k, v in chosen.items() if k != "selected"}, "selected_count": 1, "key": scope.key(chosen)}
    assert len(findings) == doc["summary"]["total"] and all(f["unmapped"]["dockbench"]["scope"] == light for f in findings)
    families = {f.name: f for f in text_string_to_metric_families(paths["prom"].read_text())}
    host = {"host": doc["target"]["hostname"], "target": doc["target"]["name"]}
    (info,) = families["dockbench_scope_info"].samples
    assert info.labels == {**host, "scope": scope.key(chosen), "scoped": "true", "level": "1", "include": "", "exclude": "", "include_stopped": "false",
                           "containers": web, "labels": ""}
    assert [s.value for s in families["dockbench_selected_containers"].samples] == [1]
    assert [s.value for s in families["dockbench_host_containers"].samples] == [total]
    assert [s.labels for s in families["dockbench_score_ratio"].samples] == [host]   # the other series carry no scope label
    assert len(list(csv.DictReader(io.StringIO(paths["csv"].read_text())))) == doc["summary"]["total"]


def test_a_selection_matching_no_container_exits_2_unless_allowed(containers, tmp_path):
    d = containers
    archive = tmp_path / "archive.sqlite3"
    facts = tmp_path / "facts.json"
    base = ["scan", "--docker-host", d.host, "--archive", archive]
    refused = dockbench(*base, "--container", "nomatch*", "-o", tmp_path / "r.json", "--facts-out", facts)
    assert refused.returncode == 2 and refused.stdout == ""
    message = refused.stderr.strip()
    assert message.startswith("dockbench: --container 'nomatch*' matched none of the ") and " containers on " in message
    assert message.endswith("(running ones only: --include-stopped adds the others); give --allow-empty when an empty selection is expected")
    total = int(message.split("matched none of the ")[1].split()[0])
    assert total >= 1 and not (tmp_path / "r.json").exists() and not archive.exists()   # no report, nothing archived
    labelled = dockbench(*base, "--label", "no.such=label", "--include-stopped", "-o", tmp_path / "r.json")
    assert labelled.returncode == 2 and "--label no.such=label matched none of the" in labelled.stderr and "--include-stopped adds" not in labelled.stderr

    allowed = dockbench(*base, "--container", "nomatch*", "--allow-empty", "-o", tmp_path / "r.json")
    doc = load_report(tmp_path / "r.json")
    assert allowed.returncode == report_mod.exit_code(doc, "error")   # as any scan: its findings decide
    assert doc["scope"]["selected"] == [] and doc["scope"]["selection_empty"] is True and doc["scope"]["containers"] == ["nomatch*"]
    kept = f"no container matched (running ones named nomatch*) of {doc['scope']['containers_total']} on the host"
    assert f"\nscope cis-docker-1.8.0, every check · {kept}\n" in allowed.stdout
    reasons = {r["message"] for r in doc["results"] if r["layer"] == "containers"}
    assert f"no running containers matched the selection ({doc['scope']['containers_total']} containers in total)" in reasons
    assert json.loads(dockbench("history", "--archive", archive, "--json").stdout)[0]["scan_id"] == doc["scan_id"]

    again = dockbench("evaluate", facts, "--container", "nomatch*", "-o", tmp_path / "e.json", "-q")
    assert again.returncode == 2 and "--container 'nomatch*' matched none of the" in again.stderr
    again = dockbench("evaluate", facts, "--container", "nomatch*", "--allow-empty", "-o", tmp_path / "e.json", "-q", "--fail-on", "never")
    assert again.returncode == 0 and load_report(tmp_path / "e.json")["scope"]["selection_empty"] is True


def test_reports_without_a_scope_still_read_render_compare_and_judge_again(tmp_path):
    """Reports of schema 1.2 carry no scope: every output says what their evidence tells, a diff
    takes the options from their archive entry (or says the scope is unknown), and reevaluate
    gives them one."""
    facts = recorded_snapshot()
    everything, only_web = JudgingOptions(include_stopped=True), JudgingOptions(include_stopped=True, containers=("web",))
    old = everything.judge()(facts, "2026-01-05T08:00:00Z")
    del old["scope"]
    old["schema_version"] = "1.2"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    assert load_report(path)["schema_version"] == "1.2"
    derived = "check selection not recorded · containers not recorded (a report of schema 1.2 or older); its evidence names 4: dormant, published, risky, web"
    assert f"\nscope cis-docker-1.8.0, {derived}\n" in terminal.render(old)
    for fmt in ("html", "md", "junit", "csv", "ocsf", "prometheus", "json", "jsonl"):
        done = dockbench("report", path, "--format", fmt, "-o", tmp_path / f"old.{fmt}")
        assert done.returncode == 0, (fmt, done.stderr)
    assert "dockbench_scope_info" not in (tmp_path / "old.prometheus").read_text()   # no scope to state
    assert f"- scope: {md('cis-docker-1.8.0, ' + derived)}" in (tmp_path / "old.md").read_text()

    archive = tmp_path / "archive.sqlite3"
    narrow = only_web.judge()(facts, "2026-01-05T09:00:00Z")
    with open_archive(archive) as store:
        store.put_scan("host", "vm", old, facts, options=everything.stored("cis-docker-1.8.0"))
        store.put_scan("host", "vm", narrow, facts, options=only_web.stored("cis-docker-1.8.0"))
        unknown = dict(old, scan_id="0" * 8 + old["scan_id"][8:])
        store.put_scan("host", "vm", unknown, facts)   # stored without its options
    done = dockbench("diff", old["scan_id"], narrow["scan_id"], "--json", "--archive", archive)
    result = json.loads(done.stdout)
    assert done.returncode == 0 and result["scope_recorded"] == {"a": "archive", "b": "report"}
    assert list(result["scope"]["options"]) == ["containers"] and result["scope"]["containers_dropped"] == ["dormant", "published", "risky"]
    assert result["fixed"] == [] and changes(result, "scope_changes")["container-dangerous-capabilities"] == ("FAIL", "PASS")
    text = dockbench("diff", unknown["scan_id"], narrow["scan_id"], "--archive", archive).stdout
    assert "scope of A unknown (a report of schema 1.2 or older, no stored options): a change of scope may show here as fixed or newly failing" in text
    again = dockbench("reevaluate", old["scan_id"], "-o", tmp_path / "again.json", "--archive", archive)
    assert again.returncode == 0, again.stderr
    assert load_report(tmp_path / "again.json")["scope"]["include_stopped"] is True   # judged again with the options it was stored with
