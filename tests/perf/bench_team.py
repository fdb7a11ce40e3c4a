"""Team archive benchmark: SQLite and PostgreSQL side by side, and distributed sweeps.

Not a test (pytest does not collect this file). From the repository root, with a PostgreSQL
database the benchmark may fill (tests/support/postgres.py starts a private cluster):

    .venv/bin/python -m tests.perf.bench_team archive --postgres URL [--hosts 100 --sweeps 20 --rows 100000]
    .venv/bin/python -m tests.perf.bench_team workers --postgres URL [--hosts 40 --workers 1,2,4]

archive: stores HOSTS x SWEEPS host scans (bench_archive's varied real reports, one transaction
per sweep) in a new SQLite file and in the given database, then copies those rows in SQL (new
seq, scan id and hashes; same hosts and times) until the table holds ROWS entries: the chain of
the copies does not verify, but every query sees ROWS real-sized rows. Then it times on each,
median of 5:
    append      ms per host scan inside put_sweep (while filling), and one put_scan alone (on ROWS)
    history     scans(host=H): one host's SWEEPS scans
    latest      scans(host=H, last=1): one host's latest scan
    latest-all  the latest scan of every host (HOSTS queries)

workers: starts a private dockerd and HOSTS sshd on loopback (tests/perf/fleet.py), queues the
fleet with `dockbench sweep start` and times 1, 2, 4 ... `dockbench sweep work --until-empty
--parallel P` processes until the sweep closes (hosts/s); beside it `scan --inventory` alone.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `tests` and `benchmark` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dockbench.benchmark.archive import open_archive
from dockbench.benchmark.archive.sqlite import SQLiteArchive
from tests.perf.bench_archive import fill, material
from tests.perf.fleet import Fleet, log, parse_list, run
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
           "total, statuses, options, report, facts, signature, key_id")


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
        return {
            "append_ms_per_scan_in_sweep": round(storing * 1000 / (hosts * sweeps), 2),
            "append_ms_one_scan": round(single, 2),
            "history_ms": round(timed(lambda: archive.scans(host=names[7], kind="host")), 1),
            "latest_ms": round(timed(lambda: archive.scans(host=names[7], kind="host", last=1)), 2),
            "latest_all_ms": round(timed(lambda: [archive.scans(host=n, kind="host", last=1) for n in names]), 1),
            "entries": archive.head().count,
            "history_rows": len(archive.scans(host=names[7], kind="host")),
        }


def bench_workers(fleet: Fleet, url: str, hosts: int, workers: list[int], parallel: int) -> None:
    fleet.start_daemon(3)
    servers = fleet.start_sshd(hosts, 140)
    known_hosts = fleet.known_hosts()
    inventory = fleet.inventory("team", fleet.server_hosts(servers))
    base = fleet.sweep(inventory, known_hosts, parallel * max(workers), hosts)
    print(f"scan --inventory --parallel {parallel * max(workers)}: {hosts / base.wall_s:.2f} hosts/s ({base.wall_s:.1f} s)")
    for count in workers:
        start = subprocess.run([DOCKBENCH, "sweep", "start", "--inventory", str(inventory), "--archive", url], capture_output=True, text=True, check=True)
        sweep_id = start.stdout.strip().splitlines()[-1]
        began = time.perf_counter()
        procs = [subprocess.Popen([DOCKBENCH, "sweep", "work", "--archive", url, "--until-empty", "--parallel", str(parallel),
                                   "--known-hosts", str(known_hosts), "--ssh-config", "/dev/null", "--name", f"w{i}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for i in range(count)]
        for proc in procs:
            _, err = proc.communicate()
            if proc.returncode:
                raise RuntimeError(err)
        wall = time.perf_counter() - began
        state = subprocess.run([DOCKBENCH, "sweep", "status", sweep_id, "--archive", url], capture_output=True, text=True).stdout.strip()
        print(f"{count} worker(s) x --parallel {parallel}: {hosts / wall:.2f} hosts/s ({wall:.1f} s); {state.splitlines()[0]}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.bench_team", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["archive", "workers"])
    parser.add_argument("--postgres", required=True, metavar="URL", help="an empty database to fill")
    parser.add_argument("--hosts", type=int)
    parser.add_argument("--sweeps", type=int, default=20)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    if args.what == "archive":
        hosts = args.hosts or 100
        with tempfile.TemporaryDirectory(prefix="dockbench-bench-team-") as tmp:
            figures = {"sqlite": bench_archive(Path(tmp) / "archive.sqlite3", hosts, args.sweeps, args.rows),
                       "postgresql": bench_archive(args.postgres, hosts, args.sweeps, args.rows)}
        keys = list(figures["sqlite"])
        print(f"{'':<28}{'SQLite':>12}{'PostgreSQL':>12}")
        for key in keys:
            print(f"{key:<28}{figures['sqlite'][key]:>12}{figures['postgresql'][key]:>12}")
        return 0
    return run("bench_team", lambda fleet: bench_workers(fleet, args.postgres, args.hosts or 40, parse_list(args.workers, "--workers"), args.parallel))


if __name__ == "__main__":
    sys.exit(main())
