"""Ways to run the probe on a target. A transport has one job: run a script, return its bytes.

The command line (`sh -s`, behind `sudo -n` when asked) and the reading of sudo's refusal live
here once, so every transport runs the probe the same way.
"""

from __future__ import annotations

import importlib
import os
import selectors
import subprocess
import time
from dataclasses import dataclass

# A remote target's URL scheme -> the transport that runs the probe there, as "module:class",
# imported when a target uses it (only remote scans pay for loading the SSH stack). Inventories
# accept exactly these schemes and sweeps open what this table names: a new kind of target is
# a Transport subclass and a line here. A scan with no target runs LocalTransport.
SCHEMES = {"ssh": "dockbench.benchmark.collect.ssh:SSHTransport"}

# The most a probe round may send, per host: six times a 10,000-container host's real output
# (tests/perf/bench_probe.py measured 8.3 KB per running container, so 83 MB; README "Bounded
# input"), so that only a broken or hostile host reaches it. Its stderr is only read for
# messages, so it gets far less.
DEFAULT_MAX_PROBE_BYTES = 512 << 20
MAX_STDERR_BYTES = 1 << 20


class TransportError(Exception):
    """The probe could not be run on the target; `kind` names the failure for sweep reports."""

    def __init__(self, message: str, kind: str = "probe_failed"):
        super().__init__(message)
        self.kind = kind


@dataclass
class ProbeRun:
    stdout: bytes
    stderr: bytes
    exit_status: int


class BoundedOutput:
    """A probe's stdout and stderr as they arrive, refused past their limits: a host that sends
    more ends with probe_too_large (naming the limit) while memory holds at most the limits."""

    def __init__(self, where: str, max_bytes: int):
        self.where, self.max_bytes = where, max_bytes
        self.stdout, self.stderr = bytearray(), bytearray()

    def add(self, data: bytes, *, stderr: bool = False) -> None:
        buffer, limit = (self.stderr, MAX_STDERR_BYTES) if stderr else (self.stdout, self.max_bytes)
        if len(buffer) + len(data) > limit:
            stream = "stderr" if stderr else "stdout"
            raise TransportError(f"{self.where}: the probe sent more than {limit:,} bytes on {stream}; the host was abandoned", "probe_too_large")
        buffer += data

    def run(self, exit_status: int) -> ProbeRun:
        return ProbeRun(bytes(self.stdout), bytes(self.stderr), exit_status)


class Transport:
    """Base of every transport: subclasses only say how to execute a command with stdin."""

    name = "transport"

    def __init__(self, *, sudo: bool = False, timeout: float = 120.0, max_bytes: int = DEFAULT_MAX_PROBE_BYTES):
        self.sudo = sudo
        self.timeout = timeout
        self.max_bytes = max_bytes

    def command(self) -> list[str]:
        return (["sudo", "-n"] if self.sudo else []) + ["sh", "-s"]

    def run(self, script: bytes) -> ProbeRun:
        result = self.execute(self.command(), script)
        if self.sudo and result.exit_status == 1 and b"password is required" in result.stderr:
            raise TransportError(
                "sudo wants a password: allow the probe to run with passwordless sudo (sudo -n) or scan without --sudo",
                "sudo_password_required",
            )
        return result

    def execute(self, argv: list[str], stdin: bytes) -> ProbeRun:
        raise NotImplementedError


class LocalTransport(Transport):
    """Runs the probe with the local `sh`, its output read within the limits and the timeout."""

    name = "local"

    def execute(self, argv: list[str], stdin: bytes) -> ProbeRun:
        try:
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError as exc:
            raise TransportError(f"cannot start {argv[0]}: {exc.strerror}") from exc
        deadline = time.monotonic() + self.timeout
        try:
            output = self._read(process, stdin, deadline)
            return output.run(process.wait(max(0.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired as exc:
            raise self._late() from exc
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            for pipe in (process.stdin, process.stdout, process.stderr):
                pipe.close()

    def _late(self) -> TransportError:
        return TransportError(f"the probe did not finish within {self.timeout:g} s", "timeout")

    def _read(self, process: subprocess.Popen, stdin: bytes, deadline: float) -> BoundedOutput:
        """Feed the script and read both streams to their ends, at once (neither pipe may fill)."""
        output = BoundedOutput("local probe", self.max_bytes)
        pending = memoryview(stdin)
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ, False)
            selector.register(process.stderr, selectors.EVENT_READ, True)
            if pending:
                os.set_blocking(process.stdin.fileno(), False)
                selector.register(process.stdin, selectors.EVENT_WRITE)
            else:
                process.stdin.close()
            while selector.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._late()
                for key, _ in selector.select(min(left, 1.0)):
                    if key.fileobj is process.stdin:
                        pending = self._feed(process, pending, selector)
                        continue
                    data = os.read(key.fd, 1 << 16)
                    if data:
                        output.add(data, stderr=key.data)
                    else:
                        selector.unregister(key.fileobj)
        return output

    @staticmethod
    def _feed(process: subprocess.Popen, pending: memoryview, selector) -> memoryview:
        try:
            pending = pending[os.write(process.stdin.fileno(), pending):]
        except BrokenPipeError:  # the shell exited without reading it all: its output says why
            pending = pending[len(pending):]
        if not pending:
            selector.unregister(process.stdin)
            process.stdin.close()
        return pending


def transport_class(scheme: str) -> type[Transport]:
    """The transport of a remote target's scheme (one of SCHEMES)."""
    module, _, name = SCHEMES[scheme].partition(":")
    return getattr(importlib.import_module(module), name)
