"""Facts accessors on the recorded host, and what each says when its fact is missing."""

from __future__ import annotations

from datetime import datetime, timezone

from dockbench.benchmark.judge.facts import Facts, Image, Socket
from tests.recorded import docker_unreachable, present, recorded_snapshot


def test_collected_at_is_the_probe_time_in_utc_or_none_when_unreadable():
    snap = recorded_snapshot()
    snap["collected_at"] = "2026-11-23T14:40:14Z"
    assert Facts(snap).collected_at == datetime(2026, 11, 23, 14, 40, 14, tzinfo=timezone.utc)
    snap["collected_at"] = "yesterday"
    assert Facts(snap).collected_at is None
    del snap["collected_at"]
    assert Facts(snap).collected_at is None


def test_listening_sockets_are_typed_and_none_when_not_read():
    snap = recorded_snapshot()
    assert Facts(snap).listening is None  # the recorded probe could not read /proc/net/tcp
    snap["listening"] = [{"address": "127.0.0.1", "port": 2377}, {"address": "::", "port": 22}]
    assert Facts(snap).listening == [Socket("127.0.0.1", 2377), Socket("::", 22)]
    snap["listening"] = []
    assert Facts(snap).listening == []


def test_a_unit_the_host_lacks_is_empty():
    snap = recorded_snapshot()
    facts = Facts(snap)
    assert facts.unit("docker.socket")["listen_stream"] == ["/run/docker.sock"]
    assert facts.unit("podman.socket") == {}
    del snap["units"]
    assert Facts(snap).unit("docker.socket") == {}


def test_container_processes_are_none_in_a_snapshot_that_predates_them():
    snap = recorded_snapshot()
    assert Facts(snap).container_processes == {}
    del snap["container_processes"]
    assert Facts(snap).container_processes is None


def test_lsm_state():
    snap = recorded_snapshot()
    assert (Facts(snap).apparmor, Facts(snap).selinux) == (False, None)
    snap["lsm"] = {"apparmor": True, "selinux": "0"}
    assert (Facts(snap).apparmor, Facts(snap).selinux) == (True, "0")


def test_files_lists_every_looked_at_path_in_order_with_its_state():
    snap = recorded_snapshot()
    snap["files"]["/etc/docker/certs.d/a/ca.crt"] = present(snap, "file", "root", "root", 0o444)
    files = Facts(snap).files
    assert [f.path for f in files] == sorted(snap["files"])
    assert next(f for f in files if f.path == "/etc/docker/certs.d/a/ca.crt").mode == 0o444


def test_images_are_image_views_and_none_without_a_daemon():
    snap = recorded_snapshot()
    images = Facts(snap).images
    assert [i.inspect for i in images] == snap["docker"]["images"] and all(isinstance(i, Image) for i in images)
    assert Facts(docker_unreachable(snap)).images == []


def test_target_root_defaults_to_the_live_host():
    snap = recorded_snapshot()
    assert Facts(snap).target_root == "/"
    snap["target"]["root"] = "/host"
    assert Facts(snap).target_root == "/host"
    del snap["target"]["root"]
    assert Facts(snap).target_root == "/"
