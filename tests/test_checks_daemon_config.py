"""Daemon-wide settings (CIS 2.x): the live daemon where it reports them, else flags and daemon.json."""

from __future__ import annotations

import json

import pytest

from dockbench import checks
from dockbench.benchmark.collect.probe import Record
from dockbench.benchmark.document.model import Status
from dockbench.benchmark.judge.facts import INVALID_CONFIG_FINDING, Facts
from dockbench.benchmark.judge.runner import evaluate
from tests.recorded import (
    build,
    docker_not_installed,
    docker_unreachable,
    judge,
    observed,
    recorded_records,
    recorded_snapshot,
    stat_record,
    unparsed,
    with_daemon_json,
)

DAEMON_JSON = "/etc/docker/daemon.json"
ICC = "com.docker.network.bridge.enable_icc"


def bridge(snap):
    return next(n for n in snap["docker"]["networks"] if n["Name"] == "bridge")


def daemon_json(data, docker_state=None):
    snap = with_daemon_json(json.dumps(data))
    return docker_state(snap) if docker_state else snap


def with_flags(*flags, docker_state=None):
    snap = recorded_snapshot()
    snap["daemon"]["argv"] += list(flags)
    return docker_state(snap) if docker_state else snap


# --- daemon-icc-disabled


def test_icc_recorded_default_bridge_lets_containers_talk():
    outcome = judge(recorded_snapshot(), "daemon-icc-disabled")
    assert (outcome.status, outcome.message) == (Status.FAIL, "inter-container communication is on for the default bridge")
    assert observed(outcome) == [("network bridge", f"{ICC}=true")]


def test_icc_off_on_the_default_bridge_passes():
    snap = recorded_snapshot()
    bridge(snap)["Options"][ICC] = "false"  # what `docker network inspect bridge` shows with "icc": false
    outcome = judge(snap, "daemon-icc-disabled")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("network bridge", f"{ICC}=false")])


def test_icc_without_a_default_bridge_is_not_applicable():
    snap = recorded_snapshot()
    snap["docker"]["networks"] = [n for n in snap["docker"]["networks"] if n["Name"] != "bridge"]
    outcome = judge(snap, "daemon-icc-disabled")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "the daemon has no default bridge network (bridge: none)")


def test_icc_from_daemon_json_when_the_daemon_does_not_answer():
    outcome = judge(daemon_json({"icc": False}, docker_unreachable), "daemon-icc-disabled")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("icc", f"False ({DAEMON_JSON})")])


def test_icc_default_when_the_daemon_does_not_answer_and_nothing_sets_it():
    outcome = judge(docker_unreachable(recorded_snapshot()), "daemon-icc-disabled")
    assert (outcome.status, outcome.message) == (Status.FAIL, "icc is not disabled")
    assert observed(outcome) == [("icc", "True (not set: daemon default)")]


def test_icc_flag_beats_daemon_json():
    snap = daemon_json({"icc": True}, docker_unreachable)
    snap["daemon"]["argv"].append("--icc=false")
    outcome = judge(snap, "daemon-icc-disabled")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("icc", "False (dockerd command line)")])


# --- daemon-log-level-info


def test_log_level_recorded_defaults_pass():
    outcome = judge(recorded_snapshot(), "daemon-log-level-info")
    assert (outcome.status, outcome.message) == (Status.PASS, "log level is info")
    assert observed(outcome) == [("log-level", "'info' (not set: daemon default)"), ("debug", "False (not set: daemon default)")]


def test_log_level_debug_in_daemon_json_fails():
    outcome = judge(daemon_json({"log-level": "debug"}), "daemon-log-level-info")
    assert (outcome.status, outcome.message) == (Status.FAIL, "log level is 'debug', not 'info'")
    assert observed(outcome) == [("log-level", f"'debug' ({DAEMON_JSON})"), ("debug", "False (not set: daemon default)")]


def test_log_level_info_set_explicitly_passes():
    outcome = judge(daemon_json({"log-level": "info"}), "daemon-log-level-info")
    assert (outcome.status, observed(outcome)[0]) == (Status.PASS, ("log-level", f"'info' ({DAEMON_JSON})"))


