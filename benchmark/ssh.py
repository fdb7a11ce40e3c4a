"""The probe over SSH (paramiko): one connection per host, one exec channel per probe round.

Host keys are verified against known_hosts by default: an unknown or changed key is an error
for that host, never silently accepted. New keys are recorded only with --accept-new-host-keys.
Every step is bounded by the host's deadline, so one hanging host cannot hold a sweep.
"""

from __future__ import annotations

import errno
import os
import select
import shlex
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from dockbench.benchmark.inventory import Target, parse_url
from dockbench.benchmark.transports import ProbeRun, Transport, TransportError

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
DEFAULT_SSH_CONFIG = "~/.ssh/config"
_READ_SIZE = 1 << 16


@dataclass
class SSHOptions:
    """Settings shared by every host of a sweep (per-host values come from the Target)."""

    known_hosts: str = DEFAULT_KNOWN_HOSTS
    accept_new_host_keys: bool = False
    ssh_config: str | None = DEFAULT_SSH_CONFIG
    connect_timeout: float = 10.0
    host_timeout: float = 120.0
    user: str | None = None
    key_file: str | None = None
    passphrase: str | None = None
    sudo: bool = False


class KnownHosts:
    """known_hosts, loaded once and shared by all connections of a sweep (thread-safe)."""

    def __init__(self, path: str, accept_new: bool):
        self.path = Path(os.path.expanduser(path))
        self.accept_new = accept_new
        self.keys = paramiko.HostKeys()
        self.lock = threading.Lock()
        self.recorded: list[str] = []
        if self.path.exists():
            try:
                self.keys.load(str(self.path))
            except (OSError, paramiko.SSHException) as exc:
                raise TransportError(f"cannot read known hosts {self.path}: {exc}", "config_error") from exc

    def policy(self) -> paramiko.MissingHostKeyPolicy:
        return _AcceptNew(self) if self.accept_new else paramiko.RejectPolicy()

    def record(self, hostname: str, key: paramiko.PKey) -> None:
        with self.lock:
            self.keys.add(hostname, key.get_name(), key)
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with open(self.path, "a", encoding="ascii") as out:
                out.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
            os.chmod(self.path, 0o600)
            self.recorded.append(f"{hostname} {key.get_name()} {key.fingerprint}")


class _AcceptNew(paramiko.MissingHostKeyPolicy):
    """Record keys of hosts never seen before; a changed key still fails (paramiko checks first)."""

    def __init__(self, store: KnownHosts):
        self.store = store

    def missing_host_key(self, client, hostname, key):
        self.store.record(hostname, key)


def _classify(exc: BaseException, what: str) -> TransportError:
    """One clear error kind and message per way a connection can fail."""
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, paramiko.BadHostKeyException):
        return TransportError(f"{what}: host key CHANGED ({exc.key.get_name()} {exc.key.fingerprint}); if expected, remove the old entry from known_hosts", "host_key_changed")
    if isinstance(exc, paramiko.PasswordRequiredException) or (isinstance(exc, TypeError) and "password" in str(exc)):
        return TransportError(f"{what}: the private key is encrypted; load it into ssh-agent (ssh-add) or give its passphrase", "auth_failed")
    if isinstance(exc, paramiko.AuthenticationException):
        return TransportError(f"{what}: authentication failed ({exc})", "auth_failed")
    if isinstance(exc, paramiko.SSHException) and "known_hosts" in str(exc):
        return TransportError(f"{what}: host key unknown (not in known_hosts); verify it and add it, or re-run with --accept-new-host-keys", "host_key_unknown")
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        refused = all(getattr(e, "errno", None) == errno.ECONNREFUSED for e in exc.errors.values())
        return TransportError(f"{what}: {'connection refused' if refused else exc}", "connection_refused" if refused else "unreachable")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return TransportError(f"{what}: timed out", "timeout")
    if isinstance(exc, ConnectionRefusedError):
        return TransportError(f"{what}: connection refused", "connection_refused")
    if isinstance(exc, socket.gaierror):
        return TransportError(f"{what}: cannot resolve host name ({exc.strerror})", "unreachable")
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ECONNRESET):
        return TransportError(f"{what}: {exc.strerror}", "unreachable")
    return TransportError(f"{what}: {type(exc).__name__}: {exc}", "unreachable")


def _config_for(options: SSHOptions, host: str) -> dict:
    path = os.path.expanduser(options.ssh_config) if options.ssh_config else None
    if not path or not os.path.exists(path):
        return {}
    try:
        return dict(paramiko.SSHConfig.from_path(path).lookup(host))
    except (OSError, paramiko.ConfigParseError) as exc:
        raise TransportError(f"cannot read ssh config {path}: {exc}", "config_error") from exc


