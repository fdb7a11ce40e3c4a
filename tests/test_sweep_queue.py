"""Distributed sweeps over real sshd hosts, queued in a real PostgreSQL archive: two and four
workers, a worker SIGKILLed mid-host, the database restarted mid-sweep. Every host must end
recorded exactly once (a report or an error entry), the sweep closed and shown like any sweep,
and the chain intact. Also: waivers pinned at `sweep start` judge like `scan --inventory
--waivers`, `sweep status` counts by worker, and a worker runs as the least-privilege role."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import yaml

from dockbench.benchmark.fleet.distributed import WORKER_GRANTS
from tests.cli_run import DOCKBENCH, dockbench, load_report
from tests.support import archive as material
from tests.support.sshd import Lab, free_port

HEALTHY = [f"q{i}" for i in range(1, 9)]
BROKEN = {"no-auth": "auth_failed", "closed-port": "connection_refused", "unknown-key": "host_key_unknown"}
SLOW = "slow"   # answers after 4 s: a worker is caught in the middle of it
LAZY = ["lazy1", "lazy2"]   # answer after 10 s: two workers are seen busy at once
PASSWORD = "w0rker-Pa55"


@pytest.fixture(scope="module")
def lab(docker_daemon):
    lab = Lab(Path(tempfile.mkdtemp(prefix="dbt-queuelab-")))
    try:
        healthy = [lab.start(name, f"127.0.0.{101 + i}") for i, name in enumerate(HEALTHY)]
        slow = lab.start(SLOW, "127.0.0.120", extra_config='ForceCommand sleep 4; eval "$SSH_ORIGINAL_COMMAND"')
        lazy = [lab.start(name, f"127.0.0.{124 + i}", extra_config='ForceCommand sleep 10; eval "$SSH_ORIGINAL_COMMAND"')
                for i, name in enumerate(LAZY)]
        no_auth = lab.start("no-auth", "127.0.0.121", authorized=False)
        unknown = lab.start("unknown-key", "127.0.0.122")
    except Exception as exc:  # noqa: BLE001 - no lab, no test
        lab.stop()
        pytest.fail(f"cannot start the sshd lab: {exc}", pytrace=False)
    known_hosts = lab.known_hosts(lab.directory / "known_hosts", healthy + [slow, no_auth] + lazy)
    hosts = {s.name: {"host": s.address, "port": s.port} for s in healthy + [no_auth, unknown]}
    hosts["closed-port"] = {"host": "127.0.0.123", "port": free_port("127.0.0.123")}
    others = {s.name: {"host": s.address, "port": s.port} for s in [slow] + lazy}

    def inventory(path: Path, *, with_slow: bool = False, only: list[str] | None = None) -> Path:
        chosen = dict(hosts, **({SLOW: others[SLOW]} if with_slow else {}))
        if only is not None:
            chosen = {name: dict(hosts, **others)[name] for name in only}
        path.write_text(yaml.safe_dump({"defaults": {"user": "root", "key": str(lab.client_key), "docker_host": docker_daemon.host},
                                        "groups": {"fleet": {"hosts": chosen}}}))
        return path

    yield {"lab": lab, "known_hosts": known_hosts, "inventory": inventory}
    lab.stop()


def start(url: str, inventory: Path, *judging) -> str:
    done = dockbench("sweep", "start", "--inventory", inventory, "--archive", url, *judging)
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


# ---------------------------------------------------------------- waivers, workers, roles


CHECK = "container-no-host-pid"


def results_of(document: dict) -> dict:
    """What judging decided for each host: statuses, waived marks and the waivers that cover each
    result, the evidence (waived entries marked), the host's waivers block and waived counts."""
    return {h["target"]["name"]: {"results": [(r["id"], r["status"], r.get("waived"), r.get("waivers"), r.get("evidence")) for r in h["results"]],
                                  "waivers": h.get("waivers"), "waived": h["summary"].get("waived"), "score": h["summary"].get("score_with_waivers")}
            for h in document["hosts"]}


