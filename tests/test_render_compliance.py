"""The formats compliance platforms and monitoring ingest, on reports of real scans and sweeps.

OCSF findings are validated against the OCSF 1.5.0 schema itself (the ocsf-json-schema
package ships the schema's definitions and turns a class into a JSON Schema); the Prometheus
file is read back with prometheus_client's own parser.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path

import jsonschema
import pytest
import yaml
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema
from prometheus_client.parser import text_string_to_metric_families

from dockbench.benchmark import render
from dockbench.benchmark.document.report import STATUS_ORDER, score_of, summarize
from dockbench.benchmark.render import junit_xml, ocsf
from tests import sweepdoc
from tests.cli_run import dockbench, load_report
from tests.render_scans import PAYLOADS, PWNED, hostile_edit
from tests.support.sshd import Lab

# Label-breaking text: quotes, backslashes, newlines, braces, a comment and a fake sample.
BREAKERS = 'a"b\\c\nd} e{x="1"} # HELP\ndockbench_score_ratio 1\\n'


@pytest.fixture(scope="module")
def fleet(real):
    r = real["reports"]
    hosts = [sweepdoc.as_host(r["both"], "web-01"), sweepdoc.as_host(r["web"], "web-02"), sweepdoc.as_host(r["hostile"], "odd-01")]
    errors = [sweepdoc.error_entry("ssh://root@db-01", "auth_failed", "Authentication failed for root@db-01", name="db-01")]
    return sweepdoc.sweep(hosts, errors)


def waived(report: dict) -> dict:
    """A real report with its first FAIL waived the way a waiver file marks it."""
    doc = copy.deepcopy(report)
    result = next(r for r in doc["results"] if r["status"] == "FAIL")
    result["waived"] = True
    result["waivers"] = [{"id": "accepted-1", "justification": "legacy host", "owner": "ops", "expires": "2099-01-01", "state": "active"}]
    doc["summary"]["waived"] = {"total": 1, "by_status": {s: int(s == "FAIL") for s in STATUS_ORDER}}
    doc["summary"]["score_with_waivers"] = score_of({**doc["summary"]["by_status"], "FAIL": doc["summary"]["by_status"]["FAIL"] - 1})
    doc["waivers"] = {"source": "waivers.yaml", "judged_on": "2026-12-01", "warning_days": 14, "entries": [
        {"id": "accepted-1", "check": result["id"], "containers": [], "images": [], "hosts": [], "justification": "legacy host",
         "owner": "ops", "expires": "2099-01-01", "state": "active", "days_left": 26000, "matched": 1, "in_scope": True},
        {"id": "old-1", "check": "daemon-icc-disabled", "containers": [], "images": [], "hosts": [], "justification": "was needed",
         "owner": "ops", "expires": "2020-01-01", "state": "expired", "days_left": -2000, "matched": 0, "in_scope": True},
    ]}
    return doc


# ------------------------------------------------------------------ OCSF


@pytest.fixture(scope="module")
def ocsf_schema():
    """The OCSF schema's Compliance Finding class as JSON Schema (no profiles), and the raw class."""
    raw = get_ocsf_schema(version=ocsf.OCSF_VERSION)
    schema = OcsfJsonSchemaEmbedded(raw).get_class_schema("compliance_finding")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema), raw


def _valid_findings(text: str, ocsf_schema) -> list[dict]:
    validator, _ = ocsf_schema
    found = json.loads(text)
    assert isinstance(found, list) and found
    for item in found:
        errors = sorted(validator.iter_errors(item), key=str)
        assert not errors, f"{item['finding_info']['uid']}: {errors[0]}"
    return found


def test_every_ocsf_finding_of_a_real_scan_and_sweep_is_valid(real, fleet, ocsf_schema):
    for doc in (*real["reports"].values(), fleet):
        found = _valid_findings(render.render(doc, "ocsf"), ocsf_schema)
        results = [r for h in render.host_reports(doc) for r in h["results"]]
        assert len(found) == len(results) + len(render.unreachable(doc))


