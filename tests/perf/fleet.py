"""What the SSH sweep benchmarks (bench_sweep, bench_latency) share: a fleet of real hosts.

`Fleet` owns one temporary directory and everything started in it: a private dockerd with a few
busybox containers (--network none), real sshd processes on their own 127.0.x.y addresses (one
generated client key, every host key in known_hosts), the inventories for them, and the reports
of timed `dockbench scan --inventory` sweeps. `Fleet.close()` stops the sshd processes and the
daemon and removes the directory; `run()` calls it on success, error, Ctrl-C and SIGTERM.

Not collected by pytest (no test_ prefix, no test functions).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dockbench.benchmark.collect.inventory import Target
from dockbench.benchmark.collect.rounds import collect
from dockbench.benchmark.collect.ssh import KnownHosts, SSHOptions, SSHTransport
from dockbench.benchmark.collect.transports import ProbeRun
from tests.perf.bench_scan import BenchError, default_cli, log, scale
from tests.support import dockerd
from tests.support.sshd import Lab, Server, SSHDError

HOST_TIMEOUT = 120.0  # dockbench scan --timeout: generous, the machine is shared and noisy


def address(index: int, subnet: int) -> str:
    """The index-th (0-based) loopback address 127.0.x.y, x counting up from `subnet`, y 1..250."""
    return f"127.0.{subnet + index // 250}.{1 + index % 250}"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class SweepRun:
    """One `dockbench scan --inventory` process: its wall time and the sweep document it wrote."""

    hosts: int
    parallel: int
    wall_s: float
    cpu_s: float  # user + system time of the dockbench process: what the sweep costs the bastion
    document: dict

    @property
    def reports(self) -> list[dict]:
        return self.document["hosts"]

    @property
    def errors(self) -> list[dict]:
        return self.document["errors"]

    @property
    def exec_channels(self) -> list[int]:
        return [r["target"]["exec_channels"] for r in self.reports]

    @property
    def checks(self) -> list[int]:
        return [r["summary"]["total"] for r in self.reports]


@dataclass
class Exec:
    """One probe round over SSH, as the client saw it."""

    seconds: float
    sent: int      # the script, on stdin
    received: int  # stdout + stderr


class TimedSSH(SSHTransport):
    """The product's SSH transport, recording each exec channel's time and bytes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execs: list[Exec] = []

    def execute(self, argv: list[str], stdin: bytes) -> ProbeRun:
        began = time.perf_counter()
        run = super().execute(argv, stdin)
        self.execs.append(Exec(time.perf_counter() - began, len(stdin), len(run.stdout) + len(run.stderr)))
        return run


@dataclass
class HostVisit:
    """One host audited in this process (connect, probe rounds, close), timed by phase."""

    connect_s: float
    execs: list[Exec]
    close_s: float
    channels: int

    @property
    def total_s(self) -> float:
        return self.connect_s + sum(e.seconds for e in self.execs) + self.close_s


