"""CIS 2.1, 2.8-2.13 and 2.17: what `docker info` reports of the live daemon, else its configuration.

The recorded host is a rootful Docker 20.10 daemon with overlay2, json-file logging, the default
seccomp profile and nothing else set; each test edits `docker info` or the daemon's flags and
daemon.json the way another host would show them.
"""

from __future__ import annotations

import json

import pytest

from dockbench.benchmark.document.model import Status
from tests.recorded import (
    docker_not_installed,
    docker_unreachable,
    judge,
    observed,
    recorded_snapshot,
    unparsed,
    with_daemon_json,
)

DAEMON_JSON = "/etc/docker/daemon.json"
SECURITY_OPTIONS = "docker info SecurityOptions"


def info(**changes):
    snap = recorded_snapshot()
    snap["docker"]["info"].update(changes)
    return snap


def with_flags(*flags, snap=None):
    snap = snap or recorded_snapshot()
    snap["daemon"]["argv"] += list(flags)
    return snap


def configured(data):
    """daemon.json holding `data`, the daemon not answering (so the configuration decides)."""
    return docker_unreachable(with_daemon_json(json.dumps(data)))


# --- daemon-rootless (CIS 2.1)


def test_rootless_recorded_rootful_daemon_is_left_to_the_reviewer():
    outcome = judge(recorded_snapshot(), "daemon-rootless")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "the daemon runs as root: rootless mode is advised where the workloads allow it; record why it is not used"
    assert observed(outcome) == [(SECURITY_OPTIONS, ["name=seccomp,profile=default"])]


def test_rootless_daemon_passes():
    outcome = judge(info(SecurityOptions=["name=seccomp,profile=builtin", "name=rootless", "name=cgroupns"]), "daemon-rootless")
    assert (outcome.status, outcome.message) == (Status.PASS, "the daemon runs rootless")


def test_rootless_from_the_process_owner_when_the_daemon_does_not_answer():
    snap = docker_unreachable(recorded_snapshot())
    uid = snap["users"]["cloudsdk"]["uid"]  # a user of the recorded host
    snap["daemon"]["uid"] = uid
    outcome = judge(snap, "daemon-rootless")
    assert (outcome.status, outcome.message) == (Status.PASS, "the daemon runs as cloudsdk, not root")
    assert observed(outcome) == [(f"/proc/{snap['daemon']['pid']}/cmdline", f"runs as cloudsdk (uid {uid})")]


def test_rootless_root_process_when_the_daemon_does_not_answer():
    snap = docker_unreachable(recorded_snapshot())
    outcome = judge(snap, "daemon-rootless")
    assert (outcome.status, observed(outcome)) == (Status.MANUAL, [(f"/proc/{snap['daemon']['pid']}/cmdline", "runs as root (uid 0)")])


def test_rootless_from_the_service_unit():
    snap = docker_unreachable(recorded_snapshot())
    snap["daemon"].update(pid=None, uid=None, user="root", source="/lib/systemd/system/docker.service")
    outcome = judge(snap, "daemon-rootless")
    assert (outcome.status, observed(outcome)) == (Status.MANUAL, [("/lib/systemd/system/docker.service", "User=root")])


def test_rootless_no_daemon_in_sight_errors():
    snap = docker_unreachable(recorded_snapshot())
    snap["daemon"] = None
    outcome = judge(snap, "daemon-rootless")
    assert outcome.status is Status.ERROR
    assert outcome.message == "the daemon did not answer and no dockerd process or docker.service was found: cannot tell who it runs as"


def test_rootless_without_docker_installed():
    snap = docker_not_installed(recorded_snapshot())
    snap["daemon"] = None
    assert judge(snap, "daemon-rootless").status is Status.NOT_APPLICABLE


# --- daemon-default-ulimits (CIS 2.8)


def test_default_ulimits_unset_is_for_the_reviewer():
    outcome = judge(recorded_snapshot(), "daemon-default-ulimits")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "no default ulimits are set: containers inherit the daemon's own limits; confirm those suit the host or set default-ulimits"
    assert observed(outcome) == [("default-ulimits", "not set")]