def test_ocsf_carries_the_recommended_fields_the_schema_names(real, ocsf_schema):
    _, raw = ocsf_schema
    attributes = raw["classes"]["compliance_finding"]["attributes"]
    recommended = {name for name, a in attributes.items() if a.get("requirement") == "recommended" and not a.get("profile")}
    promised = {"message", "status_id", "resources", "remediation", "timezone_offset"}
    assert promised <= recommended
    compliance = {n for n, a in raw["objects"]["compliance"]["attributes"].items() if a.get("requirement") == "recommended"}
    assert compliance == {"control", "status", "standards", "status_id"}
    for item in json.loads(render.render(real["reports"]["both"], "ocsf")):
        assert promised <= set(item)
        assert compliance <= set(item["compliance"])
        assert {"uid", "title"} <= set(item["finding_info"])


def test_ocsf_maps_statuses_cis_ids_and_containers(real, docker_daemon):
    doc = real["reports"]["both"]
    risky_id = docker_daemon.inspect(real["names"]["risky"])["Id"]
    found = {f["finding_info"]["product_uid"]: f for f in ocsf.findings(doc)}
    results = {r["id"]: r for r in doc["results"]}
    pid = found["container-no-host-pid"]
    assert (pid["compliance"]["status_id"], pid["compliance"]["status"]) == (3, "Fail")
    assert pid["compliance"]["requirements"] == ["5.16"] and pid["compliance"]["control"] == "5.16"
    assert pid["compliance"]["standards"] == [doc["benchmark"]["title"]] == ["CIS Docker Benchmark v1.6.0"]
    assert (pid["severity"], pid["status"]) == (results["container-no-host-pid"]["severity"].title(), "New")
    host, *containers = pid["resources"]
    assert (host["type"], host["hostname"]) == ("Docker Host", doc["target"]["hostname"])
    assert containers == [{"type": "Docker Container", "name": real["names"]["risky"], "uid": risky_id, "hostname": doc["target"]["hostname"]}]
    assert pid["remediation"]["desc"] == results["container-no-host-pid"]["remediation"]
    assert pid["time"] == int(ocsf._millis(doc["finished_at"]))
    assert pid["evidences"][0] == {"name": real["names"]["risky"], "data": {"observed": "PidMode=host", "kind": "container", "id": risky_id}}
    passing = next(f for f in found.values() if f["unmapped"]["dockbench"]["layer"] == "containers" and f["unmapped"]["dockbench"]["status"] == "PASS")
    assert sorted((c["name"], c["uid"]) for c in passing["resources"][1:]) == sorted((real["names"][n], docker_daemon.inspect(real["names"][n])["Id"]) for n in ("web", "risky"))
    by_status = {}
    for f in found.values():
        by_status.setdefault(f["unmapped"]["dockbench"]["status"], set()).add((f["compliance"]["status_id"], f["compliance"]["status"]))
    assert by_status["PASS"] == {(1, "Pass")} and by_status["FAIL"] == {(3, "Fail")}
    expected = {"MANUAL": {(2, "Warning")}, "ERROR": {(0, "Unknown")}, "NOT_APPLICABLE": {(99, "Not Applicable")}}
    assert {s: v for s, v in by_status.items() if s in expected} == {s: expected[s] for s in by_status if s in expected}
    assert all(f["severity"] == "Informational" for f in found.values() if f["unmapped"]["dockbench"]["status"] in ("PASS", "NOT_APPLICABLE"))


def test_ocsf_finding_uid_is_stable_across_scans_of_a_host_and_differs_between_hosts(real, fleet):
    first, again = real["reports"]["web"], real["reports"]["both"]  # two scans of the same daemon
    uids = {f["finding_info"]["product_uid"]: f["finding_info"]["uid"] for f in ocsf.findings(first)}
    assert uids == {f["finding_info"]["product_uid"]: f["finding_info"]["uid"] for f in ocsf.findings(again)}
    assert first["scan_id"] != again["scan_id"]
    per_host = [{f["finding_info"]["uid"] for f in ocsf.findings(h)} for h in fleet["hosts"]]
    assert not per_host[0] & per_host[1]
    assert len({f["metadata"]["uid"] for f in ocsf.findings(fleet)}) == len(ocsf.findings(fleet))


