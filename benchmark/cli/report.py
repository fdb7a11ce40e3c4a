"""`dockbench report`: a saved report or sweep rendered in another format."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dockbench.benchmark import exit_codes, render
from dockbench.benchmark.cli.outputs import read_saved
from dockbench.benchmark.document import validate


@click.command("report")
@click.argument("report_file", metavar="FILE.json", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-f", "--format", "fmt", type=click.Choice(render.formats()), help="Output format. Default: from -o's extension, else html.")
@click.option("-o", "--output", metavar="FILE", help="Where to write ('-' for stdout). Default: FILE with the format's extension.")
def report_cmd(report_file, fmt, output) -> None:
    """Render a saved JSON report (a host report or a fleet sweep, FILE.json or FILE.jsonl) in another format.

    The input is checked against the report schema first; a file that is not a dockbench
    report exits 2 without writing anything. A sweep is read one host at a time (html excepted).
    """
    with read_saved(report_file) as source:  # FILE.jsonl: a sweep's JSON Lines, also what a killed sweep left
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


