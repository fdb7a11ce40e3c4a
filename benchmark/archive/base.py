"""The storage interface every archive backend implements, and the records it deals in.

A backend stores *entries* in one append-only, hash-chained sequence. It does not judge,
diff or verify: it appends atomically (``append``), answers queries (``scans``, ``get``,
``resolve``), walks the chain (``iterate``) and cuts its oldest end (``prune``). Hashing,
verification, signing and diffs are written once, above it, in terms of these methods.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockbench.benchmark.document.report import host_key

KINDS = ("host", "sweep")


class ArchiveError(Exception):
    """The archive cannot do what was asked; the message says why."""


class Duplicate(ArchiveError):
    """An entry with this scan id is already in the archive (a retried job stored it before)."""


class NotFound(ArchiveError):
    pass


class Ambiguous(ArchiveError):
    pass


@dataclass(frozen=True)
class Record:
    """One thing to store: a host report with its facts, or a sweep's skeleton.

    kind "host": ``report`` is a host report, ``facts`` its snapshot, ``host`` the name it is
    filed under, ``sweep_id`` set when the scan was part of a sweep. kind "sweep": ``report``
    is the sweep document with ``hosts`` replaced by the scan ids of its host entries, stored
    in the same ``append`` after them; ``facts`` is None.
    """

    kind: str
    scan_id: str
    host: str | None
    report: dict[str, Any]
    facts: dict[str, Any] | None = None
    sweep_id: str | None = None
    options: dict[str, Any] | None = None   # how the scan was judged (level, include, selection...): its scope


@dataclass(frozen=True)
class ScanInfo:
    """What a listing shows of an entry, without loading its report or facts."""

    seq: int
    scan_id: str
    kind: str
    host: str | None
    hostname: str | None
    sweep_id: str | None
    started_at: str | None
    finished_at: str | None
    recorded_at: str
    score: float | None
    counts: dict[str, int]
    total: int
    statuses: dict[str, str] = field(repr=False, default_factory=dict)   # check id -> status (host entries)
    signed_by: str | None = None
    waived: int = 0   # results waived (host entries)
    options: dict[str, Any] | None = field(repr=False, default=None)   # how the scan was judged (level, include, selection...): its scope


@dataclass(frozen=True)
class Entry(ScanInfo):
    """A stored entry in full: what its hash covers, plus the chain fields."""

    report: dict[str, Any] = field(repr=False, default_factory=dict)
    facts: dict[str, Any] | None = field(repr=False, default=None)
    prev_hash: str = ""
    hash: str = ""
    signature: str | None = field(repr=False, default=None)
    damage: str | None = None   # set by iterate() when the stored entry could not even be decoded

    @property
    def info(self) -> ScanInfo:
        return ScanInfo(**{name: getattr(self, name) for name in ScanInfo.__dataclass_fields__})


@dataclass(frozen=True)
class Checkpoint:
    """Where the chain starts after a prune: the last pruned entry and how many were pruned."""

    count: int            # entries pruned so far, in all prunes
    through_seq: int
    through_hash: str
    through_scan_id: str
    signature: str | None
    key_id: str | None
    pruned_at: str


@dataclass(frozen=True)
class Head:
    """The newest entry as the archive recorded it on each append (catches a deleted tail)."""

    count: int            # entries ever appended (pruned ones included)
    hash: str | None


@dataclass(frozen=True)
class PruneResult:
    deleted: int
    checkpoint: Checkpoint | None


class Archive(abc.ABC):
    """An append-only, hash-chained store of scans. Implementations: SQLiteArchive, PostgresArchive."""

    location: str

    # ---- writing

    @abc.abstractmethod
    def append(self, records: Sequence[Record], signer=None) -> list[Entry]:
        """Chain and store records, all or none, in one transaction; appends are serialised."""

    def put_scan(self, kind: str, host: str | None, report: dict[str, Any], facts: dict[str, Any] | None, *,
                 scan_id: str | None = None, sweep_id: str | None = None, options: dict[str, Any] | None = None,
                 signer=None) -> Entry:
        """Store one scan (see Record)."""
        scan_id = scan_id or report.get("scan_id") or report.get("sweep_id")
        return self.append([Record(kind, scan_id, host, report, facts, sweep_id, options)], signer)[0]

    def put_sweep(self, document: dict[str, Any], facts_by_name: dict[str, dict[str, Any]], *,
                  options: dict[str, Any] | None = None, signer=None) -> list[Entry]:
        """Store every host report of a sweep and the sweep itself, atomically."""
        sweep_id = document["sweep_id"]
        records = [
            Record("host", report["scan_id"], host_key(report), report, facts_by_name.get(report["target"]["name"]), sweep_id, options)
            for report in document["hosts"]
        ]
        skeleton = dict(document, hosts=[r["scan_id"] for r in document["hosts"]])
        records.append(Record("sweep", sweep_id, None, skeleton, None, None, options))
        return self.append(records, signer)

    @abc.abstractmethod
    def prune(self, before: str, signer=None) -> PruneResult:
        """Delete the oldest entries recorded before ``before`` (UTC ISO time), as a prefix of the
        chain, and record a checkpoint so the rest still verifies. One transaction."""

    # ---- reading

    @abc.abstractmethod
    def resolve(self, prefix: str, kind: str | None = None) -> str:
        """The full scan id (or sweep id) a unique prefix names; NotFound / Ambiguous otherwise."""

    @abc.abstractmethod
    def get(self, scan_id: str, *, facts: bool = True, lite: bool = False) -> Entry:
        """One entry by its full id; ``facts=False`` skips loading the snapshot; ``lite=True``
        gives results with only id, status, message, evidence, title, severity and layer (enough
        for diffs, and faster); such an entry's hash cannot be checked."""

    @abc.abstractmethod
    def scans(self, *, host: str | None = None, kind: str | None = None, sweep_id: str | None = None,
              since: str | None = None, last: int | None = None, statuses: bool | str = True, options: bool = False) -> list[ScanInfo]:
        """Entries in chain order, filtered; ``host`` matches the filed name or the hostname;
        ``since`` compares with started_at; ``last`` keeps the newest N. ``statuses``: True reads
        every check's status, a check id that check's alone, False none (a listing goes faster);
        ``options``: read each entry's stored options too (its scope, for comparing like with like)."""

    @abc.abstractmethod
    def iterate(self) -> Iterator[Entry]:
        """Every entry, in chain (seq) order, in full."""

    @abc.abstractmethod
    def checkpoint(self) -> Checkpoint | None: ...

    @abc.abstractmethod
    def head(self) -> Head: ...

    def reading(self):
        """A context in which every read sees one consistent state (verify uses it while others write)."""
        return contextlib.nullcontext()

    def storage_problems(self) -> list[str]:
        """Backend-level damage (file corruption, shared blobs not matching their hash)."""
        return []

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

