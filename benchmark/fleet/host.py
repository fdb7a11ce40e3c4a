"""One host of a sweep, from its probe output to what every output stores: the CPU-heavy part.

`judge` runs in a worker process (benchmark.fleet.workers) or, for small sweeps, in the host's own
thread. It turns the probe rounds into facts, judges them and serialises the results once:
the report as one JSON line, the facts likewise when kept, and the archive record prepared
for appending. What travels back to the sweep is bytes and a few small fields, never the
documents themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dockbench.benchmark.archive.base import Record
from dockbench.benchmark.collect.rounds import advance
from dockbench.benchmark.collect.transports import ProbeRun
from dockbench.benchmark.document import scope
from dockbench.benchmark.document.json_lines import dumps
from dockbench.benchmark.document.report import host_key
from dockbench.benchmark.judge.options import Judge, JudgingOptions

_installed: dict[str, Judge] = {}


def use(options: JudgingOptions) -> None:
    """Set the judge of this process (a worker's initializer: the options are picklable, their Judge need not be)."""
    _installed["judge"] = options.judge()


@dataclass
class HostTask:
    """What the sweep knows of a host once its probe rounds have run."""

    target: dict[str, Any]          # the snapshot's target block (name, transport, root, docker_host)
    outputs: list[ProbeRun]
    started_at: str
    address: str
    exec_channels: int
    sweep_id: str
    keep_facts: bool = False
    archive_options: dict[str, Any] | None = None  # None: not archived
    scan_id: str | None = None     # given (a distributed sweep derives it), else a new one


@dataclass
class HostResult:
    """A judged host, ready to store: every field small or already serialised."""

    name: str
    scan_id: str
    summary: dict[str, Any]
    report_line: bytes
    waivers: dict[str, Any] | None = None  # the host's waivers block, for the sweep's
    scope: dict[str, Any] | None = None    # the host's scope without its container list, for the terminal
    facts_line: bytes | None = None
    archive_record: dict[str, Any] | None = field(default=None, repr=False)

    def documents(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The report and (when kept) the facts back from their lines: what a single remote scan
        writes whole (the lines are ASCII JSON, so they read back exactly)."""
        return json.loads(self.report_line), json.loads(self.facts_line) if self.facts_line is not None else None

    @classmethod
    def of(cls, report: dict[str, Any], **stored: Any) -> HostResult:
        """The result of a judged host report (stored: its facts_line, archive_record)."""
        return cls(name=report["target"]["name"], scan_id=report["scan_id"], summary=report["summary"], report_line=dumps(report),
                   waivers=report.get("waivers"), scope=scope.light(report["scope"]) if "scope" in report else None, **stored)


def judge(task: HostTask, judge_with: Judge | None = None) -> HostResult | bytes:
    """The host's result, or the script of the probe round it still needs; judged by
    `judge_with`, else by this process's judge (see use())."""
    from dockbench.benchmark.archive.sql import prepare

    step = advance(task.outputs, root=task.target["root"], docker_host=task.target["docker_host"], target=task.target)
    if isinstance(step, bytes):
        return step
    connection = {"address": task.address, "exec_channels": task.exec_channels}
    report = (judge_with or _installed["judge"])(step, task.started_at, scan_id=task.scan_id, connection=connection)
    record = None
    if task.archive_options is not None:
        record = prepare(Record("host", report["scan_id"], host_key(report), report, step, task.sweep_id, task.archive_options), keep_documents=False)
    return HostResult.of(report, facts_line=dumps(step) if task.keep_facts else None, archive_record=record)
