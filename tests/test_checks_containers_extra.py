"""The rest of CIS section 5 and the container dangers CIS misses, on the recorded containers.

The recorded host (see tests/recorded.py) runs "web" (hardened, with a health check) and
"risky" (SYS_ADMIN and NET_ADMIN added, the daemon socket and /etc mounted, API_TOKEN in its
environment), both with --network none; "published" (ports 127.0.0.1:8080->80 and :80->8081,
restart always) and "dormant" (--privileged) were only created, on the default bridge. The host
has neither AppArmor nor SELinux. Each case edits a copy the way another host would look.
"""

from __future__ import annotations

import json

import pytest

from dockbench import checks
from dockbench.benchmark.collect.probe import Record
from dockbench.benchmark.document.model import Status
from dockbench.benchmark.judge.facts import Facts, Selection
from dockbench.benchmark.judge.policy import Policy
from dockbench.benchmark.judge.runner import run_check
from tests.recorded import (
    bind,
    build,
    container,
    judge,
    observed,
    recorded_records,
    recorded_snapshot,
    resolved,
    unparsed,
    with_daemon_json,
)

ALL = Selection(include_stopped=True)
RUNNING = ["risky", "web"]
EVERY = ["dormant", "published", "risky", "web"]
NO_HEALTHCHECK = "no health check (none in the image, no --health-cmd)"


def judged(snap, check_id, selection=None, **policy):
    """Judge one check with a site policy (--config), e.g. allowed_host_ports=(80,)."""
    return run_check(checks.load().get(check_id), Facts(snap, selection, Policy(**policy)))


def checked(names):
    return ("containers checked", names)


def host_config(snap, name):
    return container(snap, name)["HostConfig"]


def test_cis_rows_map_to_these_checks():
    expected = {
        "5.2": ("container-apparmor", 1), "5.3": ("container-selinux", 2), "5.7": ("container-no-sshd", 1),
        "5.8": ("container-no-privileged-ports", 1), "5.9": ("container-only-needed-ports", 1),
        "5.14": ("container-ports-bound-to-interface", 1), "5.15": ("container-restart-policy", 1),
        "5.18": ("container-no-host-devices", 1), "5.19": ("container-ulimits", 1), "5.20": ("container-mount-propagation", 1),
        "5.23": ("container-exec-not-privileged", 2), "5.24": ("container-exec-not-root", 2),
        "5.25": ("container-cgroup-confirmed", 1), "5.27": ("container-healthcheck", 1), "5.30": ("container-not-default-bridge", 2),
    }
    mapped = {ref.id: (c.meta.id, ref.level) for c in checks.load().all() for ref in c.meta.cis}
    assert {cis: mapped[cis] for cis in expected} == expected
    beyond = ["container-dangerous-capabilities", "container-no-runtime-paths-mounted", "container-env-secret-names", "container-resource-limits"]
    assert [checks.load().get(i).meta.cis for i in beyond] == [(), (), (), ()]


# --- 5.2 AppArmor, 5.3 SELinux: only where the host has them


APPARMOR_ABSENT = [("/sys/kernel/security/apparmor", "absent"), ("docker info SecurityOptions", "no apparmor entry")]


def with_apparmor(snap):
    snap["lsm"]["apparmor"] = True
    return snap


def test_apparmor_not_applicable_without_it():
    outcome = judge(recorded_snapshot(), "container-apparmor")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "the host has no AppArmor: /sys/kernel/security/apparmor is absent and the daemon reports none")
    assert observed(outcome) == APPARMOR_ABSENT


def test_apparmor_unconfined_and_missing_profiles_fail():
    snap = with_apparmor(recorded_snapshot())
    container(snap, "risky")["AppArmorProfile"] = "unconfined"
    outcome = judge(snap, "container-apparmor")
    assert (outcome.status, outcome.message) == (Status.FAIL, "2 of 2 containers run without an AppArmor profile")
    assert observed(outcome) == [
        ("risky", "AppArmorProfile=unconfined"),
        ("web", "AppArmorProfile=(none)"),
        ("/sys/kernel/security/apparmor", "present"),
        ("docker info SecurityOptions", "no apparmor entry"),
    ]


