"""Archive test material: real host reports and facts, varied per host and scan, and the raw
edits a tamperer would make with sqlite3 or psql.

Reports are judged by the current checks from the recorded probe output of a real host
(tests/data/probe-debian12-docker20.out), then given a host name, a scan id, a time, and
optionally some checks flipped between PASS and FAIL (as another scan of another host would).
"""

from __future__ import annotations

import copy
import json
import random
import sqlite3
import uuid
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.judge.options import JudgingOptions
from tests.recorded import recorded_snapshot

STARTED = "2026-01-05T08:00:00Z"


@cache
def _judged() -> tuple[dict[str, Any], dict[str, Any]]:
    snapshot = recorded_snapshot()
    return JudgingOptions().judge()(snapshot, STARTED), snapshot


def module_archive(request, tmp_path_factory, name: str):
    """A fresh archive of a module fixture's backend parameter (conftest.BACKENDS): an SQLite
    file, or a new PostgreSQL database dropped when the module is done."""
    if request.param == "sqlite":
        return tmp_path_factory.mktemp(name) / "archive.sqlite3"
    cluster = request.getfixturevalue("postgres")
    database = cluster.create_database()
    request.addfinalizer(lambda: cluster.drop_database(database))
    return cluster.url(database)


def host_scan(name: str, started: str = STARTED, *, flip: int = 0, seed: int | None = None, target_name: str | None = None) -> tuple[dict, dict]:
    """(report, facts) of host `name`: a fresh scan id, `flip` checks turned PASS<->FAIL."""
    report, facts = copy.deepcopy(_judged()[0]), copy.deepcopy(_judged()[1])
    report["scan_id"] = str(uuid.uuid4())
    report["started_at"] = report["finished_at"] = started
    report["target"]["name"] = target_name or name
    report["target"]["hostname"] = name
    facts["target"]["name"] = target_name or name
    facts["host"]["hostname"] = name
    facts["collected_at"] = started
    if flip:
        rng = random.Random(seed)
        decided = [r for r in report["results"] if r["status"] in ("PASS", "FAIL")]
        for result in rng.sample(decided, min(flip, len(decided))):
            result["status"] = "FAIL" if result["status"] == "PASS" else "PASS"
            result["evidence"] = result["evidence"] + [{"subject": "varied", "observed": f"scan {report['scan_id'][:8]}"}]
        report["summary"] = report_mod.summarize(report["results"])
    return report, facts


def sweep(reports: list[dict], errors: list[dict] | None = None, started: str = STARTED) -> dict:
    benchmark = reports[0]["benchmark"] if reports else _judged()[0]["benchmark"]
    return report_mod.build_sweep(reports, errors or [], benchmark=benchmark, started_at=started, finished_at=started)


def unreachable(name: str) -> dict:
    return {"target": f"ssh://{name}", "name": name, "kind": "unreachable", "message": f"{name}: no route to host"}


# ---------------------------------------------------------------- what a tamperer does with sqlite3 or psql


class Tamperer:
    """A raw connection to an archive's database (SQLite file or PostgreSQL URL), outside dockbench.
    Statements use ``?`` placeholders on both; the tables are the same."""

    def __init__(self, location):
        self.postgres = str(location).startswith("postgresql://")
        self.location = location
        if self.postgres:
            import psycopg

            self.db = psycopg.connect(str(location), autocommit=True)
        else:
            self.db = sqlite3.connect(location, isolation_level=None)

    def execute(self, sql: str, args=()):
        if self.postgres:
            return self.db.execute(sql.replace("?", "%s"), args or None)
        return self.db.execute(sql, args)

    def set_head(self, head_hash: str) -> None:
        """Record another newest hash as the chain head (what a tamperer re-chaining the tail does)."""
        if self.postgres:
            self.execute("UPDATE heads SET hash = ? WHERE count = (SELECT max(count) FROM heads)", (head_hash,))
        else:
            self.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (head_hash,))

    def stored_bytes(self) -> bytes:
        """Everything the archive stores, as bytes (to look for what must never be there)."""
        if not self.postgres:
            path = Path(self.location)
            return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        tables = ("entries", "meta", "check_meta", "heads", "prunes")
        return b"".join(bytes(row[0]) for table in tables for row in self.execute(f"SELECT convert_to(t::text, 'UTF8') FROM {table} t"))

    def close(self) -> None:
        self.db.close()


def connect(location) -> Tamperer:
    return Tamperer(location)


def read_blob(db: Tamperer, column: str, seq: int) -> Any:
    blob = db.execute(f"SELECT {column} FROM entries WHERE seq = ?", (seq,)).fetchone()[0]
    return json.loads(zlib.decompress(blob))


def write_blob(db: Tamperer, column: str, seq: int, value: Any) -> None:
    blob = zlib.compress(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    db.execute(f"UPDATE entries SET {column} = ? WHERE seq = ?", (blob, seq))


def swap(db: Tamperer, seq_a: int, seq_b: int) -> None:
    """Exchange two entries' positions (their seq numbers)."""
    db.execute("BEGIN")
    db.execute("UPDATE entries SET seq = -1 WHERE seq = ?", (seq_a,))
    db.execute("UPDATE entries SET seq = ? WHERE seq = ?", (seq_a, seq_b))
    db.execute("UPDATE entries SET seq = ? WHERE seq = -1", (seq_b,))
    db.execute("COMMIT")
