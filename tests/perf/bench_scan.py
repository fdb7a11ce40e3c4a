"""Scan-time benchmark: `dockbench scan` against a private dockerd holding N running containers.

Not a test (pytest does not collect this file). Run it as root from the repository root:

    .venv/bin/python -m tests.perf.bench_scan                       # N = 0, 100, 500; 3 repeats
    .venv/bin/python -m tests.perf.bench_scan --counts 0,100 --repeat 5 --json perf.json
    .venv/bin/python -m tests.perf.bench_scan --counts 0,100 --baseline /tmp/main/.venv/bin/dockbench

It starts its own dockerd in a temporary directory (tests.support.dockerd; never the system
daemon), brings it to exactly N running containers for each N (busybox `sleep`, --network
none, started in parallel, scaling from the previous N), and times, interleaved:

    scan   the whole CLI process: dockbench scan --docker-host ... -o /dev/null -q --fail-on never
    floor  what any tool must pay to read the containers:
           docker ps -aq --no-trunc | xargs -r docker inspect >/dev/null
    baseline  (with --baseline PATH) the same scan by another dockbench CLI, e.g. main's

Both CLIs' modules are byte-compiled first, as a wheel install does (--no-compile: as they are).
It prints the median of each, their ratio, the probe's raw output size and time (the probe
alone, run once), and the CPU time the commands' own processes used (steadier than wall time
on a busy machine; dockerd's share is not in it). Targets: 100 containers scan in under 2 s,
and the scan stays within 3x the floor. Then it times each phase of a scan alone: the CLI's
start-up, importing the check catalog, the probe (sh and the docker CLIs it starts), parsing
into facts, judging with the JSON report. The daemon, its containers and its directory are
removed at the end, on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `tests` and `benchmark` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support import dockerd  # noqa: E402

TARGET_COUNT, TARGET_SECONDS, TARGET_RATIO = 100, 2.0, 3.0
LABEL = "dockbench.perf=1"
FLOOR_SHELL = "docker ps -aq --no-trunc | xargs -r docker inspect >/dev/null"


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    pass


def check(proc: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    if proc.returncode != 0:
        raise BenchError(f"{what} exited {proc.returncode}: {(proc.stderr or '').strip()[-500:]}")
    return proc


def ids(host: str, *flags: str) -> list[str]:
    out = check(dockerd.docker(host, "ps", "-q", "--no-trunc", *flags), "docker ps").stdout
    return out.split()


def scale(host: str, want: int, pool: ThreadPoolExecutor) -> float:
    """Bring the daemon to exactly `want` running containers (and no stopped ones)."""
    started = time.perf_counter()
    stopped = ids(host, "-a", "--filter", "status=created", "--filter", "status=exited", "--filter", "status=dead")
    if stopped:
        check(dockerd.docker(host, "rm", "-f", *stopped), "docker rm")
    running = ids(host)
    if len(running) > want:
        excess = running[want:]
        batches = [excess[i:i + 50] for i in range(0, len(excess), 50)]
        for proc in pool.map(lambda b: dockerd.docker(host, "rm", "-f", *b), batches):
            check(proc, "docker rm -f")
    elif len(running) < want:
        todo = range(len(running), want)
        started_runs = pool.map(lambda i: dockerd.docker(
            host, "run", "-d", "--network", "none", "--label", LABEL,
            dockerd.IMAGE, "sleep", "100000"), todo)
        for done, proc in enumerate(started_runs, start=1):
            check(proc, "docker run")
            if done % 50 == 0:
                log(f"  {len(running) + done}/{want} containers")
    now_running, now_all = len(ids(host)), len(ids(host, "-a"))
    if now_running != want or now_all != want:
        raise BenchError(f"wanted {want} running containers, have {now_running} running of {now_all}")
    return time.perf_counter() - started


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str] | str, env: dict[str, str], what: str, shell: bool = False) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds of the command's own processes (not dockerd's: the CPU figure
    moves much less than wall time on a busy machine), and their peak resident memory in MB."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, shell=shell, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    check(subprocess.CompletedProcess(argv, proc.returncode, None, err), what)
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def probe_alone(host: str) -> tuple[int, float]:
    """The probe's raw output size and wall time, through the same transport the CLI uses."""
    from dockbench.benchmark.collect import probe
    from dockbench.benchmark.collect.transports import LocalTransport

    script = probe.build(docker_host=host)
    started = time.perf_counter()
    run = LocalTransport().run(script)
    elapsed = time.perf_counter() - started
    probe.parse(run.stdout)  # raises if the output is damaged
    return len(run.stdout), elapsed


