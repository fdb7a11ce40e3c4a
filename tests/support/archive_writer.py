"""A process that writes scans into an archive, for the concurrency and crash tests.

    python -m tests.support.archive_writer ARCHIVE WRITER_ID COUNT [--die-after N]

ARCHIVE is a file or a postgresql:// URL.

Writes COUNT items, alternately a host scan and a sweep of 3 host scans (all real reports
with facts), then exits. Prints "ready" once its material is prepared and before it opens
the archive. With --die-after N it SIGKILLs itself on its Nth SQL statement, i.e. at that
point inside some write (COUNT is then usually large: it dies first). COUNT 0 means forever.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import sys

from dockbench.benchmark.archive import open_archive
from tests.support import archive as material


class Dying:
    """The archive's connection, killing this process on its Nth statement."""

    def __init__(self, db, after: int):
        self._db, self._left = db, after

    def execute(self, *args, **kwargs):
        self._left -= 1
        if self._left <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
        return self._db.execute(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._db, name)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("archive")
    parser.add_argument("writer")
    parser.add_argument("count", type=int)
    parser.add_argument("--die-after", type=int)
    args = parser.parse_args()
    material.host_scan("warm-up")   # judge the recorded facts once, before the clock matters
    print("ready", flush=True)
    with open_archive(args.archive, busy_timeout=60) as archive:
        if args.die_after:
            archive.db = Dying(archive.db, args.die_after)
        for i in itertools.count() if args.count == 0 else range(args.count):
            name = f"{args.writer}-{i}"
            if i % 2 == 0:
                report, facts = material.host_scan(f"{args.writer}-host")
                archive.put_scan("host", report["target"]["name"], report, facts, options={"writer": args.writer})
            else:
                scans = [material.host_scan(f"{name}-h{h}") for h in range(3)]
                document = material.sweep([r for r, _ in scans])
                archive.put_sweep(document, {r["target"]["name"]: f for r, f in scans}, options={"writer": args.writer})
    return 0


if __name__ == "__main__":
    sys.exit(main())
