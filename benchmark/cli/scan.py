"""`dockbench scan` and `dockbench evaluate`: the commands that judge, a host just probed or a
saved snapshot, and write the report."""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
from typing import Any

import click

from dockbench.benchmark import clock, exit_codes, render
from dockbench.benchmark.cli.archiving import ScanArchiver, scan_archive_options
from dockbench.benchmark.cli.fix import plan_path, write_plan
from dockbench.benchmark.cli.options import (
    WORKERS_FROM,
    fleet_options,
    judge_of,
    judging_options,
    max_probe_bytes_option,
    ssh_options,
    ssh_settings,
    targets_of,
)
from dockbench.benchmark.cli.outputs import default_output, finish, format_of, read_saved, result_options, wants
from dockbench.benchmark.collect.rounds import CollectError, collect
from dockbench.benchmark.collect.transports import LocalTransport, TransportError
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.judge.options import UnusableSnapshot
from dockbench.benchmark.render.terminal import clean

ALLOW_EMPTY = click.option("--allow-empty", is_flag=True, help="Judge even when --container/--label match no container (the report's scope says the selection was empty).")


@click.command()
@click.argument("targets", nargs=-1, metavar="[ssh://USER@HOST:PORT]...")
@click.option("--docker-host", envvar="DOCKER_HOST", metavar="URL", help="Daemon to audit, e.g. unix:///run/user/1000/docker.sock. Default: $DOCKER_HOST, else Docker's default.")
@click.option("--root", default="/", show_default=True, help="Audit a host whose filesystem is mounted here (e.g. /host).")
@click.option("--sudo", is_flag=True, help="Run the probe through `sudo -n` (read-only, but needs root to see everything).")
@click.option("--timeout", default=120.0, show_default=True, type=click.FloatRange(1), help="Seconds one host may take, connection and probe included.")
@max_probe_bytes_option
@click.option("--facts-out", metavar="FILE", help="Also save the facts snapshot (evidence; re-judge it with `dockbench evaluate`).")
@click.option("--fix-out", metavar="PLAN", callback=lambda ctx, param, value: plan_path(value), help="Also write the remediation plan of one host (as `dockbench fix` would), in the format PLAN's extension names: .md, .json, .sh, .yml.")
@fleet_options
@ssh_options
@judging_options
@ALLOW_EMPTY
@result_options
@scan_archive_options
def scan(targets, docker_host, root, sudo, timeout, max_probe_bytes, facts_out, fix_out, inventory, limit, parallel, workers, connect_timeout, ssh_user, identity, known_hosts,
         accept_new_host_keys, ssh_config, allow_empty, outputs, fail_on, quiet, archive_path, no_archive, sign_key, **judging) -> None:
    """Audit the local Docker host, or remote ones over SSH.

    With no TARGETS and no --inventory, the local host is audited. One ssh:// target gives a
    host report; several, or an inventory, give a fleet sweep. Sweep exit codes add 4 when
    some hosts could not be audited (each is listed with the reason). Every scan is stored in
    the archive (report and facts; see `dockbench history`) unless --no-archive.

    --container/--label that match no container on the host exit 2 unless --allow-empty; in a
    sweep such a host is judged all the same, its report's scope saying the selection was empty.
    """
    judge = judge_of(judging)
    archiver = ScanArchiver.from_options(archive_path, no_archive, sign_key)
    hosts = targets_of(targets, inventory, limit)
    if not hosts:
        _scan_local(judge, docker_host, root, LocalTransport(sudo=sudo, timeout=timeout, max_bytes=max_probe_bytes), facts_out, fix_out, allow_empty, outputs, quiet, fail_on, archiver)
        return
    from dockbench.benchmark.collect.ssh import KnownHosts  # only remote scans pay for loading the SSH stack

    options = ssh_settings(connect_timeout=connect_timeout, ssh_user=ssh_user, identity=identity, known_hosts=known_hosts,
                           accept_new_host_keys=accept_new_host_keys, ssh_config=ssh_config, timeout=timeout, sudo=sudo,
                           max_probe_bytes=max_probe_bytes)
    hosts = [dataclasses.replace(h, docker_host=h.docker_host or docker_host, root=h.root or (root if root != "/" else None)) for h in hosts]
    try:
        known = KnownHosts(options.known_hosts, options.accept_new_host_keys)
    except TransportError as exc:
        raise click.UsageError(str(exc)) from exc
    if len(hosts) == 1 and not inventory:
        _scan_one(hosts[0], options, known, judge, facts_out, fix_out, allow_empty, outputs, quiet, fail_on, archiver)
    elif fix_out:
        raise click.UsageError("--fix-out plans one host: for a sweep, run `dockbench fix SWEEP.json --facts FACTS --host NAME`")
    else:
        _sweep(hosts, options, known, judge, parallel, workers, facts_out, outputs, quiet, fail_on, archiver)


