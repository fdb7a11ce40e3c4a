"""Start and stop a private Docker daemon for the test suite.

The daemon is entirely contained in one directory DIR:

    DIR/docker.sock   API socket (DOCKER_HOST=unix://DIR/docker.sock)
    DIR/data          --data-root
    DIR/exec          --exec-root (its own supervised containerd lives here)
    DIR/docker.pid    --pidfile
    DIR/dockerd.log   daemon output

It never touches the system daemon or /var/run/docker.sock. It has no bridge
network (containers run with --network none) and no iptables rules, so it can
run beside any other dockerd on the machine. Asked for a network namespace of
its own (``start(..., own_netns=True)``), it keeps dockerd's network defaults
instead: a docker0 bridge and iptables rules that only that namespace sees.

After start, the image ``dockbench-test/busybox:1`` exists: it is built with
``docker import`` from a rootfs holding only the static busybox from Debian's
busybox-static package, because no registry is reachable.

Command line (used by tests/run.sh):

    python -m tests.support.dockerd start DIR
    python -m tests.support.dockerd stop [--remove] DIR

Environment: DOCKERD (dockerd binary, default "dockerd"), DOCKER (docker CLI,
default "docker"), BUSYBOX (static busybox, default /bin/busybox).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

IMAGE = "dockbench-test/busybox:1"
APPLETS = ("sh", "sleep", "cat", "ls", "id")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


class DaemonError(RuntimeError):
    """The private daemon could not be started or reached."""


def docker_cli() -> str:
    return os.environ.get("DOCKER", "docker")


def socket_path(root: Path) -> Path:
    return Path(root) / "docker.sock"


def host_url(root: Path) -> str:
    return f"unix://{socket_path(root)}"


def docker_env(host: str) -> dict[str, str]:
    """Environment for the docker CLI talking to ``host`` and nothing else."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")}
    env["DOCKER_HOST"] = host
    return env


def docker(host: str, *args: str, timeout: float = 120,
           input: bytes | str | None = None) -> subprocess.CompletedProcess:
    """Run the docker CLI against ``host``; never raises on a non-zero exit."""
    return subprocess.run(
        [docker_cli(), *args], env=docker_env(host), capture_output=True,
        text=True, timeout=timeout, input=input, stdin=None if input is not None else subprocess.DEVNULL,
    )


def log_tail(root: Path, lines: int = 30) -> str:
    log = Path(root) / "dockerd.log"
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


def info(host: str, timeout: float = 10) -> dict | None:
    """``docker info`` as JSON, or None if the daemon does not answer."""
    try:
        proc = docker(host, "info", "--format", "{{json .}}", timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        return None
    return data if data.get("ServerVersion") else None


def wait_ready(host: str, timeout: float = START_TIMEOUT,
               proc: subprocess.Popen | None = None) -> dict:
    """Poll ``docker info`` until it answers; raise DaemonError on timeout or death."""
    deadline = time.monotonic() + timeout
    while True:
        data = info(host)
        if data is not None:
            return data
        if proc is not None and proc.poll() is not None:
            raise DaemonError(f"dockerd exited with status {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise DaemonError(f"dockerd did not answer 'docker info' on {host} within {timeout:.0f}s")
        time.sleep(0.5)


def start(root: Path, timeout: float = START_TIMEOUT, *, config: dict | None = None,
          args: Sequence[str] = (), own_netns: bool = False) -> str:
    """Start dockerd in ``root``, wait for it, import the test image; return DOCKER_HOST.

    ``config`` is written as the daemon's daemon.json (default: empty) and ``args`` end its
    command line; an option must be in one of them only, as dockerd refuses it in both.

    ``own_netns`` runs the daemon in a network namespace of its own (``unshare --net``, loopback
    up), for daemons that need a bridge: each namespace has its own docker0, addresses, TCP ports
    and iptables, so dockerd's network defaults (and bridge, icc or iptables settings in
    ``config``) clash with nothing on the host. The namespace ends with its last process, so
    ``stop()`` has nothing more to clean. Without it the daemon gets no bridge and no iptables.

    On failure the half-started daemon is stopped again and DaemonError is
    raised with the tail of DIR/dockerd.log.
    """
    if os.geteuid() != 0:
        raise DaemonError("a private dockerd needs root (run the tests as root, e.g. in CI)")
    root = Path(root).absolute()
    root.mkdir(parents=True, exist_ok=True)
    sock = socket_path(root)
    if len(str(sock)) > 90:  # unix socket paths are limited to 108 bytes, containerd's are longer
        raise DaemonError(f"directory path too long for unix sockets: {root}")
    host = host_url(root)
    if pid_alive(read_pid(root / "docker.pid")):
        raise DaemonError(f"a dockerd is already running in {root}")
    (root / "daemon.json").write_text(json.dumps(config or {}, indent=2) + "\n")  # never /etc/docker/daemon.json
    # Own containerd namespaces, should a system containerd be shared; containerd accepts only
    # alphanumerics joined by single separators, and mkdtemp names may end in "_".
    ns = "dockbench-" + "".join(c for c in root.name if c.isalnum())
    cmd = [
        os.environ.get("DOCKERD", "dockerd"),
        "--host", host,
        "--data-root", str(root / "data"),
        "--exec-root", str(root / "exec"),
        "--pidfile", str(root / "docker.pid"),
        "--config-file", str(root / "daemon.json"),
        "--containerd-namespace", ns,
        "--containerd-plugins-namespace", ns + "-plugins",
        *(() if own_netns else ("--bridge", "none", "--iptables=false", "--ip-masq=false")),
        "--shutdown-timeout", "2",
        *args,
    ]
    if own_netns:  # sh execs dockerd: the pid we spawn is the daemon's
        cmd = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *cmd]
    with open(root / "dockerd.log", "ab") as log:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True, close_fds=True)
        except OSError as exc:
            raise DaemonError(f"cannot run {cmd[0]!r}: {exc}") from exc
    (root / "dockerd.spawned-pid").write_text(f"{proc.pid}\n")
    try:
        wait_ready(host, timeout, proc)
        import_image(host)
    except BaseException as exc:
        tail = log_tail(root)
        stop(root)
        if proc.poll() is None:  # our child, whatever its command line says
            proc.kill()
        proc.wait()
        if isinstance(exc, DaemonError):
            raise DaemonError(f"{exc}\n--- {root}/dockerd.log (tail) ---\n{tail}") from None
        raise
    return host


