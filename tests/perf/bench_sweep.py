"""Benchmark: a fleet sweep over SSH against N real sshd hosts on loopback.

    .venv/bin/python -m tests.perf.bench_sweep                      # N = 10, 50, 100; P = 16; 2 repeats
    .venv/bin/python -m tests.perf.bench_sweep --counts 10 --parallel 4 --repeat 3

It starts its own dockerd (a few busybox containers, --network none) and max(N) sshd processes,
each on its own 127.0.x.y address with its own host key (all in one known_hosts) and one
generated client key. For each N it writes an inventory of the first N hosts (user root, the
probe pointed at the private daemon) and times the whole CLI process, start-up included:

    dockbench scan --inventory INV --parallel P -o FILE -q --fail-on never

It prints per N the median wall time, hosts per second, the dockbench process's CPU time per host,
exec channels per host (mean and max of each host report's target.exec_channels, over all
repeats), checks per host, and the probe's bytes per host (script sent, output received, by one
host through the same SSH transport just after that N's sweeps).
Every host must end as a report: any error entry fails the benchmark. The sshd processes, the
daemon and the temporary directory are removed at the end, on error and on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `tests` and `benchmark` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf.fleet import Fleet, log, median, parse_list, run

SUBNET = 100  # hosts on 127.0.100.1 and up


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.perf.bench_sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("--counts", default="10,50,100", help="fleet sizes N, comma-separated (default: 10,50,100)")
    p.add_argument("--parallel", type=int, default=16, help="dockbench scan --parallel (default: 16)")
    p.add_argument("--repeat", type=int, default=2, help="timed sweeps per N; the median is reported (default: 2)")
    p.add_argument("--warmup", type=int, default=1, help="untimed sweeps of the smallest N first (default: 1)")
    p.add_argument("--containers", type=int, default=5, help="containers on the private daemon (default: 5)")
    args = p.parse_args(argv)
    args.counts = parse_list(args.counts, "--counts")
    if args.parallel < 1 or args.repeat < 1 or args.warmup < 0 or args.containers < 0:
        p.error("--parallel and --repeat must be >= 1, --warmup and --containers >= 0")
    return args


def table(rows: list[dict]) -> str:
    head = (f"{'N':>4}  {'P':>3}  {'wall s':>6}  {'runs s':>11}  {'hosts/s':>7}  {'client CPU s/host':>17}  "
            f"{'exec channels mean':>18}  {'max':>3}  {'checks/host':>11}  {'probe KB in/out':>15}")
    lines = [head, "-" * len(head)]
    for r in rows:
        runs = " ".join(f"{w:.1f}" for w in r["walls"])
        probe = f"{r['probe_in'] / 1e3:.1f} / {r['probe_out'] / 1e3:.1f}"
        lines.append(f"{r['n']:>4}  {r['parallel']:>3}  {r['wall']:>6.2f}  {runs:>11}  {r['n'] / r['wall']:>7.2f}  "
                     f"{r['cpu'] / r['n']:>17.3f}  {statistics.mean(r['channels']):>18.2f}  {max(r['channels']):>3}  "
                     f"{r['checks']:>11}  {probe:>15}")
    return "\n".join(lines)


def bench(fleet: Fleet, args: argparse.Namespace) -> None:
    fleet.start_daemon(args.containers)
    servers = fleet.start_sshd(max(args.counts), SUBNET)
    known_hosts = fleet.known_hosts()

    for _ in range(args.warmup):
        n = min(args.counts)
        log(f"warm-up sweep of {n} hosts")
        fleet.sweep(fleet.inventory("warmup", fleet.server_hosts(servers[:n])), known_hosts, args.parallel, n)

    rows = []
    for n in args.counts:
        inventory = fleet.inventory(f"fleet-{n}", fleet.server_hosts(servers[:n]))
        sweeps = []
        for i in range(args.repeat):
            sweeps.append(fleet.sweep(inventory, known_hosts, args.parallel, n))
            log(f"N={n} run {i + 1}/{args.repeat}: {sweeps[-1].wall_s:.2f} s")
        # The probe's bytes, right after the sweeps: /proc/net/tcp, which it reads whole, holds
        # every socket on the machine, the sweeps' closing connections too.
        visit = fleet.visit(servers[0].address, servers[0].port, known_hosts)
        rows.append({
            "n": n, "parallel": args.parallel,
            "walls": [s.wall_s for s in sweeps], "wall": median([s.wall_s for s in sweeps]),
            "cpu": median([s.cpu_s for s in sweeps]),
            "channels": [c for s in sweeps for c in s.exec_channels],
            "checks": "/".join(map(str, sorted({c for s in sweeps for c in s.checks}))),
            "probe_in": sum(e.sent for e in visit.execs), "probe_out": sum(e.received for e in visit.execs),
        })

    print("\n".join([
        (f"dockbench fleet sweep over SSH: median of {args.repeat} runs ({args.warmup} warm-up), "
         f"--parallel {args.parallel}, {args.containers} containers on one private dockerd, "
         f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"),
        "",
        table(rows),
        "",
        "wall: the whole `dockbench scan --inventory` process, start-up included; hosts/s = N / wall",
        "client CPU: user + system time of that process (connections, crypto, parsing, judging), per host",
        "exec channels: target.exec_channels of every host report of every run (mean, max)",
        "probe KB in/out: script sent / output received (all exec channels) by one host, just after the sweeps",
    ]), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run("bench_sweep", lambda fleet: bench(fleet, args))


if __name__ == "__main__":
    sys.exit(main())
