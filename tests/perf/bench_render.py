"""Render benchmark: a 500-host fleet sweep rendered as HTML, and that page filtered in Chromium.

Not a test (pytest does not collect this file). Run it from the repository root:

    .venv/bin/python -m tests.perf.bench_render                  # 500 hosts, 3 repeats
    .venv/bin/python -m tests.perf.bench_render --hosts 1000 --reports a.json b.json --json perf.json

The fleet is built from recorded host reports: by default the recorded probe output of a real
host (tests/data/probe-debian12-docker20.out), judged by the whole catalog once per host after
giving that host its own name and its own containers (1-4 renamed copies of each recorded
container, a random subset, stopped ones included on some hosts), so evidence differs from host
to host as it does in a real fleet. With --reports, real `dockbench scan` JSON reports are used
instead, renamed per host and with some results flipped. Some targets are unreachable.

It prints, for the HTML page: render time (wall and CPU, median of --repeat), size; the other
formats' times and sizes; the `dockbench report` command end to end; and, in headless Chromium,
the page's load time and how long each filter takes to apply (the page's own script time, and
until the next frame is painted), opening a host, opening a check, and preparing to print (the
page prints what the filters keep, every finding expanded: critical FAILs, all FAILs, everything).
Targets: render under 3 s, page under 15 MB, filters answer well under 100 ms.
"""

from __future__ import annotations

import argparse
import copy
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

from dockbench.benchmark import render
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.document import validate
from tests import sweepdoc

DOCKBENCH = str(Path(sys.executable).with_name("dockbench"))


def recorded_hosts(count: int, rng: random.Random) -> list[dict]:
    """`count` host reports judged from the recorded snapshot, each host with its own containers."""
    from dockbench import checks
    from dockbench.benchmark.judge.facts import Facts, Selection
    from dockbench.benchmark.judge.policy import Policy
    from dockbench.benchmark.judge.runner import evaluate
    from tests.recorded import recorded_snapshot

    catalog, benchmark = checks.load().all(), checks.load().benchmark().to_dict()
    base = recorded_snapshot()
    originals = base["docker"]["containers"]
    reports = []
    for i in range(count):
        snap = copy.deepcopy(base)
        hostname = f"node-{i + 1:03d}.dc{i % 3 + 1}.example.test"
        snap["host"]["hostname"] = hostname
        snap["target"].update(name=f"ssh://audit@{hostname}", transport="ssh")
        containers = []
        for original in rng.sample(originals, rng.randint(1, len(originals))):
            for j in range(rng.randint(1, 4)):
                c = copy.deepcopy(original)
                c["Name"] = f"{original['Name']}-{i + 1:03d}-{j}"
                c["Id"] = uuid.UUID(int=rng.getrandbits(128)).hex * 2
                containers.append(c)
        snap["docker"]["containers"] = containers
        started = f"2026-11-23T14:{i // 60 % 60:02d}:{i % 60:02d}Z"
        results = evaluate(Facts(snap, Selection(include_stopped=rng.random() < 0.3), Policy()), catalog)
        reports.append(report_mod.build(results, snap, rootless=False, benchmark=benchmark, started_at=started, finished_at=started, scan_id=str(uuid.UUID(int=rng.getrandbits(128)))))
    return reports


def from_reports(paths: list[str], count: int, rng: random.Random) -> list[dict]:
    reports = [json.loads(Path(p).read_text()) for p in paths]
    return [sweepdoc.vary(sweepdoc.as_host(reports[i % len(reports)], f"node-{i + 1:03d}.example.test"), rng) for i in range(count)]


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of fn() over `repeat` runs, and its last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), result


FILTERS = [
    ("FAIL only", {"statuses": ["FAIL"]}),
    ("layer = containers", {"layer": "containers"}),
    ("severity = critical", {"severity": "critical"}),
    ("CIS level 2", {"level": "2"}),
    ("search CIS 5.4", {"query": "5.4"}),
    ("search text 'privileged'", {"query": "privileged"}),
    ("search host 'node-250'", {"query": "node-250"}),
    ("FAIL + containers + 'risky'", {"statuses": ["FAIL"], "layer": "containers", "query": "risky"}),
    ("reset (all)", {}),
]

