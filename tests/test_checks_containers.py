"""Per-container checks (CIS 4.1, 5.x) on the recorded containers.

Running on the recorded host: "web" (hardened) and "risky" (host namespaces, added
capabilities, seccomp=unconfined, the daemon socket and /etc mounted). Created only:
"published" and "dormant" (--privileged). Each failure names every offending container
with its offending value.
"""

from __future__ import annotations

import json

import pytest

from dockbench.benchmark.document.model import Status
from dockbench.benchmark.judge.facts import Selection
from tests.recorded import (
    DOCKER_HOST,
    bind,
    container,
    docker_not_installed,
    docker_unreachable,
    judge,
    observed,
    recorded_snapshot,
    resolved,
    unparsed,
    with_daemon_json,
)
from tests.test_checks_containers_extra import PER_CONTAINER

CONTAINER_CHECKS = [
    "container-not-privileged",
    "container-no-host-pid",
    "container-no-host-network",
    "container-no-host-ipc",
    "container-no-host-uts",
    "container-no-host-userns",
    "container-capabilities-restricted",
    "container-docker-socket-not-mounted",
    "container-no-sensitive-mounts",
    "container-memory-limited",
    "container-cpu-limited",
    "container-pids-limited",
    "container-read-only-rootfs",
    "container-no-new-privileges",
    "container-seccomp-enabled",
    "container-user-not-root",
]

CHECKED_BOTH = [("containers checked", ["risky", "web"])]


def host_config(snap, name):
    return container(snap, name)["HostConfig"]


def hardened(check_id, snap):
    """Edit "risky" so that this one setting is as on "web"."""
    risky = container(snap, "risky")
    hc = risky["HostConfig"]
    fix = {
        "container-no-host-pid": lambda: hc.update(PidMode=""),
        "container-no-host-ipc": lambda: hc.update(IpcMode="private"),
        "container-no-host-uts": lambda: hc.update(UTSMode=""),
        "container-capabilities-restricted": lambda: hc.update(CapAdd=None),
        "container-docker-socket-not-mounted": lambda: risky.update(Mounts=[m for m in risky["Mounts"] if not m["Source"].endswith("docker.sock")]),
        "container-no-sensitive-mounts": lambda: risky.update(Mounts=[m for m in risky["Mounts"] if m["Source"] != "/etc"]),
        "container-memory-limited": lambda: hc.update(Memory=67108864),
        "container-cpu-limited": lambda: hc.update(NanoCpus=500000000),
        "container-pids-limited": lambda: hc.update(PidsLimit=64),
        "container-read-only-rootfs": lambda: hc.update(ReadonlyRootfs=True),
        "container-no-new-privileges": lambda: hc.update(SecurityOpt=hc["SecurityOpt"] + ["no-new-privileges"]),
        "container-seccomp-enabled": lambda: hc.update(SecurityOpt=["label=disable"]),
        "container-user-not-root": lambda: risky["Config"].update(User="1000:1000"),
    }
    fix[check_id]()
    return snap