def test_log_level_debug_flag_fails():
    snap = with_flags("-D")
    snap["docker"]["info"]["Debug"] = True  # the running daemon says so too
    outcome = judge(snap, "daemon-log-level-info")
    assert (outcome.status, outcome.message) == (Status.FAIL, "the daemon runs in debug mode")
    assert observed(outcome) == [
        ("log-level", "'info' (not set: daemon default)"),
        ("debug", "True (dockerd command line)"),
        ("docker info", "Debug=true"),
    ]


def test_log_level_debug_reported_by_the_daemon_fails():
    snap = recorded_snapshot()
    snap["docker"]["info"]["Debug"] = True  # e.g. enabled by a config reload
    outcome = judge(snap, "daemon-log-level-info")
    assert outcome.status is Status.FAIL
    assert observed(outcome)[-1] == ("docker info", "Debug=true")


# --- daemon-iptables-enabled


def test_iptables_recorded_default_passes():
    outcome = judge(recorded_snapshot(), "daemon-iptables-enabled")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("iptables", "True (not set: daemon default)")])


def test_iptables_off_on_the_command_line_fails():
    outcome = judge(with_flags("--iptables=false"), "daemon-iptables-enabled")
    assert (outcome.status, outcome.message) == (Status.FAIL, "the daemon does not manage iptables")
    assert observed(outcome) == [("iptables", "False (dockerd command line)")]


def test_iptables_off_in_daemon_json_fails():
    outcome = judge(daemon_json({"iptables": False}), "daemon-iptables-enabled")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("iptables", f"False ({DAEMON_JSON})")])


# --- daemon-live-restore


def test_live_restore_recorded_daemon_reports_it_off():
    outcome = judge(recorded_snapshot(), "daemon-live-restore")
    assert (outcome.status, outcome.message) == (Status.FAIL, "live restore is disabled")
    assert observed(outcome) == [("docker info", "LiveRestoreEnabled=false")]


def test_live_restore_on_in_the_running_daemon_passes():
    snap = daemon_json({"live-restore": True})
    snap["docker"]["info"]["LiveRestoreEnabled"] = True
    outcome = judge(snap, "daemon-live-restore")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("docker info", "LiveRestoreEnabled=true")])


def test_live_restore_running_daemon_wins_over_an_edited_daemon_json():
    # daemon.json edited but the daemon not reloaded: what runs is what counts.
    outcome = judge(daemon_json({"live-restore": True}), "daemon-live-restore")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("docker info", "LiveRestoreEnabled=false")])


def test_live_restore_from_daemon_json_when_the_daemon_does_not_answer():
    outcome = judge(daemon_json({"live-restore": True}, docker_unreachable), "daemon-live-restore")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("live-restore", f"True ({DAEMON_JSON})")])


def test_live_restore_default_when_the_daemon_does_not_answer():
    outcome = judge(docker_unreachable(recorded_snapshot()), "daemon-live-restore")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("live-restore", "False (not set: daemon default)")])


# --- daemon-userland-proxy-disabled


def test_userland_proxy_recorded_default_fails():
    outcome = judge(recorded_snapshot(), "daemon-userland-proxy-disabled")
    assert (outcome.status, outcome.message) == (Status.FAIL, "the userland proxy is enabled")
    assert observed(outcome) == [("userland-proxy", "True (not set: daemon default)")]


def test_userland_proxy_disabled_in_daemon_json_passes():
    outcome = judge(daemon_json({"userland-proxy": False}), "daemon-userland-proxy-disabled")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("userland-proxy", f"False ({DAEMON_JSON})")])


def test_userland_proxy_disabled_on_the_command_line_passes():
    outcome = judge(with_flags("--userland-proxy=false"), "daemon-userland-proxy-disabled")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("userland-proxy", "False (dockerd command line)")])


# --- daemon-no-new-privileges


def test_no_new_privileges_recorded_default_fails():
    outcome = judge(recorded_snapshot(), "daemon-no-new-privileges")
    assert (outcome.status, outcome.message) == (Status.FAIL, "no-new-privileges is not set daemon-wide")
    assert observed(outcome) == [("no-new-privileges", "False (not set: daemon default)")]


def test_no_new_privileges_in_daemon_json_passes():
    outcome = judge(daemon_json({"no-new-privileges": True}), "daemon-no-new-privileges")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("no-new-privileges", f"True ({DAEMON_JSON})")])


def test_no_new_privileges_flag_passes():
    outcome = judge(with_flags("--no-new-privileges"), "daemon-no-new-privileges")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("no-new-privileges", "True (dockerd command line)")])


# --- daemon-storage-driver-not-aufs


