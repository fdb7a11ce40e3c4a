"""Container checks against real containers on the test daemon, through `dockbench scan`.

Every container runs with --network none and the daemon has no bridge (tests/support/dockerd.py),
so published ports and the default bridge (5.8, 5.9, 5.14, 5.30) are judged in unit tests on the
recorded snapshot instead (tests/test_checks_containers_extra.py).
"""

from __future__ import annotations

import time

import pytest

from tests.cli_run import by_id, dockbench, load_report

NO_HEALTHCHECK = "no health check (none in the image, no --health-cmd)"


def scan(d, pattern, tmp_path, *args) -> dict[str, dict]:
    """Scan only this test's containers (names d.name(pattern)); the results by check id."""
    out = tmp_path / "report.json"
    done = dockbench("scan", "--docker-host", d.host, "--container", d.name(pattern), "-o", out, "-q", "--fail-on", "never", *args)
    assert done.returncode == 0, done.stderr
    return by_id(load_report(out))


def verdict(result: dict) -> tuple[str, list[tuple[str, object]]]:
    return result["status"], [(e["subject"], e["observed"]) for e in result["evidence"]]


def wait_for(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.3)


def health(d, name: str) -> str | None:
    return (d.inspect(name)["State"].get("Health") or {}).get("Status")


def test_devices_ulimits_and_proc_mounts(containers, tmp_path):
    d = containers
    device = d.run_container("hw-device", "--device", "/dev/null:/dev/xnull", "--ulimit", "nofile=1024:2048")
    proc = d.run_container("hw-proc", "-v", "/proc:/host-proc:ro")
    results = scan(d, "hw-*", tmp_path)
    assert verdict(results["container-no-host-devices"]) == ("FAIL", [(device, ["/dev/null:/dev/xnull:rwm"])])
    assert verdict(results["container-no-runtime-paths-mounted"]) == ("FAIL", [(proc, ["/proc -> /host-proc"])])
    assert verdict(results["container-no-sensitive-mounts"]) == ("FAIL", [(proc, ["/proc -> /host-proc (ro)"])])
    ulimits = results["container-ulimits"]
    assert ulimits["message"] == "1 of 2 containers override the daemon's default ulimits: confirm each override is needed"
    assert verdict(ulimits) == ("MANUAL", [(device, ["nofile=1024:2048"]), ("daemon default-ulimits", "not set: containers inherit dockerd's own limits")])


def test_restart_policies(containers, tmp_path):
    d = containers
    bounded = d.run_container("rp-bounded", "--restart", "on-failure:3")
    always = d.run_container("rp-always", "--restart", "always")
    endless = d.run_container("rp-endless", "--restart", "on-failure")
    result = scan(d, "rp-*", tmp_path)["container-restart-policy"]
    assert result["message"] == "2 of 3 containers restart more than 5 times"
    assert sorted(verdict(result)[1]) == [(always, "RestartPolicy=always"), (endless, "RestartPolicy=on-failure (no retry limit)")]
    assert bounded not in str(result["evidence"])


def test_shared_mount_propagation(containers, tmp_path):
    # rshared needs a shared source mount, which this host's /tmp is not: dockerd then refuses
    # to start the container, but creates it, and the setting is judged the same way.
    d = containers
    (tmp_path / "data").mkdir()
    shared = d.create_container("mp-shared", "-v", f"{tmp_path / 'data'}:/data:rshared")
    private = d.run_container("mp-private", "-v", f"{tmp_path / 'data'}:/data:ro")
    results = scan(d, "mp-*", tmp_path, "--include-stopped")
    assert verdict(results["container-mount-propagation"]) == ("FAIL", [(shared, [f"{tmp_path / 'data'} -> /data (rshared)"])])
    assert private not in str(results["container-mount-propagation"]["evidence"])


def test_health_checks(containers, tmp_path):
    d = containers
    healthy = d.run_container("hc-healthy", "--health-cmd", "true", "--health-interval", "1s")
    failing = d.run_container("hc-failing", "--health-cmd", "false", "--health-interval", "1s", "--health-retries", "1")
    unchecked = d.run_container("hc-none")
    wait_for(lambda: health(d, healthy) == "healthy" and health(d, failing) == "unhealthy", "the health checks to settle")
    result = scan(d, "hc-*", tmp_path)["container-healthcheck"]
    assert (result["status"], result["message"]) == ("FAIL", "1 of 3 containers lack a health check; health: 1 healthy, 1 unhealthy")
    _status, evidence = verdict(result)
    assert evidence[0] == (unchecked, NO_HEALTHCHECK)
    assert evidence[1][0] == failing and evidence[1][1].startswith("health: unhealthy (failing streak ")
    assert len(evidence) == 2