# check id, the offense in the message, risky's offending value on the recorded host (None: none),
# an edit that makes "web" offend, and the value then shown for web.
CASES = [
    ("container-not-privileged", "run privileged", None,
     lambda c: c["HostConfig"].update(Privileged=True), "Privileged=true"),
    ("container-no-host-pid", "share the host's process namespace", "PidMode=host",
     lambda c: c["HostConfig"].update(PidMode="host"), "PidMode=host"),
    ("container-no-host-network", "share the host's network namespace", None,
     lambda c: c["HostConfig"].update(NetworkMode="host"), "NetworkMode=host"),
    ("container-no-host-ipc", "share the host's IPC namespace", "IpcMode=host",
     lambda c: c["HostConfig"].update(IpcMode="host"), "IpcMode=host"),
    ("container-no-host-uts", "share the host's UTS namespace", "UTSMode=host",
     lambda c: c["HostConfig"].update(UTSMode="host"), "UTSMode=host"),
    ("container-no-host-userns", "share the host's user namespace", None,
     lambda c: c["HostConfig"].update(UsernsMode="host"), "UsernsMode=host"),
    ("container-capabilities-restricted", "add Linux capabilities", ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"],
     lambda c: c["HostConfig"].update(CapAdd=["CAP_SYS_PTRACE"]), ["CAP_SYS_PTRACE"]),
    ("container-docker-socket-not-mounted", "mount a container runtime socket", ["/tmp/dbt/docker.sock -> /var/run/docker.sock"],
     lambda c: c.update(Mounts=[bind("/run/containerd/containerd.sock", "/run/containerd.sock")]), ["/run/containerd/containerd.sock -> /run/containerd.sock"]),
    ("container-no-sensitive-mounts", "mount sensitive host directories", ["/etc -> /host-etc (rw)"],
     lambda c: c.update(Mounts=[bind("/", "/host", rw=False)]), ["/ -> /host (ro)"]),
    ("container-memory-limited", "have no memory limit", "Memory=0 (unlimited)",
     lambda c: c["HostConfig"].update(Memory=0), "Memory=0 (unlimited)"),
    ("container-cpu-limited", "have no CPU limit or share", "no --cpus, --cpu-quota, --cpuset-cpus or --cpu-shares",
     lambda c: c["HostConfig"].update(NanoCpus=0), "no --cpus, --cpu-quota, --cpuset-cpus or --cpu-shares"),
    ("container-pids-limited", "have no process count limit", "PidsLimit=None",
     lambda c: c["HostConfig"].update(PidsLimit=-1), "PidsLimit=-1"),
    ("container-read-only-rootfs", "have a writable root filesystem", "ReadonlyRootfs=false",
     lambda c: c["HostConfig"].update(ReadonlyRootfs=False), "ReadonlyRootfs=false"),
    ("container-no-new-privileges", "may gain new privileges", "no-new-privileges not set",
     lambda c: c["HostConfig"].update(SecurityOpt=["no-new-privileges:false"]), ["no-new-privileges:false"]),
    ("container-seccomp-enabled", "run without seccomp", ["seccomp=unconfined"],
     lambda c: c["HostConfig"].update(SecurityOpt=["no-new-privileges", "seccomp:unconfined"]), ["seccomp:unconfined"]),
    ("container-user-not-root", "run as root", "User=(unset: root)",
     lambda c: c["Config"].update(User="root"), "User=root"),
]
IDS = [c[0] for c in CASES]
RISKY_FAILS = [(c[0], c[1], c[2]) for c in CASES if c[2] is not None]


def test_every_container_check_has_a_case():
    assert sorted(IDS) == sorted(CONTAINER_CHECKS)


@pytest.mark.parametrize("check_id, offense, risky_value, _break_web, _web_value", CASES, ids=IDS)
def test_recorded_running_containers(check_id, offense, risky_value, _break_web, _web_value):
    outcome = judge(recorded_snapshot(), check_id)
    if risky_value is None:
        assert (outcome.status, outcome.message) == (Status.PASS, f"none of 2 containers {offense}")
        assert observed(outcome) == [("containers checked", ["risky", "web"])]
    else:
        assert (outcome.status, outcome.message) == (Status.FAIL, f"1 of 2 containers {offense}")
        assert observed(outcome) == [("risky", risky_value)]


@pytest.mark.parametrize("check_id, offense, _risky_value", RISKY_FAILS, ids=[c[0] for c in RISKY_FAILS])
def test_hardening_risky_passes(check_id, offense, _risky_value):
    outcome = judge(resolved(hardened(check_id, recorded_snapshot())), check_id)
    assert (outcome.status, outcome.message) == (Status.PASS, f"none of 2 containers {offense}")
    assert observed(outcome) == [("containers checked", ["risky", "web"])]


@pytest.mark.parametrize("check_id, offense, risky_value, break_web, web_value", CASES, ids=IDS)
def test_weakening_web_names_it_with_its_value(check_id, offense, risky_value, break_web, web_value):
    snap = recorded_snapshot()
    break_web(container(snap, "web"))
    outcome = judge(snap, check_id)
    assert outcome.status is Status.FAIL
    offenders = ([("risky", risky_value)] if risky_value is not None else []) + [("web", web_value)]
    assert outcome.message == f"{len(offenders)} of 2 containers {offense}"
    assert sorted(observed(outcome), key=lambda e: e[0]) == offenders