def test_storage_driver_recorded_overlay2_passes():
    outcome = judge(recorded_snapshot(), "daemon-storage-driver-not-aufs")
    assert (outcome.status, outcome.message) == (Status.PASS, "the daemon uses overlay2")
    assert observed(outcome) == [("docker info", "Driver=overlay2")]


def test_storage_driver_aufs_fails():
    snap = recorded_snapshot()
    snap["docker"]["info"]["Driver"] = "aufs"
    outcome = judge(snap, "daemon-storage-driver-not-aufs")
    assert (outcome.status, outcome.message) == (Status.FAIL, "the daemon uses aufs")
    assert observed(outcome) == [("docker info", "Driver=aufs")]


def test_storage_driver_aufs_in_daemon_json_when_the_daemon_does_not_answer():
    outcome = judge(daemon_json({"storage-driver": "aufs"}, docker_unreachable), "daemon-storage-driver-not-aufs")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("storage-driver", f"'aufs' ({DAEMON_JSON})")])


def test_storage_driver_unknown_when_the_daemon_does_not_answer_and_nothing_sets_it():
    outcome = judge(docker_unreachable(recorded_snapshot()), "daemon-storage-driver-not-aufs")
    assert outcome.status is Status.NOT_APPLICABLE
    assert outcome.message == "the daemon is unreachable and no storage driver is configured"
    assert observed(outcome) == [("storage-driver", "None (not set: daemon default)")]


# --- daemon-storage-driver-not-devicemapper (CIS 1.8.0 2.7; beyond CIS in 1.6.0 and 1.7.0)


def test_storage_driver_recorded_overlay2_is_not_devicemapper():
    outcome = judge(recorded_snapshot(), "daemon-storage-driver-not-devicemapper")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, "the daemon uses overlay2", [("docker info", "Driver=overlay2")])


def test_storage_driver_devicemapper_fails():
    snap = recorded_snapshot()
    snap["docker"]["info"]["Driver"] = "devicemapper"
    outcome = judge(snap, "daemon-storage-driver-not-devicemapper")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.FAIL, "the daemon uses devicemapper", [("docker info", "Driver=devicemapper")])


def test_storage_driver_devicemapper_in_daemon_json_when_the_daemon_does_not_answer():
    outcome = judge(daemon_json({"storage-driver": "devicemapper"}, docker_unreachable), "daemon-storage-driver-not-devicemapper")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("storage-driver", f"'devicemapper' ({DAEMON_JSON})")])
    outcome = judge(docker_unreachable(recorded_snapshot()), "daemon-storage-driver-not-devicemapper")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "the daemon is unreachable and no storage driver is configured")


# --- daemon-experimental-off


def test_experimental_recorded_off_passes():
    outcome = judge(recorded_snapshot(), "daemon-experimental-off")
    assert (outcome.status, outcome.message) == (Status.PASS, "experimental features are off")
    assert observed(outcome) == [("docker info", "ExperimentalBuild=false")]


def test_experimental_on_fails():
    snap = recorded_snapshot()
    snap["docker"]["info"]["ExperimentalBuild"] = True
    outcome = judge(snap, "daemon-experimental-off")
    assert (outcome.status, outcome.message) == (Status.FAIL, "experimental features are enabled")
    assert observed(outcome) == [("docker info", "ExperimentalBuild=true")]


def test_experimental_in_daemon_json_when_the_daemon_does_not_answer():
    outcome = judge(daemon_json({"experimental": True}, docker_unreachable), "daemon-experimental-off")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("experimental", f"True ({DAEMON_JSON})")])


# --- daemon.json that cannot be used

OPTION_CHECKS = ["daemon-log-level-info", "daemon-iptables-enabled", "daemon-userland-proxy-disabled", "daemon-no-new-privileges"]
# These read the live daemon while it answers, and daemon.json only when it does not.
LIVE_FIRST = ["daemon-icc-disabled", "daemon-live-restore", "daemon-experimental-off", "daemon-storage-driver-not-aufs", "daemon-storage-driver-not-devicemapper"]


@pytest.mark.parametrize("check_id", OPTION_CHECKS)
def test_malformed_daemon_json_errors_pointing_at_the_finding_that_reports_it(check_id):
    snap = with_daemon_json('{"icc": false,,}')
    assert snap["daemon_config"]["state"] == "invalid"
    outcome = judge(snap, check_id)
    assert outcome.status is Status.ERROR
    key = {"daemon-log-level-info": "log-level", "daemon-iptables-enabled": "iptables", "daemon-userland-proxy-disabled": "userland-proxy",
           "daemon-no-new-privileges": "no-new-privileges"}[check_id]
    assert outcome.message == unparsed(key)


