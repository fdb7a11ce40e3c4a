"""`dockbench fix`: a judged scan's findings as a remediation plan, a shell script or a playbook.

It only writes the plan; a person reviews it and applies it on the host it names.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from dockbench.benchmark import exit_codes, remediate
from dockbench.benchmark.cli.archive import open_or_fail, shown
from dockbench.benchmark.document import validate


def _fail(message: str) -> None:
    click.echo(f"dockbench: {message}", err=True)
    sys.exit(exit_codes.CANNOT_RUN)


def _read_json(path: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    except ValueError as exc:
        _fail(f"{path}: not a dockbench {what} (not JSON: {exc})")
    if not isinstance(data, dict):
        _fail(f"{path}: not a dockbench {what} (the top level is not an object)")
    return data


def _from_archive(location: str, scan_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A stored scan's report and facts; for a sweep, its hosts' reports and facts."""
    from dockbench.benchmark.archive import Ambiguous, NotFound

    with open_or_fail(location) as archive:
        try:
            entry = archive.get(archive.resolve(scan_id))
        except (NotFound, Ambiguous) as exc:
            _fail(f"{shown(location)}: {exc}")
        if entry.kind != "sweep":
            return entry.report, entry.facts
        hosts = [archive.get(host_id) for host_id in entry.report.get("hosts") or []]
        document = {**entry.report, "hosts": [h.report for h in hosts]}
        return document, {"kind": "facts-sweep", "hosts": {h.report["target"]["name"]: h.facts for h in hosts if h.facts is not None}}


def plan_path(path: str | None) -> str | None:
    """--fix-out: a file whose extension names a plan format, refused before the scan starts."""
    if path:
        try:
            remediate.format_for_path(path)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--fix-out") from exc
    return path


def write_plan(document: dict[str, Any], facts: dict[str, Any] | None, output: str, fmt: str | None = None, **choices) -> str:
    """Build the plan and write it in `fmt` (else the one `output`'s extension names); returns the format."""
    try:
        fmt = fmt or (remediate.format_for_path(output) if output != "-" else "md")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--output") from exc
    try:
        text = remediate.render(remediate.build(document, facts, **choices), fmt)
    except remediate.PlanError as exc:
        _fail(str(exc))
    if output == "-":
        sys.stdout.write(text)
        return fmt
    try:
        Path(output).write_text(text, encoding="utf-8")
        if fmt == "sh":
            Path(output).chmod(0o755)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")
    return fmt


@click.command("fix")
@click.argument("report_file", metavar="REPORT.json|ID")
@click.option("--facts", "facts_file", metavar="FILE", help="The scan's facts snapshot (scan --facts-out, or show --facts): daemon.json, paths and containers come from it.")
@click.option("--archive", "archive_path", metavar="PATH|URL", help="Read the scan (report and facts) from this archive; the argument is then a scan or sweep ID (or a unique prefix).")
@click.option("-f", "--format", "fmt", type=click.Choice(sorted(remediate.FORMATS)), help="md (for reviewers), json, sh (a POSIX shell script) or ansible (a playbook). Default: from -o's extension, else md.")
@click.option("-o", "--output", metavar="FILE", default="-", show_default=True, help="Where to write the plan.")
@click.option("--only", multiple=True, metavar="CHECK", help="Plan only these checks (ids or globs; repeatable).")
@click.option("--skip", multiple=True, metavar="CHECK", help="Leave these checks out (ids or globs; repeatable).")
@click.option("--safe-only", is_flag=True, help="Keep only the items safe to apply unattended.")
@click.option("--host", metavar="NAME", help="Of a sweep, the one host to plan for (target name or hostname); sh and ansible need one.")
def fix_cmd(report_file, facts_file, archive_path, fmt, output, only, skip, safe_only, host) -> None:
    """Write a remediation plan for the FAILs of a host report or a sweep: one item per fixable
    finding with what it changes, why, its impact and whether it is safe unattended.

    MANUAL findings become questions, waived ones are listed and left out. Nothing is applied:
    the sh script is a dry run unless given --apply, and the playbook honours --check.
    """
    if archive_path:
        if facts_file:
            raise click.UsageError("--facts and --archive: the archive holds the scan's facts")
        document, facts = _from_archive(archive_path, report_file)
    else:
        document = _read_json(report_file, "report")
        try:
            validate.check(document)
        except validate.InvalidDocument as exc:
            _fail(f"{report_file}: not a dockbench report: {exc}")
        facts = _read_json(facts_file, "facts snapshot") if facts_file else None
    chosen = write_plan(document, facts, output, fmt, only=only, skip=skip, safe_only=safe_only, host=host)
    if output != "-":
        click.echo(f"{chosen}: {output}", err=True)