def test_apparmor_profiles_pass():
    snap = with_apparmor(recorded_snapshot())
    snap["docker"]["info"]["SecurityOptions"].append("name=apparmor")
    for name in RUNNING:
        container(snap, name)["AppArmorProfile"] = "docker-default"
    outcome = judge(snap, "container-apparmor")
    assert (outcome.status, outcome.message) == (Status.PASS, "none of 2 containers run without an AppArmor profile")
    assert observed(outcome) == [checked(RUNNING), ("/sys/kernel/security/apparmor", "present"), ("docker info SecurityOptions", ["name=apparmor"])]


def test_apparmor_the_daemon_reports_counts_when_the_probe_cannot_see_sys():
    snap = recorded_snapshot()
    snap["docker"]["info"]["SecurityOptions"].append("name=apparmor")
    outcome = judge(snap, "container-apparmor")
    assert outcome.status is Status.FAIL
    assert observed(outcome)[:2] == [("risky", "AppArmorProfile=(none)"), ("web", "AppArmorProfile=(none)")]


def enforcing(snap):
    snap["lsm"]["selinux"] = "1"
    for name in RUNNING:
        container(snap, name)["ProcessLabel"] = "system_u:system_r:container_t:s0:c101,c202"
    return snap


@pytest.mark.parametrize(
    "mode, message, evidence",
    [
        (None, "SELinux is not enabled on this host", "absent"),
        ("0", "SELinux is permissive on this host: labels are not enforced", "0 (permissive)"),
    ],
)
def test_selinux_not_applicable_unless_enforcing(mode, message, evidence):
    snap = recorded_snapshot()
    snap["lsm"]["selinux"] = mode
    outcome = judge(snap, "container-selinux")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.NOT_APPLICABLE, message, [("/sys/fs/selinux/enforce", evidence)])


def test_selinux_label_disable_fails():
    # risky was started with --security-opt label=disable (as the recording shows)
    outcome = judge(enforcing(recorded_snapshot()), "container-selinux")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 2 containers run without SELinux confinement")
    assert observed(outcome) == [("risky", ["label=disable"]), ("/sys/fs/selinux/enforce", "1 (enforcing)")]


def test_selinux_labels_pass():
    snap = enforcing(recorded_snapshot())
    host_config(snap, "risky")["SecurityOpt"] = ["label=level:s0:c100,c200"]
    outcome = judge(snap, "container-selinux")
    assert (outcome.status, outcome.message) == (Status.PASS, "none of 2 containers run without SELinux confinement")
    assert observed(outcome) == [checked(RUNNING), ("/sys/fs/selinux/enforce", "1 (enforcing)")]


@pytest.mark.parametrize(
    "options, label, offending",
    [
        (["label:disable"], "", ["label:disable"]),
        (["label=type:spc_t"], "system_u:system_r:spc_t:s0", ["label=type:spc_t"]),
        ([], "system_u:system_r:spc_t:s0", "ProcessLabel=system_u:system_r:spc_t:s0 (unconfined type)"),
        ([], "", "no SELinux process label (dockerd without --selinux-enabled?)"),
    ],
)
def test_selinux_unconfined_forms(options, label, offending):
    snap = enforcing(recorded_snapshot())
    host_config(snap, "risky")["SecurityOpt"] = []
    host_config(snap, "web")["SecurityOpt"] = options
    container(snap, "web")["ProcessLabel"] = label
    outcome = judge(snap, "container-selinux")
    assert (outcome.status, observed(outcome)[0]) == (Status.FAIL, ("web", offending))


# --- 5.7 sshd, seen from the host's /proc


def with_sshd(*cgroups):
    """The probe found sshd processes (by /proc/PID/comm) with these cgroup files."""
    records = recorded_records()
    for pid, text in enumerate(cgroups, start=4242):
        records[f"cgroup:{pid}"] = Record(out=text.encode(), rc=0)
    return build(records)


def test_sshd_none_passes():
    outcome = judge(recorded_snapshot(), "container-no-sshd")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, "none of 2 containers run sshd", [checked(RUNNING)])


@pytest.mark.parametrize(
    "layout",
    [
        "12:pids:/docker/{id}\n0::/docker/{id}\n",  # cgroupfs driver
        "0::/system.slice/docker-{id}.scope\n",  # systemd driver
        "0::/batch/{id}\n",  # --cgroup-parent /batch with cgroupfs
        "0::/system.slice/docker-{id}.scope/system.slice/ssh.service\n",  # systemd inside the container starts it
    ],
)
def test_sshd_in_a_container_fails(layout):
    web = container(recorded_snapshot(), "web")["Id"]
    outcome = judge(with_sshd(layout.format(id=web)), "container-no-sshd")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.FAIL, "1 of 2 containers run sshd", [("web", "1 sshd process running")])


