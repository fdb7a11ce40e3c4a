"""Start and stop a rootless Docker daemon for the tests, run by a dedicated system user.

    user     dbt-rootless: system user, home /var/lib/dbt-rootless, no login shell, with
             65536 subordinate ids in /etc/subuid and /etc/subgid (created once, then re-used)
    socket   /run/user/UID/docker.sock   ($XDG_RUNTIME_DIR/docker.sock, dockerd's rootless default)
    config   ~/.config/docker/daemon.json (the rootless default; dockerd gets no flags at all)
    data     ~/.local/share/docker        log  ~/dockerd.log

docker.io ships dockerd-rootless.sh (in /usr/share/docker.io/contrib), which runs dockerd inside
RootlessKit's user and mount namespaces; Debian's rootlesskit and uidmap packages provide the
rest. RootlessKit is told to keep the host network (--net=host, no port driver): its slirp4netns
driver needs /dev/net/tun, which an unprivileged user often may not open, and the tests run
containers with --network none anyway.

``stop()`` is the one clean-up and ``start()`` runs it first, so a crashed run leaves nothing
that breaks the next: it stops dockerd, kills every process of the user and of its subordinate
uids (the containers), unmounts anything left under the runtime dir or the home, and removes the
runtime dir and the data root. There is one such user per machine, so a lock
(/run/lock/dbt-rootless.lock) makes concurrent test runs take turns.

Needs root. Command line, to clean up by hand:  python -m tests.support.rootless stop
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support import dockerd
from tests.support.dockerd import DaemonError

USER = "dbt-rootless"
HOME = Path("/var/lib/dbt-rootless")
SUBID_COUNT = 65536
CONTRIB = "/usr/share/docker.io/contrib"
LOCK = Path("/run/lock/dbt-rootless.lock")
LOCK_TIMEOUT = 600.0
# What the daemon reads from ~/.config/docker/daemon.json: no bridge, no iptables, quick stop.
DAEMON_JSON = {"bridge": "none", "iptables": False, "shutdown-timeout": 2}


class RootlessDaemon:
    """``start()`` -> DOCKER_HOST; ``stop()``; ``uid``, ``home``, ``runtime_dir``, ``host``, ``daemon_json``."""

    home = HOME
    daemon_json = HOME / ".config/docker/daemon.json"
    log = HOME / "dockerd.log"
    data_root = HOME / ".local/share/docker"

    def __init__(self) -> None:
        self.uid: int | None = None
        self.gid: int | None = None
        self.subuids = range(0)
        self.proc: subprocess.Popen | None = None
        self._lock = None

    @property
    def runtime_dir(self) -> Path:
        return Path(f"/run/user/{self.uid}")

    @property
    def host(self) -> str:
        return f"unix://{self.runtime_dir}/docker.sock"

    def start(self, timeout: float = dockerd.START_TIMEOUT) -> str:
        """Start the rootless dockerd, check it says it is rootless, import the test image."""
        if os.geteuid() != 0:
            raise DaemonError("a rootless dockerd for the tests needs root to set up its user")
        script = shutil.which("dockerd-rootless.sh", path=f"{os.environ.get('PATH', '')}:{CONTRIB}")
        for name, found in (("dockerd-rootless.sh (docker.io)", script), ("rootlesskit", shutil.which("rootlesskit")),
                            ("newuidmap (uidmap)", shutil.which("newuidmap"))):
            if not found:
                raise DaemonError(f"{name} not found: install Debian's docker.io, rootlesskit and uidmap")
        self._take_lock()  # held until stop()
        try:
            self._stop()  # leftovers of an earlier run
            self._setup_user()
            self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chown(self.runtime_dir, self.uid, self.gid)
            self._write_as_user(self.daemon_json, json.dumps(DAEMON_JSON, indent=2) + "\n")
            env = {
                "HOME": str(self.home), "USER": USER, "LOGNAME": USER,
                "XDG_RUNTIME_DIR": str(self.runtime_dir),
                "PATH": f"{CONTRIB}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "DOCKERD_ROOTLESS_ROOTLESSKIT_NET": "host",
                "DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER": "none",
            }
            cmd = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups", "--", script]
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(cmd, env=env, cwd=self.home, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=log, start_new_session=True, close_fds=True)
            info = dockerd.wait_ready(self.host, timeout, self.proc)
            if "name=rootless" not in (info.get("SecurityOptions") or []):
                raise DaemonError(f"the daemon at {self.host} does not say it is rootless: "
                                  f"SecurityOptions={info.get('SecurityOptions')}")
            dockerd.import_image(self.host)
        except BaseException as exc:
            tail = dockerd.log_tail(self.home)
            self.stop()
            if isinstance(exc, (DaemonError, OSError, subprocess.SubprocessError)):
                raise DaemonError(f"{exc}\n--- {self.log} (tail) ---\n{tail}") from None
            raise
        return self.host

    def stop(self) -> None:
        """Stop the daemon and remove everything it left; best effort, idempotent."""
        self._take_lock()
        try:
            self._stop()
        finally:
            self._lock.close()
            self._lock = None

    def _stop(self) -> None:
        try:
            user = pwd.getpwnam(USER)
        except KeyError:
            return  # never set up: nothing can be running
        self.uid, self.gid = user.pw_uid, user.pw_gid
        self.subuids = _subid_range(Path("/etc/subuid"), USER) or range(0)

        def ours(uid: int) -> bool:
            return uid == self.uid or uid in self.subuids

        daemons = [pid for pid, name in _processes(ours).items() if name in ("dockerd", "rootlesskit")]
        _signal(daemons, signal.SIGTERM)  # dockerd stops its containers and its containerd
        dockerd._wait_gone(daemons, dockerd.STOP_TIMEOUT)
        for _attempt in range(3):  # then whatever still runs as the user or as its containers' ids
            leftovers = list(_processes(ours))
            if not leftovers:
                break
            _signal(leftovers, signal.SIGKILL)
            dockerd._wait_gone(leftovers, 5)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
        for top in (self.runtime_dir, self.home):
            for point in dockerd.mounts_under(top):
                if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                    subprocess.run(["umount", "-l", point], capture_output=True)
        for path in (self.runtime_dir, self.data_root):
            if dockerd.mounts_under(path):
                print(f"rootless: not removing {path}: still mounted", file=sys.stderr)
            else:
                shutil.rmtree(path, ignore_errors=True)

    def _setup_user(self) -> None:
        """The system user and its subordinate id ranges, created unless they exist."""
        try:
            pwd.getpwnam(USER)
        except KeyError:
            done = subprocess.run(["useradd", "--system", "--user-group", "--create-home", "--home-dir", str(HOME),
                                   "--shell", "/usr/sbin/nologin", "--comment", "dockbench rootless test daemon", USER],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise DaemonError(f"useradd {USER} failed: {done.stderr.strip()}") from None
        user = pwd.getpwnam(USER)
        self.uid, self.gid = user.pw_uid, user.pw_gid
        for path in (Path("/etc/subuid"), Path("/etc/subgid")):
            if _subid_range(path, USER) is None:
                _add_subids(path, USER)
        self.subuids = _subid_range(Path("/etc/subuid"), USER)

    def _write_as_user(self, path: Path, text: str) -> None:
        """Write a file in the user's home, with every directory it needs, owned by the user."""
        for parent in reversed(path.relative_to(self.home).parents):
            directory = self.home / parent
            directory.mkdir(mode=0o755, exist_ok=True)
            os.chown(directory, self.uid, self.gid)
        path.write_text(text)
        os.chown(path, self.uid, self.gid)

    def _take_lock(self) -> None:
        if self._lock is not None:
            return
        lock = open(LOCK, "a")  # noqa: SIM115 - held open: the flock lasts as long as the daemon
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    lock.close()
                    raise DaemonError(f"another test run holds {LOCK} (its rootless dockerd) for over {LOCK_TIMEOUT:.0f}s") from None
                time.sleep(0.5)
        self._lock = lock


