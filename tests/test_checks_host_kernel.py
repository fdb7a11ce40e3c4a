"""Host checks (CIS 1.x) on the recorded Debian 12 host: data partition, docker group, audit rules."""

from __future__ import annotations

import pytest

from dockbench import checks
from dockbench.benchmark.collect.probe import Record
from dockbench.benchmark.document.model import Status
from dockbench.benchmark.judge.facts import Facts
from dockbench.benchmark.judge.policy import Policy
from dockbench.benchmark.judge.runner import run_check
from tests.recorded import (
    absent,
    build,
    docker_not_installed,
    docker_unreachable,
    judge,
    observed,
    present,
    recorded_records,
    recorded_snapshot,
    stat_record,
)

NO_RULES = "no auditctl and no rule files in /etc/audit"

# Each audit check and the path it resolves to on the recorded host, with that path's state.
AUDITED = [
    ("host-audit-dockerd", "/usr/sbin/dockerd", "present"),  # argv[0] is "dockerd": the packaged binary
    ("host-audit-run-containerd", "/run/containerd", "present"),
    ("host-audit-docker-data", "/tmp/dbt/data", "not_collected"),  # DockerRootDir from docker info
    ("host-audit-etc-docker", "/etc/docker", "present"),
    ("host-audit-docker-service", "/usr/lib/systemd/system/docker.service", "present"),
    ("host-audit-containerd-sock", "/run/containerd/containerd.sock", "absent"),
    ("host-audit-docker-socket-unit", "/usr/lib/systemd/system/docker.socket", "present"),
    ("host-audit-etc-default-docker", "/etc/default/docker", "present"),
    ("host-audit-daemon-json", "/etc/docker/daemon.json", "absent"),
    ("host-audit-containerd-config", "/etc/containerd/config.toml", "present"),
    ("host-audit-etc-sysconfig-docker", "/etc/sysconfig/docker", "absent"),
    ("host-audit-containerd", "/usr/bin/containerd", "present"),
    ("host-audit-containerd-shim", "/usr/bin/containerd-shim", "present"),
    ("host-audit-containerd-shim-runc-v1", "/usr/bin/containerd-shim-runc-v1", "present"),
    ("host-audit-containerd-shim-runc-v2", "/usr/bin/containerd-shim-runc-v2", "present"),
    ("host-audit-runc", "/usr/bin/runc", "present"),
]
EXISTING = [(c, p) for c, p, state in AUDITED if state != "absent"]
MISSING = [(c, p) for c, p, state in AUDITED if state == "absent"]


def mounts_at(snap, point):
    return [m for m in snap["mounts"] if m["mount_point"] == point]


def own_disk(snap, point="/tmp/dbt/data"):
    """Give the data root a filesystem of its own, as a dedicated disk or LV would."""
    for m in mounts_at(snap, point):
        m.update(source="/dev/vdb", dev="254:16")
    return snap


# --- host-docker-data-partition


def test_data_partition_recorded_data_root_is_a_bind_mount_of_the_root_filesystem():
    # dockerd bind-mounts its data root onto itself: a mount point, but still the / filesystem.
    outcome = judge(recorded_snapshot(), "host-docker-data-partition")
    assert outcome.status is Status.FAIL
    assert outcome.message == "/tmp/dbt/data is a bind mount of a directory on the / filesystem"
    assert observed(outcome) == [
        ("/tmp/dbt/data", "from docker info; mounted filesystem /tmp/dbt/data (ext4 /dev/vda)"),
        ("/", "same device 254:0 (ext4 /dev/vda)"),
    ]


def test_data_partition_passes_on_its_own_filesystem():
    outcome = judge(own_disk(recorded_snapshot()), "host-docker-data-partition")
    assert outcome.status is Status.PASS
    assert outcome.message == "/tmp/dbt/data is its own mount"
    assert observed(outcome) == [("/tmp/dbt/data", "from docker info; mounted filesystem /tmp/dbt/data (ext4 /dev/vdb)")]


