"""Real scans of the test daemon under each CIS benchmark version: the report names the version
it was judged against and numbers its checks that way; --include follows that numbering; the
archive re-judges a stored scan under another version and diff says the versions differ."""

from __future__ import annotations

import json

import pytest

from tests.cli_run import by_id, dockbench, load_report

VERSIONS = {
    "cis-docker-1.8.0": ("CIS Docker Benchmark v1.8.0", "1.8.0"),
    "cis-docker-1.7.0": ("CIS Docker Benchmark v1.7.0", "1.7.0"),
    "cis-docker-1.6.0": ("CIS Docker Benchmark v1.6.0", "1.6.0"),
}


@pytest.fixture(scope="module")
def stored(docker_daemon, tmp_path_factory):
    """A scan under 1.6.0 kept in an archive, with its report and facts files."""
    tmp = tmp_path_factory.mktemp("benchmarks")
    archive = tmp / "archive.sqlite3"
    done = dockbench("scan", "--docker-host", docker_daemon.host, "--benchmark", "cis-docker-1.6.0", "--include", "2", "--archive", archive,
                     "-o", tmp / "r.json", "--facts-out", tmp / "f.json", "-q", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    return {"archive": archive, "report": load_report(tmp / "r.json"), "facts": tmp / "f.json", "tmp": tmp}


@pytest.mark.parametrize("benchmark", [*VERSIONS, None])
def test_a_scan_is_judged_and_numbered_under_the_chosen_version(docker_daemon, tmp_path, benchmark):
    out = tmp_path / "r.json"
    chosen = ["--benchmark", benchmark] if benchmark else []
    done = dockbench("scan", "--docker-host", docker_daemon.host, *chosen, "--include", "2", "--include", "daemon-storage-driver-*", "--no-archive", "-o", out, "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    expected = benchmark or "cis-docker-1.8.0"  # the newest by default
    title, version = VERSIONS[expected]
    document = load_report(out)
    assert document["schema_version"] == "1.3"
    assert document["benchmark"] == {"id": expected, "title": title, "version": version}
    assert f"dockbench {document['tool']['version']} · {title}" in done.stdout
    results = by_id(document)
    assert {ref["benchmark"] for r in results.values() for ref in r["cis"]} == {expected}
    tls = [ref["id"] for ref in results["tls-tcp-requires-client-certs"]["cis"]]
    assert tls == (["2.8"] if expected == "cis-docker-1.8.0" else ["2.7"])
    devicemapper = results["daemon-storage-driver-not-devicemapper"]  # beyond CIS before 1.8.0
    assert devicemapper["status"] == "PASS" and devicemapper["message"] == "the daemon uses overlay2"
    assert [ref["id"] for ref in devicemapper["cis"]] == (["2.7"] if expected == "cis-docker-1.8.0" else [])
    assert all(ref["id"].startswith("2.") for r in results.values() for ref in r["cis"])


@pytest.mark.parametrize(("benchmark", "check_id"), [("cis-docker-1.8.0", "tls-tcp-requires-client-certs"), ("cis-docker-1.6.0", "daemon-default-ulimits")])
def test_include_by_cis_id_follows_the_versions_numbering(docker_daemon, tmp_path, benchmark, check_id):
    out = tmp_path / "r.json"
    done = dockbench("scan", "--docker-host", docker_daemon.host, "--benchmark", benchmark, "--include", "2.8", "--no-archive", "-o", out, "-q", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    assert [(r["id"], [c["id"] for c in r["cis"]]) for r in load_report(out)["results"]] == [(check_id, ["2.8"])]


def test_level_follows_the_version(docker_daemon, tmp_path):
    """6.1 and 6.2 state no level in v1.6.0 (they run under --level 1 like checks beyond CIS)."""
    levels = {}
    for benchmark in ("cis-docker-1.6.0", "cis-docker-1.8.0"):
        out = tmp_path / f"{benchmark}.json"
        done = dockbench("scan", "--docker-host", docker_daemon.host, "--benchmark", benchmark, "--include", "6", "--no-archive", "-o", out, "-q", "--fail-on", "never")
        assert done.returncode == 0, done.stderr
        levels[benchmark] = {r["id"]: r["level"] for r in load_report(out)["results"]}
    assert levels == {"cis-docker-1.6.0": {"operations-image-sprawl": None, "operations-container-sprawl": None},
                      "cis-docker-1.8.0": {"operations-image-sprawl": 1, "operations-container-sprawl": 1}}


def test_an_unknown_benchmark_is_a_usage_error():
    done = dockbench("scan", "--benchmark", "cis-docker-9.9", "--no-archive")
    assert done.returncode == 2
    assert "cis-docker-9.9" in done.stderr and "cis-docker-1.8.0" in done.stderr


def test_evaluate_judges_saved_facts_under_another_version(stored, tmp_path):
    out = tmp_path / "r.json"
    done = dockbench("evaluate", stored["facts"], "--benchmark", "cis-docker-1.7.0", "--include", "2.7", "-o", out, "-q", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    document = load_report(out)
    assert document["benchmark"]["id"] == "cis-docker-1.7.0"
    assert [r["id"] for r in document["results"]] == ["tls-tcp-requires-client-certs"]


def test_the_archive_records_the_benchmark_and_reevaluate_keeps_it_unless_told(stored, tmp_path):
    scan_id = stored["report"]["scan_id"]
    same = tmp_path / "same.json"
    done = dockbench("reevaluate", scan_id[:8], "--archive", stored["archive"], "-o", same)
    assert done.returncode == 0, done.stderr
    assert "benchmarks differ" not in done.stdout
    assert load_report(same)["benchmark"]["id"] == "cis-docker-1.6.0"
    newer = tmp_path / "newer.json"
    done = dockbench("reevaluate", scan_id[:8], "--benchmark", "cis-docker-1.8.0", "--archive", stored["archive"], "-o", newer)
    assert done.returncode == 0, done.stderr
    assert "benchmarks differ: cis-docker-1.6.0 -> cis-docker-1.8.0" in done.stdout
    document = load_report(newer)
    assert document["benchmark"]["id"] == "cis-docker-1.8.0"
    before, after = by_id(stored["report"]), by_id(document)
    assert [c["id"] for c in before["daemon-default-ulimits"]["cis"]] == ["2.8"]
    assert [c["id"] for c in after["daemon-default-ulimits"]["cis"]] == ["2.9"]
    # the stored include ("2") now selects section 2 as 1.8.0 numbers it: devicemapper (2.7) joins
    assert set(after) == set(before) | {"daemon-storage-driver-not-devicemapper"}
    # another benchmark is another scope: the check it adds is the scope's, not a new finding
    assert "scope changed: --benchmark: --benchmark cis-docker-1.6.0 -> --benchmark cis-docker-1.8.0" in done.stdout
    assert "CHECKS ADDED BY THE SCOPE: daemon-storage-driver-not-devicemapper (PASS)" in done.stdout
    assert json.loads(dockbench("reevaluate", scan_id[:8], "--benchmark", "cis-docker-1.8.0", "--archive", stored["archive"], "--json").stdout)["benchmarks_differ"] == {
        "a": "cis-docker-1.6.0", "b": "cis-docker-1.8.0"}


def test_diff_across_versions_compares_by_check_id_and_says_so(stored, docker_daemon):
    done = dockbench("scan", "--docker-host", docker_daemon.host, "--include", "2", "--archive", stored["archive"], "-o", stored["tmp"] / "r18.json", "-q", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    newer = load_report(stored["tmp"] / "r18.json")
    done = dockbench("diff", stored["report"]["scan_id"], newer["scan_id"], "--archive", stored["archive"], "--json")
    result = json.loads(done.stdout)
    assert (result["a"]["benchmark"], result["b"]["benchmark"]) == ("cis-docker-1.6.0", "cis-docker-1.8.0")
    assert result["benchmarks_differ"] == {"a": "cis-docker-1.6.0", "b": "cis-docker-1.8.0"}
    assert result["newly_failing"] == [] and result["removed_checks"] == []
    assert result["added_checks"] == [{"id": "daemon-storage-driver-not-devicemapper", "status": "PASS"}]
    text = dockbench("diff", stored["report"]["scan_id"], newer["scan_id"], "--archive", stored["archive"]).stdout
    assert "benchmarks differ: cis-docker-1.6.0 -> cis-docker-1.8.0; checks are compared by check id" in text