def _report_known_hosts(known) -> None:
    for line in known.recorded:
        click.echo(f"dockbench: recorded new host key {line}", err=True)


def refuse_empty(document: dict[str, Any], allow_empty: bool) -> None:
    """Exit 2 when the report's --container/--label selection matched no container, unless
    --allow-empty: a typo in a pattern must not pass for a host with nothing to check."""
    chosen = document.get("scope") or {}
    if allow_empty or not chosen.get("selection_empty"):
        return
    given = " ".join([f"--container {shlex.quote(p)}" for p in chosen["containers"]] + [f"--label {shlex.quote(v)}" for v in chosen["labels"]])
    which = "" if chosen["include_stopped"] else " (running ones only: --include-stopped adds the others)"
    click.echo(f"dockbench: {clean(given)} matched none of the {chosen['containers_total']} containers on {clean(document['target']['hostname'])}{which}; "
               "give --allow-empty when an empty selection is expected", err=True)
    sys.exit(exit_codes.CANNOT_RUN)


def _scan_one(target, options, known, judge, facts_out, fix_out, allow_empty, outputs, quiet, fail_on, archiver) -> None:
    """One remote host, audited as each host of a sweep is, into a host report."""
    from dockbench.benchmark.fleet.sweep import Sweep

    try:
        result = Sweep([target], options, judge.options, keep_facts=True, known_hosts=known).audit(target)
    except (CollectError, TransportError) as exc:
        kind = exc.kind if isinstance(exc, TransportError) else "probe_malformed"
        click.echo(f"dockbench: scan of {target.name} failed [{kind}]: {exc}", err=True)
        sys.exit(exit_codes.CANNOT_RUN)
    document, snapshot = result.documents()
    _report_known_hosts(known)
    if facts_out:
        render.write(snapshot, facts_out, "json")
    refuse_empty(document, allow_empty)
    if fix_out:
        write_plan(document, snapshot, fix_out)
    archived = archiver.store(document, snapshot, judge.options, quiet, compare=wants(outputs, "html"))
    finish(document, outputs, quiet, fail_on, archived=archived)


def _sweep(hosts, options, known, judge, parallel, workers, facts_out, outputs, quiet, fail_on, archiver) -> None:
    """Audit a fleet, every host's result leaving for the outputs and the archive as it is judged."""
    from dockbench.benchmark.fleet.output import SweepOutput
    from dockbench.benchmark.fleet.sweep import Progress, Sweep

    if workers is None:
        workers = (os.cpu_count() or 1) if len(hosts) >= WORKERS_FROM else 0
    header = report_mod.build_sweep([], [], benchmark=judge.benchmark.to_dict(), started_at=clock.stamp(), finished_at="")
    paths = outputs or (default_output("sweep", header["started_at"]),)
    archive_options = judge.options.stored(judge.benchmark.id) if archiver.enabled else None
    fleet = Sweep(hosts, options, judge.options, parallel, workers, keep_facts=bool(facts_out), archive_options=archive_options,
                  sweep_id=header["sweep_id"], known_hosts=known)
    output = SweepOutput(header, [(path, format_of(path)) for path in paths], facts_out,
                         archiver.sweep(header["sweep_id"], archive_options, quiet) if archiver.enabled else None)
    interrupted = fleet.run(output, Progress(len(hosts), enabled=not quiet and sys.stderr.isatty()))
    document = output.finish(finished_at=clock.stamp(), interrupted=interrupted)
    _report_known_hosts(known)
    finish(document, paths, quiet, fail_on, written=True)