def test_data_partition_fails_without_a_mount_at_the_data_root():
    snap = recorded_snapshot()
    snap["mounts"] = [m for m in snap["mounts"] if m["mount_point"] != "/tmp/dbt/data"]
    outcome = judge(snap, "host-docker-data-partition")
    assert outcome.status is Status.FAIL
    assert outcome.message == "/tmp/dbt/data lives on the / filesystem"
    assert observed(outcome) == [("/tmp/dbt/data", "from docker info; mounted filesystem / (ext4 /dev/vda)")]


def test_data_partition_uses_data_root_flag_when_the_daemon_does_not_answer():
    outcome = judge(own_disk(docker_unreachable(recorded_snapshot())), "host-docker-data-partition")
    assert outcome.status is Status.PASS
    assert observed(outcome) == [("/tmp/dbt/data", "from dockerd command line; mounted filesystem /tmp/dbt/data (ext4 /dev/vdb)")]


def test_data_partition_default_root_when_nothing_says_otherwise():
    snap = docker_unreachable(recorded_snapshot())
    snap["daemon"]["argv"] = ["/usr/sbin/dockerd", "-H", "unix:///tmp/dbt/docker.sock"]
    outcome = judge(snap, "host-docker-data-partition")
    assert outcome.status is Status.FAIL
    assert outcome.message == "/var/lib/docker lives on the / filesystem"
    assert observed(outcome) == [("/var/lib/docker", "from default; mounted filesystem / (ext4 /dev/vda)")]


def test_data_partition_userns_remap_judges_the_parent_of_the_remapped_root():
    snap = own_disk(recorded_snapshot())
    snap["docker"]["info"]["DockerRootDir"] = "/tmp/dbt/data/100000.100000"
    snap["docker"]["info"]["SecurityOptions"].append("name=userns")
    outcome = judge(snap, "host-docker-data-partition")
    assert (outcome.status, outcome.message) == (Status.PASS, "/tmp/dbt/data is its own mount")


def test_data_partition_archived_snapshot_without_devices_keeps_the_mount_point_rule():
    snap = recorded_snapshot()
    for m in snap["mounts"]:
        del m["dev"]
    outcome = judge(snap, "host-docker-data-partition")
    assert (outcome.status, outcome.message) == (Status.PASS, "/tmp/dbt/data is its own mount")


def test_data_partition_errors_without_a_mount_table():
    snap = recorded_snapshot()
    snap["mounts"] = None
    outcome = judge(snap, "host-docker-data-partition")
    assert outcome.status is Status.ERROR
    assert outcome.message == "the mount table could not be read (/proc/1/mountinfo, /proc/self/mountinfo)"


# --- host-docker-group-members


def test_group_members_recorded_docker_group_is_empty():
    outcome = judge(recorded_snapshot(), "host-docker-group-members")
    assert (outcome.status, outcome.message) == (Status.PASS, "the docker group has no members")
    assert observed(outcome) == [("docker group", [])]


def test_group_members_listed_in_etc_group_need_a_person_to_judge():
    snap = recorded_snapshot()
    snap["groups"]["docker"]["members"] = ["cloudsdk"]
    outcome = judge(snap, "host-docker-group-members")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "1 users can control the daemon; confirm each is trusted, or list them in trusted_docker_users in --config: cloudsdk"
    assert observed(outcome) == [("docker group", ["cloudsdk"])]


def judge_with_policy(snap, check_id, **policy):
    return run_check(checks.load().get(check_id), Facts(snap, policy=Policy(**policy)))


def test_group_members_all_trusted_pass():
    snap = recorded_snapshot()
    snap["groups"]["docker"]["members"] = ["cloudsdk"]
    outcome = judge_with_policy(snap, "host-docker-group-members", trusted_docker_users=("cloudsdk", "ops"))
    assert (outcome.status, outcome.message) == (Status.PASS, "every docker group member is in trusted_docker_users")
    assert observed(outcome) == [("docker group", ["cloudsdk"]), ("trusted_docker_users", ["cloudsdk", "ops"])]


