"""The `dockbench` command line."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from dockbench.benchmark import __version__, clock, exit_codes, render
from dockbench.benchmark.cli import archive as archive_commands
from dockbench.benchmark.cli import waivers as waiver_commands
from dockbench.benchmark.collect import inventory
from dockbench.benchmark.collect.inventory import Target
from dockbench.benchmark.collect.rounds import CollectError, collect
from dockbench.benchmark.collect.transports import LocalTransport, TransportError
from dockbench.benchmark.document import reader as sweep_reader
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.document import validate
from dockbench.benchmark.fleet import distributed as sweep_queue
from dockbench.benchmark.judge.options import Plan, PlanJudge, benchmark_option, catalog, judging_options
from dockbench.benchmark.render import terminal

WORKERS_FROM = 50  # smaller sweeps judge in their threads: a worker process costs ~0.3 s of CPU to start


def _use_color(stream) -> bool:
    return "NO_COLOR" not in os.environ and stream.isatty()


def _default_output(name: str | None, started_at: str) -> str:
    host = "".join(c if c.isalnum() or c in "-_." else "_" for c in name or "host")
    stamp = started_at.replace("-", "").replace(":", "")
    return f"dockbench-{host}-{stamp}.json"


def _format_of(path: str) -> str:
    """JSON for stdout and devices (-o /dev/null); otherwise the format the extension names."""
    if render.in_place(path):
        return "json"
    return render.format_for_path(path)


def _check_outputs(ctx, param, outputs: tuple[str, ...]) -> tuple[str, ...]:
    """Refuse an output whose format cannot be told before any host is probed."""
    for path in outputs:
        try:
            _format_of(path)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return outputs


def _finish(document: dict[str, Any], outputs: tuple[str, ...], quiet: bool, fail_on: str, written: bool = False) -> None:
    """Write the outputs (unless a streamed sweep already has), say where, exit with the verdict."""
    paths = outputs or (_default_output(document["target"]["hostname"] if document["kind"] == "host" else "sweep", document["started_at"]),)
    for path in paths if not written else ():
        render.write(document, path, _format_of(path))
    if not quiet and "-" not in paths:
        click.echo(terminal.render(document, color=_use_color(sys.stdout)))
        click.echo(f"\nreport: {', '.join(paths)}")
    sys.exit(report_mod.exit_code(document, fail_on))


def result_options(func):
    func = click.option("-o", "--output", "outputs", multiple=True, metavar="FILE", callback=_check_outputs,
                        help="Where to write the report; repeat for several formats, each told by its extension (.json .html .xml .csv .md); '-' writes JSON to stdout. Default: dockbench-HOST-TIME.json.")(func)
    func = click.option("--fail-on", type=click.Choice(["fail", "error", "never"]), default="error", show_default=True, help="Exit 1 when a check FAILs or could not be decided (error), only when one FAILs (fail), or never.")(func)
    func = click.option("-q", "--quiet", is_flag=True, help="No terminal summary.")(func)
    return func


class _Commands(click.Group):
    """The command group; an output that cannot be written, by any command, is a clear message and exit 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except render.OutputError as exc:
            click.echo(f"dockbench: {exc}", err=True)
            sys.exit(exit_codes.CANNOT_RUN)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dockbench")
def main() -> None:
    """Audit Docker hosts against the CIS Docker Benchmark and beyond.

    Exit codes: 0 every check decided and none failed; 1 a check FAILed or could not be
    decided (ERROR; see --fail-on) and no waiver covers it; 2 usage error, or the scan could not run at all;
    4 (added to 0 or 1) a sweep could not audit some hosts.
    """


def _apply(options, func):
    """func with these click options, in the order listed (as stacked decorators would give)."""
    for option in reversed(options):
        func = option(func)
    return func