# --- which containers are judged


def test_stopped_containers_are_judged_only_when_asked():
    outcome = judge(recorded_snapshot(), "container-not-privileged", Selection(include_stopped=True))
    assert (outcome.status, outcome.message) == (Status.FAIL, "1 of 4 containers run privileged")
    assert observed(outcome) == [("dormant", "Privileged=true")]


def test_selection_by_name():
    outcome = judge(recorded_snapshot(), "container-no-host-pid", Selection(name_patterns=("w*",)))
    assert (outcome.status, outcome.message) == (Status.PASS, "none of 1 containers share the host's process namespace")


def test_selection_by_label():
    snap = recorded_snapshot()
    container(snap, "risky")["Config"]["Labels"] = {"tier": "batch"}
    outcome = judge(snap, "container-no-host-ipc", Selection(labels=("tier=batch",)))
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("risky", "IpcMode=host")])
    outcome = judge(snap, "container-no-host-ipc", Selection(labels=("tier=web",)))
    assert outcome.status is Status.NOT_APPLICABLE


@pytest.mark.parametrize("check_id", CONTAINER_CHECKS + PER_CONTAINER)
def test_no_running_container_is_not_applicable(check_id):
    snap = recorded_snapshot()
    for inspect in snap["docker"]["containers"]:
        inspect["State"]["Running"] = False
    outcome = judge(snap, check_id)
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "no running containers matched the selection (4 containers in total)")


@pytest.mark.parametrize("check_id", CONTAINER_CHECKS)
def test_unreachable_daemon_is_an_error_naming_the_socket(check_id):
    outcome = judge(docker_unreachable(recorded_snapshot()), check_id)
    assert outcome.status is Status.ERROR
    assert outcome.message.startswith(f"cannot reach the Docker daemon at {DOCKER_HOST}: Cannot connect to the Docker daemon")
    assert "--sudo" in outcome.message


@pytest.mark.parametrize("check_id", CONTAINER_CHECKS)
def test_docker_not_installed_is_not_applicable(check_id):
    outcome = judge(docker_not_installed(recorded_snapshot()), check_id)
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "Docker is not installed on this host")


# --- finer points of single checks


def test_capabilities_dropping_all_and_adding_back_a_default_one_passes():
    # The remediation's own advice: --cap-drop ALL --cap-add NET_BIND_SERVICE.
    snap = hardened("container-capabilities-restricted", recorded_snapshot())
    host_config(snap, "web")["CapAdd"] = ["CAP_NET_BIND_SERVICE"]
    outcome = judge(snap, "container-capabilities-restricted")
    assert (outcome.status, observed(outcome)) == (Status.PASS, CHECKED_BOTH)


def test_capabilities_names_as_older_daemons_store_them():
    snap = hardened("container-capabilities-restricted", recorded_snapshot())
    host_config(snap, "web").update(CapDrop=["all"], CapAdd=["net_bind_service", "SYS_PTRACE"])
    outcome = judge(snap, "container-capabilities-restricted")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", ["SYS_PTRACE"])])


def test_capabilities_dropping_all_does_not_excuse_a_dangerous_one():
    snap = hardened("container-capabilities-restricted", recorded_snapshot())
    host_config(snap, "web")["CapAdd"] = ["CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"]
    outcome = judge(snap, "container-capabilities-restricted")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", ["CAP_SYS_ADMIN"])])


def test_capabilities_added_back_without_dropping_all_fail():
    snap = hardened("container-capabilities-restricted", recorded_snapshot())
    host_config(snap, "risky")["CapAdd"] = ["CAP_NET_BIND_SERVICE"]
    outcome = judge(snap, "container-capabilities-restricted")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("risky", ["CAP_NET_BIND_SERVICE"])])


def test_docker_socket_at_the_default_path_fails():
    snap = hardened("container-docker-socket-not-mounted", recorded_snapshot())
    container(snap, "web")["Mounts"] = [bind("/var/run/docker.sock", "/var/run/docker.sock", rw=False)]
    outcome = judge(resolved(snap), "container-docker-socket-not-mounted")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", ["/var/run/docker.sock -> /var/run/docker.sock"])])