def test_default_ulimits_from_daemon_json_are_listed():
    snap = with_daemon_json(json.dumps({"default-ulimits": {"nofile": {"Name": "nofile", "Hard": 2048, "Soft": 1024}, "nproc": {"Name": "nproc", "Hard": 512, "Soft": 512}}}))
    outcome = judge(snap, "daemon-default-ulimits")
    assert (outcome.status, outcome.message) == (Status.MANUAL, "default ulimits are set (nofile=1024:2048, nproc=512:512): confirm they suit the workloads")
    assert observed(outcome) == [("default-ulimits", f"['nofile=1024:2048', 'nproc=512:512'] ({DAEMON_JSON})")]


def test_default_ulimits_from_flags_are_listed():
    outcome = judge(with_flags("--default-ulimit", "nofile=64000:64000", "--default-ulimit=nproc=1024"), "daemon-default-ulimits")
    assert observed(outcome) == [("default-ulimits", "['nofile=64000:64000', 'nproc=1024'] (dockerd command line)")]


def test_default_ulimits_malformed_daemon_json_errors():
    snap = with_daemon_json('{"default-ulimits": ')
    outcome = judge(snap, "daemon-default-ulimits")
    assert (outcome.status, outcome.message) == (Status.ERROR, unparsed("default-ulimits"))


# --- daemon-userns-remap (CIS 2.9)


def test_userns_recorded_daemon_has_no_remapping():
    outcome = judge(recorded_snapshot(), "daemon-userns-remap")
    assert (outcome.status, outcome.message) == (Status.FAIL, "root in a container is root on the host: user namespace remapping is off")
    assert observed(outcome) == [(SECURITY_OPTIONS, ["name=seccomp,profile=default"])]


def test_userns_reported_by_docker_info_passes():
    outcome = judge(info(SecurityOptions=["name=seccomp,profile=default", "name=userns"]), "daemon-userns-remap")
    assert (outcome.status, outcome.message) == (Status.PASS, "containers run in a remapped user namespace")


def test_userns_rootless_daemon_passes():
    outcome = judge(info(SecurityOptions=["name=seccomp,profile=builtin", "name=rootless"]), "daemon-userns-remap")
    assert (outcome.status, outcome.message) == (Status.PASS, "the rootless daemon and its containers run in the daemon user's namespace")


def test_userns_configured_passes_when_the_daemon_does_not_answer():
    outcome = judge(configured({"userns-remap": "default"}), "daemon-userns-remap")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("userns-remap", f"'default' ({DAEMON_JSON})")])


def test_userns_configured_but_not_in_force_fails():
    # daemon.json edited, daemon not restarted: docker info shows what is in force.
    snap = with_daemon_json(json.dumps({"userns-remap": "default"}))
    assert judge(snap, "daemon-userns-remap").status is Status.FAIL


def test_userns_not_configured_fails_when_the_daemon_does_not_answer():
    outcome = judge(configured({}), "daemon-userns-remap")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("userns-remap", "not set")])


# --- daemon-cgroup-parent (CIS 2.10)


def test_cgroup_parent_default_passes():
    outcome = judge(recorded_snapshot(), "daemon-cgroup-parent")
    assert (outcome.status, outcome.message) == (Status.PASS, "containers use the daemon's default cgroup parent")
    assert observed(outcome) == [("cgroup-parent", "not set (default)"), ("docker info", "CgroupDriver=cgroupfs")]


def test_cgroup_parent_set_is_for_the_reviewer():
    outcome = judge(with_daemon_json(json.dumps({"cgroup-parent": "/docker-limited"})), "daemon-cgroup-parent")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "containers are placed under cgroup parent '/docker-limited': confirm that cgroup and its limits are intended"
    assert observed(outcome) == [("cgroup-parent", f"'/docker-limited' ({DAEMON_JSON})"), ("docker info", "CgroupDriver=cgroupfs")]


