"""Renderers (json, html, junit, csv, md) and `dockbench report`, on reports of real scans.

The browser side of the HTML page is in test_render_browser.py; here the outputs are read back
with standard parsers (json, xml.etree, csv, html.parser) and compared with the JSON document.
"""

from __future__ import annotations

import copy
import csv
import fnmatch
import io
import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from dockbench.benchmark import render
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.document import validate
from dockbench.benchmark.document.model import Layer
from dockbench.benchmark.render import csv_rows, html_page, markdown
from tests import sweepdoc
from tests.cli_run import dockbench
from tests.html_tags import start_tags
from tests.render_scans import PAYLOADS, PWNED, hostile_edit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = None

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fleet(real):
    """A sweep of four hosts (real reports under other names) and two that could not be audited."""
    r = real["reports"]
    hosts = [sweepdoc.as_host(r["both"], "web-01"), sweepdoc.as_host(r["web"], "web-02"),
             sweepdoc.as_host(r["risky"], "build-01"), sweepdoc.as_host(r["hostile"], "odd-01")]
    errors = [sweepdoc.error_entry("ssh://root@db-01", "auth_failed", "Authentication failed for root@db-01", name="db-01"),
              sweepdoc.error_entry("ssh://root@db-02:2222", "timeout", "no answer within 30 s")]
    document = sweepdoc.sweep(hosts, errors)
    jsonschema.validate(document, report_mod.schema())
    return document


# ------------------------------------------------------------------ registry


def test_registry_names_each_format_with_its_extension():
    assert render.formats() == ["json", "html", "junit", "csv", "md", "jsonl", "ocsf", "prometheus"]
    assert [render.extension(f) for f in render.formats()] == [".json", ".html", ".xml", ".csv", ".md", ".jsonl", ".ocsf.json", ".prom"]
    for path, fmt in {"a/report.json": "json", "R.HTML": "html", "x.htm": "html", "junit.xml": "junit",
                      "rows.csv": "csv", "ticket.md": "md", Path("t.markdown"): "md", "f.ocsf.json": "ocsf", "node.prom": "prometheus", "sweep.jsonl": "jsonl"}.items():
        assert render.format_for_path(path) == fmt
    with pytest.raises(ValueError, match="cannot tell the format of 'report.pdf'"):
        render.format_for_path("report.pdf")
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        render.render({"kind": "host"}, "pdf")


def test_write_picks_the_format_from_the_path_and_replaces_atomically(real, tmp_path):
    doc = real["reports"]["both"]
    for fmt in render.formats():
        path = tmp_path / f"out{render.extension(fmt)}"
        path.write_text("old")
        assert render.write(doc, path) == fmt
        assert path.read_bytes() == render.render(doc, fmt).encode()
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError, match="needs a format"):
        render.write(doc, "-")


def test_json_output_is_the_document(real, fleet):
    for doc in (real["reports"]["both"], fleet):
        assert json.loads(render.render(doc, "json")) == doc


# ------------------------------------------------------------------ JUnit


def _suites(xml_text: str) -> ET.Element:
    root = ET.fromstring(xml_text.encode())
    assert root.tag == "testsuites"
    return root


def test_junit_has_a_testcase_per_check_and_counts_matching_the_report(real):
    doc = real["reports"]["both"]
    root = _suites(render.render(doc, "junit"))
    (suite,) = root.findall("testsuite")
    counts = doc["summary"]["by_status"]
    cases = suite.findall("testcase")
    assert sorted(c.get("name") for c in cases) == sorted(r["id"] for r in doc["results"])
    assert {c.get("classname") for c in cases} == set(doc["summary"]["by_layer"])
    assert len(suite.findall("testcase/failure")) == counts["FAIL"] == int(suite.get("failures")) == int(root.get("failures"))
    assert len(suite.findall("testcase/error")) == counts["ERROR"] == int(suite.get("errors"))
    assert len(suite.findall("testcase/skipped")) == counts["NOT_APPLICABLE"] + counts["MANUAL"] == int(suite.get("skipped"))
    assert len(suite.findall("testcase/skipped[@message='manual review']")) == counts["MANUAL"]
    assert int(suite.get("tests")) == doc["summary"]["total"] == int(root.get("tests"))
    results = {r["id"]: r for r in doc["results"]}
    failure = suite.find("testcase[@name='container-no-host-pid']/failure")
    assert failure.get("message") == results["container-no-host-pid"]["message"]
    assert f"{real['names']['risky']}: PidMode=host" in failure.text
    assert "CIS 5.16" in failure.text


