"""What to judge and by which policy: the options scan, evaluate and reevaluate share, and the
Plan they settle into before any host is probed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click

from dockbench.benchmark import clock
from dockbench.benchmark.document import report as report_mod
from dockbench.benchmark.judge.check_registry import Benchmark, UnknownBenchmark
from dockbench.benchmark.judge.check_selection import CheckFilter
from dockbench.benchmark.judge.facts import Facts, Selection
from dockbench.benchmark.judge.policy import Policy, PolicyError
from dockbench.benchmark.judge.runner import evaluate
from dockbench.benchmark.judge.waivers import WaiverError, WaiverFile


def catalog():
    """The check catalog, loaded on first use (benchmark knows no check at import time)."""
    from dockbench import checks

    return checks.load()


def _known_benchmark(ctx, param, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return catalog().benchmark(value).id
    except UnknownBenchmark as exc:
        raise click.BadParameter(str(exc)) from None


def benchmark_option(func):
    """--benchmark: the version whose numbering, levels and assessments a report follows.

    Checked when given, so that commands which never judge (report, history) start without
    loading the catalog; the help names the mapping files (a file is named by its benchmark).
    """
    from dockbench import checks  # the package alone, not its check modules

    known = ", ".join(sorted((path.stem for path in checks.MAPPINGS.glob("*.yaml")), reverse=True))
    return click.option("--benchmark", metavar="ID", callback=_known_benchmark,
                        help=f"CIS benchmark version to judge against, one of {known}. Default: the newest.")(func)


def judging_options(func):
    """What to judge and by which policy, shared by scan, evaluate and reevaluate."""
    options = [
        benchmark_option,
        click.option("--level", type=click.IntRange(1, 2), help="CIS profile: 1 runs level-1 checks, 2 levels 1 and 2. Checks beyond CIS always run."),
        click.option("--include", multiple=True, metavar="ID|CIS|LAYER", help="Only these checks: a check id (globs work), a CIS id or section (5, 5.1), or a layer (repeatable)."),
        click.option("--exclude", multiple=True, metavar="ID|CIS|LAYER", help="Leave these checks out (same forms as --include; repeatable)."),
        click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="Policy file (YAML): trusted_docker_users, allowed_registries, allowed_capabilities, allowed_host_ports, cert_expiry_warning_days."),
        click.option("--include-stopped", is_flag=True, help="Also check containers that are not running."),
        click.option("--container", "containers", multiple=True, metavar="PATTERN", help="Only containers whose name matches this glob (repeatable)."),
        click.option("--label", "labels", multiple=True, metavar="KEY[=VALUE]", help="Only containers with this label (repeatable)."),
        click.option("--waivers", "waivers_file", envvar="DOCKBENCH_WAIVERS", metavar="FILE", help="Accepted risks (YAML): waived FAILs and ERRORs stay in the report but do not count toward the exit code. Default: $DOCKBENCH_WAIVERS."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclass(frozen=True)
class Plan:
    """What to judge, settled before any host is probed so bad options fail fast."""

    checks: list
    selection: Selection
    policy: Policy
    benchmark: Benchmark
    waivers: WaiverFile | None = None

    @classmethod
    def from_options(cls, level, include, exclude, config_file, include_stopped, containers, labels, benchmark=None, waivers_file=None) -> Plan:
        try:
            policy = Policy.load(config_file) if config_file else Policy()
        except PolicyError as exc:
            raise click.BadParameter(str(exc), param_hint="--config") from exc
        try:
            chosen_benchmark = catalog().benchmark(benchmark)
        except UnknownBenchmark as exc:
            raise click.BadParameter(str(exc), param_hint="--benchmark") from exc
        numbered = catalog().all(chosen_benchmark.id)
        try:
            waivers = WaiverFile.load(waivers_file, [c.meta for c in numbered], chosen_benchmark.id) if waivers_file else None
        except WaiverError as exc:
            raise click.BadParameter(str(exc), param_hint="--waivers") from exc
        chosen = CheckFilter(level, tuple(include), tuple(exclude))
        checks = [c for c in numbered if chosen.keeps(c.meta)]
        if not checks:
            raise click.UsageError(f"no check matches --level/--include/--exclude (CIS ids as {chosen_benchmark.id} numbers them)")
        return cls(checks, Selection(include_stopped, tuple(containers), tuple(labels)), policy, chosen_benchmark, waivers)

    def judge(self, snapshot: dict[str, Any], started: str) -> dict[str, Any]:
        results = evaluate(Facts(snapshot, self.selection, self.policy), self.checks)
        document = report_mod.build(results, snapshot, benchmark=self.benchmark.to_dict(), started_at=started, finished_at=clock.stamp())
        document["policy"] = self.policy.to_dict()
        if self.waivers is not None:
            self.waivers.apply(document, snapshot)
        return document


@dataclass(frozen=True)
class PlanJudge:
    """Makes the judge of a Plan from its options: what a sweep's worker processes receive."""

    judging: dict[str, Any]

    def plan(self) -> Plan:
        return Plan.from_options(**self.judging)

    def __call__(self):
        return self.plan().judge