def breakdown(host: str, repeat: int, dockbench_cli: str) -> dict[str, tuple[float, float]]:
    """Where a scan's time goes, each phase alone: (median wall s, median CPU s)."""
    from dockbench.benchmark import render
    from dockbench.benchmark.collect import probe, snapshot
    from dockbench.benchmark.collect.transports import LocalTransport
    from dockbench.benchmark.judge.options import JudgingOptions

    env = dockerd.docker_env(host)
    catalog = [sys.executable, "-c", "from dockbench import checks; checks.load()"]
    phases: dict[str, list[tuple[float, float]]] = {"start-up (dockbench --version)": [], "imports + check catalog": [],
                                                   "probe (sh + docker CLIs)": [], "parse + facts": [], "judge + JSON report": []}
    judge = JudgingOptions().judge()
    for _ in range(repeat):
        phases["start-up (dockbench --version)"].append(timed([dockbench_cli, "--version"], env, "dockbench --version")[:2])
        phases["imports + check catalog"].append(timed(catalog, env, "catalog import")[:2])
        cpu, began = _children_cpu(), time.perf_counter()
        run = LocalTransport().run(probe.build(docker_host=host))
        phases["probe (sh + docker CLIs)"].append((time.perf_counter() - began, _children_cpu() - cpu))
        began, cpu = time.perf_counter(), time.process_time()
        snap = snapshot.build(probe.parse(run.stdout), target={"name": "local", "transport": "local", "root": "/", "docker_host": host})
        phases["parse + facts"].append((time.perf_counter() - began, time.process_time() - cpu))
        began, cpu = time.perf_counter(), time.process_time()
        render.render(judge(snap, "2026-01-01T00:00:00Z"), "json")
        phases["judge + JSON report"].append((time.perf_counter() - began, time.process_time() - cpu))
    return {name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)) for name, runs in phases.items()}


def measure(host: str, count: int, repeat: int, warmup: int, dockbench_cli: str, baseline_cli: str | None = None) -> dict:
    env = dockerd.docker_env(host)
    scan_args = ["scan", "--docker-host", host, "-o", "/dev/null", "-q", "--fail-on", "never", "--no-archive"]
    commands = {"scan": ([dockbench_cli, *scan_args], False), "floor": (FLOOR_SHELL, True)}
    if baseline_cli:
        commands["baseline"] = ([baseline_cli, *scan_args], False)
    for _ in range(warmup):
        for name, (argv, shell) in commands.items():
            timed(argv, env, name, shell=shell)
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for i in range(repeat):  # interleaved, so drifting machine load hits all alike
        for name, (argv, shell) in commands.items():
            runs[name].append(timed(argv, env, name, shell=shell))
        log(f"  N={count} run {i + 1}/{repeat}: " + ", ".join(f"{name} {runs[name][-1][0]:.3f} s (cpu {runs[name][-1][1]:.2f})" for name in commands))
    probe_bytes, probe_s = probe_alone(host)
    med = {name: (statistics.median(w for w, _, _ in done), statistics.median(c for _, c, _ in done)) for name, done in runs.items()}
    row = {
        "containers": count,
        "breakdown": breakdown(host, repeat, dockbench_cli),
        "scan_s": [w for w, _, _ in runs["scan"]],
        "floor_s": [w for w, _, _ in runs["floor"]],
        "scan_median_s": med["scan"][0],
        "floor_median_s": med["floor"][0],
        "ratio": med["scan"][0] / med["floor"][0] if med["floor"][0] > 0 else None,
        "scan_cpu_s": [c for _, c, _ in runs["scan"]],
        "floor_cpu_s": [c for _, c, _ in runs["floor"]],
        "scan_cpu_median_s": med["scan"][1],
        "floor_cpu_median_s": med["floor"][1],
        "cpu_ratio": med["scan"][1] / med["floor"][1] if med["floor"][1] > 0 else None,
        "scan_peak_rss_mb": max(r for _, _, r in runs["scan"]),
        "floor_peak_rss_mb": max(r for _, _, r in runs["floor"]),
        "probe_bytes": probe_bytes,
        "probe_s": probe_s,
    }
    if baseline_cli:
        row["baseline"] = {
            "cli": baseline_cli,
            "median_s": med["baseline"][0],
            "cpu_median_s": med["baseline"][1],
            "ratio": med["baseline"][0] / med["floor"][0] if med["floor"][0] > 0 else None,
            "cpu_ratio": med["baseline"][1] / med["floor"][1] if med["floor"][1] > 0 else None,
            "peak_rss_mb": max(r for _, _, r in runs["baseline"]),
        }
    return row