def test_a_waived_result_is_suppressed_and_an_unreachable_target_is_a_finding(real, fleet, ocsf_schema):
    doc = waived(real["reports"]["both"])
    found = _valid_findings(render.render(doc, "ocsf"), ocsf_schema)
    result = next(r for r in doc["results"] if r.get("waived"))
    (item,) = [f for f in found if f["finding_info"]["product_uid"] == result["id"]]
    assert (item["status_id"], item["status"], item["compliance"]["status"]) == (3, "Suppressed", "Fail")
    assert item["unmapped"]["dockbench"]["waivers"][0]["id"] == "accepted-1"
    assert all(f["status"] == "New" for f in found if f is not item)
    down = [f for f in _valid_findings(render.render(fleet, "ocsf"), ocsf_schema) if f["finding_info"]["product_uid"] == "host-reachable"]
    assert [(f["resources"][0]["uid"], f["compliance"]["status"]) for f in down] == [("ssh://root@db-01", "Unknown")]
    assert "Authentication failed for root@db-01" in down[0]["message"]


def test_ocsf_keeps_hostile_text_intact_as_json_strings(real, ocsf_schema):
    doc = hostile_edit(real["reports"]["both"])
    doc["target"]["hostname"] += BREAKERS
    text = render.render(doc, "ocsf")
    found = _valid_findings(text, ocsf_schema)
    assert found[0]["resources"][0]["hostname"] == doc["target"]["hostname"]
    messages = {f["finding_info"]["product_uid"]: f["message"] for f in found}
    assert all(messages[r["id"]] == r["message"] for r in doc["results"])
    evidence = {f["finding_info"]["product_uid"]: f.get("evidences") for f in found}
    assert all((evidence[r["id"]] or []) == [{"name": e["subject"], "data": {"observed": e["observed"], **{k: e[k] for k in ("kind", "id") if k in e}}} for e in r["evidence"]]
               for r in doc["results"])


# ------------------------------------------------------------------ Prometheus


def _families(text: str) -> dict:
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families and all(name.startswith("dockbench_") for name in families)
    assert all(f.type == "gauge" and f.documentation for f in families.values())
    return families


def _samples(families: dict, name: str, **match) -> list:
    return [s for s in families[name].samples if all(s.labels.get(k) == v for k, v in match.items())]


def test_prometheus_of_a_real_scan_matches_the_report(real):
    doc = real["reports"]["both"]
    families = _families(render.render(doc, "prometheus"))
    host = {"host": doc["target"]["hostname"], "target": doc["target"]["name"]}
    (score,) = _samples(families, "dockbench_score_ratio", **host)
    assert math.isclose(score.value, doc["summary"]["score"] / 100)
    assert {s.labels["status"]: s.value for s in _samples(families, "dockbench_results", **host)} == doc["summary"]["by_status"]
    layers = {(s.labels["layer"], s.labels["status"]): s.value for s in families["dockbench_layer_results"].samples}
    assert layers == {(layer, s): n for layer, counts in doc["summary"]["by_layer"].items() for s, n in counts.items()}
    failing = {s.labels["check"]: s for s in families["dockbench_check_failed"].samples}
    assert set(failing) == {r["id"] for r in doc["results"] if r["status"] == "FAIL"}
    assert {"cis": "5.16", "layer": "containers", "waived": "false", **host}.items() <= failing["container-no-host-pid"].labels.items()
    (end,) = families["dockbench_scan_end_timestamp_seconds"].samples
    assert end.value == ocsf._millis(doc["finished_at"]) / 1000
    (took,) = families["dockbench_scan_duration_seconds"].samples
    assert took.value == float(junit_xml._seconds(doc["started_at"], doc["finished_at"]))
    assert "dockbench_waivers" not in families and "dockbench_waived_results" not in families
    (info,) = families["dockbench_scan_info"].samples
    assert (info.labels["benchmark"], info.labels["version"]) == (doc["benchmark"]["id"], doc["tool"]["version"])


def test_prometheus_of_a_sweep_has_each_host_and_each_unreachable_target(fleet):
    families = _families(render.render(fleet, "prometheus"))
    scores = {s.labels["host"]: s.value for s in families["dockbench_score_ratio"].samples}
    assert set(scores) == {"web-01", "web-02", "odd-01"}
    for host in fleet["hosts"]:
        counts = {s.labels["status"]: s.value for s in _samples(families, "dockbench_results", host=host["target"]["hostname"])}
        assert counts == host["summary"]["by_status"]
    (down,) = families["dockbench_target_unreachable"].samples
    assert down.labels == {"target": "ssh://root@db-01", "name": "db-01", "kind": "auth_failed", "message": "Authentication failed for root@db-01"}
    assert families["dockbench_sweep_targets"].samples[0].value == 4