def test_a_distributed_sweep_judges_with_the_waivers_pinned_at_start(lab, docker_daemon, postgres_database, tmp_path):
    d, url = docker_daemon, postgres_database
    started = [d.run_container("sq-agent", "--pid", "host")]
    try:
        inventory = lab["inventory"](tmp_path / "inventory.yaml", only=HEALTHY[:3] + ["no-auth"])
        waivers = tmp_path / "waivers.yaml"
        waivers.write_text(yaml.safe_dump({"warning_days": 30, "waivers": [
            {"id": "agent-pid", "check": CHECK, "containers": [d.name("sq-agent")], "hosts": ["q1", "q2"],
             "justification": "node exporter reads the host's processes; SEC-1", "owner": "platform", "expires": "2099-12-31"},
            {"id": "stale", "check": "container-not-privileged", "justification": "legacy; SEC-2", "owner": "ops", "expires": "2099-12-31"}]}))
        judging = ("--container", d.name("sq-*"), "--include", CHECK, "--include", "container-not-privileged", "--waivers", waivers)
        local = dockbench("scan", "--inventory", inventory, "--known-hosts", lab["known_hosts"], "--ssh-config", "/dev/null", "--no-archive",
                          *judging, "-o", tmp_path / "local.json")
        assert local.returncode == 1 | 4, local.stderr   # q3 is not waived; no-auth is missed
        sweep_id = start(url, inventory, *judging)
        pinned = waivers.read_bytes()
        waivers.write_text("waivers: [this file changed after sweep start")   # the workers judge with the pinned copy
        state = status(url, sweep_id)
        assert state["waivers"] == {"source": str(waivers), "sha256": hashlib.sha256(pinned).hexdigest()}
        assert f"waivers {waivers} (sha256 {state['waivers']['sha256']})" in dockbench("sweep", "status", sweep_id, "--archive", url).stdout
        _, err = (proc := worker(lab, url, "w", "--until-empty", "--parallel", "2")).communicate(timeout=300)
        assert proc.returncode == 0, err
        shown = dockbench("show", sweep_id, "--archive", url, "-o", tmp_path / "distributed.json")
        assert shown.returncode == 0, shown.stderr
    finally:
        d.remove(started)
    here, there = load_report(tmp_path / "local.json"), load_report(tmp_path / "distributed.json")
    assert results_of(there) == results_of(here)
    judged = {name: [(r[1], bool(r[2])) for r in host["results"] if r[0] == CHECK] for name, host in results_of(there).items()}
    assert judged == {"q1": [("FAIL", True)], "q2": [("FAIL", True)], "q3": [("FAIL", False)]}
    assert there["waivers"] == here["waivers"] and there["summary"]["waived"] == here["summary"]["waived"] == {
        "total": 2, "by_status": dict(here["summary"]["waived"]["by_status"], FAIL=2)}
    assert [e["name"] for e in there["errors"]] == [e["name"] for e in here["errors"]] == ["no-auth"]


def test_a_malformed_waiver_file_is_refused_at_sweep_start(lab, postgres_database, tmp_path):
    waivers = tmp_path / "bad-waivers.yaml"
    waivers.write_text(yaml.safe_dump({"waivers": [{"id": "x", "check": CHECK, "owner": "ops", "expires": "2099-12-31"}]}))
    done = dockbench("sweep", "start", "--inventory", lab["inventory"](tmp_path / "inventory.yaml"), "--archive", postgres_database, "--waivers", waivers)
    assert done.returncode == 2 and done.stdout == ""
    assert str(waivers) in done.stderr and "justification" in done.stderr and "--waivers" in done.stderr


def test_sweep_status_counts_by_worker(lab, postgres_database, tmp_path):
    url = postgres_database
    sweep_id = start(url, lab["inventory"](tmp_path / "inventory.yaml", only=LAZY))
    procs = [worker(lab, url, name, "--until-empty", "--parallel", "1") for name in ("alpha", "beta")]
    busy = wait_for(lambda: (s := status(url, sweep_id))["running"] == 2 and s, 60, "both workers to take a host")
    assert busy["by_worker"] == {"alpha": {"done": 0, "failed": 0, "running": 1}, "beta": {"done": 0, "failed": 0, "running": 1}}, busy
    assert "  alpha: 0 done, 0 failed, 1 running" in dockbench("sweep", "status", sweep_id, "--archive", url).stdout
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    final = status(url, sweep_id)
    assert final["by_worker"] == {"alpha": {"done": 1, "failed": 0, "running": 0}, "beta": {"done": 1, "failed": 0, "running": 0}}, final
    assert (final["done"], final["failed"], final["pending"], final["running"], final["closed"]) == (2, 0, 0, 0, True)
    table = dockbench("sweep", "status", sweep_id, "--archive", url).stdout.splitlines()
    assert table[1:] == ["  alpha: 1 done, 0 failed, 0 running", "  beta: 1 done, 0 failed, 0 running"]


def test_a_worker_with_the_least_privilege_role_completes_a_sweep_but_cannot_rewrite_or_prune(lab, postgres, postgres_database, tmp_path):
    owner = postgres_database
    sweep_id = start(owner, lab["inventory"](tmp_path / "inventory.yaml", only=HEALTHY[:2] + ["no-auth"]))   # the owner creates the schema
    database = owner.split("/")[3].split("?")[0]
    role = f"wk_{database}"
    postgres.sql(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
    try:
        postgres.sql(f"GRANT CONNECT ON DATABASE {database} TO {role}")
        postgres.sql(WORKER_GRANTS.format(schema="public", role=role), database=database)
        url = postgres.url(database, role, PASSWORD)
        proc = worker(lab, url, "least", "--until-empty", "--parallel", "2")
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert PASSWORD not in out + err
        state = status(url, sweep_id)
        assert (state["done"], state["failed"], state["closed"], list(state["by_worker"])) == (2, 1, True, ["least"]), state
        verified = dockbench("archive", "verify", "--archive", url)
        assert verified.returncode == 0 and "3 entries" in verified.stdout, verified.stdout
        tamperer = material.connect(url)
        for statement in ("UPDATE entries SET score = 100", "DELETE FROM entries", "TRUNCATE entries", "UPDATE heads SET hash = 'x'",
                          "DELETE FROM heads", "UPDATE sweep_hosts SET error = NULL", "DELETE FROM sweep_hosts", "UPDATE sweeps SET total = 0"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                tamperer.execute(statement)
        tamperer.close()
        pruned = dockbench("archive", "prune", "--keep-days", "0", "--archive", url)
        assert pruned.returncode == 2 and "permission denied" in pruned.stderr and PASSWORD not in pruned.stderr
        assert dockbench("archive", "verify", "--archive", owner).returncode == 0
    finally:
        postgres.sql(f"DROP OWNED BY {role}", database=database)
        postgres.sql(f"DROP ROLE {role}")
