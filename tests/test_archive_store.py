"""The archive store and its hash chain: exact round trips, tampering named by `archive verify`,
signatures, prune checkpoints, export. Reports are real ones judged from recorded probe output.
Every test taking ``path`` runs on both backends: an SQLite file and a PostgreSQL database."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import stat

import pytest

from dockbench.benchmark.archive import (
    Ambiguous,
    ArchiveError,
    NotFound,
    default_path,
    open_archive,
)
from dockbench.benchmark.archive.chain import canonical, entry_hash, verify
from dockbench.benchmark.archive.sqlite import SCHEMA_VERSION
from tests.cli_run import dockbench
from tests.support import archive as material


@pytest.fixture
def path(archive_location):
    return archive_location


@pytest.fixture
def sqlite_path(tmp_path):
    return tmp_path / "archive.sqlite3"


def fill(path, hosts=("web1", "web2", "db1"), rounds=2, signer=None):
    """rounds x hosts host scans; returns the entries in order."""
    entries = []
    with open_archive(path) as archive:
        for r in range(rounds):
            for host in hosts:
                report, facts = material.host_scan(host, f"2026-01-0{r + 1}T08:00:00Z", flip=r * 3, seed=hash(host) + r)
                entries.append(archive.put_scan("host", host, report, facts, options={"level": None}, signer=signer))
    return entries


def verify_cli(path, *args):
    done = dockbench("archive", "verify", "--archive", path, *args)
    return done.returncode, done.stdout + done.stderr


# ---------------------------------------------------------------- storing


def test_a_scan_reads_back_exactly_and_its_hash_covers_report_facts_and_metadata(path):
    report, facts = material.host_scan("web1")
    with open_archive(path) as archive:
        stored = archive.put_scan("host", "web1", report, facts, options={"include_stopped": False})
        back = archive.get(report["scan_id"])
    assert json.dumps(back.report) == json.dumps(report)          # key order too: show re-renders it as it was
    assert json.dumps(back.facts) == json.dumps(facts)
    assert (back.hash, back.prev_hash) == (stored.hash, "0" * 64)
    fields = {k: getattr(back, k) for k in ("kind", "scan_id", "sweep_id", "host", "recorded_at", "options", "prev_hash", "report", "facts")}
    assert entry_hash(fields) == back.hash
    expected = json.dumps({"archive_entry": 1, **fields}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical({"archive_entry": 1, **fields}) == expected
    assert (back.host, back.hostname, back.score, back.counts) == ("web1", "web1", report["summary"]["score"], report["summary"]["by_status"])
    assert back.statuses == {r["id"]: r["status"] for r in report["results"]}


def test_the_file_is_private_and_wal_journaled_with_a_schema_version(sqlite_path):
    path = sqlite_path
    fill(path, hosts=("web1",), rounds=1)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(ArchiveError, match="schema 99"):
        open_archive(path)


def test_an_archive_of_schema_1_is_migrated_when_opened(sqlite_path):
    report, facts = material.host_scan("web1")
    for result in [r for r in report["results"] if r["status"] == "FAIL"][:2]:
        result["waived"] = True
    with open_archive(sqlite_path) as archive:
        first = archive.put_scan("host", "web1", report, facts)
    db = sqlite3.connect(sqlite_path)
    db.execute("ALTER TABLE entries DROP COLUMN n_waived")   # as schema 1 left it
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with open_archive(sqlite_path) as archive:   # verify compares the filled-in waived count with the report's
        assert verify(archive).ok and archive.get(first.scan_id).hash == first.hash
        assert archive.scans(statuses=False)[0].waived == 2
    assert sqlite3.connect(sqlite_path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_not_an_archive_and_no_archive_are_clear_errors(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("not a database at all, just text " * 100)
    with pytest.raises(ArchiveError, match="not a usable dockbench archive"):
        open_archive(junk)
    with pytest.raises(NotFound):
        open_archive(tmp_path / "none.sqlite3", create=False)
    done = dockbench("history", "--archive", tmp_path / "none.sqlite3")
    assert done.returncode == 2 and "no archive at" in done.stderr


def test_default_location_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "dockbench" / "archive.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".local" / "share" / "dockbench" / "archive.sqlite3"


def test_scan_ids_resolve_from_unique_prefixes(path):
    with open_archive(path) as archive:
        for scan_id in ("abc123-1", "abc123-2", "abd999"):
            report, facts = material.host_scan("web1")
            archive.put_scan("host", "web1", report, facts, scan_id=scan_id)
        assert archive.resolve("abd") == "abd999"
        assert archive.resolve("abc123-2") == "abc123-2"
        with pytest.raises(Ambiguous, match="abc123-1, abc123-2"):
            archive.resolve("abc")
        with pytest.raises(NotFound):
            archive.resolve("zzz")
    assert "several scans" in dockbench("show", "ab", "--archive", path).stderr


def test_a_duplicate_scan_id_is_refused_and_leaves_the_chain_intact(path):
    report, facts = material.host_scan("web1")
    with open_archive(path) as archive:
        archive.put_scan("host", "web1", report, facts)
        with pytest.raises(ArchiveError, match="already"):
            archive.put_scan("host", "web1", report, facts)
        assert verify(archive).ok
        assert archive.head().count == 1


def test_history_lists_scans_of_a_host_with_a_checks_status(path):
    entries = fill(path, hosts=("web1", "web2"), rounds=3)
    flipped = next(check for check, status in entries[4].statuses.items() if status != entries[0].statuses[check])
    done = dockbench("history", "--archive", path, "--host", "web1", "--check", flipped, "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["scan_id"] for r in rows] == [e.scan_id for e in entries[0::2]]
    assert [r["check"]["status"] for r in rows] == [e.statuses[flipped] for e in entries[0::2]]
    assert rows[2]["check"]["changed"] is (entries[4].statuses[flipped] != entries[2].statuses[flipped])
    table = dockbench("history", "--archive", path, "--host", "web2", "--since", "2026-01-02").stdout
    assert entries[3].scan_id[:8] in table and entries[1].scan_id[:8] not in table and entries[5].scan_id[:8] in table


def test_listings_with_every_status_one_or_none_list_the_same_scans(path):
    entries = fill(path, hosts=("web1", "web2"), rounds=3)
    web1 = [e.scan_id for e in entries[0::2]]
    report, facts = material.host_scan("web1", "2026-01-04T08:00:00Z", target_name="web1-by-ip")   # found by its hostname
    for result in [r for r in report["results"] if r["status"] == "FAIL"][:2]:
        result["waived"] = True
    with open_archive(path) as archive:
        entries.append(archive.put_scan("host", "web1-by-ip", report, facts))
        full = archive.scans(host="web1")
        assert [i.scan_id for i in full] == web1 + [entries[-1].scan_id]
        assert [i.waived for i in full] == [0, 0, 0, 2] and full[-1].statuses == entries[-1].statuses
        check = next(c for c, s in entries[-1].statuses.items() if s == "FAIL+waived")
        for last in (None, 1, 3, 10):
            chosen = full[-last:] if last else full
            assert archive.scans(host="web1", kind="host", last=last) == chosen
            one = archive.scans(host="web1", kind="host", last=last, statuses=check)
            assert [(i.scan_id, i.statuses) for i in one] == [(i.scan_id, {check: i.statuses[check]}) for i in chosen]
            bare = archive.scans(host="web1", kind="host", last=last, statuses=False)
            assert [dataclasses.replace(i, statuses=c.statuses) for i, c in zip(bare, chosen)] == chosen and not any(i.statuses for i in bare)
        assert [i.statuses for i in archive.scans(host="web2", statuses="no-such-check")] == [{}, {}, {}]
        assert archive.scans(kind="host", last=2, statuses=False)[-1].scan_id == entries[-1].scan_id


# ---------------------------------------------------------------- tampering


def test_an_intact_archive_verifies(path):
    entries = fill(path)
    code, out = verify_cli(path)
    assert code == 0, out
    assert f"{len(entries)} entries" in out and "OK: the chain is intact" in out


def test_an_edited_report_is_named(path):
    entries = fill(path)
    victim = entries[2]
    db = material.connect(path)
    stored = material.read_blob(db, "report", victim.seq)
    first_fail = next(r for r in stored["results"] if r["status"] == "FAIL")
    first_fail["status"] = "PASS"   # the auditor's nightmare: a finding quietly turned into a pass
    material.write_blob(db, "report", victim.seq, stored)
    db.close()
    code, out = verify_cli(path)
    assert code == 1
    assert "EDITED" in out and f"seq {victim.seq}, scan {victim.scan_id}" in out
    assert out.count("EDITED") == 1, out


def test_a_corrupted_entry_is_named_and_the_walk_goes_on(path):
    entries = fill(path)
    db = material.connect(path)
    db.execute("UPDATE entries SET report = ? WHERE seq = ?", (b"\x78\x9c garbage", entries[1].seq))
    db.execute("DELETE FROM entries WHERE seq = ?", (entries[4].seq,))
    db.close()
    code, out = verify_cli(path)
    assert code == 1
    assert f"scan {entries[1].scan_id} (web2) cannot be read any more" in out
    assert f"seq {entries[4].seq} deleted" in out   # found after the unreadable one


def test_edited_facts_and_an_edited_listing_column_are_named(path):
    entries = fill(path)
    db = material.connect(path)
    facts = material.read_blob(db, "facts", entries[1].seq)
    facts["host"]["hostname"] = "somewhere-else"
    material.write_blob(db, "facts", entries[1].seq, facts)
    db.execute("UPDATE entries SET score = 100.0, n_fail = 0 WHERE seq = ?", (entries[4].seq,))
    db.close()
    code, out = verify_cli(path)
    assert code == 1
    assert f"scan {entries[1].scan_id}" in out and "content hashes to" in out
    assert f"scan {entries[4].scan_id}" in out and "counts, score" in out


def test_a_deleted_middle_entry_is_named(path):
    entries = fill(path)
    gone, after = entries[3], entries[4]
    db = material.connect(path)
    db.execute("DELETE FROM entries WHERE seq = ?", (gone.seq,))
    db.close()
    code, out = verify_cli(path, "--json")
    assert code == 1
    problems = json.loads(out)["problems"]
    deleted = [p for p in problems if p["kind"] == "deleted"]
    assert deleted and deleted[0]["scan_id"] == after.scan_id
    assert f"seq {gone.seq} deleted" in deleted[0]["message"] and gone.hash[:16] in deleted[0]["message"]
    assert not [p for p in problems if p["kind"] in ("edited", "reordered")]


def test_the_newest_entry_deleted_is_caught_by_the_recorded_head(path):
    entries = fill(path)
    db = material.connect(path)
    db.execute("DELETE FROM entries WHERE seq = ?", (entries[-1].seq,))
    db.close()
    code, out = verify_cli(path)
    assert code == 1 and "newest entry" in out and entries[-1].hash[:16] in out


def test_two_swapped_entries_are_named_as_reordered(path):
    entries = fill(path)
    a, b = entries[1], entries[4]
    db = material.connect(path)
    material.swap(db, a.seq, b.seq)
    db.close()
    code, out = verify_cli(path, "--json")
    assert code == 1
    problems = json.loads(out)["problems"]
    assert {p["kind"] for p in problems} == {"reordered"}, problems
    named = " ".join(p["message"] for p in problems)
    assert a.scan_id in named and b.scan_id in named
    # swapping neighbours is one inversion, named by both
    db = material.connect(path)
    material.swap(db, a.seq, b.seq)   # undo
    material.swap(db, entries[2].seq, entries[3].seq)
    db.close()
    code, out = verify_cli(path, "--json")
    problems = json.loads(out)["problems"]
    assert code == 1 and len(problems) == 1 and problems[0]["kind"] == "reordered"
    assert entries[2].scan_id in problems[0]["message"] and entries[3].scan_id in problems[0]["message"]


def test_edited_shared_check_metadata_is_named(path):
    fill(path, hosts=("web1",), rounds=2)
    db = material.connect(path)
    ident, data = db.execute("SELECT id, data FROM check_meta LIMIT 1").fetchone()
    meta = json.loads(data)
    meta["static"]["remediation"] = "Nothing to do."
    db.execute("UPDATE check_meta SET data = ? WHERE id = ?", (json.dumps(meta), ident))
    db.close()
    code, out = verify_cli(path)
    assert code == 1 and f"shared check metadata {ident} was edited" in out and out.count("EDITED") == 2


# ---------------------------------------------------------------- signatures


def test_signed_entries_verify_with_the_public_key_and_fail_when_altered_or_with_another_key(path, tmp_path):
    from dockbench.benchmark.archive.signing import Signer

    key = tmp_path / "signing.key"
    done = dockbench("archive", "keygen", key)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and (tmp_path / "signing.key.pub").exists()
    other = tmp_path / "other.key"
    assert dockbench("archive", "keygen", other).returncode == 0
    assert dockbench("archive", "keygen", key).returncode == 2   # never overwrites a key
    signer = Signer.load(key)
    entries = fill(path, signer=signer)
    raw = signer._key.private_bytes_raw()
    stored = material.connect(path).stored_bytes()
    assert raw not in stored and key.read_bytes() not in stored   # the private key never enters the archive

    code, out = verify_cli(path, "--public-key", f"{key}.pub")
    assert code == 0 and f"{len(entries)} signed" in out and "every signature verifies" in out, out
    code, out = verify_cli(path, "--public-key", f"{other}.pub")
    assert code == 1 and out.count("BAD_SIGNATURE") == len(entries)

    # A tamperer who re-hashes and re-chains everything after an edit fools the chain alone,
    # but cannot sign the new hashes.
    with open_archive(path) as archive:
        chain = list(archive.iterate())
    db = material.connect(path)
    prev = chain[2].prev_hash
    for position, entry in enumerate(chain[2:], start=2):
        report = entry.report
        if position == 2:
            report["summary"]["score"] = 100.0
        fields = {k: getattr(entry, k) for k in ("kind", "scan_id", "sweep_id", "host", "recorded_at", "options", "report", "facts")}
        fields["prev_hash"] = prev
        new_hash = entry_hash(fields)
        stored = material.read_blob(db, "report", entry.seq)
        stored["summary"] = report["summary"]
        material.write_blob(db, "report", entry.seq, stored)
        db.execute("UPDATE entries SET prev_hash = ?, hash = ?, score = ? WHERE seq = ?", (prev, new_hash, report["summary"]["score"], entry.seq))
        prev = new_hash
    db.set_head(prev)
    db.close()
    assert verify_cli(path)[0] == 0          # the chain alone is consistent again...
    code, out = verify_cli(path, "--public-key", f"{key}.pub")
    assert code == 1 and f"scan {chain[2].scan_id}" in out and "BAD_SIGNATURE" in out   # ...the signatures are not


def test_unsigned_entries_fail_verification_with_a_public_key(path, tmp_path):
    fill(path, hosts=("web1",), rounds=1)
    assert dockbench("archive", "keygen", tmp_path / "k").returncode == 0
    code, out = verify_cli(path, "--public-key", tmp_path / "k.pub")
    assert code == 1 and "UNSIGNED" in out


# ---------------------------------------------------------------- prune, export


def test_prune_keeps_the_rest_verifiable_from_a_checkpoint(path):
    entries = fill(path)
    db = material.connect(path)   # make the first four entries 40 days old
    for entry in entries[:4]:
        db.execute("UPDATE entries SET recorded_at = '2020-01-01T00:00:00.000000Z' WHERE seq = ?", (entry.seq,))
    db.close()
    # recorded_at is hashed: re-seal those four so the test starts from an intact archive
    with open_archive(path) as archive:
        chain = list(archive.iterate())
    db = material.connect(path)
    prev = "0" * 64
    for entry in chain:
        fields = {k: getattr(entry, k) for k in ("kind", "scan_id", "sweep_id", "host", "recorded_at", "options", "report", "facts")}
        fields["prev_hash"] = prev
        prev_new = entry_hash(fields)
        db.execute("UPDATE entries SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, prev_new, entry.seq))
        prev = prev_new
    db.set_head(prev)
    db.close()
    assert verify_cli(path)[0] == 0

    done = dockbench("archive", "prune", "--archive", path, "--keep-days", "30", "--dry-run")
    assert "would delete 4 entries" in done.stdout
    done = dockbench("archive", "prune", "--archive", path, "--keep-days", "30")
    assert done.returncode == 0 and "deleted 4 entries" in done.stdout, done.stderr
    code, out = verify_cli(path)
    assert code == 0 and "4 pruned before seq 5" in out, out
    with open_archive(path) as archive:
        assert [i.scan_id for i in archive.scans()] == [e.scan_id for e in entries[4:]]
    # deleting the first entry left is still caught: the checkpoint says where the chain resumes
    db = material.connect(path)
    db.execute("DELETE FROM entries WHERE seq = ?", (entries[4].seq,))
    db.close()
    code, out = verify_cli(path)
    assert code == 1 and "DELETED" in out and entries[5].scan_id in out


def test_export_jsonl_lines_carry_their_chain_fields_and_rehash(path, tmp_path):
    entries = fill(path)
    out = tmp_path / "export.jsonl"
    done = dockbench("archive", "export", "--archive", path, "-o", out)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    header, rows = lines[0], lines[1:]
    assert header["dockbench_archive_export"] == 1
    assert [r["scan_id"] for r in rows] == [e.scan_id for e in entries]
    for row in rows:
        fields = {k: row[k] for k in ("kind", "scan_id", "sweep_id", "host", "recorded_at", "options", "prev_hash", "report", "facts")}
        assert entry_hash(fields) == row["hash"]
    assert rows[1]["prev_hash"] == rows[0]["hash"]

    folder = tmp_path / "reports"
    done = dockbench("archive", "export", "--archive", path, "--format", "dir", "-o", folder, "--host", "web2")
    assert done.returncode == 0, done.stderr
    manifest = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()][1:]
    assert [m["scan_id"] for m in manifest] == [e.scan_id for e in entries if e.host == "web2"]
    for item in manifest:
        assert json.loads((folder / item["files"]["report"]).read_text())["scan_id"] == item["scan_id"]
        assert json.loads((folder / item["files"]["facts"]).read_text())["facts_version"]


def test_a_sweep_is_stored_atomically_and_shown_whole(path, tmp_path):
    reports = [material.host_scan(name) for name in ("web1", "web2")]
    document = material.sweep([r for r, _ in reports], [material.unreachable("db9")])
    with open_archive(path) as archive:
        stored = archive.put_sweep(document, {r["target"]["name"]: f for r, f in reports}, options={})
        assert [e.kind for e in stored] == ["host", "host", "sweep"]
        assert {e.sweep_id for e in stored[:2]} == {document["sweep_id"]}
        assert [i.scan_id for i in archive.scans(kind="sweep")] == [document["sweep_id"]]
    out = tmp_path / "sweep.json"
    done = dockbench("show", document["sweep_id"][:12], "--archive", path, "-o", out)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == json.loads(json.dumps(document))
