"""`dockbench waivers check FILE`: lint a waiver file against the catalog, with each waiver's state."""

from __future__ import annotations

import json
import sys
from datetime import date

import click

from dockbench.benchmark import clock, exit_codes
from dockbench.benchmark.cli.options import benchmark_option
from dockbench.benchmark.judge.options import catalog
from dockbench.benchmark.judge.waivers import EXPIRED, WaiverError, WaiverFile, named_checks
from dockbench.benchmark.render.terminal import clean


def _day(ctx, param, value: str | None) -> date:
    if value is None:
        return clock.now().date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.group("waivers")
def waivers_group() -> None:
    """Accepted risks: the waiver files given to --waivers."""


def lint(waivers_file: str, day: date, as_json: bool, benchmark: str | None) -> None:
    """Print each waiver of the file with its state on `day`; exit as `waivers check` says."""
    chosen = catalog().benchmark(benchmark)
    numbered = [c.meta for c in catalog().all(chosen.id)]
    try:
        waivers = WaiverFile.load(waivers_file, numbered, chosen.id)
    except WaiverError as exc:
        click.echo(f"dockbench: {exc}", err=True)
        sys.exit(exit_codes.CANNOT_RUN)
    states = waivers.states(day)
    rows = [dict(w.to_dict(), state=states[w.id], days_left=(w.expires - day).days, checks=named_checks(w.check, numbered, chosen.id))
            for w in waivers.waivers]
    if as_json:
        click.echo(json.dumps({"file": waivers_file, "benchmark": chosen.id, "judged_on": day.isoformat(), "warning_days": waivers.warning_days, "waivers": rows},
                              indent=2, ensure_ascii=False))
    else:
        click.echo(f"{clean(waivers_file)}: {len(rows)} waivers, valid against {chosen.title}; judged on {day.isoformat()}, warning window {waivers.warning_days} days")
        for row in rows:
            days = abs(row["days_left"])
            span = f"{days} day" + ("s" if days != 1 else "")
            left = f"{span} left" if row["days_left"] >= 0 else f"expired {span} ago"
            scope = " ".join(f"{key} {','.join(clean(g) for g in row[key])}" for key in ("containers", "images", "hosts") if row[key])
            named = clean(row["check"]) + ("" if row["checks"] == [row["check"]] else f" = {row['checks'][0]}" if len(row["checks"]) == 1 else f" ({len(row['checks'])} checks)")
            click.echo(f"{row['state'].upper():<8} {clean(row['id'])}  {named}{'  ' + scope if scope else ''}  owner {clean(row['owner'])}  expires {row['expires']} ({left})")
    sys.exit(exit_codes.FINDINGS if any(r["state"] == EXPIRED for r in rows) else exit_codes.OK)   # 1: a waiver has expired


@waivers_group.command("check")
@click.argument("waivers_file", metavar="FILE")
@click.option("--on", "day", metavar="DATE", callback=_day, help="Judge expiry on this day (YYYY-MM-DD, UTC). Default: today (UTC).")
@benchmark_option
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
def check_cmd(waivers_file, day, benchmark, as_json) -> None:
    """Check FILE against the check catalog and print each waiver with its state.

    A waiver is active, expiring (its last day is at most warning_days away; 14 unless the
    file says) or expired (from the day after `expires`). CIS ids are those of --benchmark.
    Exit 0 when the file is valid and no waiver has expired, 1 when one has, 2 when the
    file cannot be used.
    """
    lint(waivers_file, day, as_json, benchmark)
