"""Ways to run the probe on a target. A transport has one job: run a script, return its bytes.

The command line (`sh -s`, behind `sudo -n` when asked) and the reading of sudo's refusal live
here once, so every transport runs the probe the same way.
"""

from __future__ import annotations

import importlib
import subprocess
from dataclasses import dataclass

# A remote target's URL scheme -> the transport that runs the probe there, as "module:class",
# imported when a target uses it (only remote scans pay for loading the SSH stack). Inventories
# accept exactly these schemes and sweeps open what this table names: a new kind of target is
# a Transport subclass and a line here. A scan with no target runs LocalTransport.
SCHEMES = {"ssh": "dockbench.benchmark.collect.ssh:SSHTransport"}


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


class Transport:
    """Base of every transport: subclasses only say how to execute a command with stdin."""

    name = "transport"

    def __init__(self, *, sudo: bool = False, timeout: float = 120.0):
        self.sudo = sudo
        self.timeout = timeout

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
    """Runs the probe with the local `sh`."""

    name = "local"

    def execute(self, argv: list[str], stdin: bytes) -> ProbeRun:
        try:
            done = subprocess.run(argv, input=stdin, capture_output=True, timeout=self.timeout, check=False)
        except FileNotFoundError as exc:
            raise TransportError(f"cannot start {argv[0]}: {exc.strerror}") from exc
        except subprocess.TimeoutExpired as exc:
            raise TransportError(f"the probe did not finish within {self.timeout:g} s", "timeout") from exc
        return ProbeRun(done.stdout, done.stderr, done.returncode)


def transport_class(scheme: str) -> type[Transport]:
    """The transport of a remote target's scheme (one of SCHEMES)."""
    module, _, name = SCHEMES[scheme].partition(":")
    return getattr(importlib.import_module(module), name)
