"""What to judge and by which policy: one frozen value, built once by the command line, stored
with a scan or a distributed sweep and read back from there; and the Judge it settles into
before any host is probed (so bad options fail fast), which reads a snapshot's facts once, runs
every selected check on them and finishes the report document (policy, waivers, how the host
was reached) in one place."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from dockbench.benchmark import clock
from dockbench.benchmark.document import report, scope
from dockbench.benchmark.judge.check_registry import Benchmark, Check, UnknownBenchmark
from dockbench.benchmark.judge.check_selection import CheckFilter
from dockbench.benchmark.judge.facts import Facts, Selection
from dockbench.benchmark.judge.policy import Policy, PolicyError
from dockbench.benchmark.judge.runner import evaluate
from dockbench.benchmark.judge.waivers import WaiverError, WaiverFile

# The options an archive entry records (with the policy and, for a distributed sweep, the pinned waivers): the scan's scope
STORED = scope.OPTIONS


class UnusableSnapshot(ValueError):
    """A snapshot (a saved facts file, read back) without the shape the report is built from."""


class JudgingError(Exception):
    """Options that cannot be judged with; `option` names the one at fault (None: their combination)."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


def catalog():
    """The check catalog, loaded on first use (benchmark knows no check at import time)."""
    from dockbench import checks

    return checks.load()


@dataclass(frozen=True)
class JudgingOptions:
    """Which checks, which containers, which policy and waivers: every judgment's one input
    besides the facts. Picklable, so a sweep's worker processes receive it as it is."""

    benchmark: str | None = None       # None: the newest
    level: int | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_stopped: bool = False
    containers: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    policy: Policy = field(default_factory=Policy)
    waivers: WaiverFile | None = None

    @classmethod
    def load(cls, *, config_file: str | None = None, waivers_file: str | None = None, benchmark: str | None = None, **chosen: Any) -> JudgingOptions:
        """The options with their files read: a policy file (--config) and a waiver file, checked
        against the catalog as the benchmark numbers it."""
        try:
            policy = Policy.load(config_file) if config_file else Policy()
        except PolicyError as exc:
            raise JudgingError(str(exc), "--config") from exc
        benchmark_id = _benchmark(benchmark).id
        try:
            waivers = WaiverFile.load(waivers_file, [c.meta for c in catalog().all(benchmark_id)], benchmark_id) if waivers_file else None
        except WaiverError as exc:
            raise JudgingError(str(exc), "--waivers") from exc
        return cls(benchmark=benchmark, policy=policy, waivers=waivers, **_tuples(chosen))

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> JudgingOptions:
        """The options an archive entry or a distributed sweep recorded (see stored())."""
        options = cls(**_tuples({k: stored[k] for k in STORED if stored.get(k) is not None}))
        if stored.get("policy"):
            options = options.with_policy(stored["policy"])
        if stored.get("waivers"):
            try:
                options = dataclasses.replace(options, waivers=WaiverFile.from_pinned(stored["waivers"], _benchmark(options.benchmark).id))
            except WaiverError as exc:
                raise JudgingError(f"the sweep's waivers cannot be used: {exc}") from None
        return options

    def with_policy(self, saved: dict[str, Any]) -> JudgingOptions:
        """These options under a policy as a report or an archive entry recorded it."""
        known = {f.name for f in dataclasses.fields(Policy)}
        return dataclasses.replace(self, policy=Policy(**_tuples({k: v for k, v in saved.items() if k in known})))

    def stored(self, benchmark_id: str) -> dict[str, Any]:
        """What a scan's archive entry records of its judging: the options and the benchmark it
        was judged against (also when defaulted)."""
        return {"benchmark": benchmark_id, **{k: getattr(self, k) for k in STORED[1:]}}

    def pinned(self, benchmark_id: str) -> dict[str, Any]:
        """What a distributed sweep records, so that every worker judges as this one would: the
        stored options, the policy and the waiver file's very text."""
        pinned = {k: list(v) if isinstance(v, tuple) else v for k, v in self.stored(benchmark_id).items()}
        pinned["policy"] = self.policy.to_dict()
        if self.waivers is not None:
            pinned["waivers"] = self.waivers.pinned()
        return pinned

    def judge(self):
        """The Judge of these options: the checks they select, numbered by their benchmark."""
        chosen_benchmark = _benchmark(self.benchmark)
        chosen = CheckFilter(self.level, self.include, self.exclude)
        checks = [c for c in catalog().all(chosen_benchmark.id) if chosen.keeps(c.meta)]
        if not checks:
            raise JudgingError(f"no check matches --level/--include/--exclude (CIS ids as {chosen_benchmark.id} numbers them)")
        return Judge(self, checks, chosen_benchmark, Selection(self.include_stopped, self.containers, self.labels))


@dataclass(frozen=True)
class Judge:
    """The checks a JudgingOptions selects, ready to judge any number of snapshots."""

    options: JudgingOptions
    checks: list[Check]
    benchmark: Benchmark
    selection: Selection

    def __call__(self, snapshot: dict[str, Any], started: str, *, scan_id: str | None = None, connection: dict[str, Any] | None = None) -> dict[str, Any]:
        """The host report of a snapshot. connection: how the host was reached (address, exec
        channels), added to the report's target; scan_id: a given id (else a new one)."""
        try:
            facts = Facts(snapshot, self.selection, self.options.policy)
            results = evaluate(facts, self.checks)
            document = report.build(results, snapshot, rootless=facts.rootless, benchmark=self.benchmark.to_dict(), started_at=started,
                                    finished_at=clock.stamp(), scan_id=scan_id, connection=connection, scope=self.scope(facts))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:  # each check's own failure is already its ERROR
            raise UnusableSnapshot(f"the facts snapshot lacks or mistypes what every report needs ({type(exc).__name__}: {exc})") from exc
        document["policy"] = self.options.policy.to_dict()
        if self.options.waivers is not None:
            self.options.waivers.apply(document)
        return document

    def scope(self, facts: Facts) -> dict[str, Any]:
        """The report's scope block: these options, and the containers they selected on this host
        (unknown when the daemon's containers could not be listed)."""
        if not facts.docker_ok:
            return scope.block(self.options.stored(self.benchmark.id), None, None)
        selected = [{"name": c.name, "id": c.id[:12]} for c in facts.containers]
        return scope.block(self.options.stored(self.benchmark.id), selected, len(facts.all_containers))


def _benchmark(benchmark: str | None) -> Benchmark:
    try:
        return catalog().benchmark(benchmark)
    except UnknownBenchmark as exc:
        raise JudgingError(str(exc), "--benchmark") from exc


def _tuples(values: dict[str, Any]) -> dict[str, Any]:
    """Lists (as JSON stores them) back to the tuples the options hold."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
