"""The hash chain: what an entry's hash covers, and the walk that verifies a whole archive.

An entry's hash is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8, not
ASCII-escaped) of::

    {"archive_entry": 1, "kind", "scan_id", "sweep_id", "host", "recorded_at", "options",
     "prev_hash", "report", "facts"}

``prev_hash`` is the previous entry's hash (GENESIS for the first, the checkpoint's hash after
a prune), so editing, deleting or moving an entry breaks either its own hash or a link.
The chain position (seq) is deliberately *not* hashed: the links carry the order, which lets
verify tell "moved" from "edited".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from dockbench.benchmark.archive.base import Archive, Checkpoint, Entry, Head
from dockbench.benchmark.document.report import STATUS_ORDER, score_of

FORMAT = 1
GENESIS = "0" * 64
WAIVED = "+waived"   # the listing's status of a waived result, e.g. "FAIL+waived" (history tells them apart)


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of value (lone surrogates from hostile file names survive)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def compact(value: Any) -> bytes:
    """JSON bytes of value keeping its key order (how reports and facts are stored)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def normalize(value: Any) -> Any:
    """value as it reads back from JSON (tuples become lists, keys strings), key order kept:
    what is hashed is exactly what is stored."""
    return json.loads(compact(value).decode("utf-8", "surrogatepass"))


def content(entry_fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "archive_entry": FORMAT,
        "kind": entry_fields["kind"],
        "scan_id": entry_fields["scan_id"],
        "sweep_id": entry_fields["sweep_id"],
        "host": entry_fields["host"],
        "recorded_at": entry_fields["recorded_at"],
        "options": entry_fields["options"],
        "prev_hash": entry_fields["prev_hash"],
        "report": entry_fields["report"],
        "facts": entry_fields["facts"],
    }


def entry_hash(entry_fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content(entry_fields))).hexdigest()


def entry_hash_prepared(entry_fields: dict[str, Any], report_json: bytes, facts_json: bytes) -> str:
    """entry_hash, given the report's and the facts' canonical JSON already made (outside the
    write lock): the same bytes, because canonical JSON nests. Keys in sorted order."""
    parts = [b'{"archive_entry":', canonical(FORMAT), b',"facts":', facts_json]
    for key in ("host", "kind", "options", "prev_hash", "recorded_at"):
        parts += [b',"', key.encode(), b'":', canonical(entry_fields[key])]
    parts += [b',"report":', report_json]
    for key in ("scan_id", "sweep_id"):
        parts += [b',"', key.encode(), b'":', canonical(entry_fields[key])]
    parts.append(b"}")
    return hashlib.sha256(b"".join(parts)).hexdigest()


def derive(kind: str, report: dict[str, Any]) -> dict[str, Any]:
    """The listing columns an entry's report implies (a backend stores them for fast queries;
    verify recomputes them, so editing a column alone is caught too)."""
    summary = report.get("summary") or {}
    counts = {s: int((summary.get("by_status") or {}).get(s, 0)) for s in STATUS_ORDER}
    if kind == "host":
        return {
            "hostname": (report.get("target") or {}).get("hostname"),
            "started_at": report.get("started_at"),
            "finished_at": report.get("finished_at"),
            "score": summary.get("score"),
            "counts": counts,
            "total": int(summary.get("total") or 0),
            "waived": sum(1 for r in report.get("results") or [] if r.get("waived")),
            "statuses": {r["id"]: r["status"] + (WAIVED if r.get("waived") else "") for r in report.get("results") or []},
        }
    return {
        "hostname": None,
        "started_at": report.get("started_at"),
        "finished_at": report.get("finished_at"),
        "score": score_of(counts),
        "counts": counts,
        "total": len(report.get("hosts") or []),
        "waived": 0,
        "statuses": {},
    }


# ---------------------------------------------------------------- verification


@dataclass
class Problem:
    kind: str            # edited | deleted | reordered | forked | head | unsigned | bad_signature | storage | unreadable
    message: str
    seq: int | None = None
    scan_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "seq": self.seq, "scan_id": self.scan_id, "message": self.message}


@dataclass
class Verification:
    entries: int = 0
    signed: int = 0
    key_ids: set = field(default_factory=set)
    head_hash: str | None = None
    checkpoint: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "entries": self.entries, "signed": self.signed, "key_ids": sorted(self.key_ids),
            "head_hash": self.head_hash, "checkpoint": self.checkpoint,
            "problems": [p.to_dict() for p in self.problems],
        }


def _name(entry: Entry) -> str:
    what = f"sweep {entry.scan_id}" if entry.kind == "sweep" else f"scan {entry.scan_id} ({entry.host})"
    return f"seq {entry.seq}, {what}"


