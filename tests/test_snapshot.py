"""Parsing the recorded probe output: facts kept, secrets dropped, file states told apart."""

from __future__ import annotations

import json

from dockbench.benchmark.collect.probe import Record
from tests.recorded import (
    build,
    container,
    recorded_records,
    recorded_snapshot,
    stat_record,
    with_file,
)

CLIENT_CONFIG = "/root/.docker/config.json"


def test_container_env_keeps_names_and_drops_values():
    snap = recorded_snapshot()
    raw = recorded_records()["docker:inspect"].text
    assert "hunter2" in raw and "tok-123" in raw  # the recording does hold the secrets
    assert container(snap, "web")["Config"]["Env"] == ["DB_PASSWORD", "LOG_LEVEL"]
    assert container(snap, "risky")["Config"]["Env"] == ["API_TOKEN"]
    dumped = json.dumps(snap)
    assert "hunter2" not in dumped
    assert "tok-123" not in dumped
    assert "DB_PASSWORD" in dumped and "API_TOKEN" in dumped


def test_stat_states_absent_and_present_are_distinguished():
    files = recorded_snapshot()["files"]
    assert files["/etc/docker/daemon.json"] == {
        "state": "absent",
        "error": "stat: cannot statx '/etc/docker/daemon.json': No such file or directory",
    }
    sock = files["/tmp/dbt/docker.sock"]
    assert (sock["state"], sock["type"], sock["mode"], sock["owner"], sock["group"]) == ("present", "socket", 0o660, "root", "docker")
    assert (sock["uid"], sock["gid"]) == (0, 105)
    etc_docker = files["/etc/docker"]
    assert (etc_docker["state"], etc_docker["type"], etc_docker["mode"]) == ("present", "directory", 0o755)


def test_permission_denied_is_unreadable_not_absent():
    records = recorded_records()
    records["stat:/etc/docker/daemon.json"] = Record(rc=1, err=b"stat: cannot statx '/etc/docker/daemon.json': Permission denied")
    snap = build(records)
    assert snap["files"]["/etc/docker/daemon.json"]["state"] == "unreadable"
    assert snap["daemon_config"]["state"] == "unreadable"


def test_daemon_json_that_cannot_be_read_is_unreadable():
    records = recorded_records()
    records["stat:/etc/docker/daemon.json"] = stat_record("file", 0o600, 0, 0, 20)
    records["read:/etc/docker/daemon.json"] = Record(rc=1, err=b"cat: /etc/docker/daemon.json: Permission denied")
    snap = build(records)
    entry = snap["files"]["/etc/docker/daemon.json"]
    assert (entry["state"], entry["content_error"]) == ("unreadable", "cat: /etc/docker/daemon.json: Permission denied")
    assert "content" not in entry


def test_client_config_keeps_which_registries_have_credentials_never_the_token():
    records = with_file(recorded_records(), CLIENT_CONFIG, '{"auths":{"reg.example":{"auth":"c2VjcmV0"}}}', mode=0o600)
    snap = build(records)
    assert snap["client_configs"] == {
        CLIENT_CONFIG: {"auths": {"reg.example": {"has_credentials": True}}, "creds_store": None, "cred_helpers": {}},
    }
    assert snap["files"][CLIENT_CONFIG]["state"] == "present"
    assert "content" not in snap["files"][CLIENT_CONFIG]
    assert "c2VjcmV0" not in json.dumps(snap)


def test_client_config_without_credentials():
    records = with_file(recorded_records(), CLIENT_CONFIG, '{"auths":{"reg.example":{}},"credsStore":"pass"}', mode=0o600)
    config = build(records)["client_configs"][CLIENT_CONFIG]
    assert config == {"auths": {"reg.example": {"has_credentials": False}}, "creds_store": "pass", "cred_helpers": {}}


def test_client_config_that_cannot_be_read_is_unreadable():
    # A docker group member's config, mode 0600, read by a scan without --sudo.
    path = "/home/cloudsdk/.docker/config.json"
    records = recorded_records()
    records["stat:" + path] = stat_record("file", 0o600, 1000, 1000, 60)
    records["read:" + path] = Record(rc=1, err=f"cat: {path}: Permission denied".encode())
    snap = build(records)
    assert snap["files"][path]["state"] == "unreadable"
    assert snap["files"][path]["content_error"] == f"cat: {path}: Permission denied"
    assert snap["client_configs"] == {}


def test_daemon_json_secrets_are_masked():
    records = with_file(recorded_records(), "/etc/docker/daemon.json", '{"log-opts": {"splunk-token": "s3cr3t-value"}, "icc": false}')
    snap = build(records)
    assert snap["daemon_config"]["data"] == {"log-opts": {"splunk-token": "<redacted>"}, "icc": False}
    assert "s3cr3t-value" not in json.dumps(snap)


def test_daemon_is_matched_to_the_audited_socket():
    snap = recorded_snapshot()
    assert snap["daemon"]["selected_by"] == "socket"
    assert snap["daemon"]["argv"][:3] == ["dockerd", "--host", "unix:///tmp/dbt/docker.sock"]
    assert snap["docker"]["status"] == "ok"
    assert sorted(c["Name"] for c in snap["docker"]["containers"]) == ["/dormant", "/published", "/risky", "/web"]


def test_mounts_keep_the_device_of_each_filesystem():
    mounts = {m["mount_point"]: m for m in recorded_snapshot()["mounts"]}
    assert (mounts["/"]["dev"], mounts["/"]["source"]) == ("254:0", "/dev/vda")
    assert (mounts["/tmp/dbt/data"]["dev"], mounts["/tmp/dbt/data"]["source"]) == ("254:0", "/dev/vda")


def test_snapshot_is_json_serialisable_and_stable():
    snap = recorded_snapshot()
    assert json.loads(json.dumps(snap)) == snap
