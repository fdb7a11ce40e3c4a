"""Owner and mode of the daemon's socket, unit and configuration files (CIS 3.x).

Modes are judged as bit masks ("0644 or stricter" means no bit outside 0644), never by
comparing numbers: 0622 is numerically below 0644 yet lets the group and others write.
"""

from __future__ import annotations

import pytest

from dockbench.benchmark.document.model import Status
from tests.recorded import (
    absent,
    docker_not_installed,
    docker_unreachable,
    judge,
    observed,
    present,
    recorded_snapshot,
    unreadable,
)

# Each rule: its check prefix, the path it judges on the recorded host, the file type, the
# expected owner and group, the most permissive mode, and a mode numerically below that one
# which still sets bits outside it (with those bits).
RULES = [
    ("perm-docker-service", "/usr/lib/systemd/system/docker.service", "file", "root", "root", 0o644, 0o622, 0o022),
    ("perm-docker-socket-unit", "/usr/lib/systemd/system/docker.socket", "file", "root", "root", 0o644, 0o622, 0o022),
    ("perm-etc-docker", "/etc/docker", "directory", "root", "root", 0o755, 0o722, 0o022),
    ("perm-docker-sock", "/tmp/dbt/docker.sock", "socket", "root", "docker", 0o660, 0o606, 0o006),
    ("perm-daemon-json", "/etc/docker/daemon.json", "file", "root", "root", 0o644, 0o622, 0o022),
    ("perm-etc-default-docker", "/etc/default/docker", "file", "root", "root", 0o644, 0o622, 0o022),
    ("perm-etc-sysconfig-docker", "/etc/sysconfig/docker", "file", "root", "root", 0o644, 0o622, 0o022),
    ("perm-containerd-sock", "/run/containerd/containerd.sock", "socket", "root", "root", 0o660, 0o606, 0o006),
]
ABSENT_ON_RECORDED_HOST = {"/etc/docker/daemon.json", "/etc/sysconfig/docker", "/run/containerd/containerd.sock"}
RECORDED_PRESENT = [r for r in RULES if r[1] not in ABSENT_ON_RECORDED_HOST]
RECORDED_ABSENT = [r for r in RULES if r[1] in ABSENT_ON_RECORDED_HOST]


def ids(rules):
    return [r[0] for r in rules]


def shown(kind, owner, group, mode):
    return f"{kind} {owner}:{group} {mode:04o}"


def with_file(path, kind, owner, group, mode):
    snap = recorded_snapshot()
    snap["files"][path] = present(snap, kind, owner, group, mode)
    return snap


# --- what the recorded host shows


@pytest.mark.parametrize("prefix, path, kind, owner, group, mode, _sneaky, _bits", RECORDED_PRESENT, ids=ids(RECORDED_PRESENT))
def test_recorded_owner_passes(prefix, path, kind, owner, group, mode, _sneaky, _bits):
    outcome = judge(recorded_snapshot(), f"{prefix}-owner")
    assert (outcome.status, outcome.message) == (Status.PASS, f"{path} is owned by {owner}:{group}")
    assert observed(outcome) == [(path, shown(kind, owner, group, mode))]


@pytest.mark.parametrize("prefix, path, kind, owner, group, mode, _sneaky, _bits", RECORDED_PRESENT, ids=ids(RECORDED_PRESENT))
def test_recorded_mode_passes(prefix, path, kind, owner, group, mode, _sneaky, _bits):
    outcome = judge(recorded_snapshot(), f"{prefix}-mode")
    assert (outcome.status, outcome.message) == (Status.PASS, f"{path} has mode {mode:04o}, within {mode:04o}")
    assert observed(outcome) == [(path, shown(kind, owner, group, mode))]


@pytest.mark.parametrize("suffix", ["owner", "mode"])
@pytest.mark.parametrize("prefix, path", [r[:2] for r in RECORDED_ABSENT], ids=ids(RECORDED_ABSENT))
def test_absent_file_is_not_applicable_and_names_the_path(prefix, path, suffix):
    outcome = judge(recorded_snapshot(), f"{prefix}-{suffix}")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, f"{path} does not exist")
    assert observed(outcome) == [(path, "absent")]


# --- owner


@pytest.mark.parametrize("prefix, path, kind, owner, group, mode, _sneaky, _bits", RULES, ids=ids(RULES))
def test_expected_owner_passes(prefix, path, kind, owner, group, mode, _sneaky, _bits):
    outcome = judge(with_file(path, kind, owner, group, mode), f"{prefix}-owner")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [(path, shown(kind, owner, group, mode))])


