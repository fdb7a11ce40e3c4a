"""The probe over SSH (paramiko): one connection per host, one exec channel per probe round.

Host keys are verified against known_hosts by default: an unknown or changed key is an error
for that host, never silently accepted. New keys are recorded only with --accept-new-host-keys.
Every step is bounded by the host's deadline, so one hanging host cannot hold a sweep.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import hmac
import os
import select
import shlex
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from dockbench.benchmark.collect.inventory import Target, parse_url
from dockbench.benchmark.collect.transports import DEFAULT_MAX_PROBE_BYTES, BoundedOutput, ProbeRun, Transport, TransportError

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
    max_probe_bytes: int = DEFAULT_MAX_PROBE_BYTES
    user: str | None = None
    key_file: str | None = None
    passphrase: str | None = field(default=None, repr=False)
    sudo: bool = False
    keys: PrivateKeys = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        self.keys = PrivateKeys(self.passphrase)


class PrivateKeys:
    """Private keys read once for all the connections that share the options (thread-safe).

    paramiko reads a key file for every connection, trying each key type in turn, and each try of
    an encrypted key runs its bcrypt derivation (about 0.5 s of CPU per host at 16 rounds). A file
    that does not load here (None) is left to paramiko per connection, as before, so that the
    connection fails or falls back exactly as it would have."""

    def __init__(self, passphrase: str | None):
        self.passphrase = passphrase
        self.lock = threading.Lock()
        self.loaded: dict[str, paramiko.PKey | None] = {}

    def get(self, path: str) -> paramiko.PKey | None:
        with self.lock:
            if path not in self.loaded:
                try:
                    self.loaded[path] = paramiko.PKey.from_path(path, self.passphrase.encode() if self.passphrase else None)  # and its -cert.pub
                except (OSError, ValueError, TypeError, paramiko.SSHException):
                    self.loaded[path] = None
            return self.loaded[path]


class KnownHosts:
    """known_hosts, read once and shared by all connections of a sweep (thread-safe).

    Indexed by host name, and each connection is given only its own host's keys: paramiko's
    HostKeys scans every entry per lookup and per addition, so loading or copying a known_hosts
    of N hosts costs O(N^2) (0.3 s per host at 1,000 entries, a sweep's main thread). Hashed
    names (HashKnownHosts) can only be tested one by one, as OpenSSH does."""

    def __init__(self, path: str, accept_new: bool):
        self.path = Path(os.path.expanduser(path))
        self.accept_new = accept_new
        self.lock = threading.Lock()
        self.recorded: list[str] = []
        self.count = 0                                   # entries read or recorded, in file order
        self.plain: dict[str, list[tuple[int, paramiko.PKey]]] = {}
        self.hashed: list[tuple[bytes, bytes, int, paramiko.PKey]] = []  # salt, HMAC-SHA1 of the name
        if self.path.exists():
            try:
                with open(self.path, encoding="utf-8") as lines:
                    for number, line in enumerate(lines, 1):
                        self._read(line.strip(), number)
            except (OSError, UnicodeDecodeError) as exc:
                raise TransportError(f"cannot read known hosts {self.path}: {exc}", "config_error") from exc

    def _read(self, line: str, number: int) -> None:
        """One known_hosts line, parsed as paramiko's HostKeys.load does; lines it cannot use
        (unknown key types, @cert-authority: such hosts stay unknown) are skipped. A revocation
        cannot be honoured, so it is refused rather than ignored."""
        if not line or line.startswith("#"):
            return
        if line.startswith("@revoked"):
            raise TransportError(f"known hosts {self.path} line {number}: @revoked is not supported; remove the line or use another file", "config_error")
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line, number)
        except (paramiko.SSHException, paramiko.hostkeys.InvalidHostKey):
            return
        if entry is not None:
            self._add(entry.hostnames, entry.key)

    def _add(self, names: list[str], key: paramiko.PKey) -> None:
        order, self.count = self.count, self.count + 1
        for name in names:
            if not name.startswith("|1|"):
                self.plain.setdefault(name, []).append((order, key))
                continue
            try:
                salt, digest = (base64.b64decode(part, validate=True) for part in name[3:].split("|"))
            except (ValueError, binascii.Error):
                continue
            self.hashed.append((salt, digest, order, key))

    def lookup(self, name: str) -> list[paramiko.PKey]:
        """The keys known for `name` ("host", or "[host]:port" off port 22), in file order."""
        with self.lock:
            found = list(self.plain.get(name, ()))
            hashed = list(self.hashed)
        encoded = name.encode()
        found += [(order, key) for salt, digest, order, key in hashed
                  if hmac.compare_digest(hmac.new(salt, encoded, hashlib.sha1).digest(), digest)]
        return [key for _, key in sorted(found, key=lambda item: item[0])]

    def install(self, client: paramiko.SSHClient, hostname: str, port: int) -> None:
        """Give `client` the known keys of the host it connects to, under the name paramiko
        checks; the first key of each type counts, as in paramiko's own lookup."""
        name = hostname if port == 22 else f"[{hostname}]:{port}"
        kinds: set[str] = set()
        for key in self.lookup(name):
            if key.get_name() not in kinds:
                kinds.add(key.get_name())
                client.get_host_keys().add(name, key.get_name(), key)
        client.set_missing_host_key_policy(_AcceptNew(self) if self.accept_new else paramiko.RejectPolicy())

    def record(self, hostname: str, key: paramiko.PKey) -> None:
        with self.lock:
            self._add([hostname], key)
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
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return TransportError(f"{what}: timed out", "timeout")
    if isinstance(exc, ConnectionRefusedError):
        return TransportError(f"{what}: connection refused", "connection_refused")
    if isinstance(exc, socket.gaierror):
        return TransportError(f"{what}: cannot resolve host name ({exc.strerror})", "unreachable")
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ECONNRESET):
        return TransportError(f"{what}: {exc.strerror}", "unreachable")
    return TransportError(f"{what}: {type(exc).__name__}: {exc}", "unreachable")