APPLY = """
const [spec, done] = arguments;
const statuses = spec.statuses || null;
document.querySelectorAll('input[name=status]').forEach(b => { b.checked = statuses === null || statuses.includes(b.value); });
document.getElementById('f-layer').value = spec.layer || '';
document.getElementById('f-severity').value = spec.severity || '';
document.getElementById('f-level').value = spec.level || '';
const q = document.getElementById('q');
q.value = spec.query || '';
const t0 = performance.now();
q.dispatchEvent(new Event('input', {bubbles: true}));   // one apply() with every control set
const script = window.dockbenchFilterMs;
requestAnimationFrame(() => setTimeout(() => done([script, performance.now() - t0, document.getElementById('shown').textContent]), 0));
"""

OPEN = """
const [selector, done] = arguments;
const d = document.querySelector(selector), t0 = performance.now();
d.open = true;
d.addEventListener('toggle', () => requestAnimationFrame(() => setTimeout(() => done([performance.now() - t0, d.querySelectorAll('.x, tr').length]), 0)), {once: true});
"""

PRINT = """
const done = arguments[0], t0 = performance.now();
window.dispatchEvent(new Event('beforeprint'));
const prepared = performance.now() - t0;
requestAnimationFrame(() => setTimeout(() => {
  const painted = performance.now() - t0, rows = document.querySelectorAll('.x').length;
  window.dispatchEvent(new Event('afterprint'));
  done([prepared, painted, rows]);
}, 0));
"""


def js_heap_mb(browser) -> float:
    return round(browser.js("return performance.memory ? performance.memory.usedJSHeapSize / 1e6 : 0"), 1)


def filter_figures(browser, repeat: int) -> list[dict]:
    """Each of FILTERS applied `repeat` times: the page's script time and the time to paint (medians), what it shows."""
    out = []
    for name, spec in FILTERS:
        runs = [browser.driver.execute_async_script(APPLY, spec) for _ in range(repeat)]
        out.append({"filter": name, "script_ms": round(statistics.median(r[0] for r in runs), 1),
                    "to_paint_ms": round(statistics.median(r[1] for r in runs), 1), "shown": runs[-1][2]})
    return out