def test_prometheus_counts_waived_results_and_waivers_by_state(real):
    doc = waived(real["reports"]["both"])
    families = _families(render.render(doc, "prometheus"))
    assert {s.labels["status"]: s.value for s in families["dockbench_waived_results"].samples}["FAIL"] == 1
    assert {s.labels["state"]: s.value for s in families["dockbench_waivers"].samples} == {"active": 1, "expiring": 0, "expired": 1}
    (with_waivers,) = families["dockbench_score_with_waivers_ratio"].samples
    assert math.isclose(with_waivers.value, doc["summary"]["score_with_waivers"] / 100)
    result = next(r for r in doc["results"] if r.get("waived"))
    assert _samples(families, "dockbench_check_failed", check=result["id"])[0].labels["waived"] == "true"


def test_prometheus_label_values_survive_label_breaking_text(real):
    doc = hostile_edit(real["reports"]["both"])
    doc["target"]["hostname"] = BREAKERS + PWNED[0]
    doc["target"]["name"] = "ssh://" + BREAKERS
    fleet = sweepdoc.sweep([doc], [sweepdoc.error_entry("ssh://" + BREAKERS, "timeout", BREAKERS + PAYLOADS[1], name=PAYLOADS[0])])
    text = render.render(fleet, "prometheus")
    families = _families(text)
    assert {s.labels["host"] for s in families["dockbench_results"].samples} == {BREAKERS + PWNED[0]}
    assert {s.labels["target"] for s in families["dockbench_results"].samples} == {"ssh://" + BREAKERS}
    (down,) = families["dockbench_target_unreachable"].samples
    assert (down.labels["target"], down.labels["message"], down.labels["name"]) == ("ssh://" + BREAKERS, BREAKERS + PAYLOADS[1], PAYLOADS[0])
    sample_lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert all(line.startswith("dockbench_") for line in sample_lines)  # no injected line, no injected series
    assert len(sample_lines) == sum(len(f.samples) for f in families.values())


def test_a_host_never_decided_has_no_score_series(real):
    doc = copy.deepcopy(real["reports"]["web"])
    for result in doc["results"]:
        result["status"] = "ERROR" if result["status"] in ("PASS", "FAIL") else result["status"]
    doc["summary"] = summarize(doc["results"])
    families = _families(render.render(doc, "prometheus"))
    assert "dockbench_score_ratio" not in families and "dockbench_results" in families


def test_report_writes_prom_and_ocsf_files_by_extension_atomically(real, tmp_path, ocsf_schema):
    source = real["paths"]["both"]
    prom = tmp_path / "textfile" / "dockbench.prom"
    prom.parent.mkdir()
    prom.write_text("old")
    done = dockbench("report", source, "-o", prom)
    assert done.returncode == 0, done.stderr
    _families(prom.read_text())
    assert sorted(p.name for p in prom.parent.iterdir()) == ["dockbench.prom"]  # the temp file was renamed over it
    done = dockbench("report", source, "--format", "ocsf")
    assert done.returncode == 0, done.stderr
    _valid_findings(source.with_suffix(".ocsf.json").read_text(), ocsf_schema)
    assert render.format_for_path("x/findings.OCSF.json") == "ocsf" and render.format_for_path("report.json") == "json"


# ------------------------------------------------------------------ a real sweep, both formats at once


@pytest.fixture(scope="module")
def swept(docker_daemon, tmp_path_factory):
    """A real SSH sweep of two sshd hosts (the test daemon behind both) and a closed port."""
    lab = Lab(Path(tempfile.mkdtemp(prefix="dbt-formatlab-")))
    try:
        servers = {name: lab.start(name, f"127.0.0.{71 + i}") for i, name in enumerate(("alpha", "bravo"))}
    except Exception as exc:  # noqa: BLE001 - any failure to start the lab fails the tests that need it
        lab.stop()
        pytest.fail(f"cannot start the sshd lab: {exc}", pytrace=False)
    tmp = tmp_path_factory.mktemp("formats-sweep")
    known = lab.known_hosts(tmp / "known_hosts", list(servers.values()))
    hosts = {n: {"host": servers[n].address, "port": servers[n].port} for n in servers}
    hosts["closed"] = {"host": "127.0.0.73", "port": 1}
    inventory = {"defaults": {"user": "root", "key": str(lab.client_key), "docker_host": docker_daemon.host}, "groups": {"fleet": {"hosts": hosts}}}
    (tmp / "inventory.yaml").write_text(yaml.safe_dump(inventory))
    out = {ext: tmp / f"sweep{ext}" for ext in (".json", ".ocsf.json", ".prom")}
    done = dockbench("scan", "--inventory", tmp / "inventory.yaml", "--known-hosts", known, "--ssh-config", "/dev/null", "--connect-timeout", "5",
                     "--no-archive", "-q", "--fail-on", "never", *(arg for path in out.values() for arg in ("-o", path)))
    assert done.returncode == 4, done.stderr  # one target could not be audited
    yield {"document": load_report(out[".json"]), "ocsf": out[".ocsf.json"].read_text(), "prom": out[".prom"].read_text()}
    lab.stop()


