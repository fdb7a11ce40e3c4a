"""Several processes writing one archive at once, and writers killed with SIGKILL mid-write:
every committed scan is whole, none is half there, and the chain verifies. On both backends:
an SQLite file, and a PostgreSQL database that the writers also race to create the schema in."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from dockbench.benchmark.archive import open_archive
from dockbench.benchmark.archive.chain import verify

ROOT = Path(__file__).resolve().parent.parent


def writer(archive, name: str, count: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.support.archive_writer", str(archive), name, str(count), *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def consistent(path) -> tuple[int, list]:
    """Check the archive as a whole; return (entries, infos)."""
    with open_archive(path) as archive:
        result = verify(archive)
        assert result.ok, [p.message for p in result.problems]
        infos = archive.scans()
        assert archive.head().count == len(infos)
        by_id = {i.scan_id: i for i in infos}
        sweeps = [i for i in infos if i.kind == "sweep"]
        for info in sweeps:   # a sweep is all there or not at all
            members = archive.get(info.scan_id).report["hosts"]
            assert len(members) == 3 and all(by_id[m].sweep_id == info.scan_id for m in members)
        orphans = [i for i in infos if i.sweep_id and i.sweep_id not in by_id]
        assert not orphans, "host scans of a sweep whose sweep entry is missing: a partial sweep"
        for info in infos:
            entry = archive.get(info.scan_id)
            assert entry.report["scan_id" if entry.kind == "host" else "sweep_id"] == info.scan_id
            assert entry.kind == "sweep" or entry.facts["facts_version"]
    return len(infos), infos


def test_parallel_writers_all_land_and_the_chain_verifies(archive_location):
    path = archive_location   # not created yet: the writers race to create it too
    count = 6   # 3 host scans + 3 sweeps (of 3 hosts) each: 3 + 3 * 4 = 15 entries
    procs = [writer(path, f"w{i}", count) for i in range(5)]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
    total, infos = consistent(path)
    assert total == 5 * 15
    for i in range(5):
        assert sum(1 for x in infos if x.host == f"w{i}-host") == 3
    # the chain interleaves writers: appends were serialised, not one writer after the other
    hosts = [x.host for x in infos if x.kind == "host" and x.host.endswith("-host")]
    assert hosts != sorted(hosts)


def test_writers_killed_at_random_points_leave_no_partial_scan(archive_location):
    path = archive_location
    rng = random.Random()
    seen = 0
    for round_ in range(8):
        if round_ % 2 == 0:
            # die inside the SQLite work of some write (often between a sweep's INSERTs)
            proc = writer(path, f"k{round_}", 0, "--die-after", str(rng.randint(3, 600)))
            proc.wait(timeout=120)
        else:
            # die wherever the clock says (compressing, hashing, committing, fsync...)
            proc = writer(path, f"k{round_}", 0)
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.05, 0.6))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
        total, _ = consistent(path)
        assert total >= seen
        seen = total
    # and the archive still takes writes
    proc = writer(path, "after", 2)
    assert proc.wait(timeout=120) == 0
    assert consistent(path)[0] == seen + 1 + 4
