"""The check registry: checks declare themselves with static metadata; benchmarks map onto them.

CIS numbering is data (a mapping file per benchmark version), so supporting a new benchmark
version means a new mapping, not new code. Checks are declared without CIS ids; a scan asks
for the checks as one benchmark numbers them (``all(benchmark)``), newest version by default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dockbench.benchmark.document.model import CheckMeta, CisRef, Layer, Needs, Outcome, Severity


@dataclass(frozen=True)
class Check:
    meta: CheckMeta
    func: Callable[..., Outcome]
    module: str  # where the check is declared, so that `dockbench checks list` can say


@dataclass(frozen=True, eq=False)
class Benchmark:
    """One benchmark version as its mapping file gives it: CIS refs per check id."""

    id: str
    title: str
    version: str
    refs: dict[str, tuple[CisRef, ...]]

    @property
    def version_key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.version.split("."))

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "version": self.version}


class UnknownBenchmark(ValueError):
    """A benchmark id no mapping file defines; the message lists the known ones."""


class Registry:
    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}
        self._benchmarks: dict[str, Benchmark] = {}

    def check(
        self, id: str, *, title: str, layer: Layer, severity: Severity, rationale: str, remediation: str, needs: tuple[Needs, ...] = (Needs.HOST,), module: str | None = None
    ):
        """Decorator registering a pure function of the facts as a check.

        `module` is where the check is declared: the function's own module unless a helper that
        generates checks names its caller.
        """

        def register(func: Callable[..., Outcome]) -> Callable[..., Outcome]:
            self.add(CheckMeta(id, title, layer, severity, rationale, remediation, needs), func, module or func.__module__)
            return func

        return register

    def add(self, meta: CheckMeta, func: Callable[..., Outcome], module: str) -> None:
        if meta.id in self._checks:
            raise ValueError(f"duplicate check id {meta.id!r}")
        self._checks[meta.id] = Check(meta, func, module)

    def apply_mapping(self, path: Path) -> Benchmark:
        """Read a benchmark's mapping file: its id, title and version, and for each CIS id the
        check it maps to with the document's level and Automated/Manual assessment."""
        # libyaml's loader when PyYAML has it: the pure-Python one costs ~30 ms of every scan
        data: dict[str, Any] = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        refs: dict[str, tuple[CisRef, ...]] = {}
        for entry in data["recommendations"]:
            if entry["check"] not in self._checks:
                raise ValueError(f"{path.name}: {entry['cis_id']} maps to unknown check {entry['check']!r}")
            ref = CisRef(data["benchmark"], str(entry["cis_id"]), entry.get("level"), bool(entry["automated"]))
            refs[entry["check"]] = refs.get(entry["check"], ()) + (ref,)
        benchmark = Benchmark(data["benchmark"], data["title"], str(data["version"]), refs)
        if benchmark.id in self._benchmarks:
            raise ValueError(f"{path.name}: benchmark {benchmark.id!r} is defined twice")
        self._benchmarks[benchmark.id] = benchmark
        return benchmark

    def benchmarks(self) -> list[Benchmark]:
        """Every mapped benchmark, newest version first."""
        return sorted(self._benchmarks.values(), key=lambda b: b.version_key, reverse=True)

    def benchmark(self, benchmark_id: str | None = None) -> Benchmark:
        """The benchmark of that id; the newest version when none is named."""
        if benchmark_id is None and self._benchmarks:
            return self.benchmarks()[0]
        try:
            return self._benchmarks[benchmark_id or ""]
        except KeyError:
            known = ", ".join(b.id for b in self.benchmarks())
            raise UnknownBenchmark(f"unknown benchmark {benchmark_id!r}; known: {known}") from None

    def get(self, check_id: str, benchmark: str | None = None) -> Check:
        """One check, carrying the CIS ids one benchmark (the newest by default) gives it."""
        return self._numbered(self._checks[check_id], self._chosen(benchmark))

    def all(self, benchmark: str | None = None) -> list[Check]:
        """Every check, each carrying the CIS ids of one benchmark (the newest by default);
        a check that benchmark does not map runs as a check beyond it."""
        chosen = self._chosen(benchmark)
        return [self._numbered(check, chosen) for check in self._checks.values()]

    def _chosen(self, benchmark_id: str | None) -> Benchmark | None:
        """None for a registry with no mapping at all (a test's own): its checks keep no CIS ids."""
        return self.benchmark(benchmark_id) if benchmark_id or self._benchmarks else None

    @staticmethod
    def _numbered(check: Check, benchmark: Benchmark | None) -> Check:
        if benchmark is None:
            return check
        return dataclasses.replace(check, meta=dataclasses.replace(check.meta, cis=benchmark.refs.get(check.meta.id, ())))