def test_cgroup_parent_flag_when_the_daemon_does_not_answer():
    outcome = judge(docker_unreachable(with_flags("--cgroup-parent", "batch.slice")), "daemon-cgroup-parent")
    assert (outcome.status, observed(outcome)) == (Status.MANUAL, [("cgroup-parent", "'batch.slice' (dockerd command line)")])


# --- daemon-storage-base-size (CIS 2.11)


def devicemapper(**status):
    return info(Driver="devicemapper", DriverStatus=[["Pool Name", "docker-thinpool"], *([k, v] for k, v in status.items())])


def test_base_size_not_applicable_on_overlay2():
    outcome = judge(recorded_snapshot(), "daemon-storage-base-size")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "the storage driver is overlay2: a base device size applies to devicemapper only")
    assert observed(outcome) == [("docker info", "Driver=overlay2"), ("storage-opts", "not set")]


def test_base_size_default_on_devicemapper_passes():
    outcome = judge(devicemapper(**{"Base Device Size": "10.74GB"}), "daemon-storage-base-size")
    assert (outcome.status, outcome.message) == (Status.PASS, "devicemapper keeps its default base device size")
    assert observed(outcome)[-1] == ("docker info DriverStatus", "Base Device Size=10.74GB")


def test_base_size_changed_on_devicemapper_is_for_the_reviewer():
    snap = with_flags("--storage-opt", "dm.basesize=50G", snap=devicemapper(**{"Base Device Size": "53.69GB"}))
    outcome = judge(snap, "daemon-storage-base-size")
    assert (outcome.status, outcome.message) == (Status.MANUAL, "the base device size is changed (dm.basesize=50G): confirm containers need it")
    assert observed(outcome) == [
        ("docker info", "Driver=devicemapper"),
        ("storage-opts", "['dm.basesize=50G'] (dockerd command line)"),
        ("docker info DriverStatus", "Base Device Size=53.69GB"),
    ]


def test_base_size_from_configuration_when_the_daemon_does_not_answer():
    outcome = judge(configured({"storage-opts": ["dm.basesize=20G", "dm.thinpooldev=/dev/mapper/thin"]}), "daemon-storage-base-size")
    assert outcome.status is Status.MANUAL
    assert observed(outcome) == [
        ("storage-driver", "None (not set: daemon default)"),
        ("storage-opts", f"['dm.basesize=20G', 'dm.thinpooldev=/dev/mapper/thin'] ({DAEMON_JSON})"),
    ]


# --- daemon-authorization-plugin (CIS 2.12)


def test_authorization_recorded_daemon_has_none():
    outcome = judge(recorded_snapshot(), "daemon-authorization-plugin")
    assert (outcome.status, outcome.message) == (Status.FAIL, "no authorization plugin: every client of the daemon may run any command")
    assert observed(outcome) == [("docker info Plugins.Authorization", []), ("authorization-plugins", "not set")]


def test_authorization_plugin_in_force_passes():
    snap = recorded_snapshot()
    snap["docker"]["info"]["Plugins"]["Authorization"] = ["opa-docker-authz"]
    outcome = judge(snap, "daemon-authorization-plugin")
    assert (outcome.status, outcome.message) == (Status.PASS, "authorization plugins in force: opa-docker-authz")


def test_authorization_plugin_configured_but_not_loaded_fails():
    outcome = judge(with_daemon_json(json.dumps({"authorization-plugins": ["opa-docker-authz"]})), "daemon-authorization-plugin")
    assert (outcome.status, outcome.message) == (Status.FAIL, "authorization plugins are configured but the daemon runs none: restart it to load them")
    assert observed(outcome) == [("docker info Plugins.Authorization", []), ("authorization-plugins", f"['opa-docker-authz'] ({DAEMON_JSON})")]


def test_authorization_plugin_from_flags_when_the_daemon_does_not_answer():
    outcome = judge(docker_unreachable(with_flags("--authorization-plugin=authz-broker")), "daemon-authorization-plugin")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("authorization-plugins", "['authz-broker'] (dockerd command line)")])


