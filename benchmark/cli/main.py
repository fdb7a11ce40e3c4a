"""The `dockbench` command group: every command added to it, and the shell completion."""

from __future__ import annotations

import sys

import click

from dockbench.benchmark import __version__, exit_codes, render
from dockbench.benchmark.cli import archive, catalog, fix, report, scan, sweep, waivers


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


@main.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_cmd(shell) -> None:
    """Print the shell completion script for SHELL (click's own), to source from the shell's startup file.

    bash: eval "$(dockbench completion bash)" in ~/.bashrc; zsh: the same with zsh in ~/.zshrc;
    fish: dockbench completion fish > ~/.config/fish/completions/dockbench.fish
    """
    from click.shell_completion import get_completion_class

    click.echo(get_completion_class(shell)(main, {}, "dockbench", "_DOCKBENCH_COMPLETE").source())


for command in (*scan.COMMANDS, catalog.checks_group, report.report_cmd, fix.fix_cmd, *archive.COMMANDS, waivers.waivers_group, sweep.sweep_group):
    main.add_command(command)