def test_junit_for_a_sweep_has_a_suite_per_host_and_errors_for_unreachable_ones(fleet):
    root = _suites(render.render(fleet, "junit"))
    suites = root.findall("testsuite")
    assert len(suites) == fleet["summary"]["targets"] == 6
    totals = fleet["summary"]["by_status"]
    unreachable = len(fleet["errors"])
    assert int(root.get("failures")) == totals["FAIL"] == len(root.findall(".//failure"))
    assert int(root.get("errors")) == totals["ERROR"] + unreachable == len(root.findall(".//error"))
    assert int(root.get("skipped")) == totals["NOT_APPLICABLE"] + totals["MANUAL"] == len(root.findall(".//skipped"))
    assert int(root.get("tests")) == sum(h["summary"]["total"] for h in fleet["hosts"]) + unreachable
    for suite, host in zip(suites, fleet["hosts"]):
        assert suite.get("hostname") == host["target"]["hostname"]
        assert int(suite.get("failures")) == host["summary"]["by_status"]["FAIL"]
    down = root.find("testsuite[@name='db-01']/testcase[@name='host-reachable']/error")
    assert (down.get("type"), down.get("message")) == ("auth_failed", "Authentication failed for root@db-01")


def test_junit_survives_control_characters_and_markup(real):
    doc = hostile_edit(real["reports"]["both"])
    doc["results"][0]["message"] = "bell\x07 escape\x1b[31m nul\x00 " + PAYLOADS[0]
    root = _suites(render.render(doc, "junit"))
    first = root.find(f".//testcase[@name='{doc['results'][0]['id']}']/*")
    assert first.get("message") == "bell\\x07 escape\\x1b[31m nul\\x00 " + PAYLOADS[0]
    assert root.find("testsuite").get("name") == doc["target"]["hostname"] + f" ({doc['target']['name']})"


# ------------------------------------------------------------------ CSV


