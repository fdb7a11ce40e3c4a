"""The remediation plan of the recorded host, judged again after edits another real host would show:
what is refused and why, what becomes a question, what a waiver leaves out, --only / --skip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockbench.benchmark import remediate
from tests.cli_run import dockbench
from tests.recorded import recorded_snapshot


def judged(snapshot: dict, tmp_path, *extra: str) -> dict:
    facts, report = tmp_path / "facts.json", tmp_path / "report.json"
    facts.write_text(json.dumps(snapshot))
    done = dockbench("evaluate", facts, "-o", report, "-q", "--fail-on", "never", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(report.read_text())


def items(plan: dict) -> dict[str, dict]:
    return {i["check"]: i for i in plan["hosts"][0]["items"]}


def test_a_daemon_json_that_does_not_parse_refuses_every_daemon_item(tmp_path):
    snapshot = recorded_snapshot()
    error = "/etc/docker/daemon.json is not valid daemon configuration: Expecting ',' delimiter: line 1 column 15 (char 14)"
    snapshot["daemon_config"] = {"path": "/etc/docker/daemon.json", "state": "invalid", "data": None, "error": error}
    plan = remediate.build(judged(snapshot, tmp_path), snapshot)
    refused = {c: i["refused"] for c, i in items(plan).items() if i["kind"] == "daemon_json"}
    # the checks the running daemon decides still FAIL; each of their items is refused for the file
    assert refused["daemon-live-restore"] == f"/etc/docker/daemon.json does not parse ({error}): fix it by hand first (see daemon-config-valid)"
    assert set(refused) >= {"daemon-live-restore", "daemon-userns-remap"} and set(refused.values()) == {refused["daemon-live-restore"]}
    assert plan["hosts"][0]["daemon_json"] is None
    assert "daemon-config-valid" in [e["check"] for e in plan["hosts"][0]["not_covered"]]


def test_an_option_on_the_command_line_is_refused_and_left_out_of_the_merge(tmp_path):
    snapshot = recorded_snapshot()
    snapshot["daemon"]["argv"] += ["--userland-proxy=true"]
    plan = remediate.build(judged(snapshot, tmp_path), snapshot)
    item = items(plan)["daemon-userland-proxy-disabled"]
    assert item["refused"] == ("userland-proxy is given on dockerd's command line (/proc/2719/cmdline), and dockerd refuses to start with an option "
                               "both there and in daemon.json: change it on the command line")
    assert item["safe"] is False
    merged = plan["hosts"][0]["daemon_json"]
    assert "daemon-userland-proxy-disabled" not in merged["checks"] and "userland-proxy" not in json.loads(merged["new_text"])
    assert "daemon-live-restore" in merged["checks"]


def test_without_facts_items_needing_the_hosts_files_are_refused(tmp_path):
    snapshot = recorded_snapshot()
    plan = remediate.build(judged(snapshot, tmp_path), None)
    by_check = items(plan)
    assert by_check["daemon-live-restore"]["refused"].startswith("needs the scan's facts snapshot")
    assert by_check["host-audit-etc-docker"]["refused"].startswith("needs the scan's facts snapshot")
    assert plan["hosts"][0]["daemon_json"] is None and plan["hosts"][0]["audit_rules"] is None


def test_manual_findings_are_questions_and_waived_ones_are_left_out(tmp_path):
    snapshot = recorded_snapshot()
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - id: W-1\n    check: daemon-live-restore\n    justification: swarm soon\n    owner: ops\n    expires: 2099-01-01\n")
    report = judged(snapshot, tmp_path, "--waivers", waivers)
    plan = remediate.build(report, snapshot)
    host = plan["hosts"][0]
    assert "daemon-live-restore" not in items(plan)
    assert [w["check"] for w in host["waived"]] == ["daemon-live-restore"]
    manual = [r["id"] for r in report["results"] if r["status"] == "MANUAL"]
    assert [q["check"] for q in host["questions"]] == manual
    assert not set(manual) & set(items(plan))


def test_only_and_skip_pick_items_by_check_id_or_glob(tmp_path):
    snapshot = recorded_snapshot()
    report = judged(snapshot, tmp_path)
    plan = remediate.build(report, snapshot, only=("daemon-*",), skip=("daemon-userns-remap",))
    assert sorted(items(plan)) == ["daemon-icc-disabled", "daemon-live-restore", "daemon-no-new-privileges", "daemon-userland-proxy-disabled"]
    safe = remediate.build(report, snapshot, only=("daemon-*",), safe_only=True)
    assert sorted(items(safe)) == ["daemon-live-restore", "daemon-no-new-privileges", "daemon-userland-proxy-disabled"]
    assert json.loads(safe["hosts"][0]["daemon_json"]["new_text"]) == {"no-new-privileges": True, "live-restore": True, "userland-proxy": False}


def test_facts_of_another_scan_are_refused(tmp_path):
    snapshot = recorded_snapshot()
    report = judged(snapshot, tmp_path)
    snapshot["collected_at"] = "2020-01-01T00:00:00Z"
    with pytest.raises(remediate.PlanError, match="not the one this report was judged from"):
        remediate.build(report, snapshot)


def test_bad_input_is_a_message_and_exit_2(tmp_path):
    not_json, sweep = tmp_path / "x.json", Path(__file__).parent / "data" / "reports" / "sweep.json"
    not_json.write_text("{nope")
    done = dockbench("fix", not_json)
    assert (done.returncode, done.stderr.splitlines()[-1]) == (2, f"dockbench: {not_json}: not a dockbench report (not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1))")
    done = dockbench("fix", sweep, "-f", "sh")
    assert done.returncode == 2 and "a sh plan is for one host, and this plan has 4 (pick one with --host:" in done.stderr
    done = dockbench("fix", sweep, "-f", "sh", "--host", "db-01.dc2.example.test")
    assert done.returncode == 0 and done.stdout.startswith("#!/bin/sh\n"), done.stderr
    assert "if [ \"$(uname -n)\" != db-01.dc2.example.test ]; then" in done.stdout  # an SSH host's plan runs there only
