"""Fleet HTML benchmark: a big sweep as a summary page plus a page per host, and in Chromium.

Not a test (pytest does not collect this file). Run it from the repository root:

    .venv/bin/python -m tests.perf.bench_fleet_pages                       # 100, 1,000 and 10,000 hosts
    .venv/bin/python -m tests.perf.bench_fleet_pages --hosts 1000 --single --json perf.json

The fleet repeats real host reports, judged by the whole catalog from the recorded probe output
of a real host (tests/data/probe-debian12-docker20.out, with per-host containers as in
bench_render), under new names; the hosts are made one at a time as the renderer asks for them,
so the sweep is never in memory, as with a streaming reader. Some targets are unreachable.

For each size it prints: the render (fleet_pages.write_pages, in a child process: wall and CPU
time, peak resident memory), the sizes (summary page, per host page, all), and in headless
Chromium: the summary page's load, each filter (the page's script time and until painted, as in
bench_render), opening a check (the hosts it fails on), "show more hosts", and a host page's
load. With --single, the one-page form of the same sweep too (render size, load, one filter),
which tells where PAGES_FROM belongs (the whole sweep is then built in memory: keep it <= 1,000).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `tests` and `benchmark` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests import sweepdoc
from tests.perf.bench_render import APPLY, FILTERS, OPEN, filter_figures, js_heap_mb, recorded_hosts

VARIANTS = 8  # distinct judged host reports the fleet cycles through


def fleet(count: int, unreachable: int, seed: int):
    """(head, hosts): the sweep document without hosts, and a generator of its host reports."""
    bases = recorded_hosts(VARIANTS, random.Random(seed))
    errors = [sweepdoc.error_entry(f"ssh://audit@down-{i + 1:03d}.example.test", sweepdoc.ERROR_KINDS[i % len(sweepdoc.ERROR_KINDS)], f"down-{i + 1:03d} could not be audited")
              for i in range(unreachable)]
    head = sweepdoc.sweep(bases, errors, sweep_id=f"bench-{count}")
    del head["hosts"]
    head["summary"].update(targets=count + unreachable, scanned=count)

    def hosts():
        for i in range(count):
            yield sweepdoc.as_host(bases[i % VARIANTS], f"node-{i + 1:03d}.dc{i % 3 + 1}.example.test")
    return head, hosts


def render_child(count: int, unreachable: int, seed: int, target: str) -> None:
    """In a process of its own: render, then print the figures as JSON (peak RSS is this process's)."""
    from dockbench.benchmark.render import fleet_pages

    head, hosts = fleet(count, unreachable, seed)
    wall, cpu = time.perf_counter(), time.process_time()
    fleet_pages.write_pages(head, hosts(), target)
    print(json.dumps({"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


def sizes(summary: Path) -> dict:
    from dockbench.benchmark.render.fleet_pages import hosts_folder

    pages = [p.stat().st_size for p in hosts_folder(summary).iterdir()]
    return {"summary_mb": round(summary.stat().st_size / 1e6, 2), "host_page_kb": round(statistics.mean(pages) / 1e3, 1),
            "total_mb": round((summary.stat().st_size + sum(pages)) / 1e6, 1), "files": len(pages) + 1}


def loaded(browser, page: Path) -> dict:
    started = time.perf_counter()
    browser.open(page)
    browser.js("return document.getElementById('shown').textContent")
    nav = browser.js("const n = performance.getEntriesByType('navigation')[0]; return [n.domContentLoadedEventEnd, n.loadEventEnd]")
    return {"open_s": round(time.perf_counter() - started, 3), "dom_content_loaded_ms": round(nav[0]), "load_event_ms": round(nav[1]),
            "requests": browser.js("return performance.getEntriesByType('resource').length")}


def browser_figures(summary: Path, repeat: int) -> dict:
    from tests.browser import Browser

    browser = Browser(Path(tempfile.mkdtemp(prefix="dockbench-bench-")))
    try:
        browser.driver.set_script_timeout(300)
        out = {"summary": {**loaded(browser, summary), "js_heap_mb": js_heap_mb(browser)}, "filters": filter_figures(browser, repeat)}
        ms, rows = browser.driver.execute_async_script(OPEN, "details.f[id^='c-']")
        out["open_check"] = {"ms": round(ms, 1), "rows": rows}
        ms, rows = browser.js("const more = document.getElementById('more'), t0 = performance.now(); if (!more.hidden) { more.click(); } "
                              "return [performance.now() - t0, document.querySelectorAll('#host-table tbody tr').length]")
        out["show_more"] = {"ms": round(ms, 1), "rows": rows}
        out["console_errors"] = [e for e in browser.console() if e["level"] == "SEVERE"]
        href = browser.js("return document.querySelector('#host-table tbody a').href")
        t = time.perf_counter()
        browser.driver.get(href)
        browser.js("return document.getElementById('shown').textContent")
        out["host_page_open_s"] = round(time.perf_counter() - t, 3)
        return out
    finally:
        browser.quit()


def single_figures(count: int, unreachable: int, seed: int, out_dir: Path, repeat: int) -> dict:
    """The one-page form of the same sweep: render, size, and in Chromium its load and a filter."""
    from dockbench.benchmark.render import html_page
    from tests.browser import Browser

    head, hosts = fleet(count, unreachable, seed)
    document = {**head, "hosts": list(hosts())}
    t = time.perf_counter()
    page = out_dir / f"single-{count}.html"
    page.write_text(html_page.render_html(document))
    out = {"render_s": round(time.perf_counter() - t, 2), "mb": round(page.stat().st_size / 1e6, 2)}
    del document
    browser = Browser(Path(tempfile.mkdtemp(prefix="dockbench-bench-")))
    try:
        browser.driver.set_script_timeout(300)
        out.update(loaded(browser, page))
        runs = [browser.driver.execute_async_script(APPLY, FILTERS[0][1]) for _ in range(repeat)]
        out["filter_fail_only_to_paint_ms"] = round(statistics.median(r[1] for r in runs), 1)
    finally:
        browser.quit()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--unreachable", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", help="directory for the rendered pages (default: a new temporary one)")
    parser.add_argument("--single", action="store_true", help="also the one-page form of each sweep (built in memory)")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--render-child", nargs=2, metavar=("HOSTS", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.render_child:
        render_child(int(args.render_child[0]), args.unreachable, args.seed, args.render_child[1])
        return 0
    out_dir = Path(args.out or tempfile.mkdtemp(prefix="dockbench-bench-fleet-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {"cpus": os.cpu_count(), "load_avg": os.getloadavg()[0], "sizes": []}
    print(f"pages in {out_dir} (load average {figures['load_avg']:.2f} on {figures['cpus']} CPUs)")
    for count in args.hosts:
        summary = out_dir / f"fleet-{count}.html"
        done = subprocess.run([sys.executable, "-m", "tests.perf.bench_fleet_pages", "--unreachable", str(args.unreachable), "--seed", str(args.seed),
                               "--render-child", str(count), str(summary)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        entry = {"hosts": count, "render": json.loads(done.stdout.splitlines()[-1]), **sizes(summary)}
        r = entry["render"]
        print(f"{count:>6} hosts: render {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, peak RSS {r['peak_rss_mb']:.0f} MB; "
              f"summary {entry['summary_mb']:.2f} MB, host page {entry['host_page_kb']:.0f} KB, all {entry['total_mb']:.0f} MB in {entry['files']} files")
        if not args.no_browser:
            b = entry["browser"] = browser_figures(summary, args.repeat)
            s = b["summary"]
            print(f"        chromium: summary open {s['open_s']:.2f} s (DOMContentLoaded {s['dom_content_loaded_ms']} ms), {s['requests']} requests, "
                  f"JS heap {s['js_heap_mb']} MB, {len(b['console_errors'])} console errors")
            for f in b["filters"]:
                print(f"          filter {f['filter']:<30} script {f['script_ms']:7.1f} ms   to paint {f['to_paint_ms']:7.1f} ms   [{f['shown']}]")
            print(f"          open the first check: {b['open_check']['ms']:.1f} ms ({b['open_check']['rows']} rows); "
                  f"show more hosts: {b['show_more']['ms']:.0f} ms ({b['show_more']['rows']} rows); host page open {b['host_page_open_s']:.2f} s")
        if args.single:
            one = entry["single"] = single_figures(count, args.unreachable, args.seed, out_dir, args.repeat)
            print(f"        one page instead: {one['mb']:.1f} MB, rendered in {one['render_s']:.1f} s, opens in {one['open_s']:.2f} s, "
                  f"filter FAIL only {one['filter_fail_only_to_paint_ms']:.0f} ms to paint")
        figures["sizes"].append(entry)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