def _rows(text: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows and list(rows[0]) == csv_rows.CSV_COLUMNS
    return rows


def test_csv_has_a_row_per_host_and_check_matching_the_summary(real, fleet):
    doc = real["reports"]["both"]
    rows = _rows(render.render(doc, "csv"))
    assert len(rows) == doc["summary"]["total"]
    assert Counter(r["status"] for r in rows) == +Counter(doc["summary"]["by_status"])
    row = next(r for r in rows if r["check_id"] == "container-capabilities-restricted")
    assert (row["cis_ids"], row["layer"], row["level"], row["severity"], row["status"]) == ("5.4", "containers", "1", "high", "FAIL")
    assert row["hostname"] == doc["target"]["hostname"]
    assert f'{real["names"]["risky"]}: ["CAP_SYS_ADMIN"]' in row["evidence"]

    rows = _rows(render.render(fleet, "csv"))
    statuses = Counter(r["status"] for r in rows)
    assert statuses.pop("UNREACHABLE") == 2
    assert statuses == +Counter(fleet["summary"]["by_status"])
    per_host = Counter(r["hostname"] for r in rows if r["status"] != "UNREACHABLE")
    assert per_host == {h["target"]["hostname"]: h["summary"]["total"] for h in fleet["hosts"]}
    down = next(r for r in rows if r["target"] == "ssh://root@db-02:2222")
    assert (down["message"], down["evidence"]) == ("no answer within 30 s", "kind: timeout")


def test_csv_cells_cannot_become_spreadsheet_formulas(real):
    doc = copy.deepcopy(real["reports"]["web"])
    doc["results"][0]["message"] = '=HYPERLINK("http://example.invalid","x")'
    doc["target"]["hostname"] = "+cmd"
    rows = _rows(render.render(doc, "csv"))
    assert rows[0]["message"] == '\'=HYPERLINK("http://example.invalid","x")'
    assert rows[0]["hostname"] == "'+cmd"


# ------------------------------------------------------------------ Markdown


def test_markdown_lists_every_failure_with_evidence(real):
    doc = real["reports"]["both"]
    text = render.render(doc, "md")
    fails = [r for r in doc["results"] if r["status"] == "FAIL"]
    assert fails
    for result in fails:
        assert f"FAIL `{result['id']}`" in text
    assert f"## Failures ({len(fails)})" in text
    assert f"{markdown.md(real['names']['risky'])}: PidMode=host" in text
    assert f"FAIL {doc['summary']['by_status']['FAIL']}" in text


def test_markdown_of_a_sweep_names_unreachable_hosts_and_failing_checks(fleet):
    text = render.render(fleet, "md")
    assert "## Unreachable hosts (2)" in text
    assert "| ssh://root@db\\-01 |" not in text  # '-' needs no escaping
    assert "| ssh://root@db-01 | auth_failed | Authentication failed for root@db-01 |" in text
    failing = {r["id"] for h in fleet["hosts"] for r in h["results"] if r["status"] == "FAIL"}
    for check_id in failing:
        assert f"### `{check_id}`" in text
    assert text.index("web-01") < text.index("web-02")  # worst first: web-01 has the risky container too


def test_markdown_keeps_hostile_text_inert(real):
    text = render.render(hostile_edit(real["reports"]["both"]), "md")
    for payload in PAYLOADS + PWNED:
        assert payload not in text
    assert "&lt;script&gt;window.\\_\\_pwned=1&lt;/script&gt;" in text


# ------------------------------------------------------------------ HTML (static)


@pytest.mark.parametrize("which", ["host", "sweep"])
def test_html_references_nothing_outside_itself(real, fleet, which):
    html_text = render.render(real["reports"]["both"] if which == "host" else fleet, "html")
    tags = start_tags(html_text)
    csp = tags.index(("meta", {"http-equiv": "Content-Security-Policy", "content": html_page.page_assets()["csp"]}))
    assert csp < [t for t, _ in tags].index("style") and [t for t, _ in tags][:csp] == ["html", "head", "meta"]
    assert "default-src 'none'" in html_page.page_assets()["csp"]
    assert not [t for t, a in tags if t in ("link", "img", "iframe", "object", "embed", "base", "form")]
    assert not [a for _, a in tags if "src" in a or "srcset" in a or "action" in a]
    assert all(a["href"].startswith("#") for _, a in tags if "href" in a)
    scripts = [a for t, a in tags if t == "script"]
    assert scripts[-1] == {}  # the one inline script (hash-allowed by the policy) ...
    assert scripts[:-1] == ([{"type": "application/json", "id": "fleet-data"}] if which == "sweep" else [])  # ... and a sweep's data


def test_html_escapes_host_data_everywhere(real, fleet):
    hostile_host = hostile_edit(real["reports"]["hostile"])
    hostile_fleet = sweepdoc.sweep(fleet["hosts"] + [hostile_host], [sweepdoc.error_entry(f"ssh://{PWNED[1]}", "probe_failed", PWNED[0], name=PAYLOADS[2])])
    jsonschema.validate(hostile_fleet, report_mod.schema())
    for doc in (hostile_host, hostile_fleet):
        html_text = render.render(doc, "html")
        for payload in PAYLOADS + PWNED:
            assert payload not in html_text
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html_text
        assert "&#34;&gt;&lt;img src=x onerror=window.__pwned=2&gt;" in html_text
        assert html_text.count("<script") == html_text.count('<script type="application/json"') + 1
        if doc["kind"] == "sweep":  # the data block holds host data as JSON with <, >, & and ' escaped
            block = html_text[html_text.index('id="fleet-data">') + len('id="fleet-data">'):html_text.rindex("</script>")]
            block = block[:block.index("</script>")]
            assert not set("<>&'") & set(block)
            data = json.loads(block)
            assert PWNED[0] in data["strings"] and f"host{PWNED[0]} (ssh://root@{PWNED[1]})" in data["names"]


def test_fleet_html_orders_hosts_worst_first(fleet):
    html_text = render.render(fleet, "html")
    matrix = html_text[html_text.index('<table class="matrix">'):]
    matrix = matrix[:matrix.index("</table>")]
    order = [a["href"] for t, a in start_tags(matrix) if t == "a"]
    ranked = sorted(fleet["hosts"], key=render.badness)
    labels = [render.host_label(h) for h in ranked]
    assert [matrix.index(f">{label}</a>") for label in labels] == sorted(matrix.index(f">{label}</a>") for label in labels)
    assert order[0] == "#h1"
    assert render.host_label(ranked[0]) in ("web-01", "build-01", "odd-01")
    assert ranked[-1]["target"]["hostname"] == "web-02"  # only the hardened container


def _fleet_block(html_text: str) -> dict:
    start = html_text.index('<script type="application/json" id="fleet-data">') + len('<script type="application/json" id="fleet-data">')
    return json.loads(html_text[start:html_text.index("</script>", start)])


def test_fleet_page_data_holds_every_finding_of_every_host(fleet):
    data = _fleet_block(render.render(fleet, "html"))
    ranked = sorted(fleet["hosts"], key=render.badness)
    assert data["names"] == [render.host_label(h) for h in ranked]
    strings, checks = data["strings"], data["checks"]
    assert len(strings) == len(set(strings))  # each text once
    for host, rows in zip(ranked, data["hosts"]):
        decoded = [(checks[c][0], data["statuses"][s], strings[m], [(strings[e[i]], strings[e[i + 1]]) for i in range(0, len(e), 2)])
                   for c, s, m, e in rows]
        assert decoded == [(r["id"], r["status"], r["message"], [(x["subject"], render.observed_lines(x["observed"])) for x in r["evidence"]])
                           for r in render.sorted_results(host["results"])]
    meta = {c[0]: c for c in checks}
    result = next(r for r in fleet["hosts"][0]["results"] if r["cis"])
    assert meta[result["id"]] == [result["id"], result["title"], result["layer"], result["severity"], result["level"], [c["id"] for c in result["cis"]]]


def test_host_html_lists_findings_in_cis_order_and_ranks_them_for_each_column(real):
    """The issue (#19) made CIS order the default (failures came first before); failures first
    is one click away: the status column's ranks."""
    doc = real["reports"]["both"]
    html_text = render.render(doc, "html")
    rows = [a for t, a in start_tags(html_text) if t == "details" and "data-s" in a]
    layers = [layer.value for layer in Layer]

    def cis_first(r):
        ids = [tuple(int(p) for p in c["id"].split(".")) for c in r["cis"]]
        return (0, min(ids), r["id"]) if ids else (1, (layers.index(r["layer"]),), r["id"])
    assert [a["id"] for a in rows] == [f"findings-{r['id']}" for r in sorted(doc["results"], key=cis_first)]
    assert [int(a["data-by-cis"]) for a in rows] == list(range(len(rows)))
    by_status = sorted(rows, key=lambda a: (int(a["data-by-status"]), int(a["data-by-cis"])))
    assert [a["data-s"] for a in by_status] == sorted((r["status"] for r in doc["results"]), key=report_mod.STATUS_ORDER.index)
    assert sorted(rows, key=lambda a: int(a["data-by-check"])) == sorted(rows, key=lambda a: a["id"])


def test_renderers_accept_an_empty_sweep_and_one_with_no_hosts():
    doc = sweepdoc.sweep([], [sweepdoc.error_entry("ssh://x", "unreachable", "no route to host")])
    validate.check(doc)
    for fmt in render.formats():
        text = render.render(doc, fmt)
        assert "ssh://x" in text and "no route to host" in text


# ------------------------------------------------------------------ schema check


def _broken(real, fleet):
    host = real["reports"]["web"]
    cases = []
    for mutate in (
        lambda d: d.pop("results"),
        lambda d: d["results"][0].update(status="OK"),
        lambda d: d["results"][0].update(id="Not An Id"),
        lambda d: d["summary"]["by_status"].update(extra=1),
        lambda d: d["summary"].update(score=101),
        lambda d: d.update(started_at="yesterday"),
        lambda d: d["target"].update(rootless="no"),
        lambda d: next(r for r in d["results"] if r["cis"])["cis"][0].update(level=3),
        lambda d: d.update(kind="fleet"),
        lambda d: d["results"][0].update(message=""),
    ):
        doc = copy.deepcopy(host)
        mutate(doc)
        cases.append(doc)
    for mutate in (
        lambda d: d["errors"][0].update(kind="exploded"),
        lambda d: d["hosts"][1]["summary"].pop("total"),
        lambda d: d["summary"].update(targets=-1),
        lambda d: d["errors"][0].pop("message"),
    ):
        doc = copy.deepcopy(fleet)
        mutate(doc)
        cases.append(doc)
    return cases + [[], "report", {"kind": "host"}, None]


def test_schema_check_agrees_with_jsonschema(real, fleet):
    schema = report_mod.schema()
    for doc in [*real["reports"].values(), fleet]:
        validate.check(doc)
        jsonschema.validate(doc, schema)
    for doc in _broken(real, fleet):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, schema)
        with pytest.raises(validate.InvalidDocument):
            validate.check(doc)
    extra = copy.deepcopy(real["reports"]["web"])
    extra["summary"]["by_status"]["SKIPPED"] = 0  # counts allow more upper-case statuses (1.x adds fields only)
    jsonschema.validate(extra, schema)
    validate.check(extra)