def _connect(endpoint: Endpoint, timeout: float) -> socket.socket:
    """The TCP connection to a host, with Nagle's algorithm off: each step of SSH sends a small
    message and waits for the answer, and with Nagle a message may wait for the ACK of the last
    one, which the peer delays (40 ms on Linux): up to half of a host's time on a fast link."""
    sock = socket.create_connection((endpoint.hostname, endpoint.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _config_for(options: SSHOptions, host: str) -> dict:
    path = os.path.expanduser(options.ssh_config) if options.ssh_config else None
    if not path or not os.path.exists(path):
        return {}
    try:
        return dict(paramiko.SSHConfig.from_path(path).lookup(host))
    except (OSError, UnicodeDecodeError, paramiko.ConfigParseError) as exc:
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
        super().__init__(sudo=options.sudo if target.sudo is None else target.sudo, timeout=options.host_timeout, max_bytes=options.max_probe_bytes)
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
        self.known_hosts.install(client, endpoint.hostname, endpoint.port)
        wait = min(self.options.connect_timeout, self.remaining())
        if sock is None:
            sock = _connect(endpoint, wait)
        first = self.options.keys.get(endpoint.key_files[0]) if endpoint.key_files else None
        key_files = endpoint.key_files[1:] if first is not None else endpoint.key_files  # tried in the same order
        client.connect(
            endpoint.hostname,
            port=endpoint.port,
            username=endpoint.user,
            pkey=first,
            key_filename=key_files or None,
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
        """Read stdout and stderr until the server's EOF, then the exit status; within the deadline
        (checked before every read, so a host trickling bytes cannot outlive it) and the limits.

        Not until the exit status: sshd sends it as soon as the command exits, ahead of output it
        still holds (a slow client or link, a full channel window), so stopping there loses the
        end of the output."""
        output = BoundedOutput(f"{self.target.name}", self.max_bytes)
        try:
            while True:
                self.remaining()
                if channel.recv_ready():
                    output.add(channel.recv(_READ_SIZE))
                elif channel.recv_stderr_ready():
                    output.add(channel.recv_stderr(_READ_SIZE), stderr=True)
                elif channel.eof_received or channel.closed:
                    break  # EOF comes after the last byte of both streams
                else:
                    select.select([channel], [], [], min(0.05, self.remaining()))
            while not channel.exit_status_ready():
                channel.status_event.wait(min(0.05, self.remaining()))
            return output.run(channel.recv_exit_status())
        finally:
            channel.close()