def test_malformed_daemon_json_is_one_failing_finding_with_the_parse_error():
    snap = with_daemon_json('{"icc": false,,}')
    outcome = judge(snap, "daemon-config-valid")
    assert (outcome.status, outcome.message) == (Status.FAIL, f"{DAEMON_JSON} cannot be parsed: dockerd will refuse to start with it after a restart")
    (item,) = observed(outcome)
    assert item[0] == DAEMON_JSON and item[1].startswith(f"{DAEMON_JSON} is not valid daemon configuration: Expecting property name")
    results = evaluate(Facts(snap), checks.load().all())
    assert [r["id"] for r in results if "Expecting property name" in json.dumps(r)] == ["daemon-config-valid"]
    errors = [r for r in results if r["status"] == "ERROR"]
    assert len(errors) > 10 and all(r["message"].endswith(": see daemon-config-valid") for r in errors)


def test_the_finding_dependent_checks_point_at_is_a_registered_check():
    assert checks.load().get(INVALID_CONFIG_FINDING).meta.id == "daemon-config-valid"


def test_daemon_config_valid_passes_on_json_and_is_not_applicable_without_a_file():
    outcome = judge(daemon_json({"icc": False, "live-restore": True}), "daemon-config-valid")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [(DAEMON_JSON, "2 options set")])
    outcome = judge(recorded_snapshot(), "daemon-config-valid")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, f"there is no {DAEMON_JSON}: the daemon runs on its flags and defaults")


def test_daemon_config_valid_unreadable_says_to_use_sudo():
    records = recorded_records()
    records["stat:" + DAEMON_JSON] = stat_record("file", 0o600, 0, 0, 42)
    records["read:" + DAEMON_JSON] = Record(rc=1, err=f"cat: {DAEMON_JSON}: Permission denied".encode())
    outcome = judge(build(records), "daemon-config-valid")
    assert outcome.status is Status.ERROR and "--sudo" in outcome.message


@pytest.mark.parametrize("check_id", LIVE_FIRST)
def test_malformed_daemon_json_errors_when_the_daemon_does_not_answer(check_id):
    snap = docker_unreachable(with_daemon_json("[1, 2]"))
    outcome = judge(snap, check_id)
    assert outcome.status is Status.ERROR
    assert outcome.message.startswith(f"{DAEMON_JSON} cannot be parsed, so the value it sets for ")
    assert outcome.message.endswith(": see daemon-config-valid")
    assert judge(snap, "daemon-config-valid").evidence[0].observed == f"{DAEMON_JSON} is not valid daemon configuration: top level is not a JSON object"


def test_malformed_daemon_json_does_not_hide_a_command_line_flag():
    snap = with_daemon_json('{"icc": false,,}')
    snap["daemon"]["argv"].append("--iptables=false")
    outcome = judge(snap, "daemon-iptables-enabled")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("iptables", "False (dockerd command line)")])


@pytest.mark.parametrize("check_id", OPTION_CHECKS)
def test_unreadable_daemon_json_errors_and_says_to_use_sudo(check_id):
    records = recorded_records()
    records["stat:" + DAEMON_JSON] = stat_record("file", 0o600, 0, 0, 42)
    records["read:" + DAEMON_JSON] = Record(rc=1, err=f"cat: {DAEMON_JSON}: Permission denied".encode())
    outcome = judge(build(records), check_id)
    assert outcome.status is Status.ERROR
    assert f"cat: {DAEMON_JSON}: Permission denied" in outcome.message
    assert "--sudo" in outcome.message


def test_empty_daemon_json_sets_nothing():
    outcome = judge(with_daemon_json(""), "daemon-userland-proxy-disabled")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("userland-proxy", "True (not set: daemon default)")])


@pytest.mark.parametrize("check_id", OPTION_CHECKS + LIVE_FIRST)
def test_daemon_checks_decide_when_docker_is_not_installed(check_id):
    # No daemon: the options are judged from what is configured, never skipped as ERROR.
    snap = docker_not_installed(recorded_snapshot())
    assert judge(snap, check_id).status is not Status.ERROR
