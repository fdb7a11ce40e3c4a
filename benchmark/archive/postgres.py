"""The team archive: one PostgreSQL database that auditors and sweep workers on many machines
append to and query at once (psycopg 3, the ``postgres`` extra).

- One chain for every writer. An append is one transaction that first takes a transaction-level
  advisory lock (``pg_advisory_xact_lock``), so appends are serialised for the append only and
  the lock goes with the transaction, even when the writer is killed. Each entry's ``seq`` is
  the primary key and its ``prev_hash`` UNIQUE: two writers cannot fork the chain even without
  the lock.
- Reports and facts are stored exactly as in SQLite (zlib-compressed JSON, ``bytea``): the hash
  covers the canonical form of those bytes. Only ``statuses`` (check id -> status, a query
  column) is ``jsonb``.
- The chain head (count and hash of the newest entry, which catches a deleted tail) is one row
  per append in ``heads``, so a writer needs INSERT and SELECT only: no UPDATE, no DELETE
  (see WRITER_GRANTS).
- Versioned migrations (``schema_migrations``) run in one transaction under an advisory lock of
  their own; an archive from a newer dockbench is refused.
- The password of the URL never leaves this module: ``location`` and every error show it masked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dockbench.benchmark.archive.base import ArchiveError, Checkpoint, Duplicate, Entry, Head, NotFound
from dockbench.benchmark.archive.chain import GENESIS
from dockbench.benchmark.archive.sql import SQLArchive

SCHEMES = ("postgresql://", "postgres://")
MISSING_EXTRA = "a PostgreSQL archive needs psycopg 3: pip install 'dockbench[postgres]'"
APPEND_LOCK = 0x646F636B62656E01   # pg_advisory_xact_lock keys ("dockben" 1, 2)
MIGRATION_LOCK = 0x646F636B62656E02

SCHEMA_V1 = """
CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE entries (
    seq         bigint PRIMARY KEY,                  -- position in the chain
    scan_id     text COLLATE "C" NOT NULL UNIQUE,    -- C collation: prefix ranges use the index
    kind        text NOT NULL CHECK (kind IN ('host', 'sweep')),
    host        text,
    hostname    text,
    sweep_id    text,
    started_at  text,
    finished_at text,
    recorded_at text NOT NULL,
    score       double precision,
    n_fail integer NOT NULL, n_error integer NOT NULL, n_manual integer NOT NULL,
    n_pass integer NOT NULL, n_na integer NOT NULL, total integer NOT NULL,
    statuses    jsonb NOT NULL,                      -- {check id: status}: a query column, not hashed bytes
    options     text,                                -- canonical JSON
    report      bytea NOT NULL,                      -- zlib(JSON), results' static metadata by reference
    facts       bytea,                               -- zlib(JSON)
    prev_hash   text NOT NULL UNIQUE,
    hash        text NOT NULL UNIQUE,
    signature   text,
    key_id      text
);
CREATE INDEX entries_host ON entries (host, seq);
CREATE INDEX entries_hostname ON entries (hostname, seq);
CREATE INDEX entries_sweep ON entries (sweep_id, seq);
CREATE INDEX entries_kind ON entries (kind, seq);
CREATE INDEX entries_started ON entries (started_at);
CREATE INDEX entries_recorded ON entries (recorded_at);
CREATE TABLE check_meta (
    id   text PRIMARY KEY,
    data text NOT NULL
);
CREATE TABLE heads (                                 -- one row per append: the newest is the head
    count       bigint PRIMARY KEY,
    hash        text NOT NULL UNIQUE,
    seq         bigint NOT NULL,
    recorded_at text NOT NULL
);
CREATE TABLE prunes (
    pruned_at    text NOT NULL,
    deleted      bigint NOT NULL,
    through_seq  bigint NOT NULL,
    through_hash text NOT NULL
);
CREATE TABLE sweeps (                                -- distributed sweeps (dockbench sweep start)
    sweep_id   text PRIMARY KEY,
    started_at text NOT NULL,
    total      integer NOT NULL,
    options    text NOT NULL                         -- JSON: how the hosts are judged
);
CREATE TABLE sweep_hosts (                           -- each host of a sweep, accounted for once
    sweep_id    text NOT NULL REFERENCES sweeps,
    name        text NOT NULL,
    scan_id     text,                                -- its archived host entry, or
    error       text,                                -- the JSON error entry of a host not audited
    worker      text NOT NULL,
    finished_at text NOT NULL,
    PRIMARY KEY (sweep_id, name)
);
"""

SCHEMA_V2 = """
ALTER TABLE entries ADD COLUMN n_waived integer;    -- results waived, so history lists without statuses (NULL: counted from them)
CREATE TABLE sweep_workers (                         -- the name of each queue worker that took a host
    worker_id bigint PRIMARY KEY,                    -- procrastinate's id of the worker
    name      text NOT NULL
);
"""

# version -> statements taking an archive from version-1 to version
MIGRATIONS: dict[int, str] = {1: SCHEMA_V1, 2: SCHEMA_V2}
SCHEMA_VERSION = max(MIGRATIONS)

# What a least-privilege role needs to append scans and read everything (README: "A team
# archive on PostgreSQL"): no UPDATE, no DELETE, so it can neither rewrite nor prune the chain.
WRITER_GRANTS = """
GRANT USAGE ON SCHEMA {schema} TO {role};
GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role};
GRANT INSERT ON entries, check_meta, heads, sweeps, sweep_hosts, sweep_workers TO {role};
"""


def is_url(location: str) -> bool:
    return location.startswith(SCHEMES)


def _password(url: str) -> str | None:
    parts = urlsplit(url)
    return parts.password or dict(parse_qsl(parts.query)).get("password")


def mask(url: str) -> str:
    """url with its password (in the user part or a password= parameter) replaced by ***."""
    parts = urlsplit(url)
    netloc = re.sub(r"^([^:@]*):[^@]*@", r"\1:***@", parts.netloc) if "@" in parts.netloc else parts.netloc
    query = urlencode([(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="/*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redacted(url: str, exc: BaseException) -> str:
    """A driver error on one line, the URL's password masked should the server repeat it."""
    text = " ".join(str(exc).split())
    secret = _password(url)
    return text.replace(secret, "***") if secret else text


