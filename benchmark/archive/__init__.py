"""The compliance archive: every scan kept with its evidence, hash-chained, optionally signed.

Layout::

    base.py      the storage interface (Archive) and its records: Record in, Entry / ScanInfo out
    sqlite.py    SQLiteArchive, the one implementation: a file, WAL, one transaction per scan
    chain.py     what an entry's hash covers (canonical JSON), derived listing columns, verify()
    signing.py   Ed25519 signatures of entry hashes; keygen
    codec.py     compact host reports: static check metadata stored once, by reference
    diff.py      differences between two host reports or two sweeps (diff, reevaluate)
    commands.py  the `history`, `show`, `diff`, `reevaluate` and `archive ...` commands

Every `dockbench scan` stores its host report(s) and facts here unless `--no-archive`; the
default location is ``$XDG_DATA_HOME/dockbench/archive.sqlite3`` (``~/.local/share/...``).

Adding a PostgreSQL backend (for teams whose sweeps run on several machines)
----------------------------------------------------------------------------
Write ``postgres.py`` with ``class PostgresArchive(Archive)`` and make ``open_archive`` return
it for ``postgresql://`` locations; nothing above the interface changes. Keep these rules:

- ``append``: one transaction; serialise appends by locking the chain head first
  (``SELECT ... FROM archive_head FOR UPDATE`` on a one-row table holding head_hash/head_count,
  or ``pg_advisory_xact_lock``), then compute each hash with ``chain.entry_hash_prepared`` and
  insert; ``prev_hash`` and ``scan_id`` UNIQUE. Store ``report``/``facts`` as the canonical
  JSON text (``text``, or ``jsonb`` *plus* the text: jsonb does not keep key order or
  duplicate keys, and the hash is over the text's parse).
- ``scans``: index (host, seq), (hostname, seq), (sweep_id, seq), (kind, seq), started_at.
- ``reading``: a REPEATABLE READ transaction, so verify sees one state.
- ``prune``: delete the oldest prefix and write the checkpoint in one transaction.
- Run the same tests: tests/test_archive*.py take the backend through ``open_archive``.
"""

from __future__ import annotations

import os
from pathlib import Path

from dockbench.benchmark.archive.base import (
    Ambiguous,
    Archive,
    ArchiveError,
    Entry,
    NotFound,
    Record,
    ScanInfo,
    host_key,
)

__all__ = ["Ambiguous", "Archive", "ArchiveError", "Entry", "NotFound", "Record", "ScanInfo", "default_path", "host_key", "open_archive"]


def default_path() -> Path:
    """$XDG_DATA_HOME/dockbench/archive.sqlite3, ~/.local/share/dockbench/... when unset (or relative)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "dockbench" / "archive.sqlite3"


def open_archive(location: str | os.PathLike | None = None, *, create: bool = True, busy_timeout: float = 30.0) -> Archive:
    """The archive at location (a file path; default_path() when None)."""
    from dockbench.benchmark.archive.sqlite import SQLiteArchive

    text = os.fspath(location) if location is not None else ""
    if "://" in text:
        raise ArchiveError(f"{text}: only SQLite archive files are supported (give a path)")
    return SQLiteArchive(Path(text).expanduser() if text else default_path(), create=create, busy_timeout=busy_timeout)