def test_group_members_untrusted_fail_naming_each_including_primary_group_users():
    snap = recorded_snapshot()
    snap["groups"]["docker"]["members"] = ["cloudsdk"]
    snap["users"]["postgres"]["gid"] = snap["groups"]["docker"]["gid"]
    outcome = judge_with_policy(snap, "host-docker-group-members", trusted_docker_users=("cloudsdk",))
    assert (outcome.status, outcome.message) == (Status.FAIL, "docker group members not in trusted_docker_users: postgres")
    assert observed(outcome) == [("docker group", ["cloudsdk", "postgres"]), ("trusted_docker_users", ["cloudsdk"])]


def test_group_members_trust_is_by_exact_name_not_substring():
    snap = recorded_snapshot()
    snap["groups"]["docker"]["members"] = ["cloudsdk"]
    outcome = judge_with_policy(snap, "host-docker-group-members", trusted_docker_users=("cloud",))
    assert (outcome.status, outcome.message) == (Status.FAIL, "docker group members not in trusted_docker_users: cloudsdk")


def test_group_members_empty_trusted_list_trusts_nobody():
    snap = recorded_snapshot()
    snap["groups"]["docker"]["members"] = ["cloudsdk"]
    outcome = judge_with_policy(snap, "host-docker-group-members", trusted_docker_users=())
    assert outcome.status is Status.FAIL
    assert observed(outcome) == [("docker group", ["cloudsdk"]), ("trusted_docker_users", [])]


def test_group_members_empty_group_passes_whatever_the_policy():
    outcome = judge_with_policy(recorded_snapshot(), "host-docker-group-members", trusted_docker_users=("ops",))
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("docker group", [])])


def test_group_members_include_users_whose_primary_group_is_docker():
    snap = recorded_snapshot()
    snap["groups"]["docker"]["members"] = ["postgres"]
    snap["users"]["cloudsdk"]["gid"] = snap["groups"]["docker"]["gid"]
    outcome = judge(snap, "host-docker-group-members")
    assert outcome.status is Status.MANUAL
    assert observed(outcome) == [("docker group", ["cloudsdk", "postgres"])]


def test_group_members_no_docker_group_means_only_root():
    snap = recorded_snapshot()
    del snap["groups"]["docker"]
    outcome = judge(snap, "host-docker-group-members")
    assert outcome.status is Status.PASS
    assert observed(outcome) == [("/etc/group", "no docker group")]


@pytest.mark.parametrize("docker_state", [docker_unreachable, docker_not_installed])
def test_group_members_decided_without_the_daemon(docker_state):
    snap = docker_state(recorded_snapshot())
    snap["groups"]["docker"]["members"] = ["cloudsdk"]
    outcome = judge(snap, "host-docker-group-members")
    assert (outcome.status, observed(outcome)) == (Status.MANUAL, [("docker group", ["cloudsdk"])])


# --- host-audit-*


@pytest.mark.parametrize("check_id, path", EXISTING)
def test_audit_recorded_host_has_no_audit_rules(check_id, path):
    outcome = judge(recorded_snapshot(), check_id)
    assert outcome.status is Status.FAIL
    assert outcome.message == f"no audit rule watches {path}"
    assert observed(outcome) == [(NO_RULES, f"0 rules, none for {path}")]


@pytest.mark.parametrize("check_id, path", MISSING)
def test_audit_absent_path_is_not_applicable(check_id, path):
    outcome = judge(recorded_snapshot(), check_id)
    assert outcome.status is Status.NOT_APPLICABLE
    assert outcome.message == f"{path} does not exist"
    assert observed(outcome) == [(path, "absent")]


