"""Sweep a fleet over SSH in parallel: every host ends as a report or as an error entry.

Hosts run on a thread pool, at most --parallel at once; each is bounded by its own deadline.
A host's probe output is judged in a worker process (benchmark.fleet.workers; every core, since
threads share the GIL) or, without workers, in its thread, and its result is stored
(benchmark.fleet.output) as soon as it is judged, by the sweep's own thread: no more than
--parallel results exist at a time, whatever the size of the fleet. Ctrl-C stops new
connections, abandons the running ones (their connections are closed) and completes every
output with what was gathered.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from dockbench.benchmark import clock
from dockbench.benchmark.collect import probe
from dockbench.benchmark.collect.inventory import Target
from dockbench.benchmark.collect.rounds import CollectError, run_rounds, target_of
from dockbench.benchmark.collect.ssh import KnownHosts, SSHOptions
from dockbench.benchmark.collect.transports import Transport, TransportError, transport_class
from dockbench.benchmark.fleet import host as sweep_host
from dockbench.benchmark.fleet.host import HostResult, HostTask
from dockbench.benchmark.fleet.output import SweepOutput
from dockbench.benchmark.fleet.workers import WorkerCrashed, WorkerPool
from dockbench.benchmark.judge.options import Judge, JudgingOptions

POLL = 0.2  # seconds between looks at Ctrl-C while waiting for hosts


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
    """A fleet's hosts, audited `parallel` at a time and judged by `workers` processes (0: in
    the hosts' threads), every host judged by `judging` (picklable: workers receive it)."""

    def __init__(self, targets: list[Target], options: SSHOptions, judging: JudgingOptions, parallel: int = 16,
                 workers: int = 0, keep_facts: bool = False, archive_options: dict[str, Any] | None = None, sweep_id: str = "",
                 known_hosts: KnownHosts | None = None):
        self.targets = targets
        self.options = options
        self.judging = judging
        self.parallel = max(1, parallel)
        self.workers = workers
        self.keep_facts = keep_facts
        self.archive_options = archive_options
        self.sweep_id = sweep_id
        self.known_hosts = known_hosts or KnownHosts(options.known_hosts, options.accept_new_host_keys)
        self.running: dict[int, Transport] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.pool: WorkerPool | None = None
        self._judge_here: Judge | None = None   # the judge of the hosts' threads, without workers
        self.held = self.peak_held = 0  # host results judged and not yet stored

    # -- one host ----------------------------------------------------------------------------

    def _judge(self, task: HostTask) -> HostResult | bytes:
        if self.pool is None:
            if self._judge_here is None:   # audit() called alone, not from run()
                self._judge_here = self.judging.judge()
            return sweep_host.judge(task, self._judge_here)
        try:
            return self.pool.call(sweep_host.judge, task, timeout=self.options.host_timeout)
        except WorkerCrashed as exc:
            raise TransportError(f"{task.target['name']}: {exc}; please report this", "probe_failed") from exc

    def audit(self, target: Target, scan_id: str | None = None) -> HostResult:
        """One host: connect, probe (one or two exec channels), judge: what a sweep, a distributed
        worker and a single remote scan all do. Raises TransportError or CollectError."""
        if self.stopping.is_set():
            raise TransportError(f"{target.name}: not scanned, the sweep was interrupted", "interrupted")
        started = clock.stamp()
        transport = transport_class(target.scheme)(target, self.options, self.known_hosts)
        root = target.root or "/"
        with self.lock:
            self.running[id(transport)] = transport
        try:
            with transport:
                def settle(outputs):
                    return self._judge(HostTask(target_of(transport, root, target.docker_host, target.name), outputs, started,
                                                f"{target.host}:{target.port or 22}", transport.channels_opened, self.sweep_id,
                                                self.keep_facts, self.archive_options, scan_id))
                result = run_rounds(transport, probe.build(root=root, docker_host=target.docker_host), settle)
        except (CollectError, TransportError) as exc:
            if self.stopping.is_set():
                raise TransportError(f"{target.name}: abandoned, the sweep was interrupted", "interrupted") from exc
            raise
        finally:
            with self.lock:
                self.running.pop(id(transport), None)
        with self.lock:
            self.held += 1
            self.peak_held = max(self.peak_held, self.held)
        return result

    # -- the fleet ---------------------------------------------------------------------------

    def _abandon_running(self) -> None:
        self.stopping.set()
        with self.lock:
            running = list(self.running.values())
        for transport in running:
            transport.close()

    def _on_sigint(self, signum, frame) -> None:
        self.stopping.set()

    def run(self, output: SweepOutput, progress: Progress) -> bool:
        """Audit every target into output; whether Ctrl-C cut the sweep short."""
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, self._on_sigint)  # no KeyboardInterrupt in the middle of a write
        if self.workers:
            self.pool = WorkerPool(self.workers, _Initializer(self.judging))
        else:
            self._judge_here = self.judging.judge()
        threads = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="dockbench-host")
        todo = iter(self.targets)
        running: dict[Future, Target] = {}
        try:
            while True:
                while not self.stopping.is_set() and len(running) < self.parallel and (target := next(todo, None)) is not None:
                    running[threads.submit(self.audit, target)] = target
                if not running:
                    break
                done, _ = wait(running, timeout=POLL, return_when=FIRST_COMPLETED)
                if self.stopping.is_set():
                    self._abandon_running()
                for future in done:
                    self._settle(future, running.pop(future), output, progress)
        finally:
            threads.shutdown(wait=True)
            if self.pool is not None:
                self.pool.close()
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        for target in todo:
            self._file_error(output, progress, error_entry(target, "interrupted", f"{target.name}: not scanned, the sweep was interrupted"))
        progress.finish()
        return self.stopping.is_set()

    def _settle(self, future: Future, target: Target, output: SweepOutput, progress: Progress) -> None:
        """Store a finished host, or file it under errors; nothing is dropped."""
        result = guarded(future.result, target)
        if isinstance(result, dict):
            self._file_error(output, progress, result)
            return
        output.host(result)
        with self.lock:
            self.held -= 1
        progress.update(True)

    @staticmethod
    def _file_error(output: SweepOutput, progress: Progress, entry: dict[str, str]) -> None:
        output.error(entry)
        progress.update(False)


class _Initializer:
    """A worker's start: install the sweep's judge (a class, so spawn can pickle it)."""

    def __init__(self, judging: JudgingOptions):
        self.judging = judging

    def __call__(self) -> None:
        sweep_host.use(self.judging)


def guarded(audit: Callable[[], HostResult], target: Target) -> HostResult | dict[str, str]:
    """A host's result, or its error entry: a TransportError as it says, output that makes no
    facts as probe_malformed, and any other exception (a bug) costs this host, not the sweep."""
    try:
        return audit()
    except TransportError as exc:
        return error_entry(target, exc.kind, str(exc))
    except CollectError as exc:
        return error_entry(target, "probe_malformed", f"{target.name}: {exc}")
    except Exception as exc:  # noqa: BLE001 - a bug must cost one host, not the sweep
        return error_entry(target, "probe_failed", f"{target.name}: internal error {type(exc).__name__}: {exc}; please report this")


def error_entry(target: Target, kind: str, message: str) -> dict[str, str]:
    """A sweep's record of a host it could not audit."""
    return {"target": _url(target), "name": target.name, "kind": kind, "message": message}


def _url(target: Target) -> str:
    user = f"{target.user}@" if target.user else ""
    host = f"[{target.host}]" if ":" in target.host else target.host
    return f"{target.scheme}://{user}{host}" + (f":{target.port}" if target.port else "")