@dataclass
class Endpoint:
    """Where and as whom to connect, after ~/.ssh/config and inventory variables are applied."""

    hostname: str
    port: int
    user: str | None
    key_files: list[str] = field(default_factory=list)
    proxy_jump: str | None = None

    @classmethod
    def resolve(cls, target: Target, options: SSHOptions) -> Endpoint:
        config = _config_for(options, target.host)
        key = target.key_file or options.key_file
        keys = [os.path.expanduser(key)] if key else [os.path.expanduser(k) for k in config.get("identityfile", [])]
        return cls(
            hostname=config.get("hostname", target.host),
            port=int(target.port or config.get("port", 22)),
            user=target.user or options.user or config.get("user"),
            key_files=[k for k in keys if os.path.exists(k)],
            proxy_jump=target.proxy_jump or config.get("proxyjump"),
        )


class SSHTransport(Transport):
    """One host: connect on enter, run probe rounds on exec channels, close on exit."""

    name = "ssh"

    def __init__(self, target: Target, options: SSHOptions, known_hosts: KnownHosts):
        super().__init__(sudo=options.sudo if target.sudo is None else target.sudo, timeout=options.host_timeout)
        self.target = target
        self.options = options
        self.known_hosts = known_hosts
        self.deadline = time.monotonic() + options.host_timeout
        self.clients: list[paramiko.SSHClient] = []
        self.channels_opened = 0

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TransportError(f"{self.target.name}: gave up after the host timeout of {self.options.host_timeout:g} s", "timeout")
        return left

    def _client(self, endpoint: Endpoint, sock=None) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        self.clients.append(client)
        client.get_host_keys().update(self.known_hosts.keys)
        client.set_missing_host_key_policy(self.known_hosts.policy())
        wait = min(self.options.connect_timeout, self.remaining())
        client.connect(
            endpoint.hostname,
            port=endpoint.port,
            username=endpoint.user,
            key_filename=endpoint.key_files or None,
            passphrase=self.options.passphrase,
            timeout=wait,
            banner_timeout=wait,
            auth_timeout=wait,
            channel_timeout=wait,
            sock=sock,
        )
        return client

    def _jump_socket(self, proxy_jump: str | None, final: Endpoint):
        """A channel through each ProxyJump host in turn, used as the final connection's socket."""
        if not proxy_jump or proxy_jump.lower() == "none":
            return None
        sock = None
        hops = [parse_url(hop) for hop in proxy_jump.split(",")]
        for hop, following in zip(hops, hops[1:] + [None]):
            endpoint = Endpoint.resolve(hop, self.options)
            client = self._client(endpoint, sock)
            to = (final.hostname, final.port) if following is None else (following.host, following.port or 22)
            sock = client.get_transport().open_channel("direct-tcpip", to, ("127.0.0.1", 0), timeout=self.remaining())
        return sock

    def __enter__(self) -> SSHTransport:
        what = f"{self.target.name}"
        try:
            endpoint = Endpoint.resolve(self.target, self.options)
            self._client(endpoint, self._jump_socket(endpoint.proxy_jump, endpoint))
        except BaseException as exc:
            self.close()
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise _classify(exc, what) from exc
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection (also from another thread, to abandon a host at once)."""
        for client in reversed(self.clients):
            client.close()

    def execute(self, argv: list[str], stdin: bytes) -> ProbeRun:
        try:
            channel = self.clients[-1].get_transport().open_session(timeout=self.remaining())
            self.channels_opened += 1
            channel.exec_command(shlex.join(argv))
            channel.sendall(stdin)
            channel.shutdown_write()
            return self._drain(channel)
        except TransportError:
            raise
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise _classify(exc, f"{self.target.name}: running the probe") from exc

    def _drain(self, channel: paramiko.Channel) -> ProbeRun:
        """Read stdout and stderr until the server's EOF, then the exit status; within the deadline.

        Not until the exit status: sshd sends it as soon as the command exits, ahead of output it
        still holds (a slow client or link, a full channel window), so stopping there loses the
        end of the output."""
        out, err = bytearray(), bytearray()
        try:
            while True:
                self.remaining()
                if channel.recv_ready():
                    out += channel.recv(_READ_SIZE)
                elif channel.recv_stderr_ready():
                    err += channel.recv_stderr(_READ_SIZE)
                elif channel.eof_received or channel.closed:
                    break  # EOF comes after the last byte of both streams
                else:
                    select.select([channel], [], [], min(0.05, self.remaining()))
            while not channel.exit_status_ready():
                channel.status_event.wait(min(0.05, self.remaining()))
            return ProbeRun(bytes(out), bytes(err), channel.recv_exit_status())
        finally:
            channel.close()
