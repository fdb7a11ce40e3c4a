"""The compliance archive: every scan kept with its evidence, hash-chained, optionally signed.

Layout::

    base.py      the storage interface (Archive) and its records: Record in, Entry / ScanInfo out
    sql.py       SQLArchive: the table layout, append and queries both SQL backends share
    sqlite.py    SQLiteArchive, the default: a file, WAL, one transaction per scan
    postgres.py  PostgresArchive, the team archive (`postgresql://` locations, the postgres extra)
    chain.py     what an entry's hash covers (canonical JSON), derived listing columns, verify()
    signing.py   Ed25519 signatures of entry hashes; keygen
    codec.py     compact host reports: static check metadata stored once, by reference
    diff.py      differences between two host reports or two sweeps (diff, reevaluate)
    commands.py  the `history`, `show`, `diff`, `reevaluate` and `archive ...` commands

Every `dockbench scan` stores its host report(s) and facts here unless `--no-archive`; the
default location is ``$XDG_DATA_HOME/dockbench/archive.sqlite3`` (``~/.local/share/...``).

A location that starts with ``postgresql://`` (or ``postgres://``) is a PostgreSQL archive
shared by a team; how it keeps one chain with many writers is told in postgres.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from dockbench.benchmark.archive.base import (
    Ambiguous,
    Archive,
    ArchiveError,
    Duplicate,
    Entry,
    NotFound,
    Record,
    ScanInfo,
)

__all__ = ["Ambiguous", "Archive", "ArchiveError", "Duplicate", "Entry", "NotFound", "Record", "ScanInfo", "default_path", "open_archive"]


def default_path() -> Path:
    """$XDG_DATA_HOME/dockbench/archive.sqlite3, ~/.local/share/dockbench/... when unset (or relative)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "dockbench" / "archive.sqlite3"


def open_archive(location: str | os.PathLike | None = None, *, create: bool = True, busy_timeout: float = 30.0) -> Archive:
    """The archive at location: a PostgreSQL URL, or a file path (default_path() when None)."""
    from dockbench.benchmark.archive import postgres
    from dockbench.benchmark.archive.sqlite import SQLiteArchive

    text = os.fspath(location) if location is not None else ""
    if postgres.is_url(text):
        return postgres.PostgresArchive(text, create=create, busy_timeout=busy_timeout)
    if "://" in text:
        raise ArchiveError(f"{postgres.mask(text)}: not an archive location (give a file path or a postgresql:// URL)")
    return SQLiteArchive(Path(text).expanduser() if text else default_path(), create=create, busy_timeout=busy_timeout)