def test_sshd_is_seen_from_the_host(containers, tmp_path):
    # An "sshd" that is a shell script: the kernel names the process after the file it ran, so the
    # host's /proc/PID/comm says sshd, as it would for a real one. Nothing runs inside the
    # containers to find it (docker-bench runs `ps` in each, which this image does not have).
    d = containers
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sshd").write_text("#!/bin/sh\nsleep 600\n")
    (bin_dir / "sshd").chmod(0o755)
    sshd = d.run_container("sd-sshd", "-v", f"{bin_dir}:/opt/bin:ro", "--entrypoint", "/opt/bin/sshd", command=())
    d.run_container("sd-plain")
    wait_for(lambda: any(line.strip() == "sshd" for line in _comms(d, sshd)), "the fake sshd to start")
    result = scan(d, "sd-*", tmp_path)["container-no-sshd"]
    assert (result["message"], verdict(result)) == ("1 of 2 containers run sshd", ("FAIL", [(sshd, "1 sshd process running")]))


def _comms(d, name: str) -> list[str]:
    pids = d.docker("top", name, "-eo", "pid").stdout.split()[1:]
    comms = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as f:
                comms.append(f.read())
        except OSError:
            pass
    return comms


def test_env_secret_names_never_values(containers, tmp_path):
    d = containers
    leaky = d.run_container("ev-leaky", "-e", "DB_PASSWORD=hunter2-containers", "-e", "API_TOKEN_FILE=/run/secrets/token", "-e", "LOG_LEVEL=info")
    d.run_container("ev-clean", "-e", "DB_PASSWORD_FILE=/run/secrets/db")
    result = scan(d, "ev-*", tmp_path)["container-env-secret-names"]
    assert verdict(result) == ("FAIL", [(leaky, ["DB_PASSWORD"])])
    assert "hunter2-containers" not in (tmp_path / "report.json").read_text()


def test_exec_sessions_open_are_evidence_for_the_exec_review(containers, tmp_path):
    d = containers
    target = d.run_container("ex-target")
    d.docker("exec", "-d", target, "sleep", "120")
    wait_for(lambda: d.inspect(target).get("ExecIDs"), "the exec session to show")
    results = scan(d, "ex-*", tmp_path)
    for check_id in ("container-exec-not-privileged", "container-exec-not-root"):
        status, evidence = verdict(results[check_id])
        assert status == "MANUAL"
        assert evidence[0][0].startswith("audit rules on the docker CLI")
        assert evidence[1:] == [(target, "1 exec session(s) open")]


def test_dangerous_capabilities_and_the_capability_policy(containers, tmp_path):
    d = containers
    tools = d.run_container("cp-tools", "--cap-add", "SYS_PTRACE", "--cap-add", "NET_ADMIN")
    d.run_container("cp-minimal", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE")
    results = scan(d, "cp-*", tmp_path)
    assert verdict(results["container-dangerous-capabilities"]) == ("FAIL", [(tools, ["CAP_NET_ADMIN", "CAP_SYS_PTRACE"])])
    assert verdict(results["container-capabilities-restricted"]) == ("FAIL", [(tools, ["CAP_NET_ADMIN", "CAP_SYS_PTRACE"])])

    policy = tmp_path / "policy.yaml"
    policy.write_text("allowed_capabilities: [SYS_PTRACE]\n")
    results = scan(d, "cp-*", tmp_path, "--config", policy)
    allowed = ("policy allowed_capabilities", ["CAP_SYS_PTRACE"])
    assert verdict(results["container-dangerous-capabilities"]) == ("FAIL", [(tools, ["CAP_NET_ADMIN"]), allowed])
    assert verdict(results["container-capabilities-restricted"]) == ("FAIL", [(tools, ["CAP_NET_ADMIN"]), allowed])

    policy.write_text("allowed_capabilities: [SYS_PTRACE, CAP_NET_ADMIN]\n")
    results = scan(d, "cp-*", tmp_path, "--config", policy)
    for check_id in ("container-dangerous-capabilities", "container-capabilities-restricted"):
        status, evidence = verdict(results[check_id])
        assert (status, evidence[-1]) == ("PASS", ("policy allowed_capabilities", ["CAP_NET_ADMIN", "CAP_SYS_PTRACE"]))
