"""The command line as users meet it: help, version, usage errors, colour, bad input files."""

from __future__ import annotations

import io
import json

import pytest

from dockbench.benchmark import __version__
from dockbench.benchmark.cli import outputs as cli
from dockbench.benchmark.render import terminal
from tests.cli_run import dockbench


def test_version():
    done = dockbench("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"dockbench, version {__version__}"


@pytest.mark.parametrize("command", [[], ["scan"], ["evaluate"], ["checks"], ["checks", "list"]])
def test_every_command_has_help(command):
    done = dockbench(*command, "--help")
    assert done.returncode == 0
    assert "Usage: dockbench" in done.stdout


def test_usage_errors_exit_2():
    assert dockbench("scan", "--fail-on", "sometimes").returncode == 2
    assert dockbench("no-such-command").returncode == 2
    assert dockbench("scan", "--root", "/no/such/dir").returncode == 2


def test_evaluate_refuses_what_is_not_a_snapshot(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    done = dockbench("evaluate", bad)
    assert done.returncode == 2
    assert "not a dockbench facts snapshot" in done.stderr
    bad.write_text("garbage{")
    assert dockbench("evaluate", bad).returncode == 2


def test_checks_list_json_and_table():
    listed = json.loads(dockbench("checks", "list", "--format", "json").stdout)
    ids = {c["id"] for c in listed}
    assert "container-not-privileged" in ids
    privileged = next(c for c in listed if c["id"] == "container-not-privileged")
    assert privileged["cis"][0]["id"] == "5.5" and privileged["level"] == 1
    assert privileged["module"] == "dockbench.checks.containers.privileges"
    assert next(c for c in listed if c["id"] == "perm-docker-sock-owner")["module"] == "dockbench.checks.socket_permissions"
    table = dockbench("checks", "list").stdout.splitlines()
    assert table[0].split() == ["id", "cis", "layer", "level", "severity", "module", "cis-1.7.0", "cis-1.6.0", "title"]
    assert len(table) == len(listed) + 1
    row = next(line.split() for line in table if line.startswith("host-audit-dockerd "))
    assert row[5] == "dockbench.checks.host_kernel.host" and " ".join(row[8:]) == "Changes to the dockerd binary are audited"


def test_checks_list_shows_each_checks_id_under_every_version():
    listed = {c["id"]: c for c in json.loads(dockbench("checks", "list", "--format", "json").stdout)}
    assert listed["tls-tcp-requires-client-certs"]["cis_by_benchmark"] == {"cis-docker-1.8.0": ["2.8"], "cis-docker-1.7.0": ["2.7"], "cis-docker-1.6.0": ["2.7"]}
    assert listed["daemon-storage-driver-not-devicemapper"]["cis_by_benchmark"] == {"cis-docker-1.8.0": ["2.7"], "cis-docker-1.7.0": [], "cis-docker-1.6.0": []}
    assert listed["daemon-config-valid"]["cis_by_benchmark"] == {"cis-docker-1.8.0": [], "cis-docker-1.7.0": [], "cis-docker-1.6.0": []}
    old = dockbench("checks", "list", "--benchmark", "cis-docker-1.6.0").stdout.splitlines()
    assert old[0].split()[:8] == ["id", "cis", "layer", "level", "severity", "module", "cis-1.8.0", "cis-1.7.0"]
    row = next(line.split() for line in old if line.startswith("tls-tcp-requires-client-certs "))
    assert (row[1], row[6], row[7]) == ("2.7", "2.8", "2.7")
    row = next(line.split() for line in old if line.startswith("operations-image-sprawl "))
    assert (row[1], row[3]) == ("6.1", "-")  # v1.6.0 states no level for 6.1


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_color_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert cli._use_color(_Tty())
    assert not cli._use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not cli._use_color(_Tty())


def test_terminal_output_escapes_control_characters():
    assert terminal.clean("evil\x1b[2J\x07name") == "evil\\x1b[2J\\x07name"


def test_one_run_writes_every_format_asked_for(tmp_path):
    from tests.recorded import recorded_snapshot

    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(recorded_snapshot()))
    outputs = [tmp_path / name for name in ("r.json", "r.html", "r.xml", "r.csv", "r.md")]
    done = dockbench("evaluate", facts, *[arg for path in outputs for arg in ("-o", path)], "-q", "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    document = json.loads(outputs[0].read_text())
    failing = [r["id"] for r in document["results"] if r["status"] == "FAIL"]
    assert failing
    for path in outputs[1:]:
        assert failing[0] in path.read_text(), path.name
    assert dockbench("evaluate", facts, "-o", tmp_path / "r.pdf").returncode == 2
    assert dockbench("evaluate", facts, "-o", "/dev/null", "-q", "--fail-on", "never").returncode == 0
