"""The check registry: checks declare themselves with static metadata; benchmarks map onto them.

CIS numbering is data (a mapping file per benchmark version), so supporting a new benchmark
version means a new mapping, not new code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from dockbench.benchmark.model import CheckMeta, CisRef, Layer, Needs, Outcome, Severity


@dataclass(frozen=True)
class Check:
    meta: CheckMeta
    func: Callable[..., Outcome]
    module: str  # where the check is declared, so that `dockbench checks list` can say


class Registry:
    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}

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

    def apply_mapping(self, path: Path) -> None:
        """Attach a benchmark's ids (e.g. CIS 2.2, level 1) to the checks a mapping file names."""
        # libyaml's loader when PyYAML has it: the pure-Python one costs ~30 ms of every scan
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        for entry in data["recommendations"]:
            check = self._checks.get(entry["check"])
            if check is None:
                raise ValueError(f"{path.name}: {entry['cis_id']} maps to unknown check {entry['check']!r}")
            ref = CisRef(data["benchmark"], str(entry["cis_id"]), entry.get("level"), bool(entry.get("automated", True)))
            meta = dataclasses.replace(check.meta, cis=check.meta.cis + (ref,))
            self._checks[meta.id] = dataclasses.replace(check, meta=meta)

    def get(self, check_id: str) -> Check:
        return self._checks[check_id]

    def all(self) -> list[Check]:
        return list(self._checks.values())
