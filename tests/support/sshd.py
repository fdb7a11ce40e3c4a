"""Real OpenSSH servers on loopback addresses (127.0.0.x) for the SSH transport and sweep tests.

Each server has its own generated host key, config and pid file in a directory of its own;
one client key (generated per lab) is authorised unless a server is told otherwise. Servers
can be given extra sshd_config lines, e.g. a ForceCommand that hangs or prints garbage.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
START_TIMEOUT = 10.0


class SSHDError(Exception):
    pass


def keygen(path: Path, kind: str = "ed25519") -> str:
    """Generate a key pair without passphrase; return the public key line."""
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True)
    return path.with_suffix(path.suffix + ".pub").read_text().strip()


def free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    name: str
    address: str
    port: int
    directory: Path
    host_key: str  # "ssh-ed25519 AAAA..."
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ssh://root@{self.address}:{self.port}"

    def known_hosts_line(self, key: str | None = None) -> str:
        kind, b64 = (key or self.host_key).split()[:2]
        return f"[{self.address}]:{self.port} {kind} {b64}"


class Lab:
    """A set of sshd processes; `stop()` ends them all."""

    def __init__(self, directory: Path):
        # Walkable by every user (authorized_keys is read as the logging-in user): not pytest's 0700 tmp.
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o755)
        self.client_key = directory / "client_key"
        self.client_public = keygen(self.client_key)
        self.servers: list[Server] = []
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory

    def start(self, name: str, address: str, *, extra_config: str = "", authorized: bool = True, port: int | None = None,
              flags: tuple[str, ...] = ()) -> Server:
        """A new sshd on address (a free port unless given); flags are added to its command line."""
        home = self.directory / name
        home.mkdir(mode=0o755)
        host_key = keygen(home / "host_key")
        (home / "authorized_keys").write_text(self.client_public + "\n" if authorized else "")
        (home / "authorized_keys").chmod(0o644)
        server = Server(name, address, port or free_port(address), home, host_key)
        (home / "sshd_config").write_text(
            "\n".join(
                [
                    f"Port {server.port}",
                    f"ListenAddress {address}",
                    f"HostKey {home / 'host_key'}",
                    f"PidFile {home / 'sshd.pid'}",
                    f"AuthorizedKeysFile {home / 'authorized_keys'}",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "MaxStartups 200",
                    "LogLevel ERROR",
                    extra_config,
                ]
            )
            + "\n"
        )
        with open(home / "sshd.log", "wb") as log:  # sshd keeps its own copy of the descriptor
            server.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(home / "sshd_config"), *flags], stdout=log, stderr=subprocess.STDOUT)
        self.servers.append(server)
        self._wait(server)
        return server

    @staticmethod
    def _wait(server: Server) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise SSHDError(f"sshd {server.name} exited: {(server.directory / 'sshd.log').read_text()[-500:]}")
            try:
                with socket.create_connection((server.address, server.port), timeout=1) as conn:
                    if conn.recv(4).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.05)
        raise SSHDError(f"sshd {server.name} did not answer on {server.address}:{server.port}")

    def known_hosts(self, path: Path, servers: list[Server]) -> Path:
        path.write_text("".join(s.known_hosts_line() + "\n" for s in servers))
        return path

    def stop(self, remove: bool = True) -> None:
        for server in self.servers:
            if server.process and server.process.poll() is None:
                server.process.terminate()
        for server in self.servers:
            if server.process:
                try:
                    server.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    server.process.kill()
        self.servers.clear()
        if remove:
            shutil.rmtree(self.directory, ignore_errors=True)