def fleet_options(func):
    """Which hosts a sweep audits and how many at once (scan only: `sweep work` takes its hosts from the queue)."""
    return _apply([
        click.option("--inventory", type=click.Path(exists=True, dir_okay=False), help="Hosts to sweep: dockbench YAML, or an Ansible INI/YAML inventory."),
        click.option("--limit", metavar="PATTERN", help="Only inventory hosts or groups matching these comma-separated globs (!pattern excludes)."),
        click.option("--parallel", default=16, show_default=True, type=click.IntRange(1, 512), help="Hosts audited at once."),
        click.option("--workers", type=click.IntRange(0, 256), help=f"Processes judging the hosts' facts (0: in the SSH threads). Default: one per CPU for sweeps of {WORKERS_FROM} hosts or more, else 0."),
    ], func)


def ssh_options(func):
    """How every SSH connection is made and its host key verified."""
    return _apply([
        click.option("--connect-timeout", default=10.0, show_default=True, type=click.FloatRange(0.1), help="Seconds to establish each SSH connection."),
        click.option("--user", "ssh_user", metavar="USER", help="SSH user when neither the target nor ~/.ssh/config names one."),
        click.option("-i", "--identity", type=click.Path(exists=True, dir_okay=False), help="SSH private key (an encrypted one asks for its passphrase once)."),
        click.option("--known-hosts", default="~/.ssh/known_hosts", show_default=True, help="known_hosts file used to verify host keys."),
        click.option("--accept-new-host-keys", is_flag=True, help="Record the keys of hosts not yet in known_hosts (a changed key still fails)."),
        click.option("--ssh-config", default="~/.ssh/config", show_default=True, help="OpenSSH client config (HostName, User, Port, IdentityFile, ProxyJump)."),
    ], func)


def _targets(urls, inventory_file, limit_pattern) -> list[Target]:
    try:
        targets = [inventory.parse_url(u) for u in urls]
        if inventory_file:
            targets += inventory.load(inventory_file)
    except inventory.InventoryError as exc:
        raise click.BadParameter(str(exc)) from exc
    if limit_pattern:
        targets = inventory.limit(targets, limit_pattern)
        if not targets:
            raise click.UsageError(f"no inventory host matches --limit {limit_pattern}")
    return targets


def _passphrase(identity: str | None) -> str | None:
    """Ask once, up front, for an encrypted key's passphrase (never in the middle of a sweep)."""
    if not identity:
        return None
    import paramiko  # only remote scans pay for loading the SSH stack

    try:
        paramiko.PKey.from_path(identity)
        return None
    except (paramiko.PasswordRequiredException, TypeError) as exc:
        if not isinstance(exc, paramiko.PasswordRequiredException) and "password" not in str(exc):
            raise click.BadParameter(f"{identity}: {exc}", param_hint="--identity") from exc
        # paramiko reports an encrypted OpenSSH-format key as cryptography's TypeError
        if not sys.stdin.isatty():
            raise click.BadParameter(f"{identity} is encrypted and there is no terminal to ask for its passphrase: load it into ssh-agent", param_hint="--identity") from None
        return click.prompt(f"Passphrase for {identity}", hide_input=True)
    except (OSError, paramiko.SSHException) as exc:
        raise click.BadParameter(f"{identity}: {exc}", param_hint="--identity") from exc