def test_sshd_counts_processes_and_ignores_the_hosts_own():
    web = container(recorded_snapshot(), "web")["Id"]
    snap = with_sshd(f"0::/docker/{web}\n", f"0::/docker/{web}\n", "0::/system.slice/ssh.service\n")
    assert snap["container_processes"] == {web: ["sshd", "sshd"]}
    assert observed(judge(snap, "container-no-sshd")) == [("web", "2 sshd processes running")]


def test_sshd_older_snapshot_cannot_say():
    snap = recorded_snapshot()
    del snap["container_processes"]
    outcome = judge(snap, "container-no-sshd")
    assert (outcome.status, outcome.message) == (Status.ERROR, "this snapshot has no container process facts (it predates them): scan the host again")


# --- 5.8, 5.9, 5.14 published ports


def publish(snap, name, ports):
    """A running container's NetworkSettings.Ports, as docker inspect shows what is bound."""
    container(snap, name)["NetworkSettings"]["Ports"] = ports
    return snap


def test_ports_none_published_pass():
    for check_id, offense in [
        ("container-no-privileged-ports", "publish privileged host ports"),
        ("container-ports-bound-to-interface", "publish ports on every host interface"),
        ("container-only-needed-ports", "publish host ports"),
    ]:
        outcome = judge(recorded_snapshot(), check_id)
        assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, f"none of 2 containers {offense}", [checked(RUNNING)])


def test_privileged_ports_of_a_created_container_come_from_its_bindings():
    outcome = judge(recorded_snapshot(), "container-no-privileged-ports", ALL)
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 4 containers publish privileged host ports")
    assert observed(outcome) == [("published", ["0.0.0.0:80->8081/tcp"])]


def test_privileged_ports_of_a_running_container_as_bound():
    snap = publish(recorded_snapshot(), "web", {
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "80"}, {"HostIp": "::", "HostPort": "80"}],
        "443/tcp": None,  # exposed, not published
        "8443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "1024"}],  # 1024 is not privileged
    })
    outcome = judge(snap, "container-no-privileged-ports")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", ["0.0.0.0:80->80/tcp", "[::]:80->80/tcp"])])


@pytest.mark.parametrize("host_port, offends", [("1000-1030", True), ("1024-1030", False), ("", False), ("0", False)])
def test_privileged_port_ranges_and_ephemeral_ports(host_port, offends):
    snap = recorded_snapshot()
    container(snap, "published")["HostConfig"]["PortBindings"] = {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": host_port}]}
    outcome = judge(snap, "container-no-privileged-ports", ALL)
    shown = f"127.0.0.1:{host_port or 'ephemeral'}->80/tcp" if offends else None
    assert outcome.status is (Status.FAIL if offends else Status.PASS)
    assert observed(outcome) == ([("published", [shown])] if offends else [checked(EVERY)])


def test_running_container_bindings_docker_discarded_do_not_count():
    # --network host with -p: Docker ignores the request, nothing is bound
    snap = recorded_snapshot()
    host_config(snap, "web").update(NetworkMode="host", PortBindings={"80/tcp": [{"HostIp": "", "HostPort": "80"}]})
    assert judge(snap, "container-no-privileged-ports").status is Status.PASS


def test_publish_all_of_a_created_container_is_ephemeral():
    snap = recorded_snapshot()
    dormant = container(snap, "dormant")
    dormant["HostConfig"]["PublishAllPorts"] = True
    dormant["Config"]["ExposedPorts"] = {"53/udp": {}}
    outcome = judge(snap, "container-only-needed-ports", ALL)
    assert observed(outcome)[0] == ("dormant", ["0.0.0.0:ephemeral->53/udp"])


def test_wildcard_bindings_fail():
    outcome = judge(recorded_snapshot(), "container-ports-bound-to-interface", ALL)
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 4 containers publish ports on every host interface")
    assert observed(outcome) == [("published", ["0.0.0.0:80->8081/tcp"])]


def test_ipv6_wildcard_fails_too():
    snap = publish(recorded_snapshot(), "web", {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}]})
    outcome = judge(snap, "container-ports-bound-to-interface")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", ["[::]:8080->80/tcp"])])


