"""Distributed sweeps over real sshd hosts, queued in a real PostgreSQL archive: two and four
workers, a worker SIGKILLed mid-host, the database restarted mid-sweep. Every host must end
recorded exactly once (a report or an error entry), the sweep closed and shown like any sweep,
and the chain intact."""

from __future__ import annotations

import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from tests.cli_run import DOCKBENCH, dockbench, load_report
from tests.support.sshd import Lab, free_port

HEALTHY = [f"q{i}" for i in range(1, 9)]
BROKEN = {"no-auth": "auth_failed", "closed-port": "connection_refused", "unknown-key": "host_key_unknown"}
SLOW = "slow"   # answers after 4 s: a worker is caught in the middle of it


@pytest.fixture(scope="module")
def lab(docker_daemon):
    lab = Lab(Path(tempfile.mkdtemp(prefix="dbt-queuelab-")))
    try:
        healthy = [lab.start(name, f"127.0.0.{101 + i}") for i, name in enumerate(HEALTHY)]
        slow = lab.start(SLOW, "127.0.0.120", extra_config='ForceCommand sleep 4; eval "$SSH_ORIGINAL_COMMAND"')
        no_auth = lab.start("no-auth", "127.0.0.121", authorized=False)
        unknown = lab.start("unknown-key", "127.0.0.122")
    except Exception as exc:  # noqa: BLE001 - no lab, no test
        lab.stop()
        pytest.fail(f"cannot start the sshd lab: {exc}", pytrace=False)
    known_hosts = lab.known_hosts(lab.directory / "known_hosts", healthy + [slow, no_auth])
    hosts = {s.name: {"host": s.address, "port": s.port} for s in healthy + [no_auth, unknown]}
    hosts["closed-port"] = {"host": "127.0.0.123", "port": free_port("127.0.0.123")}

    def inventory(path: Path, *, with_slow: bool = False) -> Path:
        chosen = dict(hosts, **({SLOW: {"host": slow.address, "port": slow.port}} if with_slow else {}))
        path.write_text(yaml.safe_dump({"defaults": {"user": "root", "key": str(lab.client_key), "docker_host": docker_daemon.host},
                                        "groups": {"fleet": {"hosts": chosen}}}))
        return path

    yield {"lab": lab, "known_hosts": known_hosts, "inventory": inventory}
    lab.stop()


def start(url: str, inventory: Path) -> str:
    done = dockbench("sweep", "start", "--inventory", inventory, "--archive", url)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def worker(lab, url: str, name: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([DOCKBENCH, "sweep", "work", "--archive", url, "--known-hosts", str(lab["known_hosts"]), "--ssh-config", "/dev/null",
                             "--connect-timeout", "3", "--timeout", "30", "--name", name, "--stalled-after", "3", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def status(url: str, sweep_id: str) -> dict:
    done = dockbench("sweep", "status", sweep_id, "--archive", url, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def accounted_once(url: str, sweep_id: str, healthy: list[str], tmp_path: Path) -> dict:
    """Every host once in the shown sweep and once in the archive; the chain intact."""
    state = status(url, sweep_id)
    assert (state["done"], state["failed"], state["pending"], state["running"], state["closed"]) == (len(healthy), len(BROKEN), 0, 0, True), state
    out = tmp_path / "sweep.json"
    shown = dockbench("show", sweep_id[:8], "--archive", url, "-o", out)
    assert shown.returncode == 0, shown.stderr
    document = load_report(out)
    assert [h["target"]["name"] for h in document["hosts"]] == sorted(healthy)
    assert {e["name"]: e["kind"] for e in document["errors"]} == BROKEN
    assert all(h["summary"]["total"] > 50 for h in document["hosts"])
    rows = json.loads(dockbench("history", "--archive", url, "--json").stdout)
    assert sorted(r["host"] for r in rows if r["sweep_id"] == sweep_id) == sorted(healthy)   # one entry per host, no more
    html = tmp_path / "sweep.html"
    assert dockbench("show", sweep_id, "--archive", url, "-o", html).returncode == 0 and all(n in html.read_text() for n in healthy)
    verified = dockbench("archive", "verify", "--archive", url)
    assert verified.returncode == 0 and f"{len(healthy) + 1} entries" in verified.stdout, verified.stdout
    return state


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_share_a_sweep_and_account_for_every_host_once(lab, postgres_database, workers, tmp_path):
    url = postgres_database
    sweep_id = start(url, lab["inventory"](tmp_path / "inventory.yaml"))
    assert status(url, sweep_id)["pending"] == len(HEALTHY) + len(BROKEN)
    procs = [worker(lab, url, f"w{i}", "--until-empty", "--parallel", "2") for i in range(workers)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    state = accounted_once(url, sweep_id, HEALTHY, tmp_path)
    assert set(state["by_worker"]) <= {f"w{i}" for i in range(workers)} and len(state["by_worker"]) >= 2
    table = dockbench("sweep", "status", sweep_id[:8], "--archive", url).stdout
    assert f"{len(HEALTHY)} done, {len(BROKEN)} failed, 0 pending, 0 running, closed" in table


def test_a_worker_killed_mid_host_loses_nothing(lab, postgres_database, tmp_path):
    url = postgres_database
    sweep_id = start(url, lab["inventory"](tmp_path / "inventory.yaml", with_slow=True))
    victim = worker(lab, url, "victim", "--parallel", "4")
    # the slow host takes 4 s: kill the worker while it is in the middle of one
    wait_for(lambda: status(url, sweep_id)["running"] >= 1, 60, "the victim to take a host")
    time.sleep(1.0)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    before = status(url, sweep_id)
    assert before["running"] >= 1 and not before["closed"], before   # its jobs are stranded in 'doing'
    rescuer = worker(lab, url, "rescuer", "--until-empty", "--parallel", "4")
    _, err = rescuer.communicate(timeout=300)
    assert rescuer.returncode == 0, err
    assert "stalled on a worker that stopped: queued again" in err
    state = accounted_once(url, sweep_id, HEALTHY + [SLOW], tmp_path)
    assert "rescuer" in state["by_worker"]


def test_postgres_restarted_mid_sweep(lab, postgres, postgres_database, tmp_path):
    url = postgres_database
    sweep_id = start(url, lab["inventory"](tmp_path / "inventory.yaml", with_slow=True))
    procs = [worker(lab, url, f"r{i}", "--until-empty", "--parallel", "2") for i in range(2)]
    wait_for(lambda: status(url, sweep_id)["done"] >= 2, 120, "two hosts done")
    postgres.restart()   # every connection cut, in the middle of the sweep
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    accounted_once(url, sweep_id, HEALTHY + [SLOW], tmp_path)


def test_a_sweep_needs_a_postgresql_archive(tmp_path, lab):
    done = dockbench("sweep", "start", "--inventory", lab["inventory"](tmp_path / "inventory.yaml"), "--archive", tmp_path / "a.sqlite3")
    assert done.returncode == 2 and "postgresql://" in done.stderr