def in_netns(root: Path) -> list[str]:
    """Command prefix that runs a program in the network namespace of the daemon in ``root``."""
    pid = read_pid(Path(root) / "docker.pid")
    if not pid_alive(pid):
        raise DaemonError(f"no dockerd runs in {root}")
    return ["nsenter", f"--net=/proc/{pid}/ns/net", "--"]


def rootfs_tar(busybox: Path) -> bytes:
    """A tar of a rootfs: /bin/busybox plus applet symlinks, /tmp."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name: str, type_: bytes, mode: int, **kw) -> tarfile.TarInfo:
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = type_, mode, 0, 0, 0
            for k, v in kw.items():
                setattr(ti, k, v)
            return ti
        tar.addfile(add("bin", tarfile.DIRTYPE, 0o755))
        tar.addfile(add("tmp", tarfile.DIRTYPE, 0o1777))
        data = busybox.read_bytes()
        tar.addfile(add("bin/busybox", tarfile.REGTYPE, 0o755, size=len(data)), io.BytesIO(data))
        for applet in APPLETS:
            tar.addfile(add(f"bin/{applet}", tarfile.SYMTYPE, 0o777, linkname="busybox"))
    return buf.getvalue()


def import_image(host: str) -> None:
    """Import IMAGE into the daemon unless it is already there."""
    if docker(host, "image", "inspect", IMAGE).returncode == 0:
        return
    busybox = Path(os.environ.get("BUSYBOX", "/bin/busybox"))
    if not busybox.is_file():
        raise DaemonError(f"{busybox} not found: install Debian's busybox-static")
    with tempfile.TemporaryDirectory(prefix="dbt-rootfs-") as tmp:
        tar = Path(tmp) / "rootfs.tar"
        tar.write_bytes(rootfs_tar(busybox))
        proc = docker(host, "import", "--change", 'CMD ["/bin/sh"]', str(tar), IMAGE)
    if proc.returncode != 0:
        raise DaemonError(f"docker import failed: {proc.stderr.strip()}")


def read_pid(path: Path) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def processes_using(root: Path) -> list[int]:
    """Pids whose command line mentions a path in ``root`` (dockerd, its containerd, shims)."""
    needle = str(root).rstrip("/").encode() + b"/"
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            pass
    return pids


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root``, deepest first."""
    prefix = str(root).rstrip("/")
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in pids if pid_alive(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def stop(root: Path, remove: bool = False) -> None:
    """Stop the daemon in ``root`` and everything it left behind; best effort, never raises."""
    root = Path(root).absolute()
    ours = set(processes_using(root))
    pids = {p for p in (read_pid(root / "docker.pid"), read_pid(root / "dockerd.spawned-pid")) if p in ours}
    for pid in pids:  # SIGTERM lets dockerd stop its containers and its containerd
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    _wait_gone(sorted(pids), STOP_TIMEOUT)
    for _attempt in range(2):  # then kill whatever still runs from our directory
        leftovers = processes_using(root)
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        _wait_gone(leftovers, 5)
    for point in mounts_under(root):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)
    if remove:
        if mounts_under(root):
            print(f"dockerd: not removing {root}: still mounted", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.dockerd", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    p_start = sub.add_parser("start", help="start a private dockerd in DIR and import the test image")
    p_start.add_argument("dir", type=Path)
    p_start.add_argument("--timeout", type=float, default=START_TIMEOUT)
    p_stop = sub.add_parser("stop", help="stop the private dockerd in DIR, unmount leftovers")
    p_stop.add_argument("dir", type=Path)
    p_stop.add_argument("--remove", action="store_true", help="also delete DIR")
    args = parser.parse_args(argv)
    if args.action == "start":
        try:
            host = start(args.dir, args.timeout)
        except DaemonError as exc:
            print(f"dockerd: FAILED to start a private dockerd in {args.dir}: {exc}", file=sys.stderr)
            return 1
        print(host)
    else:
        stop(args.dir, remove=args.remove)
    return 0


if __name__ == "__main__":
    sys.exit(main())
