"""Team archive benchmark: SQLite and PostgreSQL side by side, and distributed sweeps.

Not a test (pytest does not collect this file). From the repository root, with a PostgreSQL
database the benchmark may fill (tests/support/postgres.py starts a private cluster):

    .venv/bin/python -m tests.perf.bench_team archive --postgres URL [--hosts 100 --sweeps 20 --rows 100000]
    .venv/bin/python -m tests.perf.bench_team workers --postgres URL [--hosts 500 --workers 1,2,4 --parallel 8 --containers 100]

archive: stores HOSTS x SWEEPS host scans (bench_archive's varied real reports, one transaction
per sweep) in a new SQLite file and in the given database, then copies those rows in SQL (new
seq, scan id and hashes; same hosts and times) until the table holds ROWS entries: the chain of
the copies does not verify, but every query sees ROWS real-sized rows. Each backend is measured
in a process of its own (so its peak RSS is its own). Then it times on each, median of 5:
    append          ms per host scan inside put_sweep (while filling), and one put_scan alone (on ROWS)
    history         `dockbench history --host H` in process (open, query, format): one host's SWEEPS scans
    history_check   the same with --check ID (that check's status is read, no other)
    all_statuses    scans(host=H) reading every check's status (what the trend page reads)
    latest          scans(host=H, last=1): one host's latest scan
    latest_all      the latest scan of every host (HOSTS queries)
    peak_rss_mb     the measuring process's peak resident memory (filling included)

workers: the replay lab of tests/perf/bench_replay.py (a private dockerd brought to C
containers, the real probe's output recorded once, real sshd replaying it through ForceCommand),
an inventory of HOSTS entries on 4 such sshd. It times `scan --inventory --parallel P*max(W)` on
one machine with an SQLite archive and with the PostgreSQL one, then for each W in --workers:
`dockbench sweep start` (queueing), and W `dockbench sweep work --until-empty --parallel P`
processes until every one has exited (the sweep closed): hosts/s, CPU per host of dockbench's
processes, and peak RSS of each worker and of all of them together (sampled every 50 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `tests` and `benchmark` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dockbench.benchmark.archive import open_archive
from dockbench.benchmark.archive.sqlite import SQLiteArchive
from tests.perf import bench_replay
from tests.perf.bench_archive import fill, in_process, material
from tests.perf.bench_scan import BenchError
from tests.perf.fleet import HOST_TIMEOUT, Fleet, log, parse_list, run
from tests.support import archive as scans

DOCKBENCH = str(Path(sys.executable).with_name("dockbench"))


def timed(func, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        func()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


COLUMNS = ("kind, host, hostname, sweep_id, started_at, finished_at, recorded_at, score, n_fail, n_error, n_manual, n_pass, n_na, "
           "total, n_waived, statuses, options, report, facts, signature, key_id")


def grow(archive, rows: int) -> None:
    """Copy the stored entries (new seq, scan id and hashes) until there are `rows`; the head
    follows, so later appends chain after the copies."""
    stored = archive.head().count
    copy = 0
    while archive.head().count < rows:
        copy += 1
        take = min(stored, rows - archive.head().count)
        offset = copy * stored
        archive._execute(f"INSERT INTO entries (seq, scan_id, prev_hash, hash, {COLUMNS}) SELECT seq + ?, scan_id || ?, prev_hash || ?, hash || ?, "
                         f"{COLUMNS} FROM entries WHERE seq <= ?", (offset, f"-{copy}", f"-{copy}", f"-{copy}", take))
        last = archive._execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        archive._record_head(last[1], offset + take, last[0], "copied")
        log(f"{offset + take} entries")


def bench_archive(location, hosts: int, sweeps: int, rows: int) -> dict:
    report, facts, _ = material(None)
    log(f"{location}: storing {hosts * sweeps} host scans")
    _, storing = fill(location, report, facts, hosts, sweeps)
    names = [f"node{h:04d}.example.net" for h in range(hosts)]
    with open_archive(location) as archive:
        grow(archive, rows)
        if not isinstance(archive, SQLiteArchive):
            archive._execute("ANALYZE")
        began = time.perf_counter()
        for i in range(50):
            r, f = scans.host_scan(f"single-{i}")
            archive.put_scan("host", r["target"]["name"], r, f)
        single = (time.perf_counter() - began) * 1000 / 50
        check = next(iter(archive.scans(host=names[7], kind="host", last=1)[0].statuses))
        figures = {
            "append_ms_per_scan_in_sweep": round(storing * 1000 / (hosts * sweeps), 2),
            "append_ms_one_scan": round(single, 2),
            "history_ms": round(in_process(["history", "--host", names[7], "--archive", str(location)], 5)[0], 1),
            "history_check_ms": round(in_process(["history", "--host", names[7], "--check", check, "--archive", str(location)], 5)[0], 1),
            "all_statuses_ms": round(timed(lambda: archive.scans(host=names[7], kind="host")), 1),
            "latest_ms": round(timed(lambda: archive.scans(host=names[7], kind="host", last=1)), 2),
            "latest_all_ms": round(timed(lambda: [archive.scans(host=n, kind="host", last=1) for n in names]), 1),
            "entries": archive.head().count,
            "history_rows": len(archive.scans(host=names[7], kind="host", statuses=False)),
        }
    return dict(figures, peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def in_own_process(func, *args):
    """func(*args) in a fresh process: what it allocates is counted in its own peak RSS only."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        return pool.submit(func, *args).result()


