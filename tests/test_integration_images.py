"""4.7 and 4.9 decided from real build history: an image built offline on the test daemon (the
classic builder, from the imported busybox image) with a bare `apt-get update` step and an ADD,
scanned as root, so the probe reads the image configs in the daemon's image store."""

from __future__ import annotations

import subprocess

import pytest

from tests.cli_run import by_id, dockbench, load_report
from tests.support import dockerd

DOCKERFILE = f"""FROM {dockerd.IMAGE}
COPY apt-get /bin/apt-get
RUN apt-get update
ADD hello.txt /hello.txt
ENV API_TOKEN=history-secret-value
"""


@pytest.fixture(scope="module")
def built(docker_daemon, tmp_path_factory):
    context = tmp_path_factory.mktemp("history-build")
    (context / "Dockerfile").write_text(DOCKERFILE)
    (context / "apt-get").write_text("#!/bin/sh\necho \"apt-get $*: nothing to fetch offline\"\n")
    (context / "apt-get").chmod(0o755)
    (context / "hello.txt").write_text("hello\n")
    tag = f"dbt-{docker_daemon.run_id}-history:1"
    env = dict(dockerd.docker_env(docker_daemon.host), DOCKER_BUILDKIT="0")  # the classic builder: no buildx, no network
    done = subprocess.run([dockerd.docker_cli(), "build", "--network", "none", "-t", tag, str(context)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    yield tag
    docker_daemon.docker("image", "rm", "-f", tag, check=False)


def test_build_history_fails_the_bare_update_and_the_add(docker_daemon, built, tmp_path):
    out = tmp_path / "r.json"
    done = dockbench("scan", "--docker-host", docker_daemon.host, "--include", "4.7", "--include", "4.9", "--no-archive", "-o", out, "-q", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    assert "history-secret-value" not in out.read_text()
    results = by_id(load_report(out))
    update, add = results["image-no-update-alone"], results["image-copy-not-add"]
    assert (update["status"], add["status"]) == ("FAIL", "FAIL")
    evidence = {e["subject"]: e["observed"] for e in update["evidence"]}
    assert evidence[built] == ["RUN apt-get update"]
    root_dir = docker_daemon.docker("info", "--format", "{{.DockerRootDir}}").stdout.strip()
    assert evidence["build history"].endswith(f"images read from the image configs in {root_dir}/image")
    added = {e["subject"]: e["observed"] for e in add["evidence"]}[built]
    assert len(added) == 1 and added[0].startswith("ADD file:") and added[0].endswith(" in /hello.txt")
    assert dockerd.IMAGE not in {e["subject"] for e in update["evidence"] + add["evidence"]}  # an imported image records no step
