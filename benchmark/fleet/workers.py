"""Worker processes for a sweep's CPU work, so judging uses every core (threads share the GIL).

Each worker handles one call at a time over a pipe of its own, so the pool always knows which
call a worker was running: a worker that dies (a crash, the OOM killer) or overruns its time
costs that call only, and a new worker takes its place. Workers ignore Ctrl-C: the sweep
decides what an interrupt means.
"""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import signal
from collections.abc import Callable
from typing import Any


class WorkerCrashed(Exception):
    """The worker process running a call died or overran its time; the call has no result."""


def _serve(conn, initializer: Callable[[], None] | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer()
    while True:
        try:
            call = conn.recv()
        except EOFError:
            return
        if call is None:
            return
        func, args = call
        try:
            reply = (True, func(*args))
        except Exception as exc:  # noqa: BLE001 - the caller decides; the worker lives on
            reply = (False, exc)
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            conn.send((False, RuntimeError(f"{type(reply[1]).__name__}: {reply[1]} (and it could not be sent back: {exc})")))


class WorkerPool:
    """`size` worker processes (spawned, so the sweep's threads and connections stay behind)."""

    def __init__(self, size: int, initializer: Callable[[], None] | None = None):
        self.context = multiprocessing.get_context("spawn")
        self.initializer = initializer
        self.idle: queue.Queue = queue.Queue()
        self.workers: set = set()
        self.closed = False
        for _ in range(max(1, size)):
            self.idle.put(self._start())

    def _start(self):
        ours, theirs = self.context.Pipe()
        process = self.context.Process(target=_serve, args=(theirs, self.initializer), daemon=True, name="dockbench-judge")
        process.start()
        theirs.close()
        worker = (process, ours)
        self.workers.add(worker)
        return worker

    def _replace(self, worker) -> None:
        process, conn = worker
        self.workers.discard(worker)
        conn.close()
        if process.is_alive():
            process.kill()
        process.join()
        if not self.closed:
            self.idle.put(self._start())

    def call(self, func: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """func(*args) in a worker; its exception is raised here. WorkerCrashed if the worker
        died or did not answer within timeout seconds."""
        worker = self.idle.get()
        process, conn = worker
        try:
            conn.send((func, args))
            if not conn.poll(timeout):
                self._replace(worker)
                raise WorkerCrashed(f"the judging process did not finish within {timeout:g} s")
            ok, value = conn.recv()
        except (EOFError, OSError) as exc:
            process.join(1)
            code = process.exitcode
            self._replace(worker)
            raise WorkerCrashed(f"the judging process died ({f'exit status {code}' if code is not None else exc})") from None
        self.idle.put(worker)
        if not ok:
            raise value
        return value

    def close(self) -> None:
        self.closed = True
        for _, conn in list(self.workers):
            try:
                conn.send(None)
            except OSError:
                pass
        for process, conn in list(self.workers):
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
            conn.close()
        self.workers.clear()