def test_daemon_default_address_binds_ports_published_without_one():
    snap = with_daemon_json(json.dumps({"ip": "127.0.0.1"}))
    outcome = judge(snap, "container-ports-bound-to-interface", ALL)
    assert (outcome.status, observed(outcome)) == (Status.PASS, [checked(EVERY)])
    assert observed(judge(snap, "container-no-privileged-ports", ALL)) == [("published", ["127.0.0.1:80->8081/tcp"])]


def test_needed_ports_without_policy_is_manual_and_names_the_parameter():
    outcome = judge(recorded_snapshot(), "container-only-needed-ports", ALL)
    assert outcome.status is Status.MANUAL
    assert outcome.message == "1 of 4 containers publish host ports: set allowed_host_ports in the policy file (--config) to say which are needed"
    assert observed(outcome) == [("published", ["127.0.0.1:8080->80/tcp", "0.0.0.0:80->8081/tcp"])]


def test_needed_ports_outside_the_policy_fail():
    outcome = judged(recorded_snapshot(), "container-only-needed-ports", ALL, allowed_host_ports=(8080, 443))
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 4 containers publish host ports outside allowed_host_ports")
    assert observed(outcome) == [("published", ["0.0.0.0:80->8081/tcp"]), ("policy allowed_host_ports", [443, 8080])]


def test_needed_ports_within_the_policy_pass():
    outcome = judged(recorded_snapshot(), "container-only-needed-ports", ALL, allowed_host_ports=(80, 8080))
    assert (outcome.status, outcome.message) == (Status.PASS, "none of 4 containers publish host ports outside allowed_host_ports")
    assert observed(outcome) == [checked(EVERY), ("policy allowed_host_ports", [80, 8080])]


def test_needed_ports_range_must_lie_within_the_policy():
    snap = recorded_snapshot()
    container(snap, "published")["HostConfig"]["PortBindings"] = {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080-8081"}]}
    outcome = judged(snap, "container-only-needed-ports", ALL, allowed_host_ports=(8080,))
    assert observed(outcome)[0] == ("published", ["127.0.0.1:8080-8081->80/tcp"])


# --- 5.15 restart policy


@pytest.mark.parametrize(
    "policy, offending",
    [
        ({"Name": "no", "MaximumRetryCount": 0}, None),
        ({"Name": "on-failure", "MaximumRetryCount": 5}, None),
        ({"Name": "on-failure", "MaximumRetryCount": 6}, "RestartPolicy=on-failure:6"),
        ({"Name": "on-failure", "MaximumRetryCount": 0}, "RestartPolicy=on-failure (no retry limit)"),
        ({"Name": "unless-stopped", "MaximumRetryCount": 0}, "RestartPolicy=unless-stopped"),
        ({"Name": "always", "MaximumRetryCount": 0}, "RestartPolicy=always"),
    ],
)
def test_restart_policies(policy, offending):
    snap = recorded_snapshot()
    host_config(snap, "web")["RestartPolicy"] = policy
    outcome = judge(snap, "container-restart-policy")
    if offending is None:
        assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, "none of 2 containers restart more than 5 times", [checked(RUNNING)])
    else:
        assert (outcome.status, outcome.message, observed(outcome)) == (Status.FAIL, "1 of 2 containers restart more than 5 times", [("web", offending)])


def test_restart_always_of_a_created_container():
    outcome = judge(recorded_snapshot(), "container-restart-policy", ALL)
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("published", "RestartPolicy=always")])


# --- 5.18 devices, 5.20 propagation, 5.25 cgroup parent, 5.19 ulimits