def test_volume_named_like_a_socket_is_not_a_host_mount():
    snap = hardened("container-docker-socket-not-mounted", recorded_snapshot())
    container(snap, "web")["Mounts"] = [{"Type": "volume", "Name": "data", "Source": "/tmp/dbt/data/volumes/data/_data", "Destination": "/data", "RW": True}]
    assert judge(resolved(snap, volumes=[{"Name": "data", "Driver": "local", "Options": None}]), "container-docker-socket-not-mounted").status is Status.PASS


@pytest.mark.parametrize(
    "mount, expected",
    [
        (bind("/etc/ssl/certs", "/certs", rw=False), None),  # a read-only subdirectory is fine
        (bind("/etc/ssl/certs", "/certs"), ["/etc/ssl/certs -> /certs (rw)"]),
        (bind("/proc", "/host/proc", rw=False), ["/proc -> /host/proc (ro)"]),
        (bind("/etc/", "/host-etc", rw=False), ["/etc -> /host-etc (ro)"]),
        (bind("/etcetera", "/x"), None),
        (bind("/srv/app", "/app"), None),
    ],
)
def test_sensitive_mounts(mount, expected):
    snap = hardened("container-no-sensitive-mounts", recorded_snapshot())
    container(snap, "web")["Mounts"] = [mount]
    outcome = judge(resolved(snap), "container-no-sensitive-mounts")
    if expected is None:
        assert (outcome.status, observed(outcome)) == (Status.PASS, CHECKED_BOTH)
    else:
        assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", expected)])


@pytest.mark.parametrize(
    "settings, status",
    [({"CpuShares": 512}, Status.PASS), ({"CpuShares": 1024}, Status.FAIL), ({"CpuQuota": 50000}, Status.PASS), ({"CpusetCpus": "0"}, Status.PASS)],
)
def test_cpu_limit_kinds(settings, status):
    snap = recorded_snapshot()
    host_config(snap, "risky").update(settings)
    outcome = judge(snap, "container-cpu-limited")
    assert outcome.status is status
    assert observed(outcome) == (CHECKED_BOTH if status is Status.PASS else [("risky", "no --cpus, --cpu-quota, --cpuset-cpus or --cpu-shares")])


def test_pids_limit_zero_is_unlimited():
    snap = hardened("container-pids-limited", recorded_snapshot())
    host_config(snap, "web")["PidsLimit"] = 0
    outcome = judge(snap, "container-pids-limited")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", "PidsLimit=0")])


def test_no_new_privileges_daemon_wide_covers_containers():
    snap = with_daemon_json(json.dumps({"no-new-privileges": True}))
    outcome = judge(snap, "container-no-new-privileges")
    assert (outcome.status, observed(outcome)) == (Status.PASS, CHECKED_BOTH)


def test_no_new_privileges_daemon_wide_does_not_cover_an_explicit_opt_out():
    snap = with_daemon_json(json.dumps({"no-new-privileges": True}))
    host_config(snap, "web")["SecurityOpt"] = ["no-new-privileges=false"]
    outcome = judge(snap, "container-no-new-privileges")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", ["no-new-privileges=false"])])


def test_no_new_privileges_with_malformed_daemon_json_errors():
    snap = with_daemon_json('{"no-new-privileges": tru}')
    outcome = judge(snap, "container-no-new-privileges")
    assert (outcome.status, outcome.message) == (Status.ERROR, unparsed("no-new-privileges"))


@pytest.mark.parametrize("user, offending", [("0", "User=0"), ("0:0", "User=0:0"), ("root:root", "User=root:root"), ("", "User=(unset: root)"), ("nobody", None), ("1000", None)])
def test_user_forms(user, offending):
    snap = hardened("container-user-not-root", recorded_snapshot())
    container(snap, "web")["Config"]["User"] = user
    outcome = judge(snap, "container-user-not-root")
    if offending is None:
        assert (outcome.status, observed(outcome)) == (Status.PASS, CHECKED_BOTH)
    else:
        assert (outcome.status, observed(outcome)) == (Status.FAIL, [("web", offending)])