def _subid_range(path: Path, user: str) -> range | None:
    """The user's subordinate id range in /etc/subuid or /etc/subgid, if it has one."""
    for start, count, name in _subid_entries(path):
        if name == user:
            return range(start, start + count)
    return None


def _subid_entries(path: Path) -> list[tuple[int, int, str]]:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in lines:
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            entries.append((int(parts[1]), int(parts[2]), parts[0]))
    return entries


def _add_subids(path: Path, user: str) -> None:
    """Give the user SUBID_COUNT ids above every range already handed out."""
    start = max([100000] + [s + c for s, c, _ in _subid_entries(path)])
    text = path.read_text() if path.exists() else ""
    path.write_text(text + ("" if text.endswith("\n") or not text else "\n") + f"{user}:{start}:{SUBID_COUNT}\n")


def _processes(owned) -> dict[int, str]:
    """pid -> name of every live process whose real uid satisfies ``owned`` (zombies are dead)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line)
            if owned(int(status["Uid"].split()[0])) and not status["State"].strip().startswith("Z"):
                found[int(entry.name)] = status["Name"].strip()
        except (OSError, KeyError, ValueError, IndexError):
            pass  # gone meanwhile
    return found


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


if __name__ == "__main__":
    if sys.argv[1:] != ["stop"]:
        sys.exit("usage: python -m tests.support.rootless stop")
    RootlessDaemon().stop()