def test_host_devices():
    assert observed(judge(recorded_snapshot(), "container-no-host-devices")) == [checked(RUNNING)]
    snap = recorded_snapshot()
    host_config(snap, "web")["Devices"] = [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/xnull", "CgroupPermissions": "rwm"}]
    host_config(snap, "risky")["DeviceCgroupRules"] = ["b 8:* rmw"]
    outcome = judge(snap, "container-no-host-devices")
    assert (outcome.status, outcome.message) == (Status.FAIL, "2 of 2 containers are given host devices")
    assert observed(outcome) == [("risky", ["device cgroup rule b 8:* rmw"]), ("web", ["/dev/null:/dev/xnull:rwm"])]


@pytest.mark.parametrize("propagation, offends", [("rshared", True), ("shared", True), ("rslave", False), ("rprivate", False)])
def test_mount_propagation(propagation, offends):
    snap = recorded_snapshot()
    container(snap, "web")["Mounts"] = [dict(bind("/srv/data", "/data"), Propagation=propagation)]
    outcome = judge(snap, "container-mount-propagation")
    if offends:
        assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 2 containers mount with shared propagation")
        assert observed(outcome) == [("web", [f"/srv/data -> /data ({propagation})"])]
    else:
        assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, "none of 2 containers mount with shared propagation", [checked(RUNNING)])


def test_cgroup_parent_is_for_a_person_to_confirm():
    outcome = judge(recorded_snapshot(), "container-cgroup-confirmed")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, "none of 2 containers run under a custom cgroup parent", [checked(RUNNING)])
    snap = recorded_snapshot()
    host_config(snap, "web")["CgroupParent"] = "/batch"
    outcome = judge(snap, "container-cgroup-confirmed")
    assert (outcome.status, outcome.message) == (Status.MANUAL, "1 of 2 containers run under a custom cgroup parent")
    assert observed(outcome) == [("web", "CgroupParent=/batch")]


DAEMON_ULIMITS_UNSET = ("daemon default-ulimits", "not set: containers inherit dockerd's own limits")


def test_ulimits_without_overrides_still_need_a_reviewer():
    outcome = judge(recorded_snapshot(), "container-ulimits")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "none of 2 containers override the daemon's default ulimits: confirm no workload needs its own"
    assert observed(outcome) == [checked(RUNNING), DAEMON_ULIMITS_UNSET]


def test_ulimit_overrides_are_listed_beside_the_daemon_defaults():
    defaults = {"nofile": {"Name": "nofile", "Hard": 4096, "Soft": 1024}}
    snap = with_daemon_json(json.dumps({"default-ulimits": defaults}))
    host_config(snap, "web")["Ulimits"] = [{"Name": "nofile", "Soft": 65536, "Hard": 65536}, {"Name": "nproc", "Soft": 512, "Hard": 1024}]
    outcome = judge(snap, "container-ulimits")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "1 of 2 containers override the daemon's default ulimits: confirm each override is needed"
    assert observed(outcome) == [
        ("web", ["nofile=65536:65536", "nproc=512:1024"]),
        ("daemon default-ulimits", f"default-ulimits={defaults!r} (/etc/docker/daemon.json)"),
    ]


def test_ulimits_with_unparsable_daemon_json_still_lists_overrides():
    snap = with_daemon_json('{"default-ulimits": ')
    host_config(snap, "web")["Ulimits"] = [{"Name": "nofile", "Soft": 10, "Hard": 20}]
    outcome = judge(snap, "container-ulimits")
    assert outcome.status is Status.MANUAL
    assert observed(outcome)[0] == ("web", ["nofile=10:20"])
    assert observed(outcome)[1][1] == "unknown: " + unparsed("default-ulimits")


# --- 5.23, 5.24 docker exec: history, not state


EXEC_CHECKS = [("container-exec-not-privileged", "docker exec --privileged"), ("container-exec-not-root", "docker exec --user root (or -u 0)")]


@pytest.mark.parametrize("check_id, usage", EXEC_CHECKS)
def test_exec_usage_is_manual_with_the_audit_evidence(check_id, usage):
    outcome = judge(recorded_snapshot(), check_id)
    assert outcome.status is Status.MANUAL
    assert outcome.message == f"docker exec history is not part of a host snapshot: review the audit log (e.g. ausearch -k docker -i) for {usage}"
    assert observed(outcome) == [("audit rules on the docker CLI (no auditctl and no rule files in /etc/audit)", "none: docker commands are not being recorded")]


