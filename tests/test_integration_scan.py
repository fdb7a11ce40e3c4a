"""`dockbench scan` against the real test daemon, with containers built to pass and to fail."""

from __future__ import annotations

import json

import pytest

from tests.cli_run import by_id, dockbench, load_report

SECRET_VALUES = ("hunter2-integration", "tok-integration")


@pytest.fixture(scope="module")
def scenario(docker_daemon, tmp_path_factory):
    d = docker_daemon
    names = {
        "hardened": d.run_container(
            "scan-hardened", "--read-only", "-m", "64m", "--cpus", "0.5", "--pids-limit", "64",
            "--security-opt", "no-new-privileges", "--user", "1000:1000", "--cap-drop", "ALL",
            "-e", f"DB_PASSWORD={SECRET_VALUES[0]}",
        ),
        "exposed": d.run_container(
            "scan-exposed", "--pid", "host", "--ipc", "host", "--cap-add", "SYS_ADMIN",
            "-v", f"{d.socket}:/var/run/docker.sock", "-v", "/etc:/host-etc:ro",
            "--security-opt", "seccomp=unconfined", "-e", f"API_TOKEN={SECRET_VALUES[1]}",
        ),
        "dormant": d.create_container("scan-dormant", "--privileged"),
    }
    tmp = tmp_path_factory.mktemp("scan")
    out, facts = tmp / "report.json", tmp / "facts.json"
    done = dockbench("scan", "--docker-host", d.host, "--container", d.name("scan-*"), "-o", out, "--facts-out", facts)
    yield {"names": names, "done": done, "report": out, "facts": facts, "daemon": d, "tmp": tmp}
    d.remove(list(names.values()))


def evidence(result: dict) -> list[tuple[str, object]]:
    return [(e["subject"], e["observed"]) for e in result["evidence"]]


def test_scan_exits_1_and_prints_failures_with_evidence(scenario):
    done, names = scenario["done"], scenario["names"]
    assert done.returncode == 1, done.stderr
    assert "FAIL  container-no-host-pid (CIS 5.16) [high]" in done.stdout
    assert f"- {names['exposed']}: PidMode=host" in done.stdout
    assert f"report: {scenario['report']}" in done.stdout


def test_per_container_checks_name_each_offender_with_its_value(scenario):
    results, names = by_id(load_report(scenario["report"])), scenario["names"]
    exposed, hardened = names["exposed"], names["hardened"]
    socket = scenario["daemon"].socket
    expected = {
        "container-no-host-pid": ("FAIL", [(exposed, "PidMode=host")]),
        "container-no-host-ipc": ("FAIL", [(exposed, "IpcMode=host")]),
        "container-capabilities-restricted": ("FAIL", [(exposed, ["CAP_SYS_ADMIN"])]),
        "container-docker-socket-not-mounted": ("FAIL", [(exposed, [f"{socket} -> /var/run/docker.sock"])]),
        "container-no-sensitive-mounts": ("FAIL", [(exposed, ["/etc -> /host-etc (ro)"])]),
        "container-seccomp-enabled": ("FAIL", [(exposed, ["seccomp=unconfined"])]),
        "container-read-only-rootfs": ("FAIL", [(exposed, "ReadonlyRootfs=false")]),
        "container-memory-limited": ("FAIL", [(exposed, "Memory=0 (unlimited)")]),
        "container-pids-limited": ("FAIL", [(exposed, "PidsLimit=None")]),
        "container-user-not-root": ("FAIL", [(exposed, "User=(unset: root)")]),
        "container-no-new-privileges": ("FAIL", [(exposed, "no-new-privileges not set")]),
        "container-not-privileged": ("PASS", [("containers checked", [exposed, hardened])]),  # the privileged one is not running
        "container-no-host-network": ("PASS", [("containers checked", [exposed, hardened])]),
    }
    for check_id, (status, items) in expected.items():
        assert (results[check_id]["status"], evidence(results[check_id])) == (status, items), check_id
    assert results["container-cpu-limited"]["status"] == "FAIL"
    assert hardened not in json.dumps(results["container-cpu-limited"]["evidence"])
    assert results["container-not-privileged"]["message"] == "none of 2 containers run privileged"


