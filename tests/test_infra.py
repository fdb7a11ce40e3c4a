"""The test infrastructure itself: a real daemon, a real image, real containers."""

import json
import os


def test_daemon_answers_docker_info(docker_daemon):
    info = json.loads(docker_daemon.docker("info", "--format", "{{json .}}").stdout)
    assert info["ServerVersion"]
    assert os.path.exists(docker_daemon.socket)
    assert docker_daemon.host == f"unix://{docker_daemon.socket}"
    # The private daemon is not the system one.
    assert docker_daemon.socket not in ("/var/run/docker.sock", "/run/docker.sock")


def test_image_is_local_busybox(docker_daemon):
    image = json.loads(docker_daemon.docker("image", "inspect", docker_daemon.image).stdout)[0]
    assert image["Config"]["Cmd"] == ["/bin/sh"]
    out = docker_daemon.docker("run", "--rm", "--network", "none", docker_daemon.image,
                               "sh", "-c", "id -u; ls /bin").stdout.split()
    assert out[0] == "0"
    assert {"busybox", "sh", "sleep", "cat", "ls", "id"} <= set(out[1:])


def test_container_settings_show_in_inspect(containers):
    name = containers.run_container("hardened", "--pid", "host", "--read-only", "-m", "64m")
    assert name.startswith("dbt-")
    data = containers.inspect(name)
    assert data["State"]["Running"] is True
    assert data["HostConfig"]["PidMode"] == "host"
    assert data["HostConfig"]["ReadonlyRootfs"] is True
    assert data["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert data["HostConfig"]["NetworkMode"] == "none"
    # The read-only root really is read-only.
    write = containers.docker("exec", name, "sh", "-c", "echo x > /probe", check=False)
    assert write.returncode != 0
    assert "Read-only file system" in write.stderr


def test_privileged_container_can_be_created(containers):
    name = containers.create_container("privileged", "--privileged")
    assert containers.inspect(name)["HostConfig"]["Privileged"] is True


def test_containers_fixture_removes_what_a_test_started(docker_daemon):
    # test_container_settings_show_in_inspect ran before: its container is gone.
    names = docker_daemon.docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert docker_daemon.name("hardened") not in names
    assert docker_daemon.name("privileged") not in names
