"""Ways to run the probe on a target. A transport has one job: run a script, return its bytes."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass


class TransportError(Exception):
    """The probe could not be run on the target at all."""


@dataclass
class ProbeRun:
    stdout: bytes
    stderr: bytes
    exit_status: int


class LocalTransport:
    """Runs the probe with the local `sh`, optionally through `sudo -n`."""

    name = "local"

    def __init__(self, *, sudo: bool = False, timeout: float = 300.0):
        self.sudo = sudo
        self.timeout = timeout

    def run(self, script: bytes) -> ProbeRun:
        argv = (["sudo", "-n"] if self.sudo else []) + ["sh", "-s"]
        try:
            done = subprocess.run(argv, input=script, capture_output=True, timeout=self.timeout, check=False)
        except FileNotFoundError as exc:
            raise TransportError(f"cannot start {argv[0]}: {exc.strerror}") from exc
        except subprocess.TimeoutExpired as exc:
            raise TransportError(f"the probe did not finish within {self.timeout:g} s") from exc
        if self.sudo and done.returncode == 1 and b"password is required" in done.stderr:
            raise TransportError("sudo needs a password: allow passwordless sudo for the probe or run without --sudo")
        return ProbeRun(done.stdout, done.stderr, done.returncode)