@main.command()
@click.argument("targets", nargs=-1, metavar="[ssh://USER@HOST:PORT]...")
@click.option("--docker-host", envvar="DOCKER_HOST", metavar="URL", help="Daemon to audit, e.g. unix:///run/user/1000/docker.sock. Default: $DOCKER_HOST, else Docker's default.")
@click.option("--root", default="/", show_default=True, help="Audit a host whose filesystem is mounted here (e.g. /host).")
@click.option("--sudo", is_flag=True, help="Run the probe through `sudo -n` (read-only, but needs root to see everything).")
@click.option("--timeout", default=120.0, show_default=True, type=click.FloatRange(1), help="Seconds one host may take, connection and probe included.")
@click.option("--facts-out", metavar="FILE", help="Also save the facts snapshot (evidence; re-judge it with `dockbench evaluate`).")
@fleet_options
@ssh_options
@judging_options
@result_options
@archive_commands.scan_archive_options
def scan(targets, docker_host, root, sudo, timeout, facts_out, inventory, limit, parallel, workers, connect_timeout, ssh_user, identity, known_hosts, accept_new_host_keys, ssh_config, outputs, fail_on, quiet, archive_path, no_archive, sign_key, **judging) -> None:
    """Audit the local Docker host, or remote ones over SSH.

    With no TARGETS and no --inventory, the local host is audited. One ssh:// target gives a
    host report; several, or an inventory, give a fleet sweep. Sweep exit codes add 4 when
    some hosts could not be audited (each is listed with the reason). Every scan is stored in
    the archive (report and facts; see `dockbench history`) unless --no-archive.
    """
    plan = Plan.from_options(**judging)
    archiver = archive_commands.ScanArchiver.from_options(archive_path, no_archive, sign_key)
    hosts = _targets(targets, inventory, limit)
    if not hosts:
        _scan_local(plan, docker_host, root, sudo, timeout, facts_out, outputs, quiet, fail_on, archiver, judging)
        return
    from dockbench.benchmark.collect.ssh import KnownHosts, SSHOptions  # only remote scans pay for loading the SSH stack

    options = SSHOptions(
        known_hosts=known_hosts, accept_new_host_keys=accept_new_host_keys, ssh_config=ssh_config,
        connect_timeout=connect_timeout, host_timeout=timeout, user=ssh_user, key_file=identity,
        passphrase=_passphrase(identity), sudo=sudo,
    )
    hosts = [dataclasses.replace(h, docker_host=h.docker_host or docker_host, root=h.root or (root if root != "/" else None)) for h in hosts]
    try:
        known = KnownHosts(options.known_hosts, options.accept_new_host_keys)
    except TransportError as exc:
        raise click.UsageError(str(exc)) from exc
    if len(hosts) == 1 and not inventory:
        _scan_one(hosts[0], options, known, plan, facts_out, outputs, quiet, fail_on, archiver, judging)
    else:
        _sweep(hosts, options, known, plan, parallel, workers, facts_out, outputs, quiet, fail_on, archiver, judging)


def _report_known_hosts(known) -> None:
    for line in known.recorded:
        click.echo(f"dockbench: recorded new host key {line}", err=True)


def _scan_one(target, options, known, plan, facts_out, outputs, quiet, fail_on, archiver, judging) -> None:
    from dockbench.benchmark.collect.ssh import SSHTransport

    started = clock.stamp()
    transport = SSHTransport(target, options, known)
    try:
        with transport:
            snapshot = collect(transport, root=target.root or "/", docker_host=target.docker_host, target_name=target.name)
    except (CollectError, TransportError) as exc:
        kind = exc.kind if isinstance(exc, TransportError) else "probe_malformed"
        click.echo(f"dockbench: scan of {target.name} failed [{kind}]: {exc}", err=True)
        sys.exit(exit_codes.CANNOT_RUN)
    document = plan.judge(snapshot, started)
    document["target"]["address"] = f"{target.host}:{target.port or 22}"
    document["target"]["exec_channels"] = transport.channels_opened
    _report_known_hosts(known)
    if facts_out:
        render.write(snapshot, facts_out, "json")
    archiver.store(document, snapshot, judging, quiet)
    _finish(document, outputs, quiet, fail_on)