def test_schema_check_names_where_the_document_is_wrong(real, fleet):
    doc = copy.deepcopy(fleet)
    doc["hosts"][1]["results"][2]["status"] = "OK"
    with pytest.raises(validate.InvalidDocument, match=r"^\$\.hosts\[1\]\.results\[2\]\.status: 'OK' is not one of"):
        validate.check(doc)
    with pytest.raises(validate.InvalidDocument, match=r"^\$\.kind: 'fleet' is not a known document kind"):
        validate.check({**real["reports"]["web"], "kind": "fleet"})


def test_schema_check_refuses_a_schema_it_does_not_understand():
    with pytest.raises(validate.UnsupportedSchema, match="if"):
        validate.check({}, {"type": "object", "properties": {"a": {"if": {}}}})


# ------------------------------------------------------------------ packaging


def test_templates_are_package_data_found_through_the_package():
    import jinja2

    from dockbench import templates

    loader = jinja2.PackageLoader("dockbench.templates", ".")
    names = set(loader.list_templates())
    assert {"base.html.j2", "host.html.j2", "fleet.html.j2", "macros.html.j2", "report.css", "report.js"} <= names
    assert Path(templates.__file__).resolve().parent == ROOT / "templates"
    if tomllib is None:
        return
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "dockbench.templates" in config["packages"]
    assert config["package-dir"]["dockbench.templates"] == "templates"
    patterns = config["package-data"]["dockbench.templates"]
    for path in (ROOT / "templates").iterdir():
        if path.is_file() and path.suffix != ".py":
            assert any(fnmatch.fnmatch(path.name, p) for p in patterns), f"{path.name} would not ship in the wheel"


