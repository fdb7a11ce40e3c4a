"""`dockbench scan` of a real rootless dockerd, whose socket is in its user's runtime dir.

The daemon (tests/support/rootless.py) runs as the system user dbt-rootless through
dockerd-rootless.sh, with no flags: it serves its default socket /run/user/UID/docker.sock and
reads ~/.config/docker/daemon.json. It never skips: a daemon that cannot start is a failure.
"""

from __future__ import annotations

import json

import pytest

from tests.cli_run import by_id, dockbench, load_report
from tests.conftest import DockerDaemon
from tests.support import rootless
from tests.support.dockerd import DaemonError


@pytest.fixture(scope="module")
def rootless_daemon():
    daemon = rootless.RootlessDaemon()
    try:
        daemon.start()
    except DaemonError as exc:
        pytest.fail(f"cannot start a rootless dockerd for the tests: {exc}", pytrace=False)
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def scan(rootless_daemon, tmp_path_factory):
    d = DockerDaemon(rootless_daemon.host)
    names = {"read_only": d.run_container("rl-read-only", "--read-only"), "writable": d.run_container("rl-writable")}
    tmp = tmp_path_factory.mktemp("rootless")
    out, facts = tmp / "report.json", tmp / "facts.json"
    done = dockbench("scan", "--docker-host", d.host, "--container", d.name("rl-*"), "-o", out, "--facts-out", facts)
    yield {"done": done, "report": out, "facts": json.loads(facts.read_text()), "names": names, "rootless": rootless_daemon}
    d.remove(list(names.values()))


def test_scan_of_the_runtime_dir_socket_reports_a_rootless_daemon(scan):
    daemon, done = scan["rootless"], scan["done"]
    assert daemon.host == f"unix:///run/user/{daemon.uid}/docker.sock"
    assert done.returncode == 1, done.stderr  # some checks fail; the scan itself ran
    target = load_report(scan["report"])["target"]
    assert (target["docker_host"], target["docker_status"], target["rootless"]) == (daemon.host, "ok", True)
    assert " (rootless)" in done.stdout.splitlines()[1]


def test_the_rootless_dockerd_is_selected_by_its_default_socket(scan):
    daemon, facts = scan["rootless"], scan["facts"]
    selected = facts["daemon"]
    assert (selected["uid"], selected["selected_by"]) == (daemon.uid, "socket")
    assert selected["argv"] == ["dockerd"]  # no -H: the socket is the rootless default
    assert facts["probe"]["notes"] == []
    config_path = f"{daemon.home}/.config/docker/daemon.json"
    assert facts["daemon_config"] == selected["config"]
    assert (selected["config"]["path"], selected["config"]["state"], selected["config"]["data"]) == (
        config_path, "present", rootless.DAEMON_JSON)


def test_per_container_checks_see_the_rootless_daemons_containers(scan):
    names, facts = scan["names"], scan["facts"]
    result = by_id(load_report(scan["report"]))["container-read-only-rootfs"]
    assert result["status"] == "FAIL"
    assert [(e["subject"], e["observed"]) for e in result["evidence"]] == [(names["writable"], "ReadonlyRootfs=false")]
    assert result["message"].startswith("1 of 2 containers")
    read_only = {c["Name"]: c["HostConfig"]["ReadonlyRootfs"] for c in facts["docker"]["containers"]}
    assert read_only == {"/" + names["read_only"]: True, "/" + names["writable"]: False}