def test_stopped_containers_only_with_the_flag(scenario, tmp_path):
    d, names = scenario["daemon"], scenario["names"]
    out = tmp_path / "report.json"
    done = dockbench("scan", "--docker-host", d.host, "--container", d.name("scan-*"), "--include-stopped", "-o", out, "-q")
    assert done.returncode == 1, done.stderr
    result = by_id(load_report(out))["container-not-privileged"]
    assert (result["status"], evidence(result)) == ("FAIL", [(names["dormant"], "Privileged=true")])


def test_label_selection_can_leave_no_container(scenario, tmp_path):
    d = scenario["daemon"]
    out = tmp_path / "report.json"
    refused = dockbench("scan", "--docker-host", d.host, "--label", "no-such-label", "-o", out, "-q")
    assert refused.returncode == 2 and "--label no-such-label matched none of the" in refused.stderr and not out.exists()   # an empty selection is expected only when said
    dockbench("scan", "--docker-host", d.host, "--label", "no-such-label", "--allow-empty", "-o", out, "-q")
    result = by_id(load_report(out))["container-no-host-pid"]
    assert result["status"] == "NOT_APPLICABLE"
    assert result["message"].startswith("no running containers matched the selection")


def test_report_header_describes_the_target(scenario):
    document = load_report(scenario["report"])
    target = document["target"]
    assert target["docker_status"] == "ok"
    assert target["docker_host"] == scenario["daemon"].host
    assert target["docker_version"] == scenario["daemon"].docker("version", "--format", "{{.Server.Version}}").stdout.strip()
    assert target["rootless"] is False
    assert document["summary"]["total"] == len(document["results"])
    assert sum(document["summary"]["by_status"].values()) == len(document["results"])


def test_secret_values_never_reach_report_or_facts(scenario):
    facts_text = scenario["facts"].read_text()
    for value in SECRET_VALUES:
        assert value not in facts_text
        assert value not in scenario["report"].read_text()
    facts = json.loads(facts_text)
    hardened = next(c for c in facts["docker"]["containers"] if c["Name"] == "/" + scenario["names"]["hardened"])
    assert "DB_PASSWORD" in hardened["Config"]["Env"]


def test_evaluate_rejudges_saved_facts_without_the_host(scenario, tmp_path):
    out = tmp_path / "again.json"
    done = dockbench("evaluate", scenario["facts"], "--container", scenario["daemon"].name("scan-*"), "-o", out, "-q")
    assert done.returncode == 1, done.stderr
    first, again = load_report(scenario["report"]), load_report(out)
    assert [(r["id"], r["status"], r["evidence"]) for r in again["results"]] == [(r["id"], r["status"], r["evidence"]) for r in first["results"]]
    assert again["scan_id"] != first["scan_id"]


def test_unreachable_daemon_errors_docker_checks_but_host_checks_run(tmp_path):
    out = tmp_path / "report.json"
    done = dockbench("scan", "--docker-host", f"unix://{tmp_path}/nothing.sock", "-o", out, "-q")
    assert done.returncode == 1
    document = load_report(out)
    results = by_id(document)
    assert document["target"]["docker_status"] == "unreachable"
    assert results["container-no-host-pid"]["status"] == "ERROR"
    assert "cannot reach the Docker daemon at unix://" in results["container-no-host-pid"]["message"]
    assert results["perm-etc-docker-owner"]["status"] in ("PASS", "FAIL", "NOT_APPLICABLE")
    assert results["host-docker-group-members"]["status"] != "ERROR"
    never = dockbench("scan", "--docker-host", f"unix://{tmp_path}/nothing.sock", "-o", out, "-q", "--fail-on", "never")
    assert never.returncode == 0
