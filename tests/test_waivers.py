"""Waiver files: what is refused (and how it is said), how waivers apply, the expiry boundary.

The recorded snapshot has two running containers, "web" and "risky"; "risky" fails most
container checks alone, and both fail container-env-secret-names. Scans of real containers
are in tests/test_waivers_scan.py.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import jsonschema
import pytest

from dockbench import checks
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.document import validate
from dockbench.benchmark.judge.waivers import WaiverError, WaiverFile
from tests.cli_run import by_id, dockbench, load_report
from tests.recorded import recorded_snapshot

BENCHMARK = checks.load().benchmark().id   # the newest, the default of --benchmark
CATALOG = [c.meta for c in checks.load().all(BENCHMARK)]


def waiver(**fields) -> dict:
    entry = {"id": "w1", "check": "container-no-host-pid", "justification": "needs the host's process table; SEC-1234",
             "owner": "platform-security", "expires": "2099-12-31"}
    entry.update(fields)
    return {k: v for k, v in entry.items() if v is not None}


def write(tmp_path, *entries, name="waivers.yaml", **top) -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"waivers": list(entries), **top}))   # JSON is YAML
    return str(path)


@pytest.fixture
def facts(tmp_path):
    """The recorded snapshot as a facts file, and the day it was collected."""
    snapshot = recorded_snapshot()
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(snapshot))
    return path, date.fromisoformat(snapshot["collected_at"][:10])


def evaluate(facts_path, waivers_path, tmp_path, *args) -> tuple[int, dict, str]:
    out = tmp_path / "report.json"
    done = dockbench("evaluate", facts_path, "--waivers", waivers_path, "-o", out, *args)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, load_report(out), done.stdout


# ---------------------------------------------------------------- refused before anything runs

BAD = [
    ("not-yaml", "waivers: [\n  - id: x\n  check: [", "not a YAML file"),
    ("not-a-mapping", "- just\n- a list\n", "expected a mapping with a list under 'waivers:'"),
    ("no-list", "waivers: yes\n", "expected a mapping with a list under 'waivers:'"),
    ("unknown-top", "waivers: []\nwarning: 3\n", "unknown top-level key 'warning'"),
    ("bad-window", "waivers: []\nwarning_days: -1\n", "warning_days: must be a whole number of days"),
    ("entry-not-mapping", "waivers:\n  - container-no-host-pid\n", "waivers[0]: expected a mapping"),
]
BAD_ENTRIES = [
    ("missing-justification", waiver(justification=None), "waivers[0] (id 'w1'): justification: is required"),
    ("blank-justification", waiver(justification="  "), "waivers[0] (id 'w1'): justification: is required"),
    ("missing-owner", waiver(owner=None), "waivers[0] (id 'w1'): owner: is required"),
    ("missing-expires", waiver(expires=None), "waivers[0] (id 'w1'): expires: is required"),
    ("expires-not-a-date", waiver(expires="next spring"), "waivers[0] (id 'w1'): expires: 'next spring' is not a date (YYYY-MM-DD)"),
    ("expires-no-such-day", waiver(expires="2027-02-30"), "waivers[0] (id 'w1'): expires: '2027-02-30' is not a date (day is out of range for month)"),
    ("expires-a-time", waiver(expires="2027-03-31T12:00:00Z"), "waivers[0] (id 'w1'): expires: '2027-03-31T12:00:00Z' is not a date"),
    ("expires-a-number", waiver(expires=20270331), "waivers[0] (id 'w1'): expires: 20270331 is not a date"),
    ("missing-id", waiver(id=None), "waivers[0]: id: is required"),
    ("bad-id", waiver(id="two words"), "waivers[0] (id 'two words'): id: is required: a stable name"),
    ("unknown-check", waiver(check="container-no-such-thing"), "waivers[0] (id 'w1'): check: 'container-no-such-thing' names nothing in the catalog (no check id or glob"),
    ("unknown-cis", waiver(check="9.99"), f"waivers[0] (id 'w1'): check: '9.99' names nothing in the catalog (no CIS 9.99 in {BENCHMARK}"),
    ("glob-matching-nothing", waiver(check="nothing-*"), "waivers[0] (id 'w1'): check: 'nothing-*' names nothing in the catalog"),
    ("cis-as-number", waiver(check=5.16), "waivers[0] (id 'w1'): check: 5.16 is a number: quote a CIS id"),
    ("missing-check", waiver(check=None), "waivers[0] (id 'w1'): check: is required"),
    ("unknown-field", waiver(expiry="2027-01-01"), "waivers[0] (id 'w1'): expiry: unknown field"),
    ("containers-not-a-list", waiver(containers="web*"), "waivers[0] (id 'w1'): containers: must be a list"),
    ("hosts-with-a-blank", waiver(hosts=["web1", ""]), "waivers[0] (id 'w1'): hosts: must be a list"),
]


@pytest.mark.parametrize("name, text, message", BAD, ids=[b[0] for b in BAD])
def test_a_malformed_file_is_refused_naming_file_and_problem(tmp_path, facts, name, text, message):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    done = dockbench("evaluate", facts[0], "--waivers", path, "-o", tmp_path / "r.json")
    assert done.returncode == 2
    assert f"{path}: {message}" in done.stderr
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("name, entry, message", BAD_ENTRIES, ids=[b[0] for b in BAD_ENTRIES])
def test_a_bad_waiver_is_refused_naming_file_waiver_and_field(tmp_path, facts, name, entry, message):
    path = write(tmp_path, entry)
    done = dockbench("evaluate", facts[0], "--waivers", path, "-o", tmp_path / "r.json")
    assert done.returncode == 2
    assert f"{path}: {message}" in " ".join(done.stderr.split())
    assert not (tmp_path / "r.json").exists()


def test_a_duplicate_id_names_both_waivers(tmp_path):
    path = write(tmp_path, waiver(), waiver(check="daemon-icc-disabled"))
    with pytest.raises(WaiverError, match=r"waivers\[1\] \(id 'w1'\): id: duplicate: 'w1' is already waivers\[0\]"):
        WaiverFile.load(path, CATALOG, BENCHMARK)


def test_an_unreadable_or_missing_file_is_refused(tmp_path, facts):
    for path, message in ((tmp_path / "absent.yaml", "cannot read: No such file or directory"), (tmp_path, "cannot read: Is a directory")):
        done = dockbench("evaluate", facts[0], "--waivers", path)
        assert done.returncode == 2
        assert f"{path}: {message}" in done.stderr
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00waivers")
    assert f"{binary}: not a YAML file" in dockbench("evaluate", facts[0], "--waivers", binary).stderr


def test_a_bad_file_stops_a_scan_before_the_probe_runs(tmp_path, monkeypatch):
    path = write(tmp_path, waiver(owner=None))
    monkeypatch.setenv("DOCKBENCH_WAIVERS", path)   # the environment variable is read like the option
    done = dockbench("scan", "--facts-out", tmp_path / "facts.json", "--no-archive", "-o", tmp_path / "r.json")
    assert done.returncode == 2
    assert f"{path}: waivers[0] (id 'w1'): owner: is required" in done.stderr
    assert not (tmp_path / "facts.json").exists()   # nothing was probed


# ---------------------------------------------------------------- applying


def test_check_ids_cis_ids_and_globs_all_name_checks(tmp_path, facts):
    path = write(tmp_path, waiver(id="by-id", check="container-no-host-ipc"), waiver(id="by-cis", check="5.16"),
                 waiver(id="by-glob", check="host-audit-containerd*"))
    code, document, _ = evaluate(facts[0], path, tmp_path, "--fail-on", "never")
    results = by_id(document)
    assert results["container-no-host-ipc"]["waivers"][0]["id"] == "by-id"
    assert results["container-no-host-pid"]["waivers"][0]["id"] == "by-cis"
    globbed = [r["id"] for r in document["results"] if r.get("waived") and r["waivers"][0]["id"] == "by-glob"]
    assert globbed == sorted(globbed) and set(globbed) == {"host-audit-containerd", "host-audit-containerd-config", "host-audit-containerd-shim",
                                                            "host-audit-containerd-shim-runc-v1", "host-audit-containerd-shim-runc-v2"}
    matched = {e["id"]: e["matched"] for e in document["waivers"]["entries"]}
    assert matched == {"by-id": 1, "by-cis": 1, "by-glob": 5}


def test_a_waived_result_keeps_its_status_and_evidence_and_carries_the_waiver(tmp_path, facts):
    plain = tmp_path / "plain.json"
    assert dockbench("evaluate", facts[0], "-o", plain, "-q", "--fail-on", "never").returncode == 0
    before = by_id(load_report(plain))["container-no-host-pid"]
    path = write(tmp_path, waiver(containers=["risky"]))
    _, document, _ = evaluate(facts[0], path, tmp_path, "--fail-on", "never", "-q")
    after = by_id(document)["container-no-host-pid"]
    assert (after["status"], after["message"]) == (before["status"], before["message"]) == ("FAIL", "1 of 2 containers share the host's process namespace")
    assert after["evidence"] == [dict(before["evidence"][0], waiver="w1")]
    assert after["waived"] is True
    assert after["waivers"] == [{"id": "w1", "justification": "needs the host's process table; SEC-1234", "owner": "platform-security",
                                 "expires": "2099-12-31", "state": "active"}]


def test_a_per_container_check_is_waived_only_when_every_offender_is_covered(tmp_path, facts):
    path = write(tmp_path, waiver(id="web-only", check="container-env-secret-names", containers=["web"]))
    code, document, out = evaluate(facts[0], path, tmp_path)
    result = by_id(document)["container-env-secret-names"]
    assert result["status"] == "FAIL" and result["waived"] is False
    assert [(e["subject"], e.get("waiver")) for e in result["evidence"]] == [("risky", None), ("web", "web-only")]
    assert "        - web: [\"DB_PASSWORD\"]  (waived: web-only)" in out
    both = write(tmp_path, waiver(id="both", check="container-env-secret-names", containers=["web", "ris*"]), name="both.yaml")
    _, document, _ = evaluate(facts[0], both, tmp_path)
    assert by_id(document)["container-env-secret-names"]["waived"] is True


def test_context_evidence_is_not_an_offender(tmp_path, facts):
    # image-healthcheck FAILs on one image; its evidence is the image (a subject) and nothing else here,
    # while host-lsm-enabled's evidence names no container or image: a scoped waiver cannot cover it
    path = write(tmp_path, waiver(id="img", check="image-healthcheck", images=["dockbench-test/*"]),
                 waiver(id="lsm", check="host-lsm-enabled", containers=["*"]))
    _, document, _ = evaluate(facts[0], path, tmp_path, "--fail-on", "never")
    results = by_id(document)
    assert results["image-healthcheck"]["waived"] is True
    assert results["image-healthcheck"]["evidence"][0]["waiver"] == "img"
    assert "waivers" not in results["host-lsm-enabled"]
    assert {e["id"]: e["matched"] for e in document["waivers"]["entries"]} == {"img": 1, "lsm": 0}


def test_host_globs_match_the_target_name_or_the_hostname(tmp_path, facts):
    path = write(tmp_path, waiver(id="by-name", check="container-no-host-ipc", hosts=["rec*"]),
                 waiver(id="by-hostname", check="container-no-host-uts", hosts=["db1", "vm"]),
                 waiver(id="elsewhere", check="container-no-host-pid", hosts=["web*"]))
    _, document, out = evaluate(facts[0], path, tmp_path, "--fail-on", "never")
    results = by_id(document)
    assert results["container-no-host-ipc"]["waived"] and results["container-no-host-uts"]["waived"]
    assert "waivers" not in results["container-no-host-pid"]
    # a waiver meant for other hosts is not stale here
    assert [(e["id"], e["in_scope"]) for e in document["waivers"]["entries"]] == [("by-name", True), ("by-hostname", True), ("elsewhere", False)]
    assert "unmatched" not in out


def test_a_waiver_for_a_check_not_judged_is_not_stale(tmp_path, facts):
    path = write(tmp_path, waiver(), waiver(id="ipc", check="container-no-host-ipc"))
    _, document, out = evaluate(facts[0], path, tmp_path, "--exclude", "container-no-host-pid")
    assert [(e["id"], e["in_scope"], e["matched"]) for e in document["waivers"]["entries"]] == [("w1", False, 0), ("ipc", True, 1)]
    assert "waiver unmatched" not in out


def test_only_fail_and_error_are_waived(tmp_path, facts):
    path = write(tmp_path, waiver(id="manual", check="host-hardened"), waiver(id="passing", check="container-not-privileged"))
    _, document, out = evaluate(facts[0], path, tmp_path, "--fail-on", "never")
    assert not any("waivers" in r for r in document["results"])
    assert document["summary"]["waived"] == {"total": 0, "by_status": {s: 0 for s in report_mod.STATUS_ORDER}}
    assert "waiver unmatched: manual (host-hardened, owner platform-security, expires 2099-12-31): matched nothing: prune it?" in out


@pytest.mark.parametrize("offset, state, applies", [(-1, "expired", False), (0, "expiring", True), (1, "expiring", True)],
                         ids=["yesterday", "today", "tomorrow"])
def test_expiry_boundary_a_waiver_holds_through_its_last_day(tmp_path, facts, offset, state, applies):
    facts_path, day = facts
    expires = (day + timedelta(days=offset)).isoformat()
    path = write(tmp_path, waiver(expires=expires))
    code, document, out = evaluate(facts_path, path, tmp_path, "--include", "container-no-host-pid")
    result = by_id(document)["container-no-host-pid"]
    assert result["status"] == "FAIL"
    assert result.get("waived", False) is applies
    assert code == (0 if applies else 1)
    entry = document["waivers"]["entries"][0]
    assert (entry["state"], entry["days_left"], entry["matched"]) == (state, offset, 1 if applies else 0)
    assert document["waivers"]["judged_on"] == day.isoformat()
    if not applies:
        assert f"waiver expired: w1 (container-no-host-pid, owner platform-security, expires {expires}): counts as no waiver" in out


def test_the_warning_window_is_settable(tmp_path, facts):
    facts_path, day = facts
    in_20_days = (day + timedelta(days=20)).isoformat()
    _, document, _ = evaluate(facts_path, write(tmp_path, waiver(expires=in_20_days)), tmp_path, "--fail-on", "never")
    assert document["waivers"]["entries"][0]["state"] == "active"
    assert document["waivers"]["warning_days"] == 14
    _, document, _ = evaluate(facts_path, write(tmp_path, waiver(expires=in_20_days), warning_days=30), tmp_path, "--fail-on", "never")
    assert document["waivers"]["entries"][0]["state"] == "expiring"


def test_dates_are_judged_against_the_scan_day_not_today(tmp_path):
    snapshot = recorded_snapshot()
    snapshot["collected_at"] = "2025-06-30T23:59:59Z"
    old = tmp_path / "old-facts.json"
    old.write_text(json.dumps(snapshot))
    code, document, _ = evaluate(old, write(tmp_path, waiver(expires="2025-06-30")), tmp_path, "--include", "container-no-host-pid")
    assert code == 0 and by_id(document)["container-no-host-pid"]["waived"]
    snapshot["collected_at"] = "2025-07-01T00:00:00Z"
    old.write_text(json.dumps(snapshot))
    code, document, _ = evaluate(old, write(tmp_path, waiver(expires="2025-06-30")), tmp_path, "--include", "container-no-host-pid")
    assert code == 1 and document["waivers"]["entries"][0]["state"] == "expired"


def test_exit_code_and_both_scores(tmp_path, facts):
    path = write(tmp_path, waiver(id="pid", check="container-no-host-pid"), waiver(id="err", check="container-no-host-ipc"))
    only = ("--include", "container-no-host-pid", "--include", "container-no-host-ipc", "--include", "container-not-privileged")
    plain = tmp_path / "plain.json"
    assert dockbench("evaluate", facts[0], "-o", plain, "-q", *only).returncode == 1
    code, document, out = evaluate(facts[0], path, tmp_path, *only)
    assert code == 0
    summary = document["summary"]
    assert summary["by_status"]["FAIL"] == 2 and summary["by_status"]["PASS"] == 1   # judged counts stay
    assert summary["waived"]["total"] == 2 and summary["waived"]["by_status"]["FAIL"] == 2
    assert (summary["score"], summary["score_with_waivers"]) == (33.3, 100.0)
    assert "waived 2   (3 checks, score 33.3%, 100.0% with waivers)" in out
    assert "waived (2): accepted risks, not counted toward the exit code" in out
    assert "FAIL  container-no-host-pid  waiver pid · owner platform-security · expires 2099-12-31" in out


def test_a_waived_error_does_not_count_either(tmp_path, facts):
    snapshot = recorded_snapshot()
    snapshot["docker"]["status"], snapshot["docker"]["error"] = "unreachable", "connection refused"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(snapshot))
    only = ("--include", "container-no-host-pid")
    assert dockbench("evaluate", broken, "-o", tmp_path / "p.json", "-q", *only).returncode == 1
    code, document, _ = evaluate(broken, write(tmp_path, waiver()), tmp_path, *only)
    result = by_id(document)["container-no-host-pid"]
    assert (result["status"], result["waived"], code) == ("ERROR", True, 0)
    assert document["summary"]["waived"]["by_status"]["ERROR"] == 1
    scoped = write(tmp_path, waiver(containers=["*"]), name="scoped.yaml")   # an ERROR names no container: nothing to cover
    code, document, _ = evaluate(broken, scoped, tmp_path, *only)
    assert (code, "waivers" in by_id(document)["container-no-host-pid"]) == (1, False)


def test_the_report_stores_the_whole_waiver_file(tmp_path, facts):
    path = write(tmp_path, waiver(containers=["risky"], images=["x/*"], hosts=["*"]))
    _, document, _ = evaluate(facts[0], path, tmp_path, "--fail-on", "never")
    jsonschema.validate(document, report_mod.schema())
    assert document["waivers"]["source"] == path
    assert document["waivers"]["entries"] == [{
        "id": "w1", "check": "container-no-host-pid", "containers": ["risky"], "images": ["x/*"], "hosts": ["*"],
        "justification": "needs the host's process table; SEC-1234", "owner": "platform-security", "expires": "2099-12-31",
        "state": "active", "days_left": (date(2099, 12, 31) - facts[1]).days, "matched": 1, "in_scope": True,
    }]
    again = WaiverFile.stored(document["waivers"], BENCHMARK)
    assert again == WaiverFile.load(path, CATALOG, BENCHMARK)


def test_justifications_are_escaped_on_the_terminal(tmp_path, facts):
    path = write(tmp_path, waiver(owner="ops\x1b[31m", justification="fine\x1b]0;pwned\x07"))
    _, _, out = evaluate(facts[0], path, tmp_path, "--fail-on", "never")
    assert "\x1b" not in out and "owner ops\\x1b[31m" in out


def test_waived_documents_pass_our_own_schema_check_too(tmp_path, facts):
    path = write(tmp_path, waiver(id="env", check="container-env-secret-names", containers=["web"]), waiver(id="pid"))
    _, document, _ = evaluate(facts[0], path, tmp_path, "--fail-on", "never")
    validate.check(document)   # what `dockbench report` runs before rendering
    sweep = report_mod.build_sweep([document, dict(document, target=dict(document["target"], name="second"))], [], benchmark=document["benchmark"],
                                   started_at=document["started_at"], finished_at=document["finished_at"])
    jsonschema.validate(sweep, report_mod.schema())
    validate.check(sweep)
    assert sweep["summary"]["waived"]["total"] == 2
    assert [(e["id"], e["matched"]) for e in sweep["waivers"]["entries"]] == [("env", 2), ("pid", 2)]
    broken = json.loads(json.dumps(document))
    broken["waivers"]["entries"][0]["state"] = "forever"
    with pytest.raises(validate.InvalidDocument, match=r"\$\.waivers\.entries\[0\]\.state"):
        validate.check(broken)


def test_waivers_check_refuses_a_bad_file_or_day(tmp_path):
    bad = write(tmp_path, waiver(expires="someday"))
    done = dockbench("waivers", "check", bad)
    assert done.returncode == 2 and f"{bad}: waivers[0] (id 'w1'): expires: 'someday' is not a date" in done.stderr
    good = write(tmp_path, waiver(), name="good.yaml")
    assert dockbench("waivers", "check", good, "--on", "tomorrow").returncode == 2
    done = dockbench("waivers", "check", good, "--on", "2099-12-20")
    assert done.returncode == 0
    assert done.stdout.splitlines()[1] == "EXPIRING w1  container-no-host-pid  owner platform-security  expires 2099-12-31 (11 days left)"
    done = dockbench("waivers", "check", good, "--on", "2100-01-01")
    assert done.returncode == 1 and "(expired 1 day ago)" in done.stdout


def test_cis_ids_are_those_of_the_benchmark_judged_against(tmp_path, facts):
    path = write(tmp_path, waiver(check="2.8"))
    named = {b: json.loads(dockbench("waivers", "check", path, "--benchmark", b, "--json").stdout)["waivers"][0]["checks"]
             for b in ("cis-docker-1.6.0", "cis-docker-1.8.0")}
    assert named == {"cis-docker-1.6.0": ["daemon-default-ulimits"], "cis-docker-1.8.0": ["tls-tcp-requires-client-certs"]}
    newer = write(tmp_path, waiver(check="2.19"), name="newer.yaml")   # 1.8.0 renumbered section 2: 2.19 is new
    done = dockbench("evaluate", facts[0], "--benchmark", "cis-docker-1.6.0", "--waivers", newer, "-o", tmp_path / "r.json")
    assert done.returncode == 2 and "check: '2.19' names nothing in the catalog (no CIS 2.19 in cis-docker-1.6.0" in done.stderr
    _, document, _ = evaluate(facts[0], newer, tmp_path, "--benchmark", "cis-docker-1.8.0", "--fail-on", "never")
    assert document["waivers"]["entries"][0]["in_scope"] is True
