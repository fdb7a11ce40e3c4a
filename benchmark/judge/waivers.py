"""Accepted risks (`--waivers FILE`): who accepted which finding, on which hosts, until when.

A waiver names a check (its id, a CIS id of the report's benchmark, or a glob over check ids),
optionally narrowed to containers, images and hosts (globs). It applies to FAIL and ERROR
results only, and only on the days up to and including its `expires` date (UTC), judged
against the day the facts were collected, so re-judging an old snapshot gives the same answer.

A waived result keeps its judged status and evidence; it carries the waivers that cover it and
stops counting toward the exit code. A waiver scoped to containers or images covers only the
evidence entries about such a container or image (their kind and id): the result is waived only when
every offending container and image is covered, otherwise it still counts and the covered
entries are marked.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from dockbench.benchmark.document import bounded_json
from dockbench.benchmark.document.model import OFFENDER_KINDS, CheckMeta
from dockbench.benchmark.document.report import STATUS_ORDER, counted, score_of

ACTIVE, EXPIRING, EXPIRED = "active", "expiring", "expired"
WAIVABLE = ("FAIL", "ERROR")
WARNING_DAYS = 14
FIELDS = ("id", "check", "containers", "images", "hosts", "justification", "owner", "expires")
REQUIRED = ("id", "check", "justification", "owner", "expires")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_CIS_LIKE = re.compile(r"^[0-9]+(\.[0-9]+)*$")


class WaiverError(Exception):
    """The waiver file cannot be used; the message names the file, the waiver and the field."""


class _Loader(yaml.SafeLoader):
    """YAML without implicit dates: `expires` is parsed here, so a bad date is named, not raised."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _day(stamp: str | None) -> date | None:
    try:
        return date.fromisoformat(str(stamp)[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class Waiver:
    id: str
    check: str
    justification: str
    owner: str
    expires: date
    containers: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()

    @property
    def scoped(self) -> bool:
        """Narrowed to containers or images: it covers subjects, not a whole result."""
        return bool(self.containers or self.images)

    def state(self, day: date, warning_days: int) -> str:
        """expired from the day after `expires`; expiring when that day is at most warning_days away."""
        if day > self.expires:
            return EXPIRED
        return EXPIRING if (self.expires - day).days <= warning_days else ACTIVE

    def names(self, result: dict[str, Any], benchmark: str) -> bool:
        return fnmatch.fnmatchcase(result["id"], self.check) or any(
            ref["benchmark"] == benchmark and ref["id"] == self.check for ref in result.get("cis") or [])

    def on_host(self, target: dict[str, Any]) -> bool:
        names = [n for n in (target.get("name"), target.get("hostname")) if n]
        return not self.hosts or any(fnmatch.fnmatchcase(n, glob) for n in names for glob in self.hosts)

    def covers(self, item: dict[str, Any]) -> bool:
        """Whether this waiver's globs name the container or image an evidence item is about."""
        if not offender(item):
            return False
        subject = str(item["subject"])
        if self.containers and item["kind"] == "container":
            return any(fnmatch.fnmatchcase(subject, glob) for glob in self.containers)
        if self.images and item["kind"] == "image":   # an image's name lists its tags: "app:1, app:latest"
            return any(fnmatch.fnmatchcase(name, glob) for name in subject.split(", ") for glob in self.images)
        return False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "check": self.check, "containers": list(self.containers), "images": list(self.images),
                "hosts": list(self.hosts), "justification": self.justification, "owner": self.owner,
                "expires": self.expires.isoformat()}


def offender(item: dict[str, Any]) -> bool:
    """An evidence item about one container or image (its kind and id say so): an offender, which a
    scoped waiver may cover. Everything else (a daemon setting, "containers checked") is context."""
    return item.get("kind") in OFFENDER_KINDS and isinstance(item.get("id"), str)


# ---------------------------------------------------------------- reading and checking a file


def _problem(source: str, index: int, entry: Any, field: str, text: str) -> WaiverError:
    ident = entry.get("id") if isinstance(entry, dict) else None
    who = f"waivers[{index}]" + (f" (id {ident!r})" if isinstance(ident, str) and ident else "")
    return WaiverError(f"{source}: {who}: {field}: {text}")


def _globs(source: str, index: int, entry: dict, field: str) -> tuple[str, ...]:
    value = entry.get(field)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _problem(source, index, entry, field, "must be a list of names or globs (strings)")
    return tuple(value)


def _text(source: str, index: int, entry: dict, field: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise _problem(source, index, entry, field, "is required: say " + {
            "justification": "why the risk is accepted (a ticket helps)",
            "owner": "who accepted it and reviews it",
        }.get(field, "what it is"))
    return value.strip()


def _expires(source: str, index: int, entry: dict) -> date:
    value = entry.get("expires")
    if value is None:
        raise _problem(source, index, entry, "expires", "is required: a waiver is reviewed, never forever (YYYY-MM-DD)")
    if not isinstance(value, str) or not _DATE.match(value.strip()):
        raise _problem(source, index, entry, "expires", f"{value!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise _problem(source, index, entry, "expires", f"{value!r} is not a date ({exc})") from None


def named_checks(check: str, catalog: Iterable[CheckMeta], benchmark: str) -> list[str]:
    """The ids of the catalog's checks a waiver's `check` names: by id or glob, or by CIS id."""
    return [m.id for m in catalog if fnmatch.fnmatchcase(m.id, check) or any(r.benchmark == benchmark and r.id == check for r in m.cis)]


def _check_target(source: str, index: int, entry: dict, catalog: list[CheckMeta] | None, benchmark: str) -> str:
    value = entry.get("check")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise _problem(source, index, entry, "check", f"{value!r} is a number: quote a CIS id (check: \"{value}\"), or 5.10 reads as 5.1")
    if not isinstance(value, str) or not value.strip():
        raise _problem(source, index, entry, "check", "is required: a check id, a CIS id, or a glob over check ids")
    value = value.strip()
    if catalog is None or named_checks(value, catalog, benchmark):
        return value
    what = f"no CIS {value} in {benchmark}" if _CIS_LIKE.match(value) else "no check id or glob over check ids"
    raise _problem(source, index, entry, "check", f"{value!r} names nothing in the catalog ({what}; see `dockbench checks list`)")


def _waiver(source: str, index: int, entry: Any, catalog: list[CheckMeta] | None, benchmark: str) -> Waiver:
    if not isinstance(entry, dict):
        raise WaiverError(f"{source}: waivers[{index}]: expected a mapping with {', '.join(REQUIRED)}")
    unknown = sorted(str(k) for k in entry if k not in FIELDS)
    if unknown:
        raise _problem(source, index, entry, unknown[0], f"unknown field (known: {', '.join(FIELDS)})")
    ident = entry.get("id")
    if not isinstance(ident, str) or not _ID.match(ident):
        raise _problem(source, index, entry, "id", "is required: a stable name of letters, digits, '.', '_' and '-'")
    return Waiver(
        id=ident,
        check=_check_target(source, index, entry, catalog, benchmark),
        justification=_text(source, index, entry, "justification"),
        owner=_text(source, index, entry, "owner"),
        expires=_expires(source, index, entry),
        containers=_globs(source, index, entry, "containers"),
        images=_globs(source, index, entry, "images"),
        hosts=_globs(source, index, entry, "hosts"),
    )


@dataclass(frozen=True)
class WaiverFile:
    source: str
    waivers: tuple[Waiver, ...]
    warning_days: int = WARNING_DAYS
    text: str | None = field(default=None, compare=False, repr=False)   # the file as read, when it was read

    @classmethod
    def load(cls, path: str | Path, catalog: Iterable[CheckMeta], benchmark: str) -> WaiverFile:
        """Read and check a waiver file; every problem is a WaiverError naming file, waiver and field."""
        source = str(path)
        try:
            text = Path(path).read_bytes().decode("utf-8")   # bytes: the text stays exactly the file's (its digest too)
        except OSError as exc:
            raise WaiverError(f"{source}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise WaiverError(f"{source}: not a YAML file: {exc}") from None
        return cls.from_text(text, source, list(catalog), benchmark)

    @classmethod
    def from_text(cls, text: str, source: str, catalog: Iterable[CheckMeta] | None, benchmark: str) -> WaiverFile:
        """A waiver file's text, checked as parse() does; the result keeps the text."""
        try:
            data = yaml.load(bounded_json.check_flow_nesting(text), Loader=_Loader)
        except yaml.YAMLError as exc:
            raise WaiverError(f"{source}: not a YAML file: {exc}") from None
        except (RecursionError, ValueError) as exc:  # nesting past the composer's recursion or check_flow_nesting; a number too long
            raise WaiverError(f"{source}: not a YAML file: {exc if isinstance(exc, ValueError) else 'nested too deeply'}") from None
        return dataclasses.replace(cls.parse(data, source, catalog, benchmark), text=text)

    def pinned(self) -> dict[str, str]:
        """The file as it was read, with its SHA-256: what a distributed sweep stores, so that every
        worker, on any machine, judges with these very waivers (not whatever its copy of the file says)."""
        if self.text is None:
            raise WaiverError(f"{self.source}: only waivers read from a file can be pinned")
        return {"source": self.source, "sha256": hashlib.sha256(self.text.encode("utf-8")).hexdigest(), "text": self.text}

    @classmethod
    def from_pinned(cls, block: dict[str, str], benchmark: str) -> WaiverFile:
        """Pinned waivers back; their checks were looked up in the catalog when they were pinned."""
        text = block.get("text")
        if not isinstance(text, str) or hashlib.sha256(text.encode("utf-8")).hexdigest() != block.get("sha256"):
            raise WaiverError(f"{block.get('source') or 'pinned waivers'}: the stored text does not match its SHA-256")
        return cls.from_text(text, block["source"], None, benchmark)

    @classmethod
    def parse(cls, data: Any, source: str, catalog: Iterable[CheckMeta] | None, benchmark: str) -> WaiverFile:
        """A waiver file's content; with catalog None (a report's stored waivers, linted when they were
        applied, while the catalog may have changed since) the checks named are not looked up."""
        if not isinstance(data, dict) or not isinstance(data.get("waivers"), list):
            raise WaiverError(f"{source}: expected a mapping with a list under 'waivers:'")
        unknown = sorted(str(k) for k in data if k not in ("waivers", "warning_days"))
        if unknown:
            raise WaiverError(f"{source}: unknown top-level key {unknown[0]!r} (known: waivers, warning_days)")
        days = data.get("warning_days", WARNING_DAYS)
        if isinstance(days, str) and days.isdigit():
            days = int(days)
        if not isinstance(days, int) or isinstance(days, bool) or days < 0:
            raise WaiverError(f"{source}: warning_days: must be a whole number of days, got {days!r}")
        metas = list(catalog) if catalog is not None else None
        waivers: list[Waiver] = []
        for index, entry in enumerate(data["waivers"]):
            waiver = _waiver(source, index, entry, metas, benchmark)
            if any(w.id == waiver.id for w in waivers):
                raise _problem(source, index, entry, "id", f"duplicate: {waiver.id!r} is already waivers[{[w.id for w in waivers].index(waiver.id)}]")
            waivers.append(waiver)
        return cls(source, tuple(waivers), days)

    @classmethod
    def stored(cls, block: dict[str, Any], benchmark: str) -> WaiverFile:
        """The waivers a report was judged with (its "waivers" block), to judge its facts again."""
        entries = [{k: e[k] for k in FIELDS if k in e} for e in block.get("entries") or []]
        return cls.parse({"waivers": entries, "warning_days": block.get("warning_days", WARNING_DAYS)}, block.get("source") or "stored waivers", None, benchmark)

    def states(self, day: date) -> dict[str, str]:
        return {w.id: w.state(day, self.warning_days) for w in self.waivers}

    # ---------------------------------------------------------------- applying

    def apply(self, report: dict[str, Any]) -> None:
        """Mark the results of a host report these waivers cover, and record the waivers in it."""
        day = _day(report.get("facts_collected_at")) or _day(report["started_at"])
        states = self.states(day)
        benchmark = report["benchmark"]["id"]
        live = [w for w in self.waivers if states[w.id] != EXPIRED and w.on_host(report["target"])]
        matched = {w.id: 0 for w in self.waivers}
        for result in report["results"]:
            if result["status"] not in WAIVABLE:
                continue
            hits = [w for w in live if w.names(result, benchmark)]
            if hits:
                used = _cover(result, hits)
                for waiver in used:
                    matched[waiver.id] += 1
                    result.setdefault("waivers", []).append(_applied(waiver, states[waiver.id]))
        summary = report["summary"]
        waived = [r for r in report["results"] if r.get("waived")]
        summary["waived"] = {"total": len(waived), "by_status": {s: sum(1 for r in waived if r["status"] == s) for s in STATUS_ORDER}}
        summary["score_with_waivers"] = score_of(counted(summary))   # waived FAILs leave the count
        report["waivers"] = {
            "source": self.source,
            "judged_on": day.isoformat(),
            "warning_days": self.warning_days,
            "entries": [dict(w.to_dict(), state=states[w.id], days_left=(w.expires - day).days, matched=matched[w.id],
                             in_scope=w.on_host(report["target"]) and any(w.names(r, benchmark) for r in report["results"]))
                        for w in self.waivers],
        }


def _cover(result: dict[str, Any], hits: list[Waiver]) -> list[Waiver]:
    """Mark what `hits` cover in one result; the waivers that covered something."""
    whole = [w for w in hits if not w.scoped]
    evidence = result.get("evidence") or []
    covering: dict[int, Waiver] = {}
    for waiver in (w for w in hits if w.scoped):
        for i, item in enumerate(evidence):
            if i not in covering and waiver.covers(item):
                covering[i] = waiver
    offenders = [i for i, item in enumerate(evidence) if offender(item)]
    used = whole + [w for w in hits if w.scoped and w in covering.values()]
    if not used:
        return []
    for i, waiver in covering.items():
        item = evidence[i]
        evidence[i] = dict(item, waiver=waiver.id)
    result["waived"] = bool(whole) or bool(offenders) and all(i in covering for i in offenders)
    return used


def _applied(waiver: Waiver, state: str) -> dict[str, Any]:
    return {"id": waiver.id, "justification": waiver.justification, "owner": waiver.owner, "expires": waiver.expires.isoformat(), "state": state}


# ---------------------------------------------------------------- reading a report's waivers


def listed(block: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """The waivers a report calls out: expired, expiring soon, and unmatched: stale ones, meant for
    this host and a check judged here, that covered nothing (the finding is gone: prune them)."""
    entries = (block or {}).get("entries") or []
    return {
        EXPIRED: [e for e in entries if e["state"] == EXPIRED],
        EXPIRING: [e for e in entries if e["state"] == EXPIRING],
        "unmatched": [e for e in entries if e["state"] != EXPIRED and e["in_scope"] and not e["matched"]],
    }
