"""What the SQL backends share: one table layout of entries, the append and the queries.

SQLArchive keeps the row handling written once; a backend (sqlite.py, postgres.py) opens the
connection, sets up its schema and says how it takes the write lock, reads and records the
chain head, and spells the few statements that differ between the two SQL dialects.
Statements use ``?`` placeholders; a backend whose driver wants another style converts them in
``_execute``.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Iterator, Sequence
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
    NotFound,
    PruneResult,
    Record,
    ScanInfo,
)
from dockbench.benchmark.archive.chain import canonical, compact, derive, entry_hash_prepared, normalize

LISTING = ("seq, scan_id, kind, host, hostname, sweep_id, started_at, finished_at, recorded_at, score, "
           "n_fail, n_error, n_manual, n_pass, n_na, total, coalesce(n_waived, {waived}), key_id")   # narrow: what a listing shows
LISTED = 18
INSERT = ("INSERT INTO entries (seq, scan_id, kind, host, hostname, sweep_id, started_at, finished_at, recorded_at, score,"
          " n_fail, n_error, n_manual, n_pass, n_na, total, n_waived, statuses, options, report, facts, prev_hash, hash, signature, key_id)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def pack(data: bytes) -> bytes:
    return zlib.compress(data, 6)


def unpack(blob: bytes | None) -> Any:
    if blob is None:
        return None
    return json.loads(zlib.decompress(blob).decode("utf-8", "surrogatepass"))


def prepare(record: Record, keep_documents: bool = True) -> dict[str, Any]:
    """The heavy work of storing a record (normalising, canonical JSON, compressing), done
    before the write lock is taken. Pure and picklable, so a sweep's worker process can do it.
    Without keep_documents the normalised report and facts are dropped (the Entry append
    returns then has none): they are the bulk of what would travel back from the worker."""
    if record.kind not in KINDS:
        raise ArchiveError(f"unknown entry kind {record.kind!r}")
    if not record.scan_id:
        raise ArchiveError("an entry needs a scan id")
    report = normalize(record.report)
    facts = normalize(record.facts) if record.facts is not None else None
    options = normalize(record.options) if record.options is not None else None
    stored, metas = codec.split(report) if record.kind == "host" else (report, {})
    return {
        "record": record if keep_documents else dataclasses.replace(record, report=None, facts=None),
        "report": report if keep_documents else None, "facts": facts if keep_documents else None, "options": options,
        "report_json": canonical(report), "facts_json": canonical(facts), "metas": metas,
        "report_blob": pack(compact(stored)), "facts_blob": pack(compact(facts)) if facts is not None else None,
        "derived": derive(record.kind, report),
    }


class SQLArchive(Archive):
    """An archive in one SQL database with the tables entries, check_meta and meta."""

    KIND_FILTER = "kind = ?"           # how kind is filtered when another index already narrows
    STATUSES = "statuses"              # the statuses column read as JSON text
    STATUS_OF = "statuses ->> ?"       # one check's status in it (NULL when the check did not run)
    WAIVED = "NULL"                    # the waived results counted in statuses: entries stored before n_waived was
    INSERT_META = "INSERT INTO check_meta VALUES (?, ?)"   # must ignore an id already there

    db: Any

    def __init__(self) -> None:
        self._metas: dict[str, dict[str, Any]] = {}
        self._lites: dict[str, dict[str, Any]] = {}
        self._known_metas: set[str] = set()

    # ---------------------------------------------------------------- backend hooks

    def _execute(self, sql: str, args: Sequence[Any] = ()):
        return self.db.execute(sql, args)

    def _lock_head(self) -> tuple[str, int, int | None]:
        """Begin the append transaction holding the write lock; (head hash, count, last seq or None)."""
        raise NotImplementedError

    def _record_head(self, head_hash: str, count: int, seq: int, recorded_at: str) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def _failed(self, exc: BaseException) -> BaseException:
        """The error to raise for a failed append (a duplicate scan id, a lost connection...)."""
        return exc

    def _save_checkpoint(self, point: Checkpoint) -> None:
        raise NotImplementedError

    def _after_prune(self) -> None:
        """Give the space of pruned entries back, where the backend does not on its own."""

    def _statuses_param(self, statuses: dict[str, str]) -> Any:
        return json.dumps(statuses, separators=(",", ":"))

    # ---------------------------------------------------------------- writing

    def append(self, records: Sequence[Record | dict[str, Any]], signer=None) -> list[Entry]:
        """Records, or what prepare() made of them (e.g. in a sweep's worker process)."""
        prepared = [r if isinstance(r, dict) else prepare(r) for r in records]   # the heavy work, before the write lock
        entries: list[Entry] = []
        prev, count, seq = self._lock_head()
        try:
            recorded_at = clock.stamp(precise=True)
            for item in prepared:
                record = item["record"]
                for ident, meta in item["metas"].items():
                    if ident not in self._known_metas:
                        self._execute(self.INSERT_META, (ident, compact(meta).decode("utf-8", "surrogatepass")))
                        self._known_metas.add(ident)
                fields = {"kind": record.kind, "scan_id": record.scan_id, "sweep_id": record.sweep_id, "host": record.host,
                          "recorded_at": recorded_at, "options": item["options"], "prev_hash": prev}
                digest = entry_hash_prepared(fields, item["report_json"], item["facts_json"])
                signature = signer.sign(digest) if signer is not None else None
                key_id = signer.key_id if signer is not None else None
                d = item["derived"]
                c = d["counts"]
                cursor = self._execute(INSERT, (
                    seq + 1 if seq is not None else None, record.scan_id, record.kind, record.host, d["hostname"], record.sweep_id,
                    d["started_at"], d["finished_at"], recorded_at, d["score"], c["FAIL"], c["ERROR"], c["MANUAL"], c["PASS"],
                    c["NOT_APPLICABLE"], d["total"], d["waived"], self._statuses_param(d["statuses"]),
                    canonical(item["options"]).decode("utf-8", "surrogatepass") if item["options"] is not None else None,
                    item["report_blob"], item["facts_blob"], prev, digest, signature, key_id))
                seq = seq + 1 if seq is not None else cursor.lastrowid
                entries.append(Entry(
                    seq=seq, scan_id=record.scan_id, kind=record.kind, host=record.host, hostname=d["hostname"],
                    sweep_id=record.sweep_id, started_at=d["started_at"], finished_at=d["finished_at"], recorded_at=recorded_at,
                    score=d["score"], counts=c, total=d["total"], waived=d["waived"], statuses=d["statuses"], signed_by=key_id,
                    report=item["report"], facts=item["facts"], options=item["options"], prev_hash=prev, hash=digest, signature=signature,
                ))
                prev = digest
                count += 1
            self._record_head(prev, count, seq, recorded_at)
            self._commit()
        except BaseException as exc:
            self._known_metas.clear()   # rolled back: they may not be there
            self._rollback()
            failure = self._failed(exc)
            if failure is exc:
                raise
            raise failure from exc
        return entries

    def prune(self, before: str, signer=None) -> PruneResult:
        self._lock_head()   # no append lands between choosing the prefix and deleting it
        try:
            first_kept = self._execute("SELECT min(seq) FROM entries WHERE recorded_at >= ?", (before,)).fetchone()[0]
            bound = "seq < ?" if first_kept is not None else "seq IS NOT NULL"
            args = (first_kept,) if first_kept is not None else ()
            deleted = self._execute(f"SELECT count(*) FROM entries WHERE {bound}", args).fetchone()[0]
            if not deleted:
                self._commit()
                return PruneResult(0, self.checkpoint())
            doomed = self._execute(f"SELECT seq, scan_id, hash, signature, key_id FROM entries WHERE {bound} ORDER BY seq DESC LIMIT 1", args).fetchone()
            old = self.checkpoint()
            signature, key_id = doomed[3], doomed[4]
            if signature is None and signer is not None:
                signature, key_id = signer.sign(doomed[2]), signer.key_id
            point = Checkpoint(count=(old.count if old else 0) + deleted, through_seq=doomed[0], through_hash=doomed[2],
                               through_scan_id=doomed[1], signature=signature, key_id=key_id, pruned_at=clock.stamp(precise=True))
            self._execute("DELETE FROM entries WHERE seq <= ?", (doomed[0],))
            self._save_checkpoint(point)
            self._execute("INSERT INTO prunes VALUES (?, ?, ?, ?)", (point.pruned_at, deleted, point.through_seq, point.through_hash))
            self._commit()
        except BaseException as exc:
            self._rollback()
            failure = self._failed(exc)
            if failure is exc:
                raise
            raise failure from exc
        self._after_prune()
        return PruneResult(deleted, point)

    # ---------------------------------------------------------------- reading

    def _meta(self, key: str) -> str | None:
        row = self._execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def checkpoint(self) -> Checkpoint | None:
        value = self._meta("checkpoint")
        return Checkpoint(**json.loads(value)) if value else None

    def _meta_of(self, ident: str) -> dict[str, Any]:
        meta = self._metas.get(ident)
        if meta is None:
            row = self._execute("SELECT data FROM check_meta WHERE id = ?", (ident,)).fetchone()
            if row is None:
                raise ArchiveError(f"shared check metadata {ident} is missing from the archive")
            meta = self._metas[ident] = json.loads(row[0])
        return meta

    def _lite_of(self, ident: str) -> dict[str, Any]:
        extra = self._lites.get(ident)
        if extra is None:
            extra = self._lites[ident] = codec.lite_fields(self._meta_of(ident))
        return extra

    def _listing(self) -> str:
        return LISTING.format(waived=self.WAIVED)

    def _full_columns(self) -> str:
        return f"{self._listing()}, {self.STATUSES}, options, report, prev_hash, hash, signature"

    def _info(self, row) -> dict[str, Any]:
        """A row's LISTING columns."""
        return {
            "seq": row[0], "scan_id": row[1], "kind": row[2], "host": row[3], "hostname": row[4], "sweep_id": row[5],
            "started_at": row[6], "finished_at": row[7], "recorded_at": row[8], "score": row[9],
            "counts": {"FAIL": row[10], "ERROR": row[11], "MANUAL": row[12], "PASS": row[13], "NOT_APPLICABLE": row[14]},
            "total": row[15], "waived": row[16], "signed_by": row[17],
        }

    def _entry(self, row, facts_blob: bytes | None, lite: bool = False) -> Entry:
        statuses, options, report_blob, prev_hash, digest, signature = row[LISTED:LISTED + 6]
        report = codec.lite(unpack(report_blob), self._lite_of) if lite else codec.join(unpack(report_blob), self._meta_of)
        return Entry(**self._info(row), statuses=json.loads(statuses), report=report, facts=unpack(facts_blob),
                     options=json.loads(options) if options is not None else None,
                     prev_hash=prev_hash, hash=digest, signature=signature)

    def _damaged(self, row, exc: Exception) -> Entry:
        """An entry whose stored bytes no longer decode: enough of it for verify to name it."""
        try:
            info = self._info(row)
        except (ValueError, TypeError):
            info = {"seq": row[0], "scan_id": row[1], "kind": row[2], "host": row[3], "hostname": row[4], "sweep_id": row[5],
                    "started_at": row[6], "finished_at": row[7], "recorded_at": row[8], "score": row[9], "counts": {}, "total": 0}
        return Entry(**info, prev_hash=row[LISTED + 3], hash=row[LISTED + 4], signature=row[LISTED + 5], damage=f"{type(exc).__name__}: {exc}")

    def _decoded(self, rows) -> Iterator[Entry]:
        for row in rows:
            try:
                yield self._entry(row[:-1], row[-1])
            except (zlib.error, ValueError, TypeError, KeyError, ArchiveError) as exc:
                yield self._damaged(row, exc)

    def resolve(self, prefix: str, kind: str | None = None) -> str:
        prefix = prefix.strip()
        if not prefix:
            raise NotFound("an empty scan id")
        sql = "SELECT scan_id FROM entries WHERE scan_id >= ? AND scan_id < ?"
        args: list[Any] = [prefix, prefix + "\U0010ffff"]
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        rows = [r[0] for r in self._execute(sql + " LIMIT 6", args)]
        if prefix in rows:
            return prefix
        if not rows:
            raise NotFound(f"no {'sweep' if kind == 'sweep' else 'scan'} id starts with {prefix!r} in {self.location}")
        if len(rows) > 1:
            raise Ambiguous(f"{prefix!r} names several scans ({', '.join(rows[:5])}{', …' if len(rows) > 5 else ''}): give more of the id")
        return rows[0]

    def get(self, scan_id: str, *, facts: bool = True, lite: bool = False) -> Entry:
        row = self._execute(f"SELECT {self._full_columns()}, {'facts' if facts else 'NULL'} FROM entries WHERE scan_id = ?", (scan_id,)).fetchone()
        if row is None:
            raise NotFound(f"no scan {scan_id} in {self.location}")
        return self._entry(row[:-1], row[-1], lite)

    def scans(self, *, host=None, kind=None, sweep_id=None, since=None, last=None, statuses: bool | str = True, options: bool = False) -> list[ScanInfo]:
        where, args = [], []
        if kind is not None:
            where.append(self.KIND_FILTER if host is not None or sweep_id is not None else "kind = ?")
            args.append(kind)
        if sweep_id is not None:
            where.append("sweep_id = ?")
            args.append(sweep_id)
        if since is not None:
            where.append("started_at >= ?")
            args.append(since)
        if statuses is True:
            column, selected = self.STATUSES, []
        else:   # the statuses are most of a listing's bytes: read one check's, or none
            column, selected = (self.STATUS_OF, [statuses]) if statuses else ("NULL", [])
        select = f"SELECT {self._listing()}, {'options' if options else 'NULL'}, {column} FROM entries"
        if host is None or last is None:
            if host is not None:
                where.insert(0, "(host = ? OR hostname = ?)")
                args[:0] = [host, host]
            sql = select + (" WHERE " + " AND ".join(where) if where else "")
            if last is None:
                rows = self._execute(sql + " ORDER BY seq", (*selected, *args)).fetchall()
            else:
                rows = self._execute(sql + " ORDER BY seq DESC LIMIT ?", (*selected, *args, int(last))).fetchall()[::-1]
        else:   # the newest N by filed name and by hostname, each through its own index: N rows read, not every scan of the host
            newest = " UNION ALL ".join(f"SELECT seq FROM (SELECT seq FROM entries WHERE {' AND '.join([f'{name} = ?'] + where)} "
                                        f"ORDER BY seq DESC LIMIT ?) AS by_{name}" for name in ("host", "hostname"))
            rows = self._execute(f"{select} WHERE seq IN ({newest}) ORDER BY seq DESC LIMIT ?",
                                 (*selected, host, *args, int(last), host, *args, int(last), int(last))).fetchall()[::-1]
        return [ScanInfo(**self._info(row), options=json.loads(row[-2]) if row[-2] is not None else None, statuses=self._statuses(row[-1], statuses))
                for row in rows]

    @staticmethod
    def _statuses(value: str | None, chosen: bool | str) -> dict[str, str]:
        if chosen is True:
            return json.loads(value)
        return {chosen: value} if chosen and value is not None else {}

    def storage_problems(self) -> list[str]:
        problems = []
        for ident, data in self._execute("SELECT id, data FROM check_meta"):
            try:
                ok = codec.meta_id(json.loads(data)) == ident
            except ValueError:
                ok = False
            if not ok:
                problems.append(f"shared check metadata {ident} was edited: every host scan using it will not verify")
        return problems