def driver():
    """The psycopg module, or an ArchiveError saying what to install."""
    try:
        import psycopg
    except ImportError as exc:
        raise ArchiveError(MISSING_EXTRA) from exc
    return psycopg


class PostgresArchive(SQLArchive):
    INSERT_META = "INSERT INTO check_meta VALUES (?, ?) ON CONFLICT DO NOTHING"
    # statuses read as text: json.loads is twice as fast as psycopg's jsonb loader on long listings
    STATUSES = "statuses::text"
    WAIVED = "(SELECT count(*) FROM jsonb_each_text(entries.statuses) WHERE value LIKE '%%+waived')"   # '%%': '%' once psycopg substitutes, the same pattern when not

    def __init__(self, url: str, *, create: bool = True, busy_timeout: float = 30.0):
        super().__init__()
        self._psycopg = driver()
        self.url = url
        self.location = mask(url)
        try:
            self.db = self._psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(busy_timeout)))
        except self._psycopg.Error as exc:
            raise ArchiveError(f"{self.location}: cannot connect: {self.clean(exc)}") from None
        try:
            self._execute(f"SET lock_timeout = {int(busy_timeout * 1000)}")   # waiting for the append lock is bounded
            self._setup(create)
        except self._psycopg.Error as exc:
            self.db.close()
            raise ArchiveError(f"{self.location}: {self.clean(exc)}") from None

    def clean(self, exc: BaseException) -> str:
        """An error message on one line, the password masked should the server repeat it."""
        return redacted(self.url, exc)

    def _execute(self, sql: str, args: Sequence[Any] = ()):
        return self.db.execute(sql.replace("?", "%s"), args or None)

    def _in_transaction(self) -> bool:
        return self.db.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE

    # ---------------------------------------------------------------- schema

    def _version(self) -> int:
        if self._execute("SELECT to_regclass('schema_migrations')").fetchone()[0] is None:
            return 0
        return self._execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]

    def _setup(self, create: bool) -> None:
        version = self._version()
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise ArchiveError(f"{self.location} has archive schema {version}; this dockbench knows up to {SCHEMA_VERSION}: upgrade dockbench")
        if version == 0 and not create:
            raise NotFound(f"no archive at {self.location}")
        self._execute("BEGIN")
        try:
            self._execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            self._execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            version = self._version()   # another process may have migrated meanwhile
            for step in range(version + 1, SCHEMA_VERSION + 1):
                self._execute(MIGRATIONS[step])
                self._execute("INSERT INTO schema_migrations (version) VALUES (?)", (step,))
            self._execute("COMMIT")
        except self._psycopg.errors.InsufficientPrivilege as exc:
            self._rollback()
            raise ArchiveError(f"{self.location}: the archive schema is at version {version}, this dockbench needs {SCHEMA_VERSION}, "
                               f"and this role may not change it ({self.clean(exc)}): run any archive command once as the archive's owner") from None
        except BaseException:
            self._rollback()
            raise

    # ---------------------------------------------------------------- writing (hooks of SQLArchive)

    def _lock_head(self) -> tuple[str, int, int]:
        try:
            self._execute("BEGIN")
            self._execute("SELECT pg_advisory_xact_lock(?)", (APPEND_LOCK,))
            row = self._execute("SELECT hash, count, seq FROM heads ORDER BY count DESC LIMIT 1").fetchone()
        except self._psycopg.Error as exc:
            self._rollback()
            raise ArchiveError(f"{self.location}: {self.clean(exc)}") from None
        return (row[0], row[1], row[2]) if row else (GENESIS, 0, 0)

    def _record_head(self, head_hash: str, count: int, seq: int, recorded_at: str) -> None:
        self._execute("INSERT INTO heads VALUES (?, ?, ?, ?)", (count, head_hash, seq, recorded_at))

    def _commit(self) -> None:
        self._execute("COMMIT")

    def _rollback(self) -> None:
        try:
            if not self.db.closed and self._in_transaction():
                self._execute("ROLLBACK")
        except self._psycopg.Error:
            pass

    def _failed(self, exc: BaseException) -> BaseException:
        if isinstance(exc, self._psycopg.errors.UniqueViolation) and "scan_id" in str(exc):
            return Duplicate(f"scan id already in the archive: {self.clean(exc)}")
        if isinstance(exc, self._psycopg.Error):
            return ArchiveError(f"{self.location}: {self.clean(exc)}")
        return exc

    def _save_checkpoint(self, point: Checkpoint) -> None:
        self._execute("INSERT INTO meta VALUES ('checkpoint', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (json.dumps(point.__dict__),))

    def _statuses_param(self, statuses: dict[str, str]) -> Any:
        return self._psycopg.types.json.Jsonb(statuses)

    # ---------------------------------------------------------------- reading

    @contextmanager
    def reading(self):
        if self._in_transaction():
            yield
            return
        self._execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")   # one snapshot for every read inside
        try:
            yield
        finally:
            self._rollback()

    def iterate(self) -> Iterator[Entry]:
        with self.reading():
            cursor = self.db.cursor(name="dockbench_iterate")   # server side: 100,000 entries are not held in memory
            cursor.itersize = 100
            try:
                cursor.execute(f"SELECT {self._full_columns()}, facts FROM entries ORDER BY seq")
                yield from self._decoded(cursor)
            finally:
                cursor.close()

    def head(self) -> Head:
        row = self._execute("SELECT count, hash FROM heads ORDER BY count DESC LIMIT 1").fetchone()
        return Head(count=row[0], hash=row[1]) if row else Head(count=0, hash=None)

    def close(self) -> None:
        self.db.close()

    # ---------------------------------------------------------------- distributed sweeps' bookkeeping

    def _checked(self, sql: str, args: Sequence[Any] = ()):
        try:
            return self._execute(sql, args)
        except self._psycopg.Error as exc:
            raise ArchiveError(f"{self.location}: {self.clean(exc)}") from None

    def contains(self, scan_id: str) -> bool:
        return self._checked("SELECT 1 FROM entries WHERE scan_id = ?", (scan_id,)).fetchone() is not None

    def add_sweep(self, sweep_id: str, started_at: str, total: int, options: dict[str, Any]) -> None:
        """A distributed sweep: its hosts' count and how they are judged (JSON)."""
        self._checked("INSERT INTO sweeps VALUES (?, ?, ?, ?)", (sweep_id, started_at, total, json.dumps(options)))

    def sweep(self, sweep_id: str) -> tuple[str, int, dict[str, Any]]:
        """A distributed sweep's start, hosts' count and judging options."""
        row = self._checked("SELECT started_at, total, options FROM sweeps WHERE sweep_id = ?", (sweep_id,)).fetchone()
        if row is None:
            raise ArchiveError(f"no distributed sweep {sweep_id} in {self.location}")
        return row[0], row[1], json.loads(row[2])

    def find_sweep(self, prefix: str) -> str:
        """The one distributed sweep whose id starts with prefix."""
        found = [r[0] for r in self._checked("SELECT sweep_id FROM sweeps WHERE sweep_id >= ? AND sweep_id < ? LIMIT 2",
                                             (prefix, prefix + "\U0010ffff"))]
        if len(found) != 1:
            raise ArchiveError(f"{'no' if not found else 'more than one'} distributed sweep id starts with {prefix!r} in {self.location}")
        return found[0]

    def host_accounted(self, sweep_id: str, name: str) -> bool:
        return self._checked("SELECT 1 FROM sweep_hosts WHERE sweep_id = ? AND name = ?", (sweep_id, name)).fetchone() is not None

    def account_host(self, sweep_id: str, name: str, scan_id: str | None, error: dict[str, Any] | None, worker: str, finished_at: str) -> None:
        """A host of a sweep is done: its stored scan, or the error entry of a host not audited. Once."""
        self._checked("INSERT INTO sweep_hosts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                      (sweep_id, name, scan_id, json.dumps(error) if error else None, worker, finished_at))

    def accounted_count(self, sweep_id: str) -> int:
        return self._checked("SELECT count(*) FROM sweep_hosts WHERE sweep_id = ?", (sweep_id,)).fetchone()[0]

    def accounted_hosts(self, sweep_id: str) -> list[tuple[str | None, dict[str, Any] | None]]:
        """(scan id, error entry) of each host of the sweep done so far."""
        rows = self._checked("SELECT scan_id, error FROM sweep_hosts WHERE sweep_id = ? ORDER BY name", (sweep_id,))
        return [(scan_id, json.loads(error) if error else None) for scan_id, error in rows]

    def accounted_by_worker(self, sweep_id: str) -> dict[str, dict[str, int]]:
        """Hosts done (stored) and failed (an error entry) by each worker's name."""
        counts: dict[str, dict[str, int]] = {}
        for worker, ok, count in self._checked(
                "SELECT worker, scan_id IS NOT NULL, count(*) FROM sweep_hosts WHERE sweep_id = ? GROUP BY 1, 2 ORDER BY 1", (sweep_id,)):
            counts.setdefault(worker, {"done": 0, "failed": 0})["done" if ok else "failed"] += count
        return counts

    def name_worker(self, worker_id: int, name: str) -> None:
        """The name `sweep status` shows for the queue's worker worker_id."""
        self._checked("INSERT INTO sweep_workers VALUES (?, ?) ON CONFLICT DO NOTHING", (worker_id, name))

    def worker_names(self, worker_ids: list[int]) -> dict[int, str]:
        return dict(self._checked("SELECT worker_id, name FROM sweep_workers WHERE worker_id = ANY(?)", (list(worker_ids),)).fetchall())