@dataclass
class Fleet:
    name: str
    root: Path = field(init=False)
    docker_root: Path | None = None
    docker_host: str | None = None
    lab: Lab | None = None
    servers: list[Server] = field(default_factory=list)
    sweeps: int = 0

    def __post_init__(self):
        self.root = Path(tempfile.mkdtemp(prefix=f"dockbench-{self.name}-", dir="/tmp"))
        self.root.chmod(0o755)  # sshd reads authorized_keys below it as the logging-in user

    # -- start ---------------------------------------------------------------------------------

    def start_daemon(self, containers: int) -> str:
        """A private dockerd (tests.support.dockerd) running `containers` busybox containers."""
        # A directory name of its own: dockerd.start names the containerd namespaces after it.
        self.docker_root = Path(tempfile.mkdtemp(prefix="dockerd-", dir=self.root))
        log(f"starting a private dockerd in {self.docker_root} with {containers} containers")
        self.docker_host = dockerd.start(self.docker_root)
        with ThreadPoolExecutor(max_workers=4) as pool:
            scale(self.docker_host, containers, pool)
        return self.docker_host

    def start_sshd(self, count: int, subnet: int) -> list[Server]:
        """`count` more sshd processes, on 127.0.<subnet>.1 and up (tests.support.sshd.Lab)."""
        if self.lab is None:
            self.lab = Lab(self.root / "ssh")
        began, first = time.perf_counter(), len(self.servers)
        log(f"starting {count} sshd on {address(0, subnet)} ... {address(count - 1, subnet)}")
        for i in range(count):
            server = self.lab.start(f"sshd-{first + i:03d}", address(i, subnet))
            self.servers.append(server)
        log(f"  {count} sshd up in {time.perf_counter() - began:.1f} s")
        return self.servers[first:]

    # -- files ---------------------------------------------------------------------------------

    def known_hosts(self, entries: list[tuple[str, int, Server]] | None = None) -> Path:
        """known_hosts with every sshd's key, plus `entries` (address, port, server whose key it
        presents), e.g. a proxy in front of a server."""
        lines = [s.known_hosts_line() for s in self.servers]
        for host, port, server in entries or []:
            kind, b64 = server.host_key.split()[:2]
            lines.append(f"[{host}]:{port} {kind} {b64}")
        path = self.root / "known_hosts"
        path.write_text("".join(line + "\n" for line in lines))
        return path

    def inventory(self, name: str, hosts: list[tuple[str, str, int]]) -> Path:
        """Our YAML inventory of (name, address, port), as root with the lab's key, the probe
        pointed at the private daemon."""
        document = {
            "defaults": {"user": "root", "key": str(self.lab.client_key), "docker_host": self.docker_host},
            "hosts": {host: {"host": addr, "port": port} for host, addr, port in hosts},
        }
        path = self.root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    def server_hosts(self, servers: list[Server]) -> list[tuple[str, str, int]]:
        return [(s.name, s.address, s.port) for s in servers]

    # -- measure -------------------------------------------------------------------------------

    def sweep(self, inventory: Path, known_hosts: Path, parallel: int, hosts: int) -> SweepRun:
        """Time one `dockbench scan --inventory` process (start-up included) and read its report.

        ssh-agent is left out (SSH_AUTH_SOCK unset) and ~/.ssh/config too: only the inventory's
        key is offered, as on a bastion with one audit key."""
        self.sweeps += 1
        out = self.root / f"sweep-{self.sweeps}.json"
        argv = [default_cli(), "scan", "--inventory", str(inventory), "--known-hosts", str(known_hosts),
                "--ssh-config", "/dev/null", "--parallel", str(parallel), "--timeout", f"{HOST_TIMEOUT:g}",
                "-o", str(out), "-q", "--fail-on", "never"]
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        cpu_before, began = _children_cpu(), time.perf_counter()
        proc = subprocess.run(argv, check=False, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - began, _children_cpu() - cpu_before
        if proc.returncode not in (0, 4) or not out.exists():
            raise BenchError(f"dockbench scan exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
        run = SweepRun(hosts, parallel, wall, cpu, json.loads(out.read_text()))
        out.unlink()
        if run.errors or len(run.reports) != hosts:
            first = "; ".join(f"{e['name']}: [{e['kind']}] {e['message']}" for e in run.errors[:3])
            raise BenchError(f"{len(run.reports)} of {hosts} hosts audited: {first}")
        return run

    def visit(self, host: str, port: int, known_hosts: Path) -> HostVisit:
        """Audit one host in this process through the product's SSH transport, timing its phases:
        connect (TCP, SSH handshake, authentication), each exec channel, close."""
        options = SSHOptions(known_hosts=str(known_hosts), ssh_config=None, host_timeout=HOST_TIMEOUT,
                             key_file=str(self.lab.client_key), user="root")
        target = Target(name=host, host=host, port=port, docker_host=self.docker_host)
        transport = TimedSSH(target, options, KnownHosts(str(known_hosts), accept_new=False))
        began = time.perf_counter()
        with transport:
            connected = time.perf_counter()
            collect(transport, docker_host=self.docker_host, target_name=host)
            probed = time.perf_counter()
        closed = time.perf_counter()
        return HostVisit(connected - began, transport.execs, closed - probed, transport.channels_opened)

    # -- stop ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every sshd and the daemon, remove the directory; best effort, never raises."""
        if self.lab is not None:
            log(f"stopping {len(self.lab.servers)} sshd")
            self.lab.stop(remove=False)
        if self.docker_root is not None:
            log("stopping the private dockerd")
            dockerd.stop(self.docker_root, remove=True)
        if dockerd.mounts_under(self.root):
            log(f"not removing {self.root}: still mounted")
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def _sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def run(name: str, body: Callable[[Fleet], None]) -> int:
    """Run `body` with a fresh Fleet; clean up whatever happens. The exit status for sys.exit."""
    if os.geteuid() != 0:
        print(f"{name}: needs root (a private dockerd, sshd processes logging in as root)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _sigterm)
    fleet = Fleet(name)
    try:
        body(fleet)
        return 0
    except (BenchError, dockerd.DaemonError, SSHDError) as exc:
        print(f"{name}: FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        fleet.close()


def parse_list(text: str, what: str, minimum: int = 1) -> list[int]:
    """Comma-separated integers (each >= minimum), for --counts and --parallel."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"{what} takes comma-separated integers, e.g. 10,50,100") from None
    if not values or min(values) < minimum:
        raise SystemExit(f"{what}: each value must be >= {minimum}")
    return values