def _scan_local(judge, docker_host, root, transport, facts_out, fix_out, allow_empty, outputs, quiet, fail_on, archiver) -> None:
    root = os.path.abspath(root)
    if root != "/" and not os.path.isdir(root):
        raise click.BadParameter(f"{root} is not a directory", param_hint="--root")
    if not docker_host and root != "/":
        docker_host = f"unix://{root}/var/run/docker.sock"
    started = clock.stamp()
    try:
        snapshot = collect(transport, root=root, docker_host=docker_host)
    except (TransportError, CollectError) as exc:
        click.echo(f"dockbench: scan failed: {exc}", err=True)
        sys.exit(exit_codes.CANNOT_RUN)
    if facts_out:
        render.write(snapshot, facts_out, "json")
    document = judge(snapshot, started)
    refuse_empty(document, allow_empty)
    if fix_out:
        write_plan(document, snapshot, fix_out)
    archived = archiver.store(document, snapshot, judge.options, quiet, compare=wants(outputs, "html"))
    finish(document, outputs, quiet, fail_on, archived=archived)


@click.command("evaluate")
@click.argument("facts_file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@judging_options
@ALLOW_EMPTY
@result_options
def evaluate_cmd(facts_file, allow_empty, outputs, fail_on, quiet, **judging) -> None:
    """Judge a saved facts snapshot (of a host, or of a sweep) again, with no access to any host.

    A sweep's facts are read, judged and written one host at a time, as a sweep writes them
    (a host whose --container/--label selection matches nothing is judged, as in a sweep)."""
    judge = judge_of(judging)
    with read_saved(facts_file, lines=False, malformed="cannot read ") as source:
        saved = source.head
        if not isinstance(saved, dict) or not ("facts_version" in saved or saved.get("kind") == "facts-sweep"):
            click.echo(f"dockbench: cannot read {facts_file}: not a dockbench facts snapshot (no facts_version)", err=True)
            sys.exit(exit_codes.CANNOT_RUN)
        started = clock.stamp()
        try:
            if saved.get("kind") == "facts-sweep":
                paths = outputs or (default_output("sweep", started),)
                document, written = _evaluate_sweep(judge, source.hosts or (), started, paths), True
            else:
                paths, document, written = outputs, judge(source.whole(), started), False
        except UnusableSnapshot as exc:
            click.echo(f"dockbench: cannot judge {facts_file}: {exc}", err=True)
            sys.exit(exit_codes.CANNOT_RUN)
        if not written:
            refuse_empty(document, allow_empty)
        finish(document, paths, quiet, fail_on, written=written)


def _evaluate_sweep(judge, snapshots, started: str, paths) -> dict[str, Any]:
    """Judge a sweep's snapshots one at a time, each report leaving for the outputs as a sweep's do."""
    from dockbench.benchmark.fleet.host import HostResult
    from dockbench.benchmark.fleet.output import SweepOutput

    header = report_mod.build_sweep([], [], benchmark=judge.benchmark.to_dict(), started_at=started, finished_at="")
    output = SweepOutput(header, [(path, format_of(path)) for path in paths])
    for result in (HostResult.of(judge(snapshot, started)) for snapshot in snapshots):  # no snapshot outlives its turn
        output.host(result)
    return output.finish(finished_at=clock.stamp(), interrupted=False)


COMMANDS = (scan, evaluate_cmd)