@pytest.mark.parametrize("check_id, path", [(c, p) for c, p, _ in AUDITED])
def test_audit_watch_rule_passes(check_id, path):
    snap = recorded_snapshot()
    if snap["files"].get(path, {}).get("state") == "absent":
        snap["files"][path] = present(snap, "socket" if path.endswith(".sock") else "file", "root", "root", 0o644)
    rule = f"-w {path} -p wa -k docker"
    snap["audit"]["loaded"] = ["-w /etc/passwd -p wa -k identity", rule]
    outcome = judge(snap, check_id)
    assert outcome.status is Status.PASS
    assert outcome.message == f"{path} is audited"
    assert observed(outcome) == [("auditctl -l", [rule])]


def test_audit_syscall_rule_with_path_field_counts():
    snap = recorded_snapshot()
    rule = "-a always,exit -F path=/usr/bin/runc -F perm=wa -k docker"
    snap["audit"]["loaded"] = [rule]
    outcome = judge(snap, "host-audit-runc")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("auditctl -l", [rule])])


def test_audit_directory_watch_covers_files_below_it():
    snap = recorded_snapshot()
    snap["files"]["/etc/docker/daemon.json"] = present(snap, "file", "root", "root", 0o644)
    rule = "-w /etc/docker -p wa -k docker"
    snap["audit"]["loaded"] = [rule]
    outcome = judge(snap, "host-audit-daemon-json")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("auditctl -l", [rule])])


@pytest.mark.parametrize(
    "check_id, path, rule",
    [
        ("host-audit-runc", "/usr/bin/runc", "-w /usr/bin/runc.old -p wa -k docker"),
        ("host-audit-etc-docker", "/etc/docker", "-w /etc/dock -p wa -k docker"),
        ("host-audit-etc-docker", "/etc/docker", "-w /etc/docker/daemon.json -p wa -k docker"),  # below, not above
    ],
)
def test_audit_rule_for_another_path_does_not_count(check_id, path, rule):
    snap = recorded_snapshot()
    snap["audit"]["loaded"] = [rule]
    outcome = judge(snap, check_id)
    assert outcome.status is Status.FAIL
    assert observed(outcome) == [("auditctl -l", f"1 rules, none for {path}")]


RULE_FILE = "/etc/audit/rules.d/docker.rules"
CONTAINERD_RULE = "-w /usr/bin/containerd -p wa -k docker"
CONFIRM = "the verdict rests on the rule files; confirm it with --sudo (as root the probe reads the loaded rules with auditctl -l)"


def rule_files_only(daemon, loaded_error=None):
    """The recorded host with a rule file watching containerd, its loaded rules unread."""
    snap = recorded_snapshot()
    snap["audit"]["files"] = {RULE_FILE: [CONTAINERD_RULE]}
    snap["audit"]["loaded_error"] = loaded_error
    if daemon is not None:
        snap["audit"]["daemon"] = daemon
    return snap


def test_audit_rule_files_without_an_audit_daemon_audit_nothing():
    outcome = judge(rule_files_only({"binary": None, "installed": False, "pids": []}), "host-audit-containerd")
    assert (outcome.status, outcome.message) == (Status.FAIL, "/usr/bin/containerd is watched only in rule files, and no audit daemon is installed or running to load them: nothing audits it")
    assert observed(outcome) == [(f"rule files {RULE_FILE}", [CONTAINERD_RULE]), ("audit daemon", "not installed, not running"), ("loaded rules", "auditctl is not installed")]


def test_audit_rule_files_count_with_an_audit_daemon_and_say_how_to_confirm():
    snap = rule_files_only({"binary": "/usr/sbin/auditd", "installed": True, "pids": [812]}, loaded_error="You must be root to run this program.")
    outcome = judge(snap, "host-audit-containerd")
    assert (outcome.status, outcome.message) == (Status.PASS, f"/usr/bin/containerd is watched in the rule files and an audit daemon is present; {CONFIRM}")
    assert observed(outcome)[1:] == [("audit daemon", "installed at /usr/sbin/auditd, running (pid 812)"), ("loaded rules", "auditctl -l failed: You must be root to run this program.")]
    outcome = judge(snap, "host-audit-runc")
    assert (outcome.status, outcome.message) == (Status.FAIL, f"no audit rule watches /usr/bin/runc; {CONFIRM}")