def _sweep(hosts, options, known, plan, parallel, workers, facts_out, outputs, quiet, fail_on, archiver, judging) -> None:
    """Audit a fleet, every host's result leaving for the outputs and the archive as it is judged."""
    from dockbench.benchmark.fleet.output import SweepOutput
    from dockbench.benchmark.fleet.sweep import Progress, Sweep

    if workers is None:
        workers = (os.cpu_count() or 1) if len(hosts) >= WORKERS_FROM else 0
    header = report_mod.build_sweep([], [], benchmark=plan.benchmark.to_dict(), started_at=clock.stamp(), finished_at="")
    paths = outputs or (_default_output("sweep", header["started_at"]),)
    archive_options = archiver.options_of(judging, plan.benchmark.id) if archiver.enabled else None
    judge_factory = PlanJudge(judging) if workers else lambda: plan.judge  # worker processes build their own plan
    fleet = Sweep(hosts, options, judge_factory, parallel, workers, keep_facts=bool(facts_out), archive_options=archive_options,
                  sweep_id=header["sweep_id"], known_hosts=known)
    output = SweepOutput(header, [(path, _format_of(path)) for path in paths], facts_out,
                         archiver.sweep(header["sweep_id"], archive_options, quiet) if archiver.enabled else None)
    interrupted = fleet.run(output, Progress(len(hosts), enabled=not quiet and sys.stderr.isatty()))
    document = output.finish(finished_at=clock.stamp(), interrupted=interrupted)
    _report_known_hosts(known)
    _finish(document, paths, quiet, fail_on, written=True)


def _scan_local(plan, docker_host, root, sudo, timeout, facts_out, outputs, quiet, fail_on, archiver, judging) -> None:
    root = os.path.abspath(root)
    if root != "/" and not os.path.isdir(root):
        raise click.BadParameter(f"{root} is not a directory", param_hint="--root")
    if not docker_host and root != "/":
        docker_host = f"unix://{root}/var/run/docker.sock"
    started = clock.stamp()
    try:
        snapshot = collect(LocalTransport(sudo=sudo, timeout=timeout), root=root, docker_host=docker_host)
    except (TransportError, CollectError) as exc:
        click.echo(f"dockbench: scan failed: {exc}", err=True)
        sys.exit(exit_codes.CANNOT_RUN)
    if facts_out:
        render.write(snapshot, facts_out, "json")
    document = plan.judge(snapshot, started)
    archiver.store(document, snapshot, judging, quiet)
    _finish(document, outputs, quiet, fail_on)


def _read_saved(path: str, lines: bool | None = None, malformed: str = "") -> sweep_reader.Source:
    """A saved document opened for reading one host at a time; exit 2, saying why, when it cannot be read.
    malformed: what precedes the reader's own message (which names the file and the place)."""
    try:
        return sweep_reader.read(path, lines=lines)
    except OSError as exc:
        click.echo(f"dockbench: cannot read {path}: {exc.strerror or exc}", err=True)
    except sweep_reader.ReadError as exc:
        click.echo(f"dockbench: {malformed}{exc}", err=True)
    sys.exit(exit_codes.CANNOT_RUN)


