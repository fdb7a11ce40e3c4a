"""The archive end to end: real `dockbench scan`s of the test daemon with its configuration
changed between them (a container started with --pid host), then history, diff, show and
reevaluate on what was stored; a real SSH sweep twice over a changed inventory; signing from
the scan command; and a scan that cannot be archived still writes its report. The scans and the
sweeps are stored in each backend in turn: an SQLite file and a PostgreSQL database."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

import pytest
import yaml

from dockbench.benchmark import render
from dockbench.benchmark.archive import open_archive
from dockbench.benchmark.archive.diff import diff_hosts
from tests.cli_run import by_id, dockbench, load_report
from tests.conftest import BACKENDS
from tests.support.archive import module_archive
from tests.support.sshd import Lab

CHECK = "container-no-host-pid"


@pytest.fixture(scope="module", params=BACKENDS)
def scans(request, docker_daemon, tmp_path_factory):
    """Two archived scans of the test daemon: before and after a --pid host container starts."""
    d = docker_daemon
    tmp = tmp_path_factory.mktemp("archive-scans")
    archive = module_archive(request, tmp_path_factory, "archive-scans")
    started = [d.run_container("arch-calm")]
    common = ["scan", "--docker-host", d.host, "--container", d.name("arch-*"), "--archive", archive, "-q", "--fail-on", "never"]
    first = dockbench(*common, "-o", tmp / "r1.json", "--facts-out", tmp / "f1.json")
    assert first.returncode == 0, first.stderr
    started.append(d.run_container("arch-pidhost", "--pid", "host"))
    second = dockbench(*common, "-o", tmp / "r2.json", "--facts-out", tmp / "f2.json")
    assert second.returncode == 0, second.stderr
    r1, r2 = load_report(tmp / "r1.json"), load_report(tmp / "r2.json")
    yield {"archive": archive, "tmp": tmp, "r1": r1, "r2": r2, "host": r1["target"]["hostname"], "pidhost": started[1], "daemon": d}
    d.remove(started)


def arch(scans, *args):
    return dockbench(*args, "--archive", scans["archive"])


def test_each_scan_is_stored_with_its_report_and_facts(scans):
    rows = json.loads(arch(scans, "history", "--json").stdout)
    assert [r["scan_id"] for r in rows] == [scans["r1"]["scan_id"], scans["r2"]["scan_id"]]
    assert {r["host"] for r in rows} == {scans["host"]}
    assert [r["score"] for r in rows] == [scans["r1"]["summary"]["score"], scans["r2"]["summary"]["score"]]
    shown = arch(scans, "show", scans["r1"]["scan_id"][:8])
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == scans["r1"]
    facts = arch(scans, "show", scans["r2"]["scan_id"][:8], "--facts")
    assert json.loads(facts.stdout) == json.loads((scans["tmp"] / "f2.json").read_text())
    assert arch(scans, "archive", "verify").returncode == 0


def test_history_follows_one_check_across_scans(scans):
    done = arch(scans, "history", "--host", scans["host"], "--check", CHECK, "--json")
    rows = json.loads(done.stdout)
    assert [(r["check"]["status"], r["check"]["changed"]) for r in rows] == [("PASS", False), ("FAIL", True)]
    table = arch(scans, "history", "--host", scans["host"], "--check", CHECK).stdout
    assert "was PASS" in table.splitlines()[-1]


def test_diff_names_the_newly_failing_check_with_its_evidence(scans):
    done = arch(scans, "diff", "--host", scans["host"], "--last", "2", "--json")
    assert done.returncode == 1, done.stderr   # something got worse
    result = json.loads(done.stdout)
    assert (result["a"]["scan_id"], result["b"]["scan_id"]) == (scans["r1"]["scan_id"], scans["r2"]["scan_id"])
    assert [c["id"] for c in result["newly_failing"]] == [CHECK]
    change = result["newly_failing"][0]
    assert (change["before"], change["after"]) == ("PASS", "FAIL")
    pidhost = {"subject": scans["pidhost"], "observed": "PidMode=host", "kind": "container", "id": scans["daemon"].inspect(scans["pidhost"])["Id"]}
    assert pidhost in change["evidence_added"]
    assert result["fixed"] == [] and result["status_changed"] == []
    # the new container shows in the evidence of checks that failed already
    changed = {c["id"]: c for c in result["evidence_changed"]}
    assert scans["pidhost"] in json.dumps(changed["container-user-not-root"]["evidence_added"])
    text = arch(scans, "diff", scans["r1"]["scan_id"][:8], scans["r2"]["scan_id"][:8]).stdout
    assert "NEWLY FAILING" in text and f"{CHECK} [high] PASS -> FAIL" in text and f"+ {scans['pidhost']}: PidMode=host" in text
    # one id: against the scan of the same host before it; the other way round, the check is fixed
    alone = json.loads(arch(scans, "diff", scans["r2"]["scan_id"], "--json").stdout)
    assert [c["id"] for c in alone["newly_failing"]] == [CHECK]
    back = arch(scans, "diff", scans["r2"]["scan_id"], scans["r1"]["scan_id"], "--json")
    assert back.returncode == 0 and [c["id"] for c in json.loads(back.stdout)["fixed"]] == [CHECK]


@pytest.mark.parametrize("fmt", ["html", "junit", "csv", "md", "json"])
def test_show_renders_a_stored_scan_like_the_report_command(scans, fmt, tmp_path):
    out = tmp_path / f"shown{render.extension(fmt)}"
    done = arch(scans, "show", scans["r2"]["scan_id"][:10], "--format", fmt, "-o", out)
    assert done.returncode == 0, done.stderr
    # an HTML page from the archive also has what the archive knows (#19): the options the scan
    # was stored with, and the host's scan before it with what changed since
    with open_archive(scans["archive"]) as archive:
        options = archive.get(scans["r2"]["scan_id"], facts=False).options
    archived = render.Archived(options, scans["r1"], diff_hosts(scans["r1"], scans["r2"])) if fmt == "html" else None
    assert out.read_bytes() == render.render(scans["r2"], fmt, archived).encode()


def test_reevaluate_judges_the_stored_facts_again(scans, tmp_path):
    scan_id = scans["r2"]["scan_id"]
    same = arch(scans, "reevaluate", scan_id[:8], "--json", "-o", tmp_path / "again.json")
    assert same.returncode == 0, same.stderr
    result = json.loads(same.stdout)
    # the scan's own --container selection is reused: nothing changes with the same checks
    assert not any(result[k] for k in ("newly_failing", "fixed", "status_changed", "added_checks", "removed_checks"))
    assert not [c["id"] for c in result["evidence_changed"] if c["id"].startswith("container-")]
    again = load_report(tmp_path / "again.json")
    assert by_id(again)[CHECK]["status"] == "FAIL"
    # options given here win: fewer checks, or no container selected
    fewer = json.loads(arch(scans, "reevaluate", scan_id, "--json", "--exclude", CHECK).stdout)
    assert fewer["removed_checks"] == [{"id": CHECK, "status": "FAIL"}]
    none = arch(scans, "reevaluate", scan_id, "--container", "no-such-container-*")
    # no container selected any more: a change of scope, not a fix
    assert none.returncode == 0 and "FIXED" not in none.stdout and "CHANGED WITH THE SCOPE" in none.stdout
    assert f"{CHECK} [high] FAIL -> NOT_APPLICABLE" in none.stdout


def test_no_archive_stores_nothing_and_a_broken_archive_still_writes_the_report(scans, tmp_path):
    d = scans["daemon"]
    before = len(json.loads(arch(scans, "history", "--json").stdout))
    skipped = dockbench("scan", "--docker-host", d.host, "--container", d.name("arch-*"), "--archive", scans["archive"], "--no-archive",
                        "-q", "--fail-on", "never", "-o", tmp_path / "r.json")
    assert skipped.returncode == 0 and "archived" not in skipped.stderr
    assert len(json.loads(arch(scans, "history", "--json").stdout)) == before

    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"this is not an SQLite database" * 200)
    done = dockbench("scan", "--docker-host", d.host, "--container", d.name("arch-*"), "--archive", broken, "-q", "-o", tmp_path / "kept.json")
    assert done.returncode == 1   # the scan's own verdict (a FAIL), not an archive error
    assert "warning: the scan was not archived" in done.stderr
    assert load_report(tmp_path / "kept.json")["kind"] == "host"


def test_scans_signed_from_the_command_line_verify(scans, tmp_path):
    d = scans["daemon"]
    key = tmp_path / "k"
    assert dockbench("archive", "keygen", key).returncode == 0
    archive = tmp_path / "signed.sqlite3"
    done = dockbench("scan", "--docker-host", d.host, "--container", d.name("arch-*"), "--archive", archive, "--sign-key", key,
                     "--fail-on", "never", "-o", tmp_path / "r.json")
    assert done.returncode == 0 and "dockbench: archived scan" in done.stderr, done.stderr
    ok = dockbench("archive", "verify", "--archive", archive, "--public-key", f"{key}.pub")
    assert ok.returncode == 0 and "1 signed" in ok.stdout, ok.stdout
    db = sqlite3.connect(archive)
    db.execute("UPDATE entries SET signature = NULL")
    db.commit()
    db.close()
    assert dockbench("archive", "verify", "--archive", archive, "--public-key", f"{key}.pub").returncode == 1
    bad = dockbench("scan", "--docker-host", d.host, "--archive", archive, "--sign-key", f"{key}.pub", "-o", tmp_path / "x.json")
    assert bad.returncode == 2 and "--sign-key" in bad.stderr and not (tmp_path / "x.json").exists()


# ---------------------------------------------------------------- a fleet, twice


@pytest.fixture(scope="module", params=BACKENDS)
def fleet(request, docker_daemon, tmp_path_factory):
    lab = Lab(Path(tempfile.mkdtemp(prefix="dbt-archlab-")))
    try:
        servers = {name: lab.start(name, f"127.0.0.{61 + i}") for i, name in enumerate(("alpha", "bravo", "charlie"))}
    except Exception as exc:  # noqa: BLE001 - any failure to start the lab fails the tests that need it
        lab.stop()
        pytest.fail(f"cannot start the sshd lab: {exc}", pytrace=False)
    known = lab.known_hosts(lab.directory / "known_hosts", list(servers.values()))
    tmp = tmp_path_factory.mktemp("archive-fleet")
    archive = module_archive(request, tmp_path_factory, "archive-fleet")

    def sweep(names, out):
        inventory = {"defaults": {"user": "root", "key": str(lab.client_key), "docker_host": docker_daemon.host},
                     "groups": {"fleet": {"hosts": {n: {"host": servers[n].address, "port": servers[n].port} for n in names}}}}
        (tmp / "inventory.yaml").write_text(yaml.safe_dump(inventory))
        done = dockbench("scan", "--inventory", tmp / "inventory.yaml", "--known-hosts", known, "--ssh-config", "/dev/null",
                         "--archive", archive, "-q", "--fail-on", "never", "-o", out)
        assert done.returncode == 0, done.stderr
        return load_report(out)

    first = sweep(["alpha", "bravo"], tmp / "s1.json")
    second = sweep(["bravo", "charlie"], tmp / "s2.json")
    yield {"archive": archive, "first": first, "second": second, "tmp": tmp}
    lab.stop()


def test_each_host_of_a_sweep_is_archived_and_the_sweep_shows_whole(fleet):
    history = json.loads(dockbench("history", "--archive", fleet["archive"], "--host", "bravo", "--json").stdout)
    assert [r["sweep_id"] for r in history] == [fleet["first"]["sweep_id"], fleet["second"]["sweep_id"]]
    sweeps = json.loads(dockbench("history", "--archive", fleet["archive"], "--sweeps", "--json").stdout)
    assert [s["scan_id"] for s in sweeps] == [fleet["first"]["sweep_id"], fleet["second"]["sweep_id"]]
    out = fleet["tmp"] / "shown.json"
    assert dockbench("show", fleet["second"]["sweep_id"][:8], "--archive", fleet["archive"], "-o", out).returncode == 0
    assert load_report(out) == fleet["second"]
    facts = json.loads(dockbench("show", fleet["first"]["sweep_id"], "--facts", "--archive", fleet["archive"]).stdout)
    assert facts["kind"] == "facts-sweep" and sorted(facts["hosts"]) == ["alpha", "bravo"]


def test_diff_of_two_sweeps_names_hosts_appearing_and_disappearing(fleet):
    done = dockbench("diff", "--last", "2", "--archive", fleet["archive"], "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["a"]["sweep_id"], result["b"]["sweep_id"]) == (fleet["first"]["sweep_id"], fleet["second"]["sweep_id"])
    assert (result["hosts_appeared"], result["hosts_disappeared"]) == (["charlie"], ["alpha"])
    assert set(result["hosts"]) <= {"bravo"}   # the one host in both: only its evidence may differ
    assert not any(result["hosts"].get("bravo", {}).get(k) for k in ("newly_failing", "fixed", "status_changed"))
    text = dockbench("diff", fleet["first"]["sweep_id"][:8], fleet["second"]["sweep_id"][:8], "--archive", fleet["archive"]).stdout
    assert "hosts appeared: charlie" in text and "hosts disappeared: alpha" in text
    again = dockbench("reevaluate", fleet["second"]["sweep_id"][:8], "--archive", fleet["archive"], "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["hosts"] == {}
    assert dockbench("archive", "verify", "--archive", fleet["archive"]).returncode == 0