def test_the_audit_daemon_fact_from_probe_records():
    records = recorded_records()
    records["stat:/sbin/auditd"] = Record(rc=1, err=b"stat: cannot statx '/sbin/auditd': No such file or directory")
    records["stat:/usr/sbin/auditd"] = stat_record("file", 0o750, 0, 0, 141352)
    records["processes"], records["process:auditd:812"] = Record(rc=0), Record(rc=0)
    assert build(records)["audit"]["daemon"] == {"binary": "/usr/sbin/auditd", "installed": True, "pids": [812]}
    del records["processes"], records["process:auditd:812"], records["stat:/usr/sbin/auditd"]
    assert build(records)["audit"]["daemon"] == {"binary": None, "installed": False, "pids": None}  # no process table (--root)


def test_audit_rule_files_in_a_snapshot_that_predates_the_audit_daemon_fact_need_a_person():
    outcome = judge(rule_files_only(None), "host-audit-containerd")
    assert outcome.status is Status.MANUAL
    assert outcome.message.endswith("but the snapshot does not say whether an audit daemon loads them: scan the host again")


def test_audit_loaded_rules_win_over_rule_files_not_yet_loaded():
    snap = recorded_snapshot()
    snap["audit"]["loaded"] = []
    snap["audit"]["files"] = {"/etc/audit/rules.d/docker.rules": ["-w /usr/bin/containerd -p wa -k docker"]}
    outcome = judge(snap, "host-audit-containerd")
    assert outcome.status is Status.FAIL
    assert observed(outcome) == [("auditctl -l", "0 rules, none for /usr/bin/containerd")]


def test_audit_undecidable_when_auditctl_is_refused_and_no_rule_file_is_readable():
    snap = recorded_snapshot()
    snap["audit"]["loaded_error"] = "You must be root to run this program."
    outcome = judge(snap, "host-audit-etc-docker")
    assert outcome.status is Status.ERROR
    assert "You must be root to run this program." in outcome.message
    assert "--sudo" in outcome.message


def test_audit_docker_data_from_command_line_when_the_daemon_does_not_answer():
    snap = docker_unreachable(recorded_snapshot())
    rule = "-w /tmp/dbt/data -p wa -k docker"
    snap["audit"]["loaded"] = [rule]
    outcome = judge(snap, "host-audit-docker-data")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("auditctl -l", [rule])])


def test_audit_docker_service_prefers_the_admins_unit_file():
    snap = recorded_snapshot()
    snap["files"]["/etc/systemd/system/docker.service"] = present(snap, "file", "root", "root", 0o644)
    snap["audit"]["loaded"] = ["-w /usr/lib/systemd/system/docker.service -p wa -k docker"]
    outcome = judge(snap, "host-audit-docker-service")
    assert outcome.status is Status.FAIL
    assert outcome.message == "no audit rule watches /etc/systemd/system/docker.service"


def test_audit_docker_service_without_any_unit_file():
    snap = recorded_snapshot()
    for path in [p for p in snap["files"] if p.endswith("/docker.service")]:
        snap["files"][path] = absent(path)
    outcome = judge(snap, "host-audit-docker-service")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "the docker.service unit does not exist on this host")


def test_audit_dockerd_follows_the_running_binary():
    snap = recorded_snapshot()
    snap["daemon"]["argv"][0] = "/usr/local/bin/dockerd"
    snap["audit"]["loaded"] = ["-w /usr/sbin/dockerd -p wa -k docker"]
    outcome = judge(snap, "host-audit-dockerd")
    assert outcome.status is Status.FAIL
    assert observed(outcome) == [("auditctl -l", "1 rules, none for /usr/local/bin/dockerd")]


@pytest.mark.parametrize("docker_state", [docker_unreachable, docker_not_installed])
def test_audit_decided_without_the_daemon(docker_state):
    outcome = judge(docker_state(recorded_snapshot()), "host-audit-etc-docker")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [(NO_RULES, "0 rules, none for /etc/docker")])