# ------------------------------------------------------------------ dockbench report


def test_report_command_renders_every_format(real, fleet, tmp_path):
    source = tmp_path / "fleet.json"
    source.write_text(json.dumps(fleet))
    for fmt in render.formats():
        out = tmp_path / f"out-{fmt}{render.extension(fmt)}"
        done = dockbench("report", source, "--format", fmt, "-o", out)
        assert done.returncode == 0, done.stderr
        assert out.read_bytes() == render.render(fleet, fmt).encode()
        assert done.stderr == f"{fmt}: {out}\n"


def test_report_command_infers_the_format_and_output_name(real, tmp_path):
    source = tmp_path / "scan.json"
    source.write_text(real["paths"]["both"].read_text())
    done = dockbench("report", source)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "scan.html").read_text().startswith("<!DOCTYPE html>")
    done = dockbench("report", source, "-o", tmp_path / "ci.xml")
    assert done.returncode == 0, done.stderr
    _suites((tmp_path / "ci.xml").read_text())
    done = dockbench("report", "-", "--format", "md", input=source.read_text())
    assert done.returncode == 0 and done.stdout.startswith("# dockbench: ")
    done = dockbench("report", source, "--format", "json")
    assert done.returncode == 2 and "would overwrite it" in done.stderr


@pytest.mark.parametrize("content, message", [
    ("not json at all", "not valid JSON: Expecting value"),
    ('{"kind": "host"}', "not a dockbench report: $: 'schema_version' is required"),
    ("[1, 2]", "not a dockbench report: $: expected object"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
])
def test_report_command_refuses_what_is_not_a_report(tmp_path, content, message):
    source = tmp_path / "bad.json"
    source.write_bytes(content if isinstance(content, bytes) else content.encode())
    done = dockbench("report", source, "-o", tmp_path / "out.html")
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "out.html").exists()


