"""`dockbench checks list`: the check catalog, numbered by each benchmark version."""

from __future__ import annotations

import json

import click

from dockbench.benchmark.cli.options import benchmark_option
from dockbench.benchmark.judge.options import catalog


@click.group("checks")
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