def table(rows: list[dict]) -> str:
    head = (f"{'N':>5}  {'scan med s':>10}  {'floor med s':>11}  {'scan/floor':>10}  {'probe bytes':>11}  "
            f"{'probe s':>7}  {'cpu s scan/floor':>16}  {'cpu ratio':>9}  {'peak MB scan/floor':>18}")
    lines = [head, "-" * len(head)]
    for r in rows:
        ratio = f"{r['ratio']:.1f}x" if r["ratio"] is not None else "-"
        cpu_ratio = f"{r['cpu_ratio']:.1f}x" if r["cpu_ratio"] is not None else "-"
        lines.append(f"{r['containers']:>5}  {r['scan_median_s']:>10.3f}  {r['floor_median_s']:>11.3f}  "
                     f"{ratio:>10}  {r['probe_bytes']:>11,}  {r['probe_s']:>7.3f}  "
                     f"{r['scan_cpu_median_s']:>7.2f} / {r['floor_cpu_median_s']:<6.2f}  "
                     f"{cpu_ratio:>9}  "
                     f"{r['scan_peak_rss_mb']:>8.0f} / {r['floor_peak_rss_mb']:<7.0f}")
        if "baseline" in r:
            b = r["baseline"]
            lines.append(f"{'':>5}  {b['median_s']:>10.3f}  {'(baseline)':>11}  {b['ratio']:>9.1f}x  {'':>11}  {'':>7}  "
                         f"{b['cpu_median_s']:>7.2f} /         {b['cpu_ratio']:>8.1f}x  {b['peak_rss_mb']:>8.0f}")
    return "\n".join(lines)


def breakdown_table(rows: list[dict]) -> str:
    lines = ["where a scan's time goes, each phase alone (median wall s / CPU s):"]
    for r in rows:
        lines.append(f"  N={r['containers']}: " + ";  ".join(f"{name} {wall:.3f} / {cpu:.3f}" for name, (wall, cpu) in r["breakdown"].items()))
    return "\n".join(lines)


def verdicts(rows: list[dict]) -> list[str]:
    lines = [f"targets: {TARGET_COUNT} containers scanned in under {TARGET_SECONDS:g} s; scan within "
             f"{TARGET_RATIO:g}x the inspect floor"]
    for r in rows:
        if r["containers"] == TARGET_COUNT:
            ok = r["scan_median_s"] < TARGET_SECONDS
            lines.append(f"  N={TARGET_COUNT}: scan {r['scan_median_s']:.2f} s < {TARGET_SECONDS:g} s: {'met' if ok else 'MISSED'}")
    for r in rows:
        if r["containers"] == 0:  # the floor is a bare `docker ps`: the ratio is only fixed costs
            lines.append("  N=0: scan/floor not judged (no containers: the floor is a bare `docker ps`)")
        elif r["ratio"] is not None:
            ok = r["ratio"] <= TARGET_RATIO
            lines.append(f"  N={r['containers']}: scan/floor {r['ratio']:.1f}x <= {TARGET_RATIO:g}x: {'met' if ok else 'MISSED'}")
    return lines


def byte_compile(cli: str) -> None:
    """Compile the CLI's dockbench modules, as installing a wheel does: with
    PYTHONDONTWRITEBYTECODE set (as in this project's environment), an editable checkout
    would otherwise compile every module again at every start, over 0.1 s of CPU per scan."""
    code = ("import compileall, sys, dockbench.benchmark, dockbench.checks\n"
            "sys.exit(not all(compileall.compile_dir(p, quiet=1) for m in (dockbench.benchmark, dockbench.checks) for p in m.__path__))")
    check(subprocess.run([str(Path(cli).parent / "python"), "-c", code], capture_output=True, text=True), f"byte-compiling {cli}")