def test_a_real_sweep_written_as_ocsf_and_prometheus_in_one_scan(swept, ocsf_schema):
    doc = swept["document"]
    assert [h["target"]["name"] for h in doc["hosts"]] == ["alpha", "bravo"] and [e["name"] for e in doc["errors"]] == ["closed"]
    found = _valid_findings(swept["ocsf"], ocsf_schema)
    assert len(found) == sum(h["summary"]["total"] for h in doc["hosts"]) + 1
    assert {f["resources"][0]["uid"] for f in found} == {"alpha", "bravo", doc["errors"][0]["target"]}
    families = _families(swept["prom"])
    for host in doc["hosts"]:
        counts = {s.labels["status"]: s.value for s in _samples(families, "dockbench_results", target=host["target"]["name"])}
        assert counts == host["summary"]["by_status"]
    (down,) = families["dockbench_target_unreachable"].samples
    assert (down.labels["name"], down.labels["kind"]) == ("closed", doc["errors"][0]["kind"])


# ------------------------------------------------------------------ waivers of a real scan


@pytest.fixture(scope="module")
def waived_scan(real, docker_daemon, tmp_path_factory):
    """A real scan of the risky container with its host-PID finding waived and one waiver expired."""
    tmp = tmp_path_factory.mktemp("waived-scan")
    entries = [{"id": "pid-accepted", "check": "container-no-host-pid", "containers": [real["names"]["risky"]], "justification": 'needs "ps" \\ of the host',
                "owner": "platform", "expires": "2099-12-31"},
               {"id": "icc-old", "check": "daemon-icc-disabled", "justification": "was needed once", "owner": "platform", "expires": "2020-01-01"}]
    (tmp / "waivers.yaml").write_text(yaml.safe_dump({"waivers": entries}))
    out = tmp / "scan.json"
    done = dockbench("scan", "--docker-host", docker_daemon.host, "--container", real["names"]["risky"], "--waivers", tmp / "waivers.yaml",
                     "--no-archive", "-q", "--fail-on", "never", "-o", out, "-o", tmp / "scan.ocsf.json", "-o", tmp / "scan.prom")
    assert done.returncode == 0, done.stderr
    return {"document": load_report(out), "ocsf": (tmp / "scan.ocsf.json").read_text(), "prom": (tmp / "scan.prom").read_text()}


def test_a_real_waived_finding_is_suppressed_in_ocsf_and_counted_in_prometheus(waived_scan, ocsf_schema):
    doc = waived_scan["document"]
    (result,) = [r for r in doc["results"] if r.get("waived")]
    assert result["id"] == "container-no-host-pid"
    found = {f["finding_info"]["product_uid"]: f for f in _valid_findings(waived_scan["ocsf"], ocsf_schema)}
    assert (found[result["id"]]["status"], found[result["id"]]["compliance"]["status"]) == ("Suppressed", "Fail")
    assert found[result["id"]]["unmapped"]["dockbench"]["waivers"][0]["justification"] == 'needs "ps" \\ of the host'
    assert {f["status"] for uid, f in found.items() if uid != result["id"]} == {"New"}
    families = _families(waived_scan["prom"])
    assert {s.labels["status"]: s.value for s in families["dockbench_waived_results"].samples} == doc["summary"]["waived"]["by_status"]
    states = {s.labels["state"]: s.value for s in families["dockbench_waivers"].samples}
    assert states == {"active": 1, "expiring": 0, "expired": 1}
    (failed,) = _samples(families, "dockbench_check_failed", check=result["id"])
    assert failed.labels["waived"] == "true"
    (with_waivers,) = families["dockbench_score_with_waivers_ratio"].samples
    assert math.isclose(with_waivers.value, doc["summary"]["score_with_waivers"] / 100)
