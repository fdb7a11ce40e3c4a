"""The embedded archive: one SQLite file (stdlib sqlite3), safe for several writers at once.

- WAL journal, ``busy_timeout`` (30 s by default), ``synchronous=FULL``: readers never block
  writers, concurrent writers wait their turn, a committed scan survives a crash.
- Every append runs in one ``BEGIN IMMEDIATE`` transaction: the write lock is taken before the
  chain head is read, so appends are serialised and a process killed mid-write leaves either
  the whole scan (or sweep) or nothing. ``prev_hash`` is UNIQUE: the chain cannot fork.
- Reports and facts are stored as zlib-compressed JSON (key order kept); host reports keep each
  check's static metadata in ``check_meta`` by reference (see codec).
- The schema version is ``PRAGMA user_version``; an archive from a newer dockbench is refused,
  an older one would be migrated in one transaction (MIGRATIONS).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dockbench.benchmark import clock
from dockbench.benchmark.archive.base import (
    ArchiveError,
    Checkpoint,
    Duplicate,
    Entry,
    Head,
    NotFound,
)
from dockbench.benchmark.archive.chain import GENESIS
from dockbench.benchmark.archive.sql import SQLArchive

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE entries (
    seq         INTEGER PRIMARY KEY,          -- position in the chain
    scan_id     TEXT NOT NULL UNIQUE,         -- a host report's scan_id, or a sweep's sweep_id
    kind        TEXT NOT NULL CHECK (kind IN ('host', 'sweep')),
    host        TEXT,                         -- filed under: target name, or hostname for local scans
    hostname    TEXT,
    sweep_id    TEXT,                         -- host entries made by a sweep
    started_at  TEXT,
    finished_at TEXT,
    recorded_at TEXT NOT NULL,
    score       REAL,
    n_fail INTEGER NOT NULL, n_error INTEGER NOT NULL, n_manual INTEGER NOT NULL,
    n_pass INTEGER NOT NULL, n_na INTEGER NOT NULL, total INTEGER NOT NULL,
    n_waived    INTEGER,                      -- results waived (NULL: stored by schema 1, counted from statuses)
    statuses    TEXT NOT NULL,                -- JSON {check id: status}
    options     TEXT,                         -- JSON: how the scan was judged
    report      BLOB NOT NULL,                -- zlib(JSON), results' static metadata by reference
    facts       BLOB,                         -- zlib(JSON)
    prev_hash   TEXT NOT NULL UNIQUE,
    hash        TEXT NOT NULL UNIQUE,
    signature   TEXT,                         -- Ed25519 over the hash (base64), optional
    key_id      TEXT
);
CREATE INDEX entries_host ON entries (host, seq);
CREATE INDEX entries_hostname ON entries (hostname, seq);
CREATE INDEX entries_sweep ON entries (sweep_id, seq);
CREATE INDEX entries_kind ON entries (kind, seq);
CREATE INDEX entries_started ON entries (started_at);
CREATE TABLE check_meta (
    id   TEXT PRIMARY KEY,                    -- codec.meta_id(data)
    data TEXT NOT NULL
);
CREATE TABLE prunes (
    pruned_at    TEXT NOT NULL,
    deleted      INTEGER NOT NULL,
    through_seq  INTEGER NOT NULL,
    through_hash TEXT NOT NULL
);
"""

# version -> statements taking an archive from version-1 to version (SCHEMA is the newest)
MIGRATIONS: dict[int, str] = {
    2: "ALTER TABLE entries ADD COLUMN n_waived INTEGER",   # instant: older entries' counts are read from statuses
}


class SQLiteArchive(SQLArchive):
    KIND_FILTER = "+kind = ?"   # '+': a filter, not the index
    STATUS_OF = """json_extract(statuses, '$."' || ? || '"')"""
    WAIVED = "(SELECT count(*) FROM json_each(entries.statuses) WHERE value LIKE '%+waived')"
    INSERT_META = "INSERT OR IGNORE INTO check_meta VALUES (?, ?)"

    def __init__(self, path: str | os.PathLike, *, create: bool = True, busy_timeout: float = 30.0):
        super().__init__()
        self.path = Path(path)
        self.location = str(self.path)
        if not self.path.exists():
            if not create:
                raise NotFound(f"no archive at {self.path}")
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:   # the archive says how hosts are exposed: readable by its owner only
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass
        try:
            self.db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)
            self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._setup()
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"{self.path}: not a usable dockbench archive ({exc})") from exc

    # ---------------------------------------------------------------- schema

    def _setup(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")   # only takes effect before the first table
        if self.db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise ArchiveError(f"{self.path} has archive schema {version}; this dockbench knows up to {SCHEMA_VERSION}: upgrade dockbench")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]   # another process may have won
            if version == 0:
                for statement in SCHEMA.split(";"):   # not executescript: it would COMMIT first
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute("INSERT INTO meta VALUES ('created_at', ?), ('head_count', '0'), ('head_hash', ?)", (clock.stamp(precise=True), GENESIS))
                version = SCHEMA_VERSION
            while version < SCHEMA_VERSION:
                version += 1
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # ---------------------------------------------------------------- writing

    def _lock_head(self) -> tuple[str, int, None]:
        try:
            self.db.execute("BEGIN IMMEDIATE")   # the write lock, before the head is read
        except sqlite3.OperationalError as exc:
            raise ArchiveError(f"{self.path}: {exc}") from exc
        try:
            return self._meta("head_hash") or GENESIS, int(self._meta("head_count") or 0), None   # seq: SQLite's rowid
        except BaseException:
            self._rollback()
            raise

    def _record_head(self, head_hash: str, count: int, seq: int, recorded_at: str) -> None:
        self.db.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (head_hash,))
        self.db.execute("UPDATE meta SET value = ? WHERE key = 'head_count'", (str(count),))

    def _commit(self) -> None:
        self.db.execute("COMMIT")

    def _rollback(self) -> None:
        try:
            self.db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _failed(self, exc: BaseException) -> BaseException:
        if isinstance(exc, sqlite3.IntegrityError) and "scan_id" in str(exc):
            return Duplicate(f"scan id already in the archive: {exc}")
        if isinstance(exc, sqlite3.Error):
            return ArchiveError(f"{self.path}: {exc}")
        return exc

    def _save_checkpoint(self, point: Checkpoint) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('checkpoint', ?)", (json.dumps(point.__dict__),))

    def _after_prune(self) -> None:
        self.db.execute("PRAGMA incremental_vacuum")

    # ---------------------------------------------------------------- reading

    def iterate(self) -> Iterator[Entry]:
        yield from self._decoded(self.db.execute(f"SELECT {self._full_columns()}, facts FROM entries ORDER BY seq"))   # one statement: one snapshot

    @contextmanager
    def reading(self):
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN")   # deferred: the first read fixes the snapshot every later read sees
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def head(self) -> Head:
        head_hash = self._meta("head_hash")
        return Head(count=int(self._meta("head_count") or 0), hash=None if head_hash in (None, GENESIS) else head_hash)

    def storage_problems(self) -> list[str]:
        problems = [f"SQLite integrity: {row[0]}" for row in self.db.execute("PRAGMA quick_check") if row[0] != "ok"]
        return problems + super().storage_problems()

    def close(self) -> None:
        self.db.close()