def default_cli() -> str:
    beside = Path(sys.executable).parent / "dockbench"
    return str(beside) if beside.exists() else (shutil.which("dockbench") or "dockbench")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.perf.bench_scan",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--counts", default="0,100,500", help="container counts, comma-separated (default: 0,100,500)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each command per count; the median is reported (default: 3)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs of each command per count first (default: 1)")
    p.add_argument("--settle", type=float, default=5.0, help="seconds to wait after scaling, before timing (default: 5)")
    p.add_argument("--workers", type=int, default=4, help="parallel `docker run`s while scaling (default: 4)")
    p.add_argument("--json", metavar="FILE", help="also write the figures here")
    p.add_argument("--no-compile", action="store_true", help="time the CLIs as they are, without byte-compiling their modules first")
    p.add_argument("--baseline", metavar="PATH", help="another dockbench CLI (e.g. of main, in its own venv) timed in the same runs, interleaved")
    p.add_argument("--dockbench", default=default_cli(), metavar="PATH", help="the dockbench CLI to time (default: the one beside this Python)")
    args = p.parse_args(argv)
    try:
        args.counts = [int(c) for c in args.counts.split(",") if c.strip()]
    except ValueError:
        p.error("--counts takes comma-separated integers, e.g. 0,100,500")
    if not args.counts or min(args.counts) < 0 or args.repeat < 1 or args.warmup < 0 or args.workers < 1 or args.settle < 0:
        p.error("counts must be >= 0, --repeat and --workers >= 1, --warmup and --settle >= 0")
    return args


def _sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench_scan: a private dockerd needs root", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _sigterm)
    root = Path(tempfile.mkdtemp(prefix="dockbench-perf-", dir="/tmp"))
    pool = ThreadPoolExecutor(max_workers=args.workers)
    rows: list[dict] = []
    try:
        if not args.no_compile:
            for cli in filter(None, (args.dockbench, args.baseline)):
                byte_compile(cli)
        log(f"starting a private dockerd in {root}")
        host = dockerd.start(root)
        server = dockerd.info(host) or {}
        for count in args.counts:
            log(f"N={count}: scaling")
            setup_s = scale(host, count, pool)
            settle = args.settle if count else 0.0  # let the daemon finish its start-up work
            log(f"N={count}: {count} running containers ({setup_s:.1f} s); timing in {settle:g} s")
            time.sleep(settle)
            row = measure(host, count, args.repeat, args.warmup, args.dockbench, args.baseline)
            row["setup_s"] = setup_s
            rows.append(row)
        report = "\n".join([
            f"dockbench scan vs inspect floor: median of {args.repeat} interleaved runs "
            f"({args.warmup} warm-up), dockerd {server.get('ServerVersion', '?')}, {os.cpu_count()} CPUs, "
            f"load {os.getloadavg()[0]:.2f}",
            "", table(rows), "", *verdicts(rows), "", breakdown_table(rows), "",
            f"floor: {FLOOR_SHELL}",
            "probe s / probe bytes: the probe alone (benchmark.collect.probe.build + LocalTransport), one run",
            "(baseline): the --baseline CLI's scan, timed in the same interleaved runs, against the same floor",
            f"modules: {'as they were (--no-compile)' if args.no_compile else 'byte-compiled first, as a wheel install does'}",
            "cpu s: median user+sys CPU of the command's own processes (dockerd's work not included); cpu ratio: scan/floor of those",
            "peak MB: the largest resident memory of the command's processes over the runs (ru_maxrss of wait4)",
        ])
        print(report, flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps({
                "command": [sys.executable, "-m", "tests.perf.bench_scan", *(argv if argv is not None else sys.argv[1:])],
                "repeat": args.repeat,
                "warmup": args.warmup,
                "settle_s": args.settle,
                "dockerd_version": server.get("ServerVersion"),
                "cpus": os.cpu_count(),
                "loadavg_end": os.getloadavg(),
                "machine": platform.platform(),
                "floor_command": FLOOR_SHELL,
                "targets": {"count": TARGET_COUNT, "max_scan_s": TARGET_SECONDS, "max_ratio": TARGET_RATIO},
                "results": rows,
            }, indent=2) + "\n")
            log(f"figures written to {args.json}")
        return 0
    except (BenchError, dockerd.DaemonError) as exc:
        print(f"bench_scan: FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_scan: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pool.shutdown(wait=False, cancel_futures=True)
        log(f"stopping the private dockerd and removing {root}")
        dockerd.stop(root, remove=True)


if __name__ == "__main__":
    sys.exit(main())