def browser_figures(html: Path, repeat: int) -> dict:
    from tests.browser import Browser

    browser = Browser(Path(tempfile.mkdtemp(prefix="dockbench-bench-")))
    try:
        browser.driver.set_script_timeout(300)
        started = time.perf_counter()
        browser.open(html)
        browser.js("return document.getElementById('shown').textContent")
        opened = time.perf_counter() - started
        nav = browser.js("const n = performance.getEntriesByType('navigation')[0]; return [n.domContentLoadedEventEnd, n.loadEventEnd]")
        out = {"page_open_s": round(opened, 3), "dom_content_loaded_ms": round(nav[0], 1), "load_event_ms": round(nav[1], 1),
               "requests": browser.js("return performance.getEntriesByType('resource').length"),
               "js_heap_mb": js_heap_mb(browser), "filters": filter_figures(browser, repeat)}
        ms, rows = browser.driver.execute_async_script(OPEN, "details.host#h1")
        out["open_host"] = {"ms": round(ms, 1), "rows": rows}
        ms, rows = browser.driver.execute_async_script(OPEN, "details.f[id^='c-']")
        out["open_check"] = {"ms": round(ms, 1), "rows": rows}
        out["print"] = []
        for name, spec in (("critical FAILs", {"statuses": ["FAIL"], "severity": "critical"}), ("FAIL only", {"statuses": ["FAIL"]}), ("everything", {})):
            browser.driver.execute_async_script(APPLY, spec)
            prepared, painted, rows = browser.driver.execute_async_script(PRINT)
            out["print"].append({"filter": name, "prepare_ms": round(prepared, 1), "to_paint_ms": round(painted, 1), "rows": rows})
        shot = html.with_suffix(".png")
        browser.shot(shot)
        out["screenshot"] = str(shot)
        return out
    finally:
        browser.quit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--unreachable", type=int, default=15)
    parser.add_argument("--reports", nargs="*", help="real host reports (JSON) to build the fleet from, instead of the recorded host")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=None, help="directory for the rendered files (default: a new temporary one)")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    out_dir = Path(args.out or tempfile.mkdtemp(prefix="dockbench-bench-render-"))
    out_dir.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    hosts = from_reports(args.reports, args.hosts, rng) if args.reports else recorded_hosts(args.hosts, rng)
    errors = [sweepdoc.error_entry(f"ssh://audit@down-{i + 1:02d}.example.test", kind, f"{kind.replace('_', ' ')}: down-{i + 1:02d} could not be audited")
              for i, kind in enumerate(sweepdoc.ERROR_KINDS[i % len(sweepdoc.ERROR_KINDS)] for i in range(args.unreachable))]
    document = sweepdoc.sweep(hosts, errors, sweep_id=f"bench-{args.hosts}")
    built = time.perf_counter() - t
    source = out_dir / "fleet.json"
    source.write_text(json.dumps(document))
    findings = sum(len(h["results"]) for h in hosts)
    print(f"fleet: {args.hosts} hosts + {args.unreachable} unreachable, {findings} findings, "
          f"JSON {source.stat().st_size / 1e6:.1f} MB (built in {built:.1f} s) -> {out_dir}")

    figures: dict = {"hosts": args.hosts, "unreachable": args.unreachable, "findings": findings, "json_mb": round(source.stat().st_size / 1e6, 2),
                     "cpus": os.cpu_count(), "load_avg": os.getloadavg()[0], "formats": {}}
    render.render(sweepdoc.sweep(hosts[:2], []), "html")  # compile the templates once, as any process does
    wall, cpu, _ = timed(lambda: validate.check(document), args.repeat)
    figures["validate"] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}
    print(f"{'schema check':<14} wall {wall:6.3f} s  cpu {cpu:6.3f} s")
    for fmt in render.formats():
        wall, cpu, text = timed(lambda f=fmt: render.render(document, f), args.repeat)
        path = out_dir / f"fleet{render.extension(fmt)}"
        path.write_bytes(text.encode())
        size = path.stat().st_size
        figures["formats"][fmt] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "mb": round(size / 1e6, 2)}
        print(f"render {fmt:<7} wall {wall:6.3f} s  cpu {cpu:6.3f} s  size {size / 1e6:7.2f} MB")
    html = figures["formats"]["html"]
    verdict = "OK" if html["wall_s"] < 3 and html["mb"] < 15 else "OVER TARGET"
    print(f"html target (< 3 s, < 15 MB): {verdict}")

    cli = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        done = subprocess.run([DOCKBENCH, "report", str(source), "-o", str(out_dir / "cli.html")], capture_output=True, text=True, check=False)
        cli.append(time.perf_counter() - t)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
    figures["cli_report_html_s"] = round(statistics.median(cli), 3)
    print(f"dockbench report fleet.json -o cli.html (whole process: load, schema check, render, write): {figures['cli_report_html_s']:.3f} s")

    if not args.no_browser:
        b = browser_figures(out_dir / "fleet.html", args.repeat)
        figures["browser"] = b
        print(f"chromium: page open {b['page_open_s']:.2f} s (DOMContentLoaded {b['dom_content_loaded_ms']:.0f} ms, load {b['load_event_ms']:.0f} ms), "
              f"{b['requests']} requests, JS heap {b['js_heap_mb']} MB")
        for f in b["filters"]:
            print(f"  filter {f['filter']:<30} script {f['script_ms']:7.1f} ms   to paint {f['to_paint_ms']:7.1f} ms   [{f['shown']}]")
        print(f"  open the worst host: {b['open_host']['ms']:.1f} ms ({b['open_host']['rows']} rows)")
        print(f"  open the first check across hosts: {b['open_check']['ms']:.1f} ms ({b['open_check']['rows']} rows)")
        for p in b["print"]:
            print(f"  before print, {p['filter']:<15} {p['prepare_ms']:8.0f} ms script {p['to_paint_ms']:8.0f} ms to paint  ({p['rows']} findings expanded)")
        print(f"  screenshot: {b['screenshot']}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