@main.command("evaluate")
@click.argument("facts_file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@judging_options
@result_options
def evaluate_cmd(facts_file, outputs, fail_on, quiet, **judging) -> None:
    """Judge a saved facts snapshot (of a host, or of a sweep) again, with no access to any host.

    A sweep's facts are read, judged and written one host at a time, as a sweep writes them."""
    plan = Plan.from_options(**judging)
    with _read_saved(facts_file, lines=False, malformed="cannot read ") as source:
        saved = source.head
        if not isinstance(saved, dict) or not ("facts_version" in saved or saved.get("kind") == "facts-sweep"):
            click.echo(f"dockbench: cannot read {facts_file}: not a dockbench facts snapshot (no facts_version)", err=True)
            sys.exit(exit_codes.CANNOT_RUN)
        started = clock.stamp()
        if saved.get("kind") == "facts-sweep":
            paths = outputs or (_default_output("sweep", started),)
            _finish(_evaluate_sweep(plan, source.hosts or (), started, paths), paths, quiet, fail_on, written=True)
        _finish(plan.judge(source.whole(), started), outputs, quiet, fail_on)


def _evaluate_sweep(plan, snapshots, started: str, paths) -> dict[str, Any]:
    """Judge a sweep's snapshots one at a time, each report leaving for the outputs as a sweep's do."""
    from dockbench.benchmark.fleet.host import HostResult
    from dockbench.benchmark.fleet.output import SweepOutput

    header = report_mod.build_sweep([], [], benchmark=plan.benchmark.to_dict(), started_at=started, finished_at="")
    output = SweepOutput(header, [(path, _format_of(path)) for path in paths])
    for result in (HostResult.of(plan.judge(snapshot, started)) for snapshot in snapshots):  # no snapshot outlives its turn
        output.host(result)
    return output.finish(finished_at=clock.stamp(), interrupted=False)


@main.group("checks")
def checks_group() -> None:
    """The check catalog."""


@checks_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@benchmark_option
def checks_list(fmt, benchmark) -> None:
    """Every check with its CIS id under each benchmark version, layer, level, severity and the
    module that declares it.

    The cis and level columns (and "cis" in JSON) follow --benchmark, the newest version by
    default; a cis-VERSION column (cis_by_benchmark in JSON) gives the ids under each other one.
    """
    registry = catalog()
    chosen = registry.benchmark(benchmark)
    numbering = {b: {c.meta.id: [ref.id for ref in c.meta.cis] for c in registry.all(b.id)} for b in registry.benchmarks()}
    checks = registry.all(chosen.id)
    if fmt == "json":
        listed = [{**c.meta.to_dict(), "module": c.module, "cis_by_benchmark": {b.id: ids[c.meta.id] for b, ids in numbering.items()}} for c in checks]
        click.echo(json.dumps(listed, indent=2))
        return
    others = [b for b in numbering if b is not chosen]
    header = ("id", "cis", "layer", "level", "severity", "module", *(f"cis-{b.version}" for b in others))
    rows = [(m.id, ",".join(numbering[chosen][m.id]) or "-", m.layer.value, str(m.level or "-"), m.severity.value, c.module,
             *(",".join(numbering[b][m.id]) or "-" for b in others), m.title) for c in checks for m in [c.meta]]
    widths = [max(len(r[i]) for r in [*rows, header]) for i in range(len(header))]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths)) + "  title")
    for row in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)) + "  " + row[-1])


@main.command("report")
@click.argument("report_file", metavar="FILE.json", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-f", "--format", "fmt", type=click.Choice(render.formats()), help="Output format. Default: from -o's extension, else html.")
@click.option("-o", "--output", metavar="FILE", help="Where to write ('-' for stdout). Default: FILE with the format's extension.")
def report_cmd(report_file, fmt, output) -> None:
    """Render a saved JSON report (a host report or a fleet sweep, FILE.json or FILE.jsonl) in another format.

    The input is checked against the report schema first; a file that is not a dockbench
    report exits 2 without writing anything. A sweep is read one host at a time (html excepted).
    """
    with _read_saved(report_file) as source:  # FILE.jsonl: a sweep's JSON Lines, also what a killed sweep left
        try:
            validate.check(source)
        except validate.InvalidDocument as exc:
            click.echo(f"dockbench: {report_file}: not a dockbench report: {exc}", err=True)
            sys.exit(exit_codes.CANNOT_RUN)
        if fmt is None:
            try:
                fmt = render.format_for_path(output) if output and output != "-" else "html"
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--output") from exc
        if output is None:
            if report_file == "-":
                output = "-"
            else:
                path = Path(report_file)
                output = str(path.with_suffix(render.extension(fmt)))
                if Path(output).resolve() == path.resolve():
                    raise click.UsageError(f"rendering {report_file} as {fmt} would overwrite it: name the output with -o")
        render.write(source, output, fmt)
    if output != "-":
        click.echo(f"{fmt}: {output}", err=True)


@main.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_cmd(shell) -> None:
    """Print the shell completion script for SHELL (click's own), to source from the shell's startup file.

    bash: eval "$(dockbench completion bash)" in ~/.bashrc; zsh: the same with zsh in ~/.zshrc;
    fish: dockbench completion fish > ~/.config/fish/completions/dockbench.fish
    """
    from click.shell_completion import get_completion_class

    click.echo(get_completion_class(shell)(main, {}, "dockbench", "_DOCKBENCH_COMPLETE").source())


archive_commands.register(main)
main.add_command(waiver_commands.waivers_group)
sweep_queue.register(main, ssh_options, _targets, _passphrase)
