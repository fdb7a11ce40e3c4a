"""Sweep a fleet over SSH in parallel: every host ends as a report or as an error entry.

Hosts run on a thread pool; each is bounded by its own deadline. Ctrl-C stops new connections,
abandons the running ones (their connections are closed) and still returns what was gathered.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from dockbench.benchmark import clock
from dockbench.benchmark.collect import CollectError, collect
from dockbench.benchmark.inventory import Target
from dockbench.benchmark.ssh import KnownHosts, SSHOptions, SSHTransport
from dockbench.benchmark.transports import TransportError

Judge = Callable[[dict[str, Any], str], dict[str, Any]]


class Progress:
    """hosts done/failed/remaining on stderr, redrawn in place; silent unless enabled."""

    def __init__(self, total: int, enabled: bool, stream=sys.stderr):
        self.total, self.done, self.failed = total, 0, 0
        self.enabled, self.stream = enabled, stream

    def update(self, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        if self.enabled:
            remaining = self.total - self.done
            self.stream.write(f"\r{self.done}/{self.total} hosts done, {self.failed} failed, {remaining} remaining ")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.total:
            self.stream.write("\n")


class Sweep:
    def __init__(self, targets: list[Target], options: SSHOptions, judge: Judge, parallel: int = 16, keep_facts: bool = False):
        self.targets = targets
        self.keep_facts = keep_facts
        self.facts: dict[str, dict] = {}
        self.options = options
        self.judge = judge
        self.parallel = max(1, parallel)
        self.known_hosts = KnownHosts(options.known_hosts, options.accept_new_host_keys)
        self.running: dict[int, SSHTransport] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def audit(self, target: Target) -> dict[str, Any]:
        """One host: connect, probe (one or two exec channels), judge."""
        if self.stopping.is_set():
            raise TransportError(f"{target.name}: not scanned, the sweep was interrupted", "interrupted")
        started = clock.stamp()
        transport = SSHTransport(target, self.options, self.known_hosts)
        with self.lock:
            self.running[id(transport)] = transport
        try:
            with transport:
                snapshot = collect(transport, root=target.root or "/", docker_host=target.docker_host, target_name=target.name)
        except (CollectError, TransportError) as exc:
            if self.stopping.is_set():
                raise TransportError(f"{target.name}: abandoned, the sweep was interrupted", "interrupted") from exc
            if isinstance(exc, CollectError):
                raise TransportError(f"{target.name}: {exc}", "probe_malformed") from exc
            raise
        finally:
            with self.lock:
                self.running.pop(id(transport), None)
        if self.keep_facts:
            self.facts[target.name] = snapshot
        report = self.judge(snapshot, started)
        report["target"]["address"] = f"{target.host}:{target.port or 22}"
        report["target"]["exec_channels"] = transport.channels_opened
        return report

    def _abandon_running(self) -> None:
        self.stopping.set()
        with self.lock:
            running = list(self.running.values())
        for transport in running:
            transport.close()

    def run(self, progress: Progress) -> tuple[list[dict], list[dict], bool]:
        """Reports, error entries, and whether Ctrl-C cut the sweep short."""
        reports: list[dict] = []
        errors: list[dict] = []
        interrupted = False
        pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="dockbench-host")
        futures = {pool.submit(self.audit, t): t for t in self.targets}
        pending = set(futures)
        try:
            for future in as_completed(futures):
                pending.discard(future)
                self._settle(future, futures[future], reports, errors, progress)
        except KeyboardInterrupt:
            interrupted = True
            self._abandon_running()
            for future in pending:
                future.cancel()
            for future in pending:
                self._settle(future, futures[future], reports, errors, progress)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            progress.finish()
        return reports, errors, interrupted

    @staticmethod
    def _settle(future, target: Target, reports: list, errors: list, progress: Progress) -> None:
        """File a finished (or cancelled) host under reports or errors; nothing is dropped."""
        kind, message = None, None
        if future.cancelled():
            kind, message = "interrupted", f"{target.name}: not scanned, the sweep was interrupted"
        else:
            try:
                reports.append(future.result())
            except TransportError as exc:
                kind, message = exc.kind, str(exc)
            except Exception as exc:  # a bug must cost one host, not the sweep
                kind, message = "probe_failed", f"{target.name}: internal error {type(exc).__name__}: {exc}; please report this"
        if kind:
            errors.append({"target": _url(target), "name": target.name, "kind": kind, "message": message})
        progress.update(kind is None)


def _url(target: Target) -> str:
    user = f"{target.user}@" if target.user else ""
    host = f"[{target.host}]" if ":" in target.host else target.host
    return f"ssh://{user}{host}" + (f":{target.port}" if target.port else "")
