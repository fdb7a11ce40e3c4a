"""The real probe against the real test daemon: same facts under every POSIX shell, and a
fixed number of Docker calls however many containers there are."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from dockbench.benchmark.collect import probe, snapshot


def run_probe(shell: list[str], docker_host: str, env: dict | None = None) -> dict:
    done = subprocess.run(shell, input=probe.build(docker_host=docker_host), capture_output=True, check=True, env=env)
    return probe.parse(done.stdout)


def stable(records: dict) -> dict:
    """What must not depend on the shell: which records exist, exit statuses, file facts.

    Processes (and their /proc entries) come and go between runs, and docker info carries
    clocks and counters: those are compared by exit status only, or not at all.
    """
    moving = ("sysctl:", "stat:/proc/", "read:/proc/", "cmdline:", "cgroup:")
    timed = ("docker:info", "docker:version")
    return {name: (r.rc, None if name in timed else r.out) for name, r in records.items() if not name.startswith(moving)}


@pytest.mark.parametrize("shell", [["dash", "-s"], ["busybox", "sh", "-s"]])
def test_every_posix_shell_gives_the_same_records(docker_daemon, shell):
    reference = stable(run_probe(["bash", "--posix", "-s"], docker_daemon.host))
    assert stable(run_probe(shell, docker_daemon.host)) == reference


def test_the_probe_looks_for_an_audit_daemon(docker_daemon):
    records = run_probe(["sh", "-s"], docker_daemon.host)
    facts = snapshot.build(records, target={"name": "t", "transport": "local", "root": "/", "docker_host": docker_daemon.host})
    daemon = facts["audit"]["daemon"]
    running = subprocess.run(["pgrep", "-x", "auditd"], capture_output=True, text=True).stdout.split()
    assert daemon["pids"] == sorted(int(p) for p in running)  # the process table was read, and named auditd or not
    assert daemon["installed"] is any(os.path.exists(p) for p in ("/sbin/auditd", "/usr/sbin/auditd"))


def test_docker_calls_do_not_grow_with_the_number_of_containers(containers, tmp_path):
    wrapper_dir = tmp_path / "bin"
    wrapper_dir.mkdir()
    log = tmp_path / "calls.log"
    wrapper = wrapper_dir / "docker"
    wrapper.write_text(f'#!/bin/sh\ncall="$1 $2"\ncase "$2" in sha256:*|[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]*) call="$1 OBJECTS" ;; esac\n'
                       f'echo "$call" >> {log}\nexec {shutil.which("docker")} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{wrapper_dir}:{os.environ['PATH']}"}

    def calls_with(count: int) -> list[str]:
        for i in range(count):
            containers.run_container(f"calls-{count}-{i}")
        log.write_text("")
        records = run_probe(["sh", "-s"], containers.host, env)
        facts = snapshot.build(records, target={"name": "t", "transport": "local", "root": "/", "docker_host": containers.host})
        names = {c["Name"] for c in facts["docker"]["containers"]}
        assert {f"/{containers.name(f'calls-{count}-{i}')}" for i in range(count)} <= names
        return sorted(log.read_text().splitlines())

    few, many = calls_with(1), calls_with(12)
    assert few == many
    assert few.count("inspect OBJECTS") == 1  # containers, images and networks in one call
    assert len(few) == 6, few  # info, version, the three id lists and the inspect: the image store's place comes from info