# ---------------------------------------------------------------- workers


def watch(procs: list[subprocess.Popen], errors: list[Path]) -> dict:
    """Wait for every process; their peak RSS (each, and summed at any one moment, 50 ms
    samples of each process tree) and CPU (user + system, their children included). errors:
    where each writes its stderr."""
    peaks, together, done = [0] * len(procs), [0], threading.Event()

    def sample():
        while not done.wait(0.05):
            now = [bench_replay.tree_rss(p.pid) for p in procs]
            peaks[:] = [max(a, b) for a, b in zip(peaks, now)]
            together[0] = max(together[0], sum(now))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu, failures = 0.0, []
    for proc, err in zip(procs, errors):
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        if proc.returncode:
            failures.append(f"exit {proc.returncode}: {err.read_text(errors='replace').strip()[-600:]}")
    done.set()
    sampler.join()
    if failures:
        raise BenchError("; ".join(failures))
    return {"cpu": cpu, "peak_rss_each": peaks, "peak_rss_all": together[0]}


def distributed(fleet: Fleet, url: str, inventory: Path, known_hosts: Path, hosts: int, workers: int, parallel: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    began = time.perf_counter()
    start = subprocess.run([DOCKBENCH, "sweep", "start", "--inventory", str(inventory), "--archive", url], capture_output=True, text=True, env=env)
    if start.returncode:
        raise BenchError(f"sweep start exited {start.returncode}: {start.stderr.strip()[-600:]}")
    queued = time.perf_counter() - began
    sweep_id = start.stdout.strip().splitlines()[-1]
    began = time.perf_counter()
    errors = [fleet.root / f"{sweep_id}-w{i}.err" for i in range(workers)]
    procs = []
    for i, err in enumerate(errors):
        with err.open("wb") as stream:
            procs.append(subprocess.Popen([DOCKBENCH, "sweep", "work", "--archive", url, "--until-empty", "--parallel", str(parallel),
                                           "--timeout", f"{HOST_TIMEOUT:g}", "--known-hosts", str(known_hosts), "--ssh-config", "/dev/null",
                                           "--name", f"w{i}"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stream, env=env))
    figures = watch(procs, errors)
    wall = time.perf_counter() - began
    state = json.loads(subprocess.run([DOCKBENCH, "sweep", "status", sweep_id, "--archive", url, "--json"], capture_output=True, text=True, check=True).stdout)
    if not state["closed"] or state["done"] != hosts or state["failed"]:
        raise BenchError(f"sweep {sweep_id}: {state['done']} done, {state['failed']} failed of {hosts}, closed {state['closed']}")
    return dict(figures, wall=wall, queued=queued, by_worker={k: v["done"] for k, v in state["by_worker"].items()})


def bench_workers(fleet: Fleet, url: str, hosts: int, workers: list[int], parallel: int, containers: int) -> None:
    from tests.support.sshd import Lab

    fleet.lab = Lab(fleet.root / "ssh")
    fleet.start_daemon(0)
    directory = bench_replay.record(fleet, containers)
    servers = bench_replay.start_replay(fleet.lab, directory, 4, 0)
    known_hosts = fleet.lab.known_hosts(fleet.root / "known_hosts", servers)
    inventory = fleet.inventory("team", [(f"host{i:05d}.replay", servers[i % 4].address, servers[i % 4].port) for i in range(hosts)])
    together = parallel * max(workers)
    lines = [f"replay lab: {hosts} hosts on 4 sshd replaying {containers} containers; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} at start", "",
             f"{'run':<44}{'hosts/s':>9}{'wall s':>8}{'CPU ms/host':>13}{'peak RSS MB':>13}  notes"]
    for archive in ("sqlite", url):
        options = argparse.Namespace(parallel=together, suffix=".json", no_archive=False)
        r = bench_replay.sweep(fleet, inventory, known_hosts, options, "" if archive == "sqlite" else f"--archive {url}", hosts, servers)
        name = f"scan --inventory --parallel {together} ({'SQLite' if archive == 'sqlite' else 'PostgreSQL'})"
        lines.append(f"{name:<44}{hosts / r['wall']:>9.1f}{r['wall']:>8.1f}{r['cpu'] * 1000 / hosts:>13.1f}{r['peak_rss'] / 1e6:>13.0f}")
        log(lines[-1])
    for count in workers:
        r = distributed(fleet, url, inventory, known_hosts, hosts, count, parallel)
        name = f"{count} x sweep work --parallel {parallel} (PostgreSQL)"
        each = "/".join(f"{p / 1e6:.0f}" for p in r["peak_rss_each"])
        lines.append(f"{name:<44}{hosts / r['wall']:>9.1f}{r['wall']:>8.1f}{r['cpu'] * 1000 / hosts:>13.1f}{r['peak_rss_all'] / 1e6:>13.0f}  "
                     f"each {each} MB; sweep start {r['queued']:.1f} s; hosts per worker {r['by_worker']}")
        log(lines[-1])
    lines += ["", "hosts/s: HOSTS / wall (processes' start-up included; sweep start's queueing not included, shown apart)",
              "CPU ms/host: user + system of the dockbench processes and their children; not the sshd's nor the database server's",
              "peak RSS: the dockbench process trees, summed at the same moment (workers: all of them), sampled every 50 ms"]
    print("\n".join(lines), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.bench_team", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["archive", "workers"])
    parser.add_argument("--postgres", required=True, metavar="URL", help="an empty database to fill")
    parser.add_argument("--hosts", type=int)
    parser.add_argument("--sweeps", type=int, default=20)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--containers", type=int, default=100, help="containers in the replayed probe output (workers)")
    args = parser.parse_args()
    if args.what == "archive":
        hosts = args.hosts or 100
        with tempfile.TemporaryDirectory(prefix="dockbench-bench-team-") as tmp:
            figures = {"sqlite": in_own_process(bench_archive, Path(tmp) / "archive.sqlite3", hosts, args.sweeps, args.rows),
                       "postgresql": in_own_process(bench_archive, args.postgres, hosts, args.sweeps, args.rows)}
        print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        print(f"{'':<28}{'SQLite':>12}{'PostgreSQL':>12}")
        for key in figures["sqlite"]:
            print(f"{key:<28}{figures['sqlite'][key]:>12}{figures['postgresql'][key]:>12}")
        return 0
    return run("bench_team", lambda fleet: bench_workers(fleet, args.postgres, args.hosts or 500, parse_list(args.workers, "--workers"),
                                                          args.parallel, args.containers))


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    sys.exit(main())