@pytest.mark.parametrize("prefix, path, kind, owner, group, mode, _sneaky, _bits", RULES, ids=ids(RULES))
def test_owned_by_an_ordinary_user_fails(prefix, path, kind, owner, group, mode, _sneaky, _bits):
    outcome = judge(with_file(path, kind, "cloudsdk", group, mode), f"{prefix}-owner")
    assert outcome.status is Status.FAIL
    assert outcome.message == f"{path} is owned by cloudsdk:{group}, expected {owner}:{group}"
    assert observed(outcome) == [(path, shown(kind, "cloudsdk", group, mode))]


@pytest.mark.parametrize("prefix, path, kind, owner, group, mode, _sneaky, _bits", RULES, ids=ids(RULES))
def test_group_of_ordinary_users_fails(prefix, path, kind, owner, group, mode, _sneaky, _bits):
    outcome = judge(with_file(path, kind, owner, "users", mode), f"{prefix}-owner")
    assert outcome.status is Status.FAIL
    assert outcome.message == f"{path} is owned by {owner}:users, expected {owner}:{group}"


def test_docker_socket_must_belong_to_the_docker_group():
    outcome = judge(with_file("/tmp/dbt/docker.sock", "socket", "root", "root", 0o660), "perm-docker-sock-owner")
    assert outcome.status is Status.FAIL
    assert outcome.message == "/tmp/dbt/docker.sock is owned by root:root, expected root:docker"
    assert observed(outcome) == [("/tmp/dbt/docker.sock", "socket root:root 0660")]


def test_owner_without_a_name_is_judged_by_uid():
    # e.g. scanning a --root tree whose /etc/passwd lacks the user: only numbers are known.
    snap = recorded_snapshot()
    entry = snap["files"]["/etc/docker"]
    entry["owner"], entry["uid"] = None, 4242
    outcome = judge(snap, "perm-etc-docker-owner")
    assert (outcome.status, outcome.message) == (Status.FAIL, "/etc/docker is owned by 4242:root, expected root:root")


# --- mode, as a bit mask


@pytest.mark.parametrize("prefix, path, kind, owner, group, mode, sneaky, bits", RULES, ids=ids(RULES))
def test_numerically_lower_mode_with_extra_bits_fails(prefix, path, kind, owner, group, mode, sneaky, bits):
    assert sneaky < mode  # a numeric comparison would pass it
    outcome = judge(with_file(path, kind, owner, group, sneaky), f"{prefix}-mode")
    assert outcome.status is Status.FAIL
    assert outcome.message == f"{path} has mode {sneaky:04o}: bits {bits:04o} go beyond {mode:04o}"
    assert observed(outcome) == [(path, shown(kind, owner, group, sneaky))]


@pytest.mark.parametrize("prefix, path, kind, owner, group, mode, _sneaky, _bits", RULES, ids=ids(RULES))
def test_stricter_mode_passes(prefix, path, kind, owner, group, mode, _sneaky, _bits):
    outcome = judge(with_file(path, kind, owner, group, 0o600), f"{prefix}-mode")
    assert (outcome.status, outcome.message) == (Status.PASS, f"{path} has mode 0600, within {mode:04o}")


@pytest.mark.parametrize("prefix, path, kind, owner, group, mode, _sneaky, _bits", RULES, ids=ids(RULES))
def test_world_writable_fails(prefix, path, kind, owner, group, mode, _sneaky, _bits):
    outcome = judge(with_file(path, kind, owner, group, mode | 0o002), f"{prefix}-mode")
    assert outcome.status is Status.FAIL
    assert outcome.message == f"{path} has mode {mode | 0o002:04o}: bits 0002 go beyond {mode:04o}"


@pytest.mark.parametrize(
    "mode, status",
    [(0o660, Status.PASS), (0o600, Status.PASS), (0o640, Status.PASS), (0o666, Status.FAIL), (0o606, Status.FAIL), (0o670, Status.FAIL), (0o4660, Status.FAIL)],
)
def test_docker_socket_mode_masks(mode, status):
    outcome = judge(with_file("/tmp/dbt/docker.sock", "socket", "root", "docker", mode), "perm-docker-sock-mode")
    assert outcome.status is status
    assert observed(outcome) == [("/tmp/dbt/docker.sock", f"socket root:docker {mode:04o}")]


def test_world_writable_docker_socket_names_the_extra_bits():
    outcome = judge(with_file("/tmp/dbt/docker.sock", "socket", "root", "docker", 0o666), "perm-docker-sock-mode")
    assert outcome.status is Status.FAIL
    assert outcome.message == "/tmp/dbt/docker.sock has mode 0666: bits 0006 go beyond 0660"
    assert observed(outcome) == [("/tmp/dbt/docker.sock", "socket root:docker 0666")]


