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

import dataclasses
import json
import os
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dockbench.benchmark import clock
from dockbench.benchmark.archive import codec
from dockbench.benchmark.archive.base import (
    KINDS,
    Ambiguous,
    Archive,
    ArchiveError,
    Checkpoint,
    Entry,
    Head,
    NotFound,
    PruneResult,
    Record,
    ScanInfo,
)
from dockbench.benchmark.archive.chain import (
    GENESIS,
    canonical,
    compact,
    derive,
    entry_hash_prepared,
    normalize,
)

SCHEMA_VERSION = 1

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

# version -> statements taking an archive from version-1 to version (none yet)
MIGRATIONS: dict[int, str] = {}

COLUMNS = ("seq, scan_id, kind, host, hostname, sweep_id, started_at, finished_at, recorded_at, score, "
           "n_fail, n_error, n_manual, n_pass, n_na, total, statuses, key_id")
FULL_COLUMNS = COLUMNS + ", options, report, prev_hash, hash, signature"


def _pack(data: bytes) -> bytes:
    return zlib.compress(data, 6)


def _unpack(blob: bytes | None) -> Any:
    if blob is None:
        return None
    return json.loads(zlib.decompress(blob).decode("utf-8", "surrogatepass"))


def prepare(record: Record, keep_documents: bool = True) -> dict[str, Any]:
    """Everything about a record that does not depend on the chain: normalised, hashed input,
    compressed blobs. Pure and picklable, so a worker process can do it. Without
    keep_documents the normalised report and facts are dropped (the Entry append returns then
    has none): they are the bulk of what would travel back from the worker."""
    if record.kind not in KINDS:
        raise ArchiveError(f"unknown entry kind {record.kind!r}")
    if not record.scan_id:
        raise ArchiveError("an entry needs a scan id")
    report = normalize(record.report)
    facts = normalize(record.facts) if record.facts is not None else None
    stored, metas = codec.split(report) if record.kind == "host" else (report, {})
    return {
        "record": dataclasses.replace(record, report=None, facts=None) if not keep_documents else record,
        "report": report if keep_documents else None, "facts": facts if keep_documents else None,
        "options": normalize(record.options) if record.options is not None else None,
        "report_json": canonical(report), "facts_json": canonical(facts), "metas": metas,
        "report_blob": _pack(compact(stored)), "facts_blob": _pack(compact(facts)) if facts is not None else None,
        "derived": derive(record.kind, report),
    }


