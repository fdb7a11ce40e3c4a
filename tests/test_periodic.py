"""Periodic scans (benchmark/periodic/: the systemd service and timer, the cron line) and shell
completion: the units pass `systemd-analyze verify`, their command really scans the test daemon,
archives the scan and writes a Prometheus file that parses; click's completion scripts generate
and complete in a real bash."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dockbench.benchmark.collect import systemd
from tests.cli_run import DOCKBENCH, dockbench, load_report

PERIODIC = Path(__file__).resolve().parent.parent / "benchmark" / "periodic"
INSTALLED = "/usr/local/bin/dockbench"


def service_settings() -> dict[str, str]:
    text = (PERIODIC / "dockbench-scan.service").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def cron_fields() -> list[str]:
    (line,) = [line for line in (PERIODIC / "dockbench.cron").read_text().splitlines() if line.strip() and not line.startswith("#")]
    return line.split(None, 6)


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_the_units_pass_systemd_analyze_verify(tmp_path):
    for name in ("dockbench-scan.service", "dockbench-scan.timer"):
        (tmp_path / name).write_text((PERIODIC / name).read_text().replace(INSTALLED, DOCKBENCH))
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *(str(tmp_path / n) for n in ("dockbench-scan.service", "dockbench-scan.timer"))],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_the_cron_line_runs_the_same_command_as_the_service():
    minute, hour, dom, month, dow, user, command = cron_fields()
    assert (dom, month, dow, user) == ("*", "*", "*", "root") and 0 <= int(minute) < 60 and 0 <= int(hour) < 24
    env, argv = command.split(" ", 1)
    settings = service_settings()
    assert env == settings["Environment"]
    assert shlex.split(argv) == systemd.command_line(settings["ExecStart"], {})


def test_the_service_command_scans_archives_and_writes_the_metrics_file(docker_daemon, tmp_path):
    settings = service_settings()
    key, _, archive = settings["Environment"].partition("=")
    argv = systemd.command_line(settings["ExecStart"], {})
    assert argv[0] == INSTALLED and key == "DOCKBENCH_ARCHIVE"
    where = {path: str(tmp_path / path.strip("/").replace("/", "_")) for path in settings["ReadWritePaths"].split()}
    for directory in where.values():
        os.mkdir(directory)

    def moved(path: str) -> str:
        return next((path.replace(d, t, 1) for d, t in where.items() if path.startswith(d + "/")), path)

    env = dict(os.environ, DOCKBENCH_ARCHIVE=moved(archive), DOCKER_HOST=docker_daemon.host)
    done = subprocess.run([DOCKBENCH, *map(moved, argv[1:])], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    outputs = [moved(a) for a in argv if a.endswith((".json", ".prom"))]
    report = load_report(Path(next(p for p in outputs if p.endswith(".json"))))
    families = {f.name: f for f in text_string_to_metric_families(Path(next(p for p in outputs if p.endswith(".prom"))).read_text())}
    assert families["dockbench_results"].samples[0].labels["host"] == report["target"]["hostname"]
    history = dockbench("history", "--json", env=env)
    assert [r["scan_id"] for r in json.loads(history.stdout)] == [report["scan_id"]]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_generate_for_each_shell(shell):
    done = dockbench("completion", shell)
    assert done.returncode == 0, done.stderr
    assert "_DOCKBENCH_COMPLETE" in done.stdout and "dockbench" in done.stdout
    same = subprocess.run([DOCKBENCH], capture_output=True, text=True, env=dict(os.environ, _DOCKBENCH_COMPLETE=f"{shell}_source"), timeout=60)
    assert same.stdout.strip() == done.stdout.strip()


def test_bash_completes_commands_and_format_choices():
    script = dockbench("completion", "bash").stdout
    probe = script + """
complete -p dockbench
COMP_WORDS=(dockbench hist); COMP_CWORD=1; COMPREPLY=(); _dockbench_completion dockbench; echo "1:${COMPREPLY[*]}"
COMP_WORDS=(dockbench history --format ""); COMP_CWORD=3; COMPREPLY=(); _dockbench_completion dockbench; echo "2:${COMPREPLY[*]}"
COMP_WORDS=(dockbench report x.json -f ""); COMP_CWORD=4; COMPREPLY=(); _dockbench_completion dockbench; echo "3:${COMPREPLY[*]}"
"""
    env = dict(os.environ, PATH=f"{Path(DOCKBENCH).parent}:{os.environ['PATH']}")
    done = subprocess.run(["bash", "--norc", "-c", probe], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith(" dockbench")
    assert lines[1] == "1:history"
    assert lines[2] == "2:table json html"
    assert {"ocsf", "prometheus", "html", "json"} <= set(lines[3][2:].split())
