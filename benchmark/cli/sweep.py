"""`dockbench sweep start|work|status`: sweeps spread over many machines (fleet/distributed.py)."""

from __future__ import annotations

import json
import sys

import click

from dockbench.benchmark.archive import ArchiveError
from dockbench.benchmark.cli.archive import archive_option, shown
from dockbench.benchmark.cli.options import judge_of, judging_options, max_probe_bytes_option, ssh_options, ssh_settings, targets_of
from dockbench.benchmark.fleet.distributed import NotATeamArchive, WorkerSetup, default_worker_name, start, status, work


def _fail(message: str) -> None:
    click.echo(f"dockbench: {message}", err=True)
    sys.exit(2)


def _in_team_archive(action):
    """action(), with an archive problem worded for the command line (exit 2)."""
    try:
        return action()
    except NotATeamArchive as exc:
        raise click.UsageError(str(exc)) from None
    except ArchiveError as exc:
        _fail(str(exc))


@click.group("sweep")
def sweep_group() -> None:
    """Sweeps spread over many machines, queued in a team archive on PostgreSQL."""


@sweep_group.command("start")
@click.option("--inventory", required=True, type=click.Path(exists=True, dir_okay=False), help="Hosts to sweep: dockbench YAML, or an Ansible INI/YAML inventory.")
@click.option("--limit", metavar="PATTERN", help="Only inventory hosts or groups matching these comma-separated globs (!pattern excludes).")
@judging_options
@archive_option
def start_cmd(inventory, limit, archive_path, **judging) -> None:
    """Create a sweep and queue one job per inventory host; print the sweep id (last line).

    Workers (`dockbench sweep work`) on any number of machines take the hosts; the sweep
    closes when every host is recorded, and `dockbench show SWEEP` renders it.
    """
    judge = judge_of(judging)   # a malformed waiver file is refused here (exit 2); the text read here is what workers apply
    hosts = targets_of((), inventory, limit)
    sweep_id = _in_team_archive(lambda: start(archive_path, hosts, judge.options.pinned(judge.benchmark.id)))
    click.echo(f"queued {len(hosts)} hosts in {shown(archive_path)}")
    click.echo(sweep_id)


@sweep_group.command("work")
@click.option("--parallel", default=16, show_default=True, type=click.IntRange(1, 512), help="Hosts this worker audits at once.")
@click.option("--until-empty", is_flag=True, help="Stop when no job is left in the queue (none waiting, none running anywhere).")
@click.option("--stalled-after", default=30.0, show_default=True, type=click.FloatRange(1), metavar="SECONDS",
              help="A job whose worker sent no heartbeat for this long is queued again (its worker was killed or lost).")
@click.option("--name", "worker_name", metavar="NAME", help="This worker's name in `sweep status`. Default: HOSTNAME:PID.")
@click.option("--timeout", default=120.0, show_default=True, type=click.FloatRange(1), help="Seconds one host may take, connection and probe included.")
@click.option("--sudo", is_flag=True, help="Run the probe through `sudo -n`.")
@max_probe_bytes_option
@ssh_options
@archive_option
def work_cmd(parallel, until_empty, stalled_after, worker_name, archive_path, **ssh) -> None:
    """Take hosts from the queue, audit each as `scan --inventory` does, store each result."""
    setup = WorkerSetup(archive_path, ssh_settings(**ssh), worker_name or default_worker_name())
    _in_team_archive(lambda: work(setup, parallel, until_empty, stalled_after, lambda text: click.echo(f"dockbench: {text}", err=True)))


@sweep_group.command("status")
@click.argument("sweep_id")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@archive_option
def status_cmd(sweep_id, as_json, archive_path) -> None:
    """Hosts done, failed and running by worker, jobs pending, and whether the sweep closed."""
    state = _in_team_archive(lambda: status(archive_path, sweep_id))
    if as_json:
        click.echo(json.dumps(state, indent=2))
        return
    click.echo(f"sweep {state['sweep_id']} ({state['hosts']} hosts, started {state['started_at']}): "
               f"{state['done']} done, {state['failed']} failed, {state['pending']} pending, {state['running']} running"
               + (", closed" if state["closed"] else ""))
    if state["waivers"]:
        click.echo(f"  waivers {state['waivers']['source']} (sha256 {state['waivers']['sha256']})")
    for worker, counts in state["by_worker"].items():
        click.echo(f"  {worker}: {counts['done']} done, {counts['failed']} failed, {counts['running']} running")