@pytest.mark.parametrize("check_id, _usage", EXEC_CHECKS)
def test_exec_evidence_names_cli_audit_rules_and_open_sessions(check_id, _usage):
    snap = recorded_snapshot()
    snap["audit"]["loaded"] = ["-w /usr/bin/dockerd -k docker", "-w /usr/bin/docker -p x -k docker", "-a always,exit -F path=/usr/local/bin/docker -k docker"]
    container(snap, "web")["ExecIDs"] = ["e1", "e2"]
    outcome = judge(snap, check_id)
    assert outcome.status is Status.MANUAL
    assert observed(outcome) == [
        ("audit rules on the docker CLI (auditctl -l)", ["-w /usr/bin/docker -p x -k docker", "-a always,exit -F path=/usr/local/bin/docker -k docker"]),
        ("web", "2 exec session(s) open"),
    ]


def test_exec_review_does_not_need_running_containers_and_says_when_audit_is_unreadable():
    snap = recorded_snapshot()
    for inspect in snap["docker"]["containers"]:
        inspect["State"]["Running"] = False
    snap["audit"]["loaded_error"] = "You must be root to run this program."
    outcome = judge(snap, "container-exec-not-privileged")
    assert outcome.status is Status.MANUAL
    assert observed(outcome) == [("audit rules on the docker CLI", "unknown: auditctl -l failed (You must be root to run this program.) and no rule files were found: re-run with --sudo")]


# --- 5.27 health checks


def test_healthcheck_missing_fails_and_reports_the_health_of_the_others():
    outcome = judge(recorded_snapshot(), "container-healthcheck")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 2 containers lack a health check; health: 1 starting")
    assert observed(outcome) == [("risky", NO_HEALTHCHECK), ("web", "health: starting")]


def give_health(snap, name, status, streak=0):
    inspect = container(snap, name)
    inspect["Config"]["Healthcheck"] = {"Test": ["CMD", "true"]}
    inspect["State"]["Health"] = {"Status": status, "FailingStreak": streak, "Log": []}


def test_healthcheck_everywhere_passes_and_names_the_unhealthy():
    snap = recorded_snapshot()
    give_health(snap, "risky", "unhealthy", 3)
    give_health(snap, "web", "healthy")
    outcome = judge(snap, "container-healthcheck")
    assert (outcome.status, outcome.message) == (Status.PASS, "none of 2 containers lack a health check; health: 1 healthy, 1 unhealthy")
    assert observed(outcome) == [checked(RUNNING), ("risky", "health: unhealthy (failing streak 3)")]


def test_healthcheck_disabled_fails():
    snap = recorded_snapshot()
    give_health(snap, "risky", "healthy")
    container(snap, "web")["Config"]["Healthcheck"] = {"Test": ["NONE"]}
    outcome = judge(snap, "container-healthcheck")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 2 containers lack a health check; health: 1 healthy")
    assert observed(outcome) == [("web", "health check disabled (--no-healthcheck or HEALTHCHECK NONE)")]


def test_healthcheck_of_a_stopped_container():
    snap = recorded_snapshot()
    give_health(snap, "dormant", "unhealthy", 9)  # left over from its last run
    outcome = judge(snap, "container-healthcheck", ALL)
    assert observed(outcome) == [
        ("published", NO_HEALTHCHECK),
        ("risky", NO_HEALTHCHECK),
        ("dormant", "health: configured (not running)"),
        ("web", "health: starting"),
    ]


# --- 5.30 default bridge


def test_default_bridge_running_containers_on_none_pass():
    outcome = judge(recorded_snapshot(), "container-not-default-bridge")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, "none of 2 containers are attached to the default bridge", [checked(RUNNING)])


def test_default_bridge_fails():
    outcome = judge(recorded_snapshot(), "container-not-default-bridge", ALL)
    assert (outcome.status, outcome.message) == (Status.FAIL, "2 of 4 containers are attached to the default bridge")
    assert observed(outcome) == [("dormant", "NetworkMode=default: network bridge (docker0)"), ("published", "NetworkMode=default: network bridge (docker0)")]


def test_user_defined_network_passes_and_a_renamed_bridge_is_named():
    snap = recorded_snapshot()
    bridge = next(n for n in snap["docker"]["networks"] if n["Name"] == "bridge")
    bridge["Options"]["com.docker.network.bridge.name"] = "br-lan"
    published = container(snap, "published")
    published["HostConfig"]["NetworkMode"] = "appnet"
    published["NetworkSettings"]["Networks"] = {"appnet": published["NetworkSettings"]["Networks"]["bridge"]}
    outcome = judge(snap, "container-not-default-bridge", ALL)
    assert observed(outcome) == [("dormant", "NetworkMode=default: network bridge (br-lan)")]


