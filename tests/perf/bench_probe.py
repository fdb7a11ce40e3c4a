"""Benchmark: what the probe costs the target, this probe against another version of it.

    .venv/bin/python -m tests.perf.bench_probe --against <(git show main:benchmark/probe.sh)
    .venv/bin/python -m tests.perf.bench_probe --counts 0,100 --repeat 9 --against old-probe.sh

It starts a private dockerd, brings it to C busybox containers for each C in --counts, and runs
each probe (this checkout's, and the --against file with the same parameters in front) through
the local transport, --repeat times interleaved; both must see the same containers, images
and networks. It prints the medians of: wall time, the CPU
of the probe's own processes (sh, the docker CLIs and whatever else it starts: user + system of
the waited children), the daemon's CPU over the same run (what answering cost dockerd), the
number of docker CLI starts (a logging `docker` wrapper first on PATH) and the output size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `tests` and `benchmark` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dockbench.benchmark import probe, snapshot
from dockbench.benchmark.transports import LocalTransport
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


def object_ids(records) -> dict[str, list[str]]:
    """The ids of the containers, images and networks a probe's output holds (either layout:
    one `docker inspect` with id lists, or one inspect record per kind)."""
    if "docker:inspect" in records:
        found = inspected(records)
    else:
        found = {kind: json.loads(records[f"docker:{kind}"].text) if f"docker:{kind}" in records else [] for kind in snapshot.INSPECTED}
    return {kind: [o["Id"] for o in objects] for kind, objects in found.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.perf.bench_probe", description=__doc__.split("\n\n")[0])
    p.add_argument("--against", required=True, help="another probe.sh (e.g. <(git show main:benchmark/probe.sh))")
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
            for name, done in runs.items():
                rows.append({"probe": name, "containers": count, **{k: statistics.median(r[k] for r in done) for k in ("wall", "cpu", "daemon_cpu", "docker_starts", "bytes")}})
            log(f"{count} containers done")
    except (BenchError, dockerd.DaemonError) as exc:
        print(f"bench_probe: FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        dockerd.stop(root, remove=True)
    head = f"{'probe':<11}  {'C':>4}  {'wall ms':>7}  {'probe CPU ms':>12}  {'dockerd CPU ms':>14}  {'docker CLIs':>11}  {'output KB':>9}"
    print(f"probe cost on the target: medians of {args.repeat} runs each, interleaved, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}\n")
    print(head + "\n" + "-" * len(head))
    for r in rows:
        print(f"{r['probe']:<11}  {r['containers']:>4}  {r['wall'] * 1000:>7.0f}  {r['cpu'] * 1000:>12.0f}  {r['daemon_cpu'] * 1000:>14.0f}  "
              f"{r['docker_starts']:>11.0f}  {r['bytes'] / 1e3:>9.0f}")
    print("\nprobe CPU: sh, the docker CLIs and every other process the probe started; dockerd CPU: the daemon over the same run;"
          "\ndocker CLIs: docker commands the probe started (counted by a logging `docker` first on PATH, in both runs alike)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
