"""Benchmark: reading back a big sweep document, `dockbench report` and the schema check, peak
resident memory and time of the whole process.

Not a test (pytest does not collect this file). Run it from the repository root:

    .venv/bin/python -m tests.perf.bench_read                       # 10,000 hosts, csv and md
    .venv/bin/python -m tests.perf.bench_read --hosts 2000 --formats csv,junit,ocsf --json perf.json
    .venv/bin/python -m tests.perf.bench_read --dockbench /path/to/other/.venv/bin/dockbench   # another build (before/after)

The sweep document is made by repeating a real host report under new names (the first host of
tests/data/reports/sweep.json, a report judged from the recorded probe output of a real host;
--report takes another), written as a sweep writes it (one host per line); some targets are
unreachable. For each format it runs, as its own process, and measures (os.wait4: CPU, peak RSS):

    dockbench report SWEEP.json -f FORMAT -o OUT        the schema check, then the rendering
    python -c 'validate the document'                   the schema check alone: the document read
                                                        with benchmark.document.reader where the build
                                                        has it, else with json.load

--dockbench names the dockbench executable of the build to measure (its python is the one beside
it), so one document can be measured with the code before and after a change.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `tests` and `benchmark` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests import sweepdoc

VALIDATE = """
import json, sys
from dockbench.benchmark.document import validate
try:
    from dockbench.benchmark.document import reader as sweep_reader
except ImportError:  # a build that reads the whole document
    validate.check(json.load(open(sys.argv[1], encoding="utf-8")))
else:
    with sweep_reader.read(sys.argv[1]) as source:
        validate.check(source)
"""


def write_sweep(path: Path, report: dict, hosts: int, unreachable: int) -> int:
    """A sweep document of `hosts` copies of report under new names, one host per line; its size."""
    errors = [sweepdoc.error_entry(f"ssh://audit@down-{i:03d}.example.test", "timeout", "no answer within 30 s", name=f"down-{i:03d}") for i in range(unreachable)]
    head = sweepdoc.sweep([], errors, sweep_id=f"bench-read-{hosts}")
    head["summary"].update(targets=hosts + unreachable, scanned=hosts)
    for status, count in report["summary"]["by_status"].items():
        head["summary"]["by_status"][status] = count * hosts
    head.update(tool=report["tool"], benchmark=report["benchmark"])
    with open(path, "w", encoding="ascii") as out:
        out.write(json.dumps({k: v for k, v in head.items() if k not in ("hosts", "errors")})[:-1] + ',\n"hosts": [')
        for i in range(hosts):
            out.write(("\n" if i == 0 else ",\n") + json.dumps(sweepdoc.as_host(report, f"node-{i:05d}.dc{i % 7}.example.test")))
        out.write('\n],\n"errors": ' + json.dumps(head["errors"]) + "}\n")
    return path.stat().st_size


def measure(args: list[str]) -> dict:
    """Wall and CPU seconds and peak RSS of one process (exit status 0 required)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    error = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed: {error}")
    return {"wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--unreachable", type=int, default=25)
    parser.add_argument("--formats", default="csv,md", help="comma-separated formats for `dockbench report` (default: csv,md)")
    parser.add_argument("--report", help="the host report to repeat (default: the first host of tests/data/reports/sweep.json)")
    parser.add_argument("--dockbench", default=str(Path(sys.executable).with_name("dockbench")), help="the dockbench executable to measure")
    parser.add_argument("--out", help="directory for the document and outputs (default: a new temporary one, removed at the end)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.report:
        report = json.loads(Path(args.report).read_text())
    else:
        from tests.golden import documents

        report = documents()["host"]
    directory = Path(args.out or tempfile.mkdtemp(prefix="dockbench-bench-read-"))
    directory.mkdir(parents=True, exist_ok=True)
    python = str(Path(args.dockbench).with_name("python"))
    source = directory / "sweep.json"
    size = write_sweep(source, report, args.hosts, args.unreachable)
    print(f"sweep: {args.hosts} hosts + {args.unreachable} unreachable, {size / 1e6:.0f} MB ({len(json.dumps(report)) / 1e3:.0f} KB per host) -> {source}")
    print(f"build: {args.dockbench}")
    figures = {"hosts": args.hosts, "document_mb": round(size / 1e6), "dockbench": args.dockbench, "cpus": os.cpu_count(), "runs": {}}
    runs = {"schema check": [python, "-c", VALIDATE, str(source)]}
    for fmt in args.formats.split(","):
        runs[f"report -f {fmt}"] = [args.dockbench, "report", str(source), "-f", fmt, "-o", str(directory / f"out.{fmt}")]
    for name, command in runs.items():
        figures["runs"][name] = found = measure(command)
        print(f"{name:<18} wall {found['wall_s']:7.1f} s   cpu {found['cpu_s']:7.1f} s   peak RSS {found['peak_rss_mb']:6d} MB", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    if not args.out:
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