def test_authorization_plugin_none_configured_when_the_daemon_does_not_answer():
    assert judge(configured({}), "daemon-authorization-plugin").status is Status.FAIL


# --- daemon-remote-logging (CIS 2.13)


@pytest.mark.parametrize("driver, message", [
    ("json-file", "container logs stay in files on this host (json-file)"),
    ("local", "container logs stay in files on this host (local)"),
    ("none", "container logs are discarded (log driver none)"),
])
def test_remote_logging_local_drivers_fail(driver, message):
    outcome = judge(info(LoggingDriver=driver), "daemon-remote-logging")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.FAIL, message, [("docker info", f"LoggingDriver={driver}")])


@pytest.mark.parametrize("driver", ["fluentd", "gelf", "splunk", "awslogs", "gcplogs", "loki"])
def test_remote_logging_shipping_drivers_pass(driver):
    outcome = judge(info(LoggingDriver=driver), "daemon-remote-logging")
    assert (outcome.status, outcome.message) == (Status.PASS, f"container logs go to the {driver} log driver")


@pytest.mark.parametrize("driver", ["syslog", "journald"])
def test_remote_logging_host_log_services_pass_with_a_reminder(driver):
    outcome = judge(info(LoggingDriver=driver), "daemon-remote-logging")
    assert (outcome.status, outcome.message) == (Status.PASS, f"container logs go to the host's {driver}, the usual point of forwarding: make sure it forwards them")


def test_remote_logging_from_configuration_when_the_daemon_does_not_answer():
    outcome = judge(configured({"log-driver": "gelf", "log-opts": {"gelf-address": "udp://logs.example:12201"}}), "daemon-remote-logging")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("log-driver", f"'gelf' ({DAEMON_JSON})")])


def test_remote_logging_default_when_the_daemon_does_not_answer():
    outcome = judge(configured({}), "daemon-remote-logging")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("log-driver", "'json-file' (not set: daemon default)")])


# --- daemon-seccomp-profile (CIS 2.17)


@pytest.mark.parametrize("name", ["default", "builtin"])  # Docker 20.10 / Docker 23 and later
def test_seccomp_default_profile_is_for_the_reviewer(name):
    outcome = judge(info(SecurityOptions=[f"name=seccomp,profile={name}"]), "daemon-seccomp-profile")
    assert outcome.status is Status.MANUAL
    assert outcome.message == f"Docker's default seccomp profile is in force ('{name}'): decide whether the workloads call for a tighter custom profile"
    assert observed(outcome) == [(SECURITY_OPTIONS, f"name=seccomp,profile={name}")]


def test_seccomp_unconfined_fails():
    outcome = judge(info(SecurityOptions=["name=seccomp,profile=unconfined"]), "daemon-seccomp-profile")
    assert (outcome.status, outcome.message) == (Status.FAIL, "containers run without a seccomp profile by default (unconfined)")


def test_seccomp_custom_profile_passes():
    outcome = judge(info(SecurityOptions=["name=apparmor", "name=seccomp,profile=/etc/docker/seccomp-strict.json"]), "daemon-seccomp-profile")
    assert (outcome.status, outcome.message) == (Status.PASS, "a custom daemon-wide seccomp profile is in force: /etc/docker/seccomp-strict.json")


def test_seccomp_not_supported_fails():
    outcome = judge(info(SecurityOptions=["name=apparmor"]), "daemon-seccomp-profile")
    assert (outcome.status, outcome.message) == (Status.FAIL, "the daemon reports no seccomp support: containers run without system call filtering")
    assert observed(outcome) == [(SECURITY_OPTIONS, ["name=apparmor"])]


def test_seccomp_from_configuration_when_the_daemon_does_not_answer():
    outcome = judge(configured({"seccomp-profile": "unconfined"}), "daemon-seccomp-profile")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("seccomp-profile", f"'unconfined' ({DAEMON_JSON})")])
    outcome = judge(configured({}), "daemon-seccomp-profile")
    assert (outcome.status, observed(outcome)) == (Status.MANUAL, [("seccomp-profile", "not set (the default profile)")])
