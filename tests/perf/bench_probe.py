"""Benchmark: what the probe costs the target, this probe against another version of it.

    .venv/bin/python -m tests.perf.bench_probe --against <(git show main:benchmark/collect/probe.sh)
    .venv/bin/python -m tests.perf.bench_probe --counts 0,100 --repeat 9 --against old-probe.sh

It starts a private dockerd, brings it to C busybox containers for each C in --counts, and runs
each probe (this checkout's, and the --against file with the same parameters in front) through
the local transport, --repeat times interleaved; both must see the same containers, images
and networks. It prints the medians of: wall time, the CPU
of the probe's own processes (sh, the docker CLIs and whatever else it starts: user + system of
the waited children), the daemon's CPU over the same run (what answering cost dockerd), the
number of docker CLI starts (a logging `docker` wrapper first on PATH), the programs executed and
processes forked (one more run under strace -f) and the output size. It also builds the facts
snapshot from each probe's output and fails if they differ beyond what moves between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `tests` and `benchmark` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dockbench.benchmark.collect import probe, snapshot
from dockbench.benchmark.collect.transports import LocalTransport
from tests.perf.bench_replay import process_cpu
from tests.perf.bench_scan import BenchError, log, scale
from tests.perf.fleet import parse_list
from tests.recorded import inspected
from tests.support import dockerd


def counting_docker(directory: Path) -> Path:
    """A `docker` first on PATH that logs each start, then runs the real one."""
    log = directory / "docker-starts.log"
    wrapper = directory / "docker"
    wrapper.write_text(f'#!/bin/sh\necho >> {log}\nexec {shutil.which("docker")} "$@"\n')
    wrapper.chmod(0o755)
    return log


def run_once(script: bytes, daemon_pid: int, starts: Path) -> dict:
    starts.write_text("")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    daemon, began = process_cpu(daemon_pid), time.perf_counter()
    done = LocalTransport().run(script)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "cpu": after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime,
            "daemon_cpu": process_cpu(daemon_pid) - daemon, "docker_starts": len(starts.read_text().splitlines()),
            "bytes": len(done.stdout), "records": probe.parse(done.stdout)}


STRACE_RESULT = re.compile(r"\b(execve|clone3|clone|vfork|fork)\b.*= (-?\d+)(?: E\w+ .*)?$")


def process_starts(script: bytes, directory: Path) -> tuple[int, int]:
    """Programs the probe executed and processes it forked (subshells too), from one run under
    strace (not timed); (-1, -1) without strace."""
    if not shutil.which("strace"):
        return -1, -1
    trace = directory / "strace.log"
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve,fork,vfork,clone,clone3", "-o", str(trace), "sh", "-s"],
                   input=script, capture_output=True, check=True)
    calls = [m.groups() for m in map(STRACE_RESULT.search, trace.read_text().splitlines()) if m]  # also "<... resumed>" lines
    return sum(call == "execve" and rc == "0" for call, rc in calls), sum(call != "execve" and int(rc) > 0 for call, rc in calls)


def object_ids(records) -> dict[str, list[str]]:
    """The ids of the containers, images and networks a probe's output holds (either layout:
    one `docker inspect` with id lists, or one inspect record per kind)."""
    if "docker:inspect" in records:
        found = inspected(records)
    else:
        found = {kind: json.loads(records[f"docker:{kind}"].text) if f"docker:{kind}" in records else [] for kind in snapshot.INSPECTED}
    return {kind: [o["Id"] for o in objects] for kind, objects in found.items()}


MOVING_FACTS = ("collected_at", "listening", "container_processes", "sysctl")


def stable_facts(records, host: str) -> dict:
    """The facts snapshot of a probe's records without what moves between two runs: the
    clock, sockets and processes that come and go, docker info's counters (its keys stay)."""
    facts = snapshot.build(records, target={"name": "bench", "transport": "local", "root": "/", "docker_host": host})
    for key in MOVING_FACTS:
        facts.pop(key, None)
    facts["files"] = {path: entry for path, entry in facts["files"].items() if not path.startswith("/proc/")}
    facts["docker"]["info"] = sorted(facts["docker"].get("info") or {})
    for container in facts["docker"].get("containers", []):
        container.get("State", {}).pop("Health", None)
    return facts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.perf.bench_probe", description=__doc__.split("\n\n")[0])
    p.add_argument("--against", required=True, help="another probe.sh (e.g. <(git show main:benchmark/collect/probe.sh))")
    p.add_argument("--counts", default="0,100", help="containers, comma-separated (default: 0,100)")
    p.add_argument("--repeat", type=int, default=7, help="runs of each probe per count; medians (default: 7)")
    args = p.parse_args(argv)
    other_body = Path(args.against).read_bytes()
    if os.geteuid() != 0:
        print("bench_probe: needs root (a private dockerd)", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="dockerd-", dir="/tmp"))
    try:
        host = dockerd.start(root)
        daemon_pid = dockerd.read_pid(root / "docker.pid")
        bin_dir = root / "bin"
        bin_dir.mkdir()
        starts = counting_docker(bin_dir)
        os.environ["PATH"] = f"{bin_dir}:{os.environ['PATH']}"
        rows = []
        for count in parse_list(args.counts, "--counts", minimum=0):
            with ThreadPoolExecutor(max_workers=4) as pool:
                scale(host, count, pool)
            ours = probe.build(docker_host=host)
            header = ours[: ours.index(b"# dockbench probe")]
            scripts = {"this probe": ours, "--against": header + other_body}
            runs: dict[str, list[dict]] = {name: [] for name in scripts}
            for _ in range(args.repeat):
                for name, script in scripts.items():
                    runs[name].append(run_once(script, daemon_pid, starts))
            facts = {name: object_ids(done[-1]["records"]) for name, done in runs.items()}
            differ = [k for k in facts["this probe"] if facts["this probe"][k] != facts["--against"][k]]
            if differ:
                raise BenchError(f"{count} containers: the two probes saw different {', '.join(differ)}")
            snaps = {name: stable_facts(done[-1]["records"], host) for name, done in runs.items()}
            differ = [k for k in snaps["this probe"] if snaps["this probe"][k] != snaps["--against"].get(k)]
            if differ or snaps["this probe"].keys() != snaps["--against"].keys():
                ours, theirs = snaps["this probe"].get("files", {}), snaps["--against"].get("files", {})
                paths = sorted(p for p in ours.keys() | theirs.keys() if ours.get(p) != theirs.get(p))[:5]
                raise BenchError(f"{count} containers: the two probes' facts snapshots differ in {', '.join(differ) or 'their sections'}"
                                 + (f" (files: {', '.join(paths)})" if paths else ""))
            log(f"{count} containers: the two probes' facts snapshots are the same (moving parts aside: {', '.join(MOVING_FACTS)}, /proc files, docker info's values)")
            for name, done in runs.items():
                execs, forks = process_starts(scripts[name], root)
                rows.append({"probe": name, "containers": count, "execs": execs, "forks": forks,
                             **{k: statistics.median(r[k] for r in done) for k in ("wall", "cpu", "daemon_cpu", "docker_starts", "bytes")}})
            log(f"{count} containers done")
    except (BenchError, dockerd.DaemonError) as exc:
        print(f"bench_probe: FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        dockerd.stop(root, remove=True)
    head = (f"{'probe':<11}  {'C':>4}  {'wall ms':>7}  {'probe CPU ms':>12}  {'dockerd CPU ms':>14}  {'docker CLIs':>11}  "
            f"{'execs':>5}  {'forks':>5}  {'output KB':>9}")
    print(f"probe cost on the target: medians of {args.repeat} runs each, interleaved, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}\n")
    print(head + "\n" + "-" * len(head))
    for r in rows:
        print(f"{r['probe']:<11}  {r['containers']:>4}  {r['wall'] * 1000:>7.0f}  {r['cpu'] * 1000:>12.0f}  {r['daemon_cpu'] * 1000:>14.0f}  "
              f"{r['docker_starts']:>11.0f}  {r['execs']:>5}  {r['forks']:>5}  {r['bytes'] / 1e3:>9.0f}")
    print("\nprobe CPU: sh, the docker CLIs and every other process the probe started; dockerd CPU: the daemon over the same run;"
          "\ndocker CLIs: docker commands the probe started (counted by a logging `docker` first on PATH, in both runs alike)"
          "\nexecs / forks: programs the probe executed (the wrapper and the docker it runs count 2) and processes it forked,"
          "\nsubshells included, from one more run of each under strace -f")
    return 0


if __name__ == "__main__":
    sys.exit(main())
