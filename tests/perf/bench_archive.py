"""Archive benchmark: 10,000 host scans in one archive, then `history` and a fleet `diff`.

Not a test (pytest does not collect this file). From the repository root:

    .venv/bin/python -m tests.perf.bench_archive                 # 100 hosts x 100 sweeps
    .venv/bin/python -m tests.perf.bench_archive --hosts 50 --sweeps 20 --keep /tmp/a.sqlite3
    .venv/bin/python -m tests.perf.bench_archive --docker-host unix:///tmp/dbt/docker.sock

Material: one real host report and its facts snapshot, from a real `dockbench scan` of the
daemon given by --docker-host, else judged by the current checks from the recorded probe
output of a real host (tests/data). Each of HOSTS hosts gets its own name; each of SWEEPS
sweeps stores every host once (one transaction per sweep, as `dockbench scan --inventory`
does), each host scan with a new scan id and time and a few checks flipped PASS<->FAIL (with
an evidence line saying so), so consecutive sweeps really differ.

Then it times, median of --repeat runs:

    history    `dockbench history --host H` (one host's HOSTS... SWEEPS scans)
    check      `dockbench history --host H --check ID`
    diff       `dockbench diff --last 2`: the two newest sweeps, HOSTS hosts each
    show       `dockbench show SCAN` (one host report, JSON)

each in process (click's CliRunner: open the archive, query, compute, format; what the
command itself costs) and as a whole CLI process (Python start-up and imports included).
Targets: history and diff under 200 ms (in process). It prints the query plans (the indexes
used) and the database size per stored scan.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `tests` and `benchmark` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from click.testing import CliRunner

from dockbench.benchmark.archive import open_archive
from dockbench.benchmark.archive.sqlite import SQLiteArchive
from dockbench.benchmark.cli import main as cli_main
from dockbench.benchmark.document import report as report_mod

TARGET_MS = 200.0
DOCKBENCH = str(Path(sys.executable).with_name("dockbench"))


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def material(docker_host: str | None) -> tuple[dict, dict, str]:
    if docker_host:
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run([DOCKBENCH, "scan", "--docker-host", docker_host, "--no-archive", "-q", "--fail-on", "never",
                                   "-o", f"{tmp}/r.json", "--facts-out", f"{tmp}/f.json"], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"scan of {docker_host} failed: {done.stderr}")
            return json.loads(Path(f"{tmp}/r.json").read_text()), json.loads(Path(f"{tmp}/f.json").read_text()), f"a real scan of {docker_host}"
    from tests.support.archive import _judged

    report, facts = _judged()
    return report, facts, "the recorded probe output of a real host (tests/data), judged now"


def vary(report_json: str, facts_json: str, host: str, started: str, rng: random.Random, flips: int) -> tuple[dict, dict]:
    report, facts = json.loads(report_json), json.loads(facts_json)
    report["scan_id"] = str(uuid.uuid4())
    report["started_at"] = report["finished_at"] = started
    report["target"]["name"] = host
    report["target"]["hostname"] = host
    facts["target"]["name"] = host
    facts["host"]["hostname"] = host
    facts["collected_at"] = started
    decided = [r for r in report["results"] if r["status"] in ("PASS", "FAIL")]
    for result in rng.sample(decided, min(flips, len(decided))):
        result["status"] = "FAIL" if result["status"] == "PASS" else "PASS"
        result["evidence"] = [*result["evidence"], {"subject": "varied", "observed": f"flipped in scan {report['scan_id'][:8]}"}]
    report["summary"] = report_mod.summarize(report["results"])
    return report, facts


def fill(path: Path, report: dict, facts: dict, hosts: int, sweeps: int) -> tuple[float, float]:
    """(wall seconds in all, seconds inside put_sweep: what archiving costs a scan)."""
    rng = random.Random(1)
    storing = 0.0
    report_json, facts_json = json.dumps(report), json.dumps(facts)
    names = [f"node{h:04d}.example.net" for h in range(hosts)]
    began = time.perf_counter()
    with open_archive(path) as archive:
        for s in range(sweeps):
            day, minute = divmod(s * 30, 24 * 60)
            started = f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T{minute // 60:02d}:{minute % 60:02d}:00Z"
            scans = [vary(report_json, facts_json, name, started, rng, rng.randint(0, 4)) for name in names]
            document = report_mod.build_sweep([r for r, _ in scans], [], benchmark=report["benchmark"], started_at=started, finished_at=started)
            put = time.perf_counter()
            archive.put_sweep(document, {r["target"]["name"]: f for r, f in scans}, options={})
            storing += time.perf_counter() - put
            if (s + 1) % 10 == 0:
                done = (s + 1) * hosts
                log(f"{done} host scans stored ({done / (time.perf_counter() - began):.0f}/s)")
        if isinstance(archive, SQLiteArchive):   # SQLite: fold the WAL into the file before measuring it
            archive.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - began, storing


def in_process(args: list[str], repeat: int) -> tuple[float, float, str]:
    """Median wall and CPU milliseconds (CPU time is steadier on a busy machine), and the output."""
    runner = CliRunner()
    times, cpu, output = [], [], ""
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = runner.invoke(cli_main, args, catch_exceptions=False)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        output = result.output
    return statistics.median(times) * 1000, statistics.median(cpu) * 1000, output


def as_process(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run([DOCKBENCH, *args], capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--sweeps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--docker-host", help="take the report and facts from a real scan of this daemon")
    parser.add_argument("--keep", metavar="PATH", help="build the archive here and keep it (an existing one is reused as is)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="dockbench-bench-archive-")
    path = Path(args.keep) if args.keep else Path(tmp.name) / "archive.sqlite3"
    report, facts, source = material(args.docker_host)
    figures: dict = {"source": source, "hosts": args.hosts, "sweeps": args.sweeps}
    if not path.exists():
        log(f"storing {args.hosts * args.sweeps} host scans ({args.sweeps} sweeps of {args.hosts} hosts) from {source}")
        seconds, storing = fill(path, report, facts, args.hosts, args.sweeps)
        figures["fill_seconds"] = round(seconds, 1)
        figures["insert_seconds"] = round(storing, 1)
        figures["insert_ms_per_scan"] = round(storing * 1000 / (args.hosts * args.sweeps), 2)
    with open_archive(path) as archive:
        entries = archive.head().count
        host = archive.scans(kind="host", last=1)[0].host
        newest = archive.scans(kind="host", last=1)[0].scan_id
        check = next(iter(archive.get(newest, facts=False).statuses))
        plans = {
            "history --host": archive.db.execute("EXPLAIN QUERY PLAN SELECT seq FROM entries WHERE (host = ? OR hostname = ?) AND +kind = 'host' ORDER BY seq", (host, host)).fetchall(),
            "sweep members": archive.db.execute("EXPLAIN QUERY PLAN SELECT seq FROM entries WHERE sweep_id = ? ORDER BY seq", ("x",)).fetchall(),
            "last sweeps": archive.db.execute("EXPLAIN QUERY PLAN SELECT seq FROM entries WHERE kind = 'sweep' ORDER BY seq DESC LIMIT 2").fetchall(),
            "scan id prefix": archive.db.execute("EXPLAIN QUERY PLAN SELECT scan_id FROM entries WHERE scan_id >= ? AND scan_id < ?", ("ab", "ab\uffff")).fetchall(),
        }
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    figures.update(entries=entries, host_scans=args.hosts * args.sweeps, bytes=size, bytes_per_scan=round(size / (args.hosts * args.sweeps)))
    common = ["--archive", str(path)]
    runs = {
        "history": ["history", "--host", host, *common],
        "check": ["history", "--host", host, "--check", check, *common],
        "diff": ["diff", "--last", "2", *common],
        "show": ["show", newest[:8], *common],
    }
    timings = {}
    for name, cli_args in runs.items():
        ms, cpu_ms, output = in_process(cli_args, args.repeat)
        wall = as_process(cli_args, args.repeat)
        timings[name] = {"in_process_ms": round(ms, 1), "in_process_cpu_ms": round(cpu_ms, 1), "cli_process_ms": round(wall, 1),
                         "output_lines": output.count("\n")}
    startup = as_process(["--version"], args.repeat)
    figures["timings"] = timings
    figures["cli_startup_ms"] = round(startup, 1)

    print(f"archive {path}: {entries} entries ({args.hosts * args.sweeps} host scans in {args.sweeps} sweeps of {args.hosts} hosts), from {source}")
    if "insert_seconds" in figures:
        print(f"insert: {figures['insert_seconds']} s in put_sweep, {figures['insert_ms_per_scan']} ms per host scan "
              f"(one transaction per sweep, synchronous=FULL; {figures['fill_seconds']} s with making the varied reports)")
    print(f"size: {size / 1e6:.1f} MB, {figures['bytes_per_scan'] / 1e3:.1f} kB per host scan (report + facts + indexes)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'command':<10} {'in process':>12} {'(CPU)':>12} {'whole CLI':>12}   target (in process)")
    for name, t in timings.items():
        verdict = ("ok" if t["in_process_ms"] < TARGET_MS else "MISSED") if name in ("history", "diff") else ""
        print(f"{name:<10} {t['in_process_ms']:>9.1f} ms {t['in_process_cpu_ms']:>9.1f} ms {t['cli_process_ms']:>9.1f} ms   {verdict}")
    print(f"(`dockbench --version` alone, the CLI start-up floor: {startup:.1f} ms)")
    print("query plans:")
    for name, plan in plans.items():
        print(f"  {name}: " + "; ".join(row[-1] for row in plan))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    tmp.cleanup()
    return 0 if all(timings[n]["in_process_ms"] < TARGET_MS for n in ("history", "diff")) else 1


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    sys.exit(main())