def test_report_command_usage_errors(real, tmp_path):
    done = dockbench("report", tmp_path / "missing.json")
    assert done.returncode == 2 and "cannot read" in done.stderr and "No such file" in done.stderr
    done = dockbench("report", real["paths"]["web"], "-o", tmp_path / "out.pdf")
    assert done.returncode == 2 and "cannot tell the format" in done.stderr
    done = dockbench("report", real["paths"]["web"], "--format", "pdf")
    assert done.returncode == 2 and "'pdf' is not one of" in done.stderr


def test_each_format_is_a_module_of_the_render_package_that_declares_it():
    import importlib
    import pkgutil

    from dockbench.benchmark.render import registry

    declared = {}
    for module in pkgutil.iter_modules(render.__path__):
        found = getattr(importlib.import_module(f"dockbench.benchmark.render.{module.name}"), "FORMAT", None)
        if found is not None:
            declared[found.name] = module.name
    assert sorted(declared) == sorted(render.formats())
    assert set(declared.values()) == {"json_report", "html_page", "junit_xml", "csv_rows", "markdown", "json_lines", "ocsf", "prometheus"}
    for name, fmt in registry.registry().items():
        assert (fmt.writer or fmt.renderer).__module__ == f"dockbench.benchmark.render.{declared[name]}"
        assert all(render.format_for_path(f"out/file{ext}") == name for ext in fmt.extensions)


def test_csv_and_junit_name_each_offender_by_kind_and_id(real, docker_daemon):
    doc = real["reports"]["both"]
    risky = docker_daemon.inspect(real["names"]["risky"])["Id"]
    rows = {r["check_id"]: r for r in _rows(render.render(doc, "csv"))}
    assert rows["container-no-host-pid"]["subject_ids"] == f"container:{risky}"
    assert rows["container-not-privileged"]["status"] == "PASS" and rows["container-not-privileged"]["subject_ids"] == ""
    root = _suites(render.render(doc, "junit"))
    case = root.find(".//testcase[@name='container-no-host-pid']")
    assert [(p.get("name"), p.get("value")) for p in case.find("properties")] == [("container", risky)]
    assert root.find(".//testcase[@name='container-not-privileged']") is not None
    assert root.find(".//testcase[@name='container-not-privileged']/properties") is None