def verify(archive: Archive, verifier=None, entries: Iterable[Entry] | None = None) -> Verification:
    """Walk the whole chain and name every edited, deleted, moved or badly signed entry.

    - edited: an entry's content no longer hashes to its recorded hash, or a listing column
      (score, counts, statuses...) disagrees with its report;
    - deleted: an entry is chained to a hash no entry has (its predecessor is gone), or the
      newest entry the archive recorded is missing;
    - reordered: two neighbours in the archive are in the opposite order in the chain;
    - with a verifier (public key): entries unsigned or whose signature does not verify.
    """
    with archive.reading():
        return _verify(archive, verifier, entries)


class _Link(NamedTuple):
    """An entry as the link walk sees it: pass 1 has already checked its content."""

    seq: int
    hash: str
    prev: str
    label: str
    scan_id: str


def _verify(archive: Archive, verifier, entries) -> Verification:
    """The walk: storage and checkpoint first, then each entry alone, then the links between them."""
    result = Verification()
    for message in archive.storage_problems():
        result.problems.append(Problem("storage", message))
    checkpoint = archive.checkpoint()
    anchor = checkpoint.through_hash if checkpoint else GENESIS
    if checkpoint:
        _check_checkpoint(checkpoint, verifier, result)
    chain = _check_entries(archive, verifier, entries, result)
    if chain is None:
        return result
    position = {link.hash: i for i, link in enumerate(chain)}
    successors: dict[str, list[int]] = {}
    for i, link in enumerate(chain):
        successors.setdefault(link.prev, []).append(i)
    _check_forks(chain, successors, result)
    starts = [i for i, link in enumerate(chain) if link.prev not in position and link.prev != anchor]
    _check_deleted(chain, starts, anchor, bool(checkpoint), result)
    _check_order(chain, _rank(chain, successors, successors.get(anchor, [])[:1] + starts), result)
    _check_head(archive.head(), chain, position, anchor, checkpoint.count if checkpoint else 0, result)
    return result


def _check_checkpoint(checkpoint: Checkpoint, verifier, result: Verification) -> None:
    """Report the prune checkpoint the chain resumes from, and check its signature with a verifier."""
    result.checkpoint = {"count": checkpoint.count, "through_seq": checkpoint.through_seq, "through_hash": checkpoint.through_hash,
                         "through_scan_id": checkpoint.through_scan_id, "pruned_at": checkpoint.pruned_at}
    if verifier is not None:
        if not checkpoint.signature:
            result.problems.append(Problem("unsigned", f"the prune checkpoint (through seq {checkpoint.through_seq}) carries no signature"))
        elif not verifier.verify(checkpoint.through_hash, checkpoint.signature):
            result.problems.append(Problem("bad_signature", f"the prune checkpoint (through seq {checkpoint.through_seq}) signature does not verify with key {verifier.key_id}"))


def _check_entries(archive: Archive, verifier, entries, result: Verification) -> list[_Link] | None:
    """Pass 1: check each entry on its own and keep its link; None when the walk cannot go on."""
    chain: list[_Link] = []
    try:
        for entry in entries if entries is not None else archive.iterate():
            result.entries += 1
            label = _name(entry)
            _check_entry(entry, label, verifier, result)
            chain.append(_Link(entry.seq, entry.hash, entry.prev_hash, label, entry.scan_id))
    except Exception as exc:  # noqa: BLE001 - a blob that no longer decodes: name what we can and stop
        seq = chain[-1].seq if chain else None
        result.problems.append(Problem("unreadable", f"the entry after seq {seq} cannot be read ({type(exc).__name__}: {exc}): edited or corrupted"))
        return None
    return chain


def _check_entry(entry: Entry, label: str, verifier, result: Verification) -> None:
    """One entry's content hash, listing columns and signature (a damaged one has only its link left)."""
    if entry.damage:
        result.problems.append(Problem("edited", f"{label} cannot be read any more ({entry.damage}): edited or corrupted", entry.seq, entry.scan_id))
        return
    _check_content(entry, label, result)
    if entry.signature:
        result.signed += 1
        result.key_ids.add(entry.signed_by)
    if verifier is not None:
        _check_signature(entry, label, verifier, result)


