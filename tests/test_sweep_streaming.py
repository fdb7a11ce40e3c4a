"""Streamed sweeps over real sshd processes probing the real test daemon: the outputs equal
what the in-memory sweep document would be, an interrupted or killed sweep keeps exactly the
hosts it finished, a judging process that dies costs its host only, and the results held at
once stay bounded by --parallel whatever the fleet's size."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from dockbench.benchmark import render
from dockbench.benchmark.archive import open_archive
from dockbench.benchmark.collect.inventory import Target
from dockbench.benchmark.collect.ssh import SSHOptions
from dockbench.benchmark.document import reader as sweep_reader
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.document import validate
from dockbench.benchmark.fleet.output import PARTIAL, SweepOutput
from dockbench.benchmark.fleet.sweep import Progress, Sweep
from dockbench.benchmark.judge.options import JudgingOptions
from tests.cli_run import DOCKBENCH, dockbench, load_report
from tests.support.sshd import Lab, free_port

CRASHING_HOST = "crash-me"


@pytest.fixture(scope="module")
def lab(docker_daemon):
    lab = Lab(Path(tempfile.mkdtemp(prefix="dbt-streamlab-")))
    try:
        lab.healthy = [lab.start(f"s{i}", f"127.0.2.{i}") for i in range(1, 4)]
        lab.hangs = lab.start("hangs", "127.0.2.9", extra_config="ForceCommand sleep 60")
    except Exception as exc:
        lab.stop()
        pytest.fail(f"cannot start the sshd lab: {exc}", pytrace=False)
    lab.known_hosts_file = lab.known_hosts(lab.directory / "known_hosts", [*lab.healthy, lab.hangs])
    lab.docker_host = docker_daemon.host
    yield lab
    lab.stop()


def inventory(lab, path: Path, names: list[str], hangs: bool = False, closed: bool = False) -> Path:
    """`names` hosts spread over the healthy sshd, plus a hanging one and a closed port if asked."""
    hosts = {name: {"host": lab.healthy[i % len(lab.healthy)].address, "port": lab.healthy[i % len(lab.healthy)].port} for i, name in enumerate(names)}
    if hangs:
        hosts["zz-hangs"] = {"host": lab.hangs.address, "port": lab.hangs.port}
    if closed:
        hosts["closed-port"] = {"host": "127.0.2.20", "port": free_port("127.0.2.20")}
    path.write_text(yaml.safe_dump({"defaults": {"user": "root", "key": str(lab.client_key), "docker_host": lab.docker_host}, "hosts": hosts}))
    return path


def sweep_args(lab, inventory_file: Path, *extra) -> list[str]:
    return ["scan", "--inventory", inventory_file, "--known-hosts", lab.known_hosts_file, "--ssh-config", "/dev/null",
            "--timeout", 30, "--connect-timeout", 3, "-q", "--fail-on", "never", *extra]


def test_streamed_outputs_equal_the_sweep_document(lab, tmp_path):
    out, lines, facts, archive = tmp_path / "s.json", tmp_path / "s.jsonl", tmp_path / "f.json", tmp_path / "a.sqlite3"
    names = ["web1", "web2", "db1", "db2"]
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(yaml.safe_dump({"waivers": [{"id": "web-accepted", "check": "*", "hosts": ["web*"], "justification": "test",
                                                    "owner": "qa", "expires": "2099-01-01"}]}))
    done = dockbench(*sweep_args(lab, inventory(lab, tmp_path / "inv.yaml", names, closed=True), "--waivers", waivers,
                                 "--parallel", 3, "--workers", 2, "-o", out, "-o", lines, "--facts-out", facts, "--archive", archive))
    assert done.returncode == 4, done.stderr
    document = load_report(out)
    assert document["summary"]["waived"]["total"] > 0 and document["waivers"]["entries"][0]["id"] == "web-accepted"
    validate.check(document)
    assert [h["target"]["name"] for h in document["hosts"]] == sorted(names)
    assert [e["name"] for e in document["errors"]] == ["closed-port"]
    # the in-memory document of the same hosts and errors is the streamed one
    assert report_mod.build_sweep(document["hosts"], document["errors"], benchmark=document["benchmark"], started_at=document["started_at"], finished_at=document["finished_at"],
                                  sweep_id=document["sweep_id"]) == document
    with sweep_reader.read(str(lines)) as read_back:
        assert read_back.whole() == document
    assert sorted(lines.read_text().splitlines()) == sorted(render.render(document, "jsonl").splitlines())
    assert not list(tmp_path.glob(f"*{PARTIAL}"))
    # one host per line: a reader needs one host in memory at a time
    host_lines = out.read_text().splitlines()[2:-2]
    assert [json.loads(line.rstrip(","))["target"]["name"] for line in host_lines] == sorted(names)
    assert sorted(json.loads(facts.read_text())["hosts"]) == sorted(names)
    with open_archive(archive) as stored:
        scans = stored.scans(sweep_id=document["sweep_id"])
        assert sorted(s.host for s in scans) == sorted(names)
        assert stored.get(document["sweep_id"]).report["hosts"] == [h["scan_id"] for h in document["hosts"]]
    shown = tmp_path / "shown.json"
    assert dockbench("show", document["sweep_id"], "--archive", archive, "-o", shown).returncode == 0
    assert load_report(shown)["hosts"] == document["hosts"]
    # the same facts judged again in this process (no worker) give the same verdicts
    again = tmp_path / "again.json"
    assert dockbench("evaluate", facts, "--waivers", waivers, "-o", again, "-q", "--fail-on", "never").returncode == 0

    def verdicts(doc):
        return {(h["target"]["name"], r["id"]): (r["status"], r["evidence"]) for h in doc["hosts"] for r in h["results"]}
    assert verdicts(load_report(again)) == verdicts(document)


def _finished(lines: Path) -> list[str]:
    return sorted(json.loads(line)["target"]["name"] for line in lines.read_text().splitlines() if json.loads(line)["kind"] == "host")


def test_ctrl_c_keeps_exactly_the_finished_hosts(lab, tmp_path):
    out, lines, archive = tmp_path / "s.json", tmp_path / "s.jsonl", tmp_path / "a.sqlite3"
    names = [f"n{i:02d}" for i in range(12)]
    args = [DOCKBENCH, *map(str, sweep_args(lab, inventory(lab, tmp_path / "inv.yaml", names, hangs=True),
                                            "--parallel", 2, "-o", out, "-o", lines, "--archive", archive))]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not lines.exists() or len(_finished(lines)) < 2):
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    document = load_report(out)
    finished = _finished(lines)
    assert document["interrupted"] is True
    assert 2 <= len(finished) < len(names)
    assert sorted(h["target"]["name"] for h in document["hosts"]) == finished
    assert {e["kind"] for e in document["errors"]} == {"interrupted"}
    assert sorted([h["target"]["name"] for h in document["hosts"]] + [e["name"] for e in document["errors"]]) == sorted([*names, "zz-hangs"])
    with open_archive(archive) as stored:
        assert sorted(s.host for s in stored.scans(sweep_id=document["sweep_id"])) == finished


def test_a_killed_sweep_leaves_its_finished_hosts_saved(lab, tmp_path):
    out, archive = tmp_path / "s.json", tmp_path / "a.sqlite3"
    names = [f"k{i:02d}" for i in range(12)]
    partial = tmp_path / ("s.json" + PARTIAL)
    args = [DOCKBENCH, *map(str, sweep_args(lab, inventory(lab, tmp_path / "inv.yaml", names), "--parallel", 1, "-o", out, "--archive", archive))]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not partial.exists() or len(_finished(partial)) < 2):
        time.sleep(0.05)
    process.kill()
    process.wait(timeout=30)
    assert not out.exists()
    finished = _finished(partial)
    assert 2 <= len(finished) < len(names)
    with sweep_reader.read(str(partial)) as left:  # what a crashed sweep left can still be read, and rendered
        recovered = left.whole()
    assert recovered["interrupted"] is True and sorted(h["target"]["name"] for h in recovered["hosts"]) == finished
    jsonschema.validate(recovered, report_mod.schema())
    rendered = tmp_path / "recovered.json"
    assert dockbench("report", partial, "-o", rendered).returncode == 0
    assert load_report(rendered) == recovered
    with open_archive(archive) as stored:
        archived = sorted(s.host for s in stored.scans(kind="host"))
    assert set(archived) <= set(finished) and len(finished) - len(archived) in (0, 1)  # killed between the two writes at worst


@dataclasses.dataclass(frozen=True)
class CrashingOptions(JudgingOptions):
    """The real options, except that judging one host kills the process judging it."""

    def judge(self):
        judge = super().judge()

        def crashing(snapshot, started, **finished):
            if snapshot["target"]["name"] == CRASHING_HOST:
                os._exit(3)
            return judge(snapshot, started, **finished)
        return crashing


def run_sweep(lab, tmp_path, names: list[str], judging, *, parallel: int, workers: int):
    targets = [Target(name=name, host=lab.healthy[i % len(lab.healthy)].address, port=lab.healthy[i % len(lab.healthy)].port, user="root",
                      docker_host=lab.docker_host) for i, name in enumerate(names)]
    options = SSHOptions(known_hosts=str(lab.known_hosts_file), ssh_config=None, host_timeout=60, key_file=str(lab.client_key), user="root")
    header = report_mod.build_sweep([], [], benchmark=JudgingOptions().judge().benchmark.to_dict(), started_at="2026-01-01T00:00:00Z", finished_at="")
    output = SweepOutput(header, [(str(tmp_path / "s.json"), "json")])
    fleet = Sweep(targets, options, judging, parallel, workers, sweep_id=header["sweep_id"])
    interrupted = fleet.run(output, Progress(len(targets), enabled=False))
    return fleet, output.finish(finished_at="2026-01-01T00:00:01Z", interrupted=interrupted), load_report(tmp_path / "s.json")


def test_a_judging_process_that_dies_costs_one_host(lab, tmp_path):
    names = ["a1", "a2", CRASHING_HOST, "a3", "a4", "a5"]
    _, _, document = run_sweep(lab, tmp_path, names, CrashingOptions(), parallel=3, workers=2)
    assert sorted(h["target"]["name"] for h in document["hosts"]) == sorted(set(names) - {CRASHING_HOST})
    [error] = document["errors"]
    assert (error["name"], error["kind"]) == (CRASHING_HOST, "probe_failed")
    assert "died (exit status 3)" in error["message"]


@pytest.mark.parametrize("size", [4, 16])
def test_results_held_at_once_do_not_grow_with_the_fleet(lab, tmp_path, size):
    fleet, light, document = run_sweep(lab, tmp_path, [f"m{i:02d}" for i in range(size)], JudgingOptions(), parallel=2, workers=0)
    assert len(document["hosts"]) == size and all(h["results"] for h in document["hosts"])
    assert 1 <= fleet.peak_held <= 2
    assert all("results" not in h for h in light["hosts"])  # the sweep kept each host's summary, not its report
