"""The SSH transport reads a command's output to the end, not only until its exit status.

sshd sends the exit status as soon as the command exits, ahead of output it still holds when the
client or the link is slow. A small channel window makes that the common case: the server may
send only 32 KB before the client reads, so most of the output is still in sshd (and the pipe)
when the command has already exited. Reading up to the exit status truncated about half of
these runs (and, rarely, a 400 KB output with paramiko's default 2 MB window on a loaded host).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import paramiko
import paramiko.client
import pytest

from dockbench.benchmark.collect.inventory import Target
from dockbench.benchmark.collect.ssh import KnownHosts, SSHOptions, SSHTransport
from tests.support.sshd import Lab

SIZE = 80_000
RUNS = 10


class SmallWindowTransport(paramiko.Transport):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, default_window_size=32768, **kwargs)


@pytest.fixture(scope="module")
def server():
    lab = Lab(Path(tempfile.mkdtemp(prefix="dbt-sshout-")))
    try:
        host = lab.start("out", "127.0.0.41")
        yield lab, host, lab.known_hosts(lab.directory / "known_hosts", [host])
    finally:
        lab.stop()


def test_output_is_read_to_the_end_after_the_exit_status(server, monkeypatch):
    lab, host, known_hosts = server
    monkeypatch.setattr(paramiko.client, "Transport", SmallWindowTransport)
    options = SSHOptions(known_hosts=str(known_hosts), ssh_config=None, key_file=str(lab.client_key), user="root")
    sizes = []
    for _ in range(RUNS):
        with SSHTransport(Target("out", host.address, host.port), options, KnownHosts(str(known_hosts), False)) as transport:
            run = transport.run(f"head -c {SIZE} /dev/zero; echo done >&2; exit 3\n".encode())
        sizes.append(len(run.stdout))
        assert (run.stderr, run.exit_status) == (b"done\n", 3)
    assert sizes == [SIZE] * RUNS