def _check_content(entry: Entry, label: str, result: Verification) -> None:
    """Catch an edit: to the hashed content, or, content intact, to a listing column alone."""
    fields = {name: getattr(entry, name) for name in ("kind", "scan_id", "sweep_id", "host", "recorded_at", "options", "prev_hash", "report", "facts")}
    computed = entry_hash(fields)
    if computed != entry.hash:
        result.problems.append(Problem("edited", f"{label} was edited: its content hashes to {computed[:16]}…, the chain recorded {entry.hash[:16]}…", entry.seq, entry.scan_id))
        return
    derived = derive(entry.kind, entry.report)
    stored = {"hostname": entry.hostname, "started_at": entry.started_at, "finished_at": entry.finished_at, "score": entry.score,
              "counts": entry.counts, "total": entry.total, "waived": entry.waived, "statuses": entry.statuses}
    wrong = sorted(k for k in derived if derived[k] != stored[k])
    if wrong:
        result.problems.append(Problem("edited", f"{label} was edited: its listing column(s) {', '.join(wrong)} disagree with its report", entry.seq, entry.scan_id))


def _check_signature(entry: Entry, label: str, verifier, result: Verification) -> None:
    """Catch a re-hashed entry: whoever rewrote the chain cannot sign the new hash."""
    if not entry.signature:
        result.problems.append(Problem("unsigned", f"{label} is not signed", entry.seq, entry.scan_id))
    elif not verifier.verify(entry.hash, entry.signature):
        by = f" (signed by key {entry.signed_by})" if entry.signed_by and entry.signed_by != verifier.key_id else ""
        result.problems.append(Problem("bad_signature", f"{label}: signature does not verify with key {verifier.key_id}{by}", entry.seq, entry.scan_id))


def _check_forks(chain: list[_Link], successors: dict[str, list[int]], result: Verification) -> None:
    """Name entries chained after the same hash: a chain has one successor per link."""
    for prev, items in successors.items():
        if len(items) > 1:
            names = " and ".join(chain[i].label for i in items)
            result.problems.append(Problem("forked", f"{names} are both chained after hash {prev[:16]}…", chain[items[1]].seq, chain[items[1]].scan_id))


def _check_deleted(chain: list[_Link], starts: list[int], anchor: str, after_prune: bool, result: Verification) -> None:
    """Name each entry whose predecessor is gone, and guess from the seq gap what happened to it."""
    for i in starts:
        link = chain[i]
        before = chain[i - 1] if i > 0 else None
        if before is not None and link.seq - before.seq > 1:
            gone = f"seq {before.seq + 1}" + (f"–{link.seq - 1}" if link.seq - before.seq > 2 else "")
            why = f"{gone} deleted (between {before.label} and it)"
        elif before is None:
            why = "deleted" + (f" (the chain should start at the prune checkpoint {anchor[:16]}…)" if after_prune else " (the chain should start at the genesis hash)")
        else:
            why = f"deleted, or {before.label} was rewritten and re-hashed (no gap in sequence numbers)"
        result.problems.append(Problem("deleted", f"the entry {link.label} is chained to (hash {link.prev[:16]}…) is missing: {why}", link.seq, link.scan_id))


def _rank(chain: list[_Link], successors: dict[str, list[int]], starts: list[int]) -> dict[int, int]:
    """Each entry's true position, following the links from each start; what no start reaches
    (cycles, fork branches) is ranked after, in seq order."""
    rank: dict[int, int] = {}
    for i in [*starts, *range(len(chain))]:
        while i is not None and i not in rank:
            rank[i] = len(rank)
            nxt = successors.get(chain[i].hash, [])
            i = nxt[0] if nxt else None
    return rank


def _check_order(chain: list[_Link], rank: dict[int, int], result: Verification) -> None:
    """Name moved entries: neighbours in the archive that the chain puts the other way round."""
    for i in range(1, len(chain)):
        if rank[i] < rank[i - 1]:
            a, b = chain[i - 1], chain[i]
            result.problems.append(Problem(
                "reordered", f"{a.label} and {b.label} are out of order: the chain records {b.scan_id} before {a.scan_id}", b.seq, b.scan_id))


def _check_head(head: Head, chain: list[_Link], position: dict[str, int], anchor: str, pruned: int, result: Verification) -> None:
    """Compare the chain's end and length with the head the archive recorded: catches a deleted tail."""
    last = chain[-1] if chain else None
    result.head_hash = last.hash if last else None
    if head.hash is not None and head.hash not in position and not (not chain and head.hash == anchor):
        result.problems.append(Problem("deleted", f"the newest entry the archive recorded (hash {head.hash[:16]}…) is missing: deleted"))
    elif head.hash is not None and last is not None and head.hash != last.hash and head.hash in position:
        result.problems.append(Problem("reordered", f"the newest entry the archive recorded ({chain[position[head.hash]].label}) is not the last one"))
    if head.count != pruned + len(chain):
        result.problems.append(Problem("head", f"the archive recorded {head.count} entries ({pruned} pruned), {len(chain)} are present"))