# --- what could not be seen


@pytest.mark.parametrize("suffix", ["owner", "mode"])
@pytest.mark.parametrize("prefix, path", [r[:2] for r in RULES], ids=ids(RULES))
def test_unreadable_path_errors_and_says_to_use_sudo(prefix, path, suffix):
    snap = recorded_snapshot()
    snap["files"][path] = unreadable(path)
    outcome = judge(snap, f"{prefix}-{suffix}")
    assert outcome.status is Status.ERROR
    assert outcome.message == f"cannot inspect {path} unreadable (stat: cannot statx '{path}': Permission denied): re-run with --sudo or as root"


def test_path_the_probe_did_not_collect_errors():
    snap = recorded_snapshot()
    del snap["files"]["/etc/docker"]
    outcome = judge(snap, "perm-etc-docker-mode")
    assert (outcome.status, outcome.message) == (Status.ERROR, "/etc/docker was not collected by the probe")


# --- where the files are


def test_admins_unit_file_is_the_one_judged():
    snap = with_file("/etc/systemd/system/docker.service", "file", "root", "root", 0o664)
    outcome = judge(snap, "perm-docker-service-mode")
    assert outcome.status is Status.FAIL
    assert observed(outcome) == [("/etc/systemd/system/docker.service", "file root:root 0664")]


@pytest.mark.parametrize("unit", ["docker.service", "docker.socket"])
def test_no_unit_file_is_not_applicable(unit):
    snap = recorded_snapshot()
    for path in [p for p in snap["files"] if p.endswith("/" + unit)]:
        snap["files"][path] = absent(path)
    prefix = "perm-docker-service" if unit == "docker.service" else "perm-docker-socket-unit"
    for suffix in ("owner", "mode"):
        outcome = judge(snap, f"{prefix}-{suffix}")
        assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, f"no {unit} unit file in any systemd unit directory")


def test_default_socket_when_no_docker_host_is_given():
    snap = recorded_snapshot()
    snap["docker"]["host"] = None
    outcome = judge(snap, "perm-docker-sock-mode")
    assert (outcome.status, observed(outcome)) == (Status.NOT_APPLICABLE, [("/var/run/docker.sock", "absent")])
    snap["files"]["/var/run/docker.sock"] = present(snap, "socket", "root", "docker", 0o666)
    outcome = judge(snap, "perm-docker-sock-mode")
    assert (outcome.status, observed(outcome)) == (Status.FAIL, [("/var/run/docker.sock", "socket root:docker 0666")])


def test_tcp_daemon_has_no_socket_to_judge():
    snap = recorded_snapshot()
    snap["docker"]["host"] = "tcp://127.0.0.1:2376"
    outcome = judge(snap, "perm-docker-sock-owner")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "the audited daemon listens on TCP, not on a unix socket")


def test_socket_under_root_is_judged_at_its_path_on_the_target():
    # Scanning a host mounted at /host: the socket is stat'ed as /var/run/docker.sock.
    snap = recorded_snapshot()
    snap["target"]["root"] = "/host"
    snap["docker"]["host"] = "unix:///host/var/run/docker.sock"
    snap["files"]["/var/run/docker.sock"] = present(snap, "socket", "root", "docker", 0o660)
    outcome = judge(snap, "perm-docker-sock-owner")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("/var/run/docker.sock", "socket root:docker 0660")])


def test_daemon_json_named_by_config_file_flag_is_judged():
    snap = recorded_snapshot()
    snap["daemon_config"]["path"] = "/srv/docker/daemon.json"
    snap["files"]["/srv/docker/daemon.json"] = present(snap, "file", "root", "root", 0o666)
    outcome = judge(snap, "perm-daemon-json-mode")
    assert outcome.status is Status.FAIL
    assert outcome.message == "/srv/docker/daemon.json has mode 0666: bits 0022 go beyond 0644"


@pytest.mark.parametrize("docker_state", [docker_unreachable, docker_not_installed])
@pytest.mark.parametrize("check_id", ["perm-docker-sock-owner", "perm-docker-sock-mode", "perm-etc-docker-mode", "perm-docker-service-owner"])
def test_file_checks_decide_without_the_daemon(check_id, docker_state):
    assert judge(docker_state(recorded_snapshot()), check_id) == judge(recorded_snapshot(), check_id)
    assert judge(docker_state(recorded_snapshot()), check_id).status is Status.PASS