class SQLiteArchive(Archive):
    def __init__(self, path: str | os.PathLike, *, create: bool = True, busy_timeout: float = 30.0):
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
        self._metas: dict[str, dict[str, Any]] = {}
        self._lites: dict[str, dict[str, Any]] = {}
        self._known_metas: set[str] = set()

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

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # ---------------------------------------------------------------- writing

    def append(self, records: Sequence[Record | dict[str, Any]], signer=None) -> list[Entry]:
        """Records, or what prepare() made of them (e.g. in a sweep's worker process)."""
        prepared = [r if isinstance(r, dict) else prepare(r) for r in records]   # the heavy work, before the write lock
        entries: list[Entry] = []
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise ArchiveError(f"{self.path}: {exc}") from exc
        try:
            prev = self._meta("head_hash") or GENESIS
            count = int(self._meta("head_count") or 0)
            recorded_at = clock.stamp(precise=True)
            for item in prepared:
                record = item["record"]
                for ident, meta in item["metas"].items():
                    if ident not in self._known_metas:
                        self.db.execute("INSERT OR IGNORE INTO check_meta VALUES (?, ?)", (ident, compact(meta).decode("utf-8", "surrogatepass")))
                        self._known_metas.add(ident)
                fields = {"kind": record.kind, "scan_id": record.scan_id, "sweep_id": record.sweep_id, "host": record.host,
                          "recorded_at": recorded_at, "options": item["options"], "prev_hash": prev}
                digest = entry_hash_prepared(fields, item["report_json"], item["facts_json"])
                signature = signer.sign(digest) if signer is not None else None
                key_id = signer.key_id if signer is not None else None
                d = item["derived"]
                c = d["counts"]
                cursor = self.db.execute(
                    "INSERT INTO entries (scan_id, kind, host, hostname, sweep_id, started_at, finished_at, recorded_at, score,"
                    " n_fail, n_error, n_manual, n_pass, n_na, total, statuses, options, report, facts, prev_hash, hash, signature, key_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.scan_id, record.kind, record.host, d["hostname"], record.sweep_id, d["started_at"], d["finished_at"],
                     recorded_at, d["score"], c["FAIL"], c["ERROR"], c["MANUAL"], c["PASS"], c["NOT_APPLICABLE"], d["total"],
                     json.dumps(d["statuses"], separators=(",", ":")),
                     canonical(item["options"]).decode("utf-8", "surrogatepass") if item["options"] is not None else None,
                     item["report_blob"], item["facts_blob"], prev, digest, signature, key_id),
                )
                entries.append(Entry(
                    seq=cursor.lastrowid, scan_id=record.scan_id, kind=record.kind, host=record.host, hostname=d["hostname"],
                    sweep_id=record.sweep_id, started_at=d["started_at"], finished_at=d["finished_at"], recorded_at=recorded_at,
                    score=d["score"], counts=c, total=d["total"], statuses=d["statuses"], signed_by=key_id,
                    report=item["report"], facts=item["facts"], options=item["options"], prev_hash=prev, hash=digest, signature=signature,
                ))
                prev = digest
                count += 1
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (prev,))
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'head_count'", (str(count),))
            self.db.execute("COMMIT")
        except BaseException as exc:
            self._known_metas.clear()   # rolled back: they may not be there
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            if isinstance(exc, sqlite3.IntegrityError) and "scan_id" in str(exc):
                raise ArchiveError(f"scan id already in the archive: {exc}") from exc
            if isinstance(exc, sqlite3.Error):
                raise ArchiveError(f"{self.path}: {exc}") from exc
            raise
        return entries

    def prune(self, before: str, signer=None) -> PruneResult:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            doomed = None
            deleted = 0
            for row in self.db.execute("SELECT seq, scan_id, recorded_at, hash, signature, key_id FROM entries ORDER BY seq").fetchall():
                if row[2] >= before:
                    break
                doomed, deleted = row, deleted + 1
            if doomed is None:
                self.db.execute("COMMIT")
                return PruneResult(0, self.checkpoint())
            old = self.checkpoint()
            signature, key_id = doomed[4], doomed[5]
            if signature is None and signer is not None:
                signature, key_id = signer.sign(doomed[3]), signer.key_id
            point = Checkpoint(count=(old.count if old else 0) + deleted, through_seq=doomed[0], through_hash=doomed[3],
                               through_scan_id=doomed[1], signature=signature, key_id=key_id, pruned_at=clock.stamp(precise=True))
            self.db.execute("DELETE FROM entries WHERE seq <= ?", (doomed[0],))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('checkpoint', ?)", (json.dumps(point.__dict__),))
            self.db.execute("INSERT INTO prunes VALUES (?, ?, ?, ?)", (point.pruned_at, deleted, point.through_seq, point.through_hash))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("PRAGMA incremental_vacuum")
        return PruneResult(deleted, point)

    # ---------------------------------------------------------------- reading

    def _meta_of(self, ident: str) -> dict[str, Any]:
        meta = self._metas.get(ident)
        if meta is None:
            row = self.db.execute("SELECT data FROM check_meta WHERE id = ?", (ident,)).fetchone()
            if row is None:
                raise ArchiveError(f"shared check metadata {ident} is missing from the archive")
            meta = self._metas[ident] = json.loads(row[0])
        return meta

    def _lite_of(self, ident: str) -> dict[str, Any]:
        extra = self._lites.get(ident)
        if extra is None:
            extra = self._lites[ident] = codec.lite_fields(self._meta_of(ident))
        return extra

    @staticmethod
    def _info(row) -> dict[str, Any]:
        return {
            "seq": row[0], "scan_id": row[1], "kind": row[2], "host": row[3], "hostname": row[4], "sweep_id": row[5],
            "started_at": row[6], "finished_at": row[7], "recorded_at": row[8], "score": row[9],
            "counts": {"FAIL": row[10], "ERROR": row[11], "MANUAL": row[12], "PASS": row[13], "NOT_APPLICABLE": row[14]},
            "total": row[15], "statuses": json.loads(row[16]), "signed_by": row[17],
        }

    def _entry(self, row, facts_blob: bytes | None, lite: bool = False) -> Entry:
        n = len(COLUMNS.split(","))
        options, report_blob, prev_hash, digest, signature = row[n:n + 5]
        report = codec.lite(_unpack(report_blob), self._lite_of) if lite else codec.join(_unpack(report_blob), self._meta_of)
        return Entry(**self._info(row), report=report, facts=_unpack(facts_blob),
                     options=json.loads(options) if options is not None else None,
                     prev_hash=prev_hash, hash=digest, signature=signature)

    def resolve(self, prefix: str, kind: str | None = None) -> str:
        prefix = prefix.strip()
        if not prefix:
            raise NotFound("an empty scan id")
        sql = "SELECT scan_id FROM entries WHERE scan_id >= ? AND scan_id < ?"
        args: list[Any] = [prefix, prefix + "\U0010ffff"]
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        rows = [r[0] for r in self.db.execute(sql + " LIMIT 6", args)]
        if prefix in rows:
            return prefix
        if not rows:
            raise NotFound(f"no {'sweep' if kind == 'sweep' else 'scan'} id starts with {prefix!r} in {self.path}")
        if len(rows) > 1:
            raise Ambiguous(f"{prefix!r} names several scans ({', '.join(rows[:5])}{', …' if len(rows) > 5 else ''}): give more of the id")
        return rows[0]

    def get(self, scan_id: str, *, facts: bool = True, lite: bool = False) -> Entry:
        row = self.db.execute(f"SELECT {FULL_COLUMNS}, {'facts' if facts else 'NULL'} FROM entries WHERE scan_id = ?", (scan_id,)).fetchone()
        if row is None:
            raise NotFound(f"no scan {scan_id} in {self.path}")
        return self._entry(row[:-1], row[-1], lite)

    def scans(self, *, host=None, kind=None, sweep_id=None, since=None, last=None) -> list[ScanInfo]:
        where, args = [], []
        if host is not None:
            where.append("(host = ? OR hostname = ?)")
            args += [host, host]
        if kind is not None:
            where.append("+kind = ?" if host is not None or sweep_id is not None else "kind = ?")   # '+': a filter, not the index
            args.append(kind)
        if sweep_id is not None:
            where.append("sweep_id = ?")
            args.append(sweep_id)
        if since is not None:
            where.append("started_at >= ?")
            args.append(since)
        sql = f"SELECT {COLUMNS} FROM entries" + (" WHERE " + " AND ".join(where) if where else "")
        if last is not None:
            rows = self.db.execute(sql + " ORDER BY seq DESC LIMIT ?", (*args, int(last))).fetchall()[::-1]
        else:
            rows = self.db.execute(sql + " ORDER BY seq", args).fetchall()
        return [ScanInfo(**self._info(row)) for row in rows]

    def iterate(self) -> Iterator[Entry]:
        for row in self.db.execute(f"SELECT {FULL_COLUMNS}, facts FROM entries ORDER BY seq"):   # one statement: one snapshot
            try:
                yield self._entry(row[:-1], row[-1])
            except (zlib.error, ValueError, TypeError, KeyError, ArchiveError) as exc:
                yield self._damaged(row, exc)

    def _damaged(self, row, exc: Exception) -> Entry:
        """An entry whose stored bytes no longer decode: enough of it for verify to name it."""
        n = len(COLUMNS.split(","))
        try:
            info = self._info(row)
        except (ValueError, TypeError):
            info = {"seq": row[0], "scan_id": row[1], "kind": row[2], "host": row[3], "hostname": row[4], "sweep_id": row[5],
                    "started_at": row[6], "finished_at": row[7], "recorded_at": row[8], "score": row[9], "counts": {}, "total": 0}
        return Entry(**info, prev_hash=row[n + 2], hash=row[n + 3], signature=row[n + 4], damage=f"{type(exc).__name__}: {exc}")

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

    def checkpoint(self) -> Checkpoint | None:
        value = self._meta("checkpoint")
        return Checkpoint(**json.loads(value)) if value else None

    def head(self) -> Head:
        head_hash = self._meta("head_hash")
        return Head(count=int(self._meta("head_count") or 0), hash=None if head_hash in (None, GENESIS) else head_hash)

    def storage_problems(self) -> list[str]:
        problems = [f"SQLite integrity: {row[0]}" for row in self.db.execute("PRAGMA quick_check") if row[0] != "ok"]
        for ident, data in self.db.execute("SELECT id, data FROM check_meta"):
            try:
                ok = codec.meta_id(json.loads(data)) == ident
            except ValueError:
                ok = False
            if not ok:
                problems.append(f"shared check metadata {ident} was edited: every host scan using it will not verify")
        return problems

    def close(self) -> None:
        self.db.close()