def test_daemon_without_a_default_bridge():
    # dockerd --bridge none: "default" containers get no bridge at all
    snap = recorded_snapshot()
    snap["docker"]["networks"] = [n for n in snap["docker"]["networks"] if n["Name"] != "bridge"]
    outcome = judge(snap, "container-not-default-bridge", ALL)
    assert (outcome.status, observed(outcome)) == (Status.PASS, [checked(EVERY)])
    snap["docker"]["networks"] = []
    outcome = judge(snap, "container-not-default-bridge", ALL)
    assert (outcome.status, outcome.message) == (Status.ERROR, "no Docker networks were collected (docker network inspect returned nothing)")


# --- beyond CIS: dangerous capabilities, and the policy's allowed_capabilities


def test_dangerous_capabilities_fail():
    outcome = judge(recorded_snapshot(), "container-dangerous-capabilities")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 2 containers hold capabilities that break isolation")
    assert observed(outcome) == [("risky", ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"])]


def test_dangerous_capabilities_the_policy_allows_are_exempt():
    outcome = judged(recorded_snapshot(), "container-dangerous-capabilities", allowed_capabilities=("NET_ADMIN",))
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("risky", ["CAP_SYS_ADMIN"]), ("policy allowed_capabilities", ["CAP_NET_ADMIN"])])
    outcome = judged(recorded_snapshot(), "container-dangerous-capabilities", allowed_capabilities=("net_admin", "CAP_SYS_ADMIN"))
    assert (outcome.status, outcome.message) == (Status.PASS, "none of 2 containers hold capabilities that break isolation")
    assert observed(outcome) == [checked(RUNNING), ("policy allowed_capabilities", ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"])]


def test_privileged_is_never_exempt():
    outcome = judged(recorded_snapshot(), "container-dangerous-capabilities", ALL, allowed_capabilities=("SYS_ADMIN", "NET_ADMIN"))
    assert (outcome.status, observed(outcome)) == (
        Status.FAIL,
        [("dormant", "Privileged=true (every capability)"), ("policy allowed_capabilities", ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"])],
    )


@pytest.mark.parametrize(
    "add, drop, held",
    [
        (["ALL"], ["SYS_ADMIN", "NET_ADMIN", "BPF"], ["CAP_DAC_READ_SEARCH", "CAP_SYS_MODULE", "CAP_SYS_PTRACE"]),
        (["sys_ptrace"], ["ALL"], ["CAP_SYS_PTRACE"]),
        (["DAC_READ_SEARCH"], ["DAC_READ_SEARCH"], ["CAP_DAC_READ_SEARCH"]),  # Docker drops, then adds
        (["CHOWN", "NET_BIND_SERVICE"], None, None),
    ],
)
def test_dangerous_capabilities_computed_as_docker_does(add, drop, held):
    snap = recorded_snapshot()
    host_config(snap, "risky").update(CapAdd=add, CapDrop=drop)
    outcome = judge(snap, "container-dangerous-capabilities")
    assert observed(outcome) == ([("risky", held)] if held else [checked(RUNNING)])


def test_added_capabilities_the_policy_allows_pass():
    outcome = judged(recorded_snapshot(), "container-capabilities-restricted", allowed_capabilities=("NET_ADMIN", "SYS_ADMIN"))
    assert (outcome.status, outcome.message) == (Status.PASS, "none of 2 containers add Linux capabilities")
    assert observed(outcome) == [checked(RUNNING), ("policy allowed_capabilities", ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"])]
    outcome = judged(recorded_snapshot(), "container-capabilities-restricted", allowed_capabilities=("cap_net_admin",))
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("risky", ["CAP_SYS_ADMIN"]), ("policy allowed_capabilities", ["CAP_NET_ADMIN"])])


# --- beyond CIS: runtime paths and sockets (and what that means for 5.32)


def test_runtime_paths_recorded():
    outcome = judge(recorded_snapshot(), "container-no-runtime-paths-mounted")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 2 containers mount the host's root, kernel or runtime paths")
    assert observed(outcome) == [("risky", ["/tmp/dbt/docker.sock -> /var/run/docker.sock"])]  # /etc is 5.6's business


@pytest.mark.parametrize(
    "source, shown",
    [
        ("/", "/ -> /mnt (holds /tmp/dbt/docker.sock)"),
        ("/tmp", "/tmp -> /mnt (holds /tmp/dbt/docker.sock)"),
        ("/proc", "/proc -> /mnt"),
        ("/sys/fs/cgroup", "/sys/fs/cgroup -> /mnt"),
        ("/var/run", "/var/run -> /mnt"),
        ("/run/", "/run/ -> /mnt"),
        ("/run/crio/crio.sock", "/run/crio/crio.sock -> /mnt"),
        ("/home/dev/.local/share/containers/podman.sock", "/home/dev/.local/share/containers/podman.sock -> /mnt"),
        ("/srv/app", None),
        ("/processes", None),
    ],
)
def test_runtime_paths(source, shown):
    snap = recorded_snapshot()
    container(snap, "risky")["Mounts"] = []
    container(snap, "web")["Mounts"] = [bind(source, "/mnt", rw=False)]
    outcome = judge(resolved(snap), "container-no-runtime-paths-mounted")
    assert observed(outcome) == ([("web", [shown])] if shown else [checked(RUNNING)])


def test_socket_directory_mounts_count_for_the_docker_socket_check_where_a_socket_is():
    snap = recorded_snapshot()
    container(snap, "risky")["Mounts"] = [bind("/var/run", "/host-run")]
    resolved(snap)
    assert judge(snap, "container-docker-socket-not-mounted").status is Status.PASS  # no socket in /run on the recorded host
    snap["files"]["/var/run/docker.sock"] = dict(snap["files"]["/tmp/dbt/docker.sock"])
    outcome = judge(snap, "container-docker-socket-not-mounted")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("risky", ["/var/run -> /host-run (holds /run/docker.sock)"])])


# --- beyond CIS: secrets in the environment, resource limits


def test_env_secret_names_fail_naming_variables_only():
    outcome = judge(recorded_snapshot(), "container-env-secret-names")
    assert (outcome.status, outcome.message) == (Status.FAIL, "2 of 2 containers have environment variables named like secrets")
    assert observed(outcome) == [("risky", ["API_TOKEN"]), ("web", ["DB_PASSWORD"])]


def test_env_secret_files_and_plain_names_pass():
    snap = recorded_snapshot()
    container(snap, "web")["Config"]["Env"] = ["DB_PASSWORD_FILE", "LOG_LEVEL", "PATH"]
    container(snap, "risky")["Config"]["Env"] = None
    outcome = judge(snap, "container-env-secret-names")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, "none of 2 containers have environment variables named like secrets", [checked(RUNNING)])


def test_env_with_values_still_reports_names_only():
    snap = recorded_snapshot()
    container(snap, "web")["Config"]["Env"] = ["GITHUB_TOKEN=ghp_not_a_real_one"]
    assert observed(judge(snap, "container-env-secret-names"))[1] == ("web", ["GITHUB_TOKEN"])


def test_resource_limits_list_what_is_missing():
    outcome = judge(recorded_snapshot(), "container-resource-limits")
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 2 containers lack memory, CPU or pids limits")
    assert observed(outcome) == [("risky", ["memory", "CPU", "pids"])]
    snap = recorded_snapshot()
    host_config(snap, "risky").update(Memory=268435456, CpuShares=1024)  # the default share is no limit
    assert observed(judge(snap, "container-resource-limits")) == [("risky", ["CPU", "pids"])]


def test_resource_limits_all_set_pass():
    snap = recorded_snapshot()
    host_config(snap, "risky").update(Memory=268435456, CpusetCpus="0", PidsLimit=128)
    outcome = judge(snap, "container-resource-limits")
    assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, "none of 2 containers lack memory, CPU or pids limits", [checked(RUNNING)])


# Judged per container: with no container selected they are NOT_APPLICABLE (tested in test_checks_containers.py).
PER_CONTAINER = [
    "container-no-sshd", "container-no-privileged-ports", "container-ports-bound-to-interface", "container-only-needed-ports",
    "container-restart-policy", "container-no-host-devices", "container-ulimits", "container-mount-propagation",
    "container-cgroup-confirmed", "container-healthcheck", "container-not-default-bridge", "container-dangerous-capabilities",
    "container-no-runtime-paths-mounted", "container-env-secret-names", "container-resource-limits",
]

