"""Where a command's results go: the -o outputs (checked before any host is probed), the
default file name, the terminal summary and the exit code; and reading a saved document."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from dockbench.benchmark import exit_codes, render
from dockbench.benchmark.document import reader
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.render import terminal

FORMATS_BY_EXTENSION = ".json .html .xml .csv .md .jsonl .ocsf.json .prom"


def _use_color(stream) -> bool:
    return "NO_COLOR" not in os.environ and stream.isatty()


def default_output(name: str | None, started_at: str) -> str:
    host = "".join(c if c.isalnum() or c in "-_." else "_" for c in name or "host")
    stamp = started_at.replace("-", "").replace(":", "")
    return f"dockbench-{host}-{stamp}.json"


def format_of(path: str) -> str:
    """JSON for stdout and devices (-o /dev/null); otherwise the format the extension names."""
    if render.in_place(path):
        return "json"
    return render.format_for_path(path)


def _check_outputs(ctx, param, outputs: tuple[str, ...]) -> tuple[str, ...]:
    """Refuse an output whose format cannot be told before any host is probed."""
    for path in outputs:
        try:
            format_of(path)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return outputs


def result_options(func):
    func = click.option("-o", "--output", "outputs", multiple=True, metavar="FILE", callback=_check_outputs,
                        help=f"Where to write the report; repeat for several formats, each told by its extension ({FORMATS_BY_EXTENSION}); '-' writes JSON to stdout. Default: dockbench-HOST-TIME.json.")(func)
    func = click.option("--fail-on", type=click.Choice(["fail", "error", "never"]), default="error", show_default=True, help="Exit 1 when a check FAILs or could not be decided (error), only when one FAILs (fail), or never.")(func)
    func = click.option("-q", "--quiet", is_flag=True, help="No terminal summary.")(func)
    return func


def wants(outputs: tuple[str, ...], fmt: str) -> bool:
    """Is one of these -o outputs in that format."""
    return any(format_of(path) == fmt for path in outputs)


def finish(document: dict[str, Any], outputs: tuple[str, ...], quiet: bool, fail_on: str, written: bool = False,
           archived: render.Archived | None = None) -> None:
    """Write the outputs (unless a streamed sweep already has), say where, exit with the verdict.
    archived: what the archive knows of a host report, for the formats that show it."""
    paths = outputs or (default_output(document["target"]["hostname"] if document["kind"] == "host" else "sweep", document["started_at"]),)
    for path in paths if not written else ():
        render.write(document, path, format_of(path), archived)
    if not quiet and "-" not in paths:
        click.echo(terminal.render(document, color=_use_color(sys.stdout)))
        click.echo(f"\nreport: {', '.join(paths)}")
    sys.exit(report_mod.exit_code(document, fail_on))


def read_saved(path: str, lines: bool | None = None, malformed: str = "") -> reader.Source:
    """A saved document opened for reading one host at a time; exit 2, saying why, when it cannot be read.
    malformed: what precedes the reader's own message (which names the file and the place)."""
    try:
        return reader.read(path, lines=lines)
    except OSError as exc:
        click.echo(f"dockbench: cannot read {path}: {exc.strerror or exc}", err=True)
    except reader.ReadError as exc:
        click.echo(f"dockbench: {malformed}{exc}", err=True)
    sys.exit(exit_codes.CANNOT_RUN)
