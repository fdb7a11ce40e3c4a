"""Start and stop a private PostgreSQL cluster for the test suite (Debian's postgresql package).

The cluster lives in one directory DIR, owned by the ``postgres`` user (PostgreSQL refuses to
run as root, so initdb and pg_ctl run through ``runuser -u postgres``):

    DIR/data          the cluster (initdb)
    DIR/.s.PGSQL.N    its unix socket (no TCP listener at all)
    DIR/postgres.log  server output

The superuser ``postgres`` connects over the socket without a password (trust, for the test
harness only); every other role must give its password (scram-sha-256), so the tests can see a
refused password. ``admin_url(DIR)`` is the superuser's URL.

Command line (used by tests/run.sh):

    python -m tests.support.postgres start DIR     prints the superuser URL
    python -m tests.support.postgres stop DIR
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

PORT = 5432   # only names the socket file inside DIR: no port is opened
START_TIMEOUT = 60.0
HBA = """\
local all postgres trust
local all all scram-sha-256
"""


class ClusterError(RuntimeError):
    """The private cluster could not be started or reached."""


def bindir() -> Path:
    """The newest /usr/lib/postgresql/*/bin holding initdb and pg_ctl."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name))
    if not found:
        raise ClusterError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return Path(found[-1]).parent


def admin_url(root: Path, database: str = "postgres") -> str:
    return f"postgresql://postgres@/{database}?host={root}&port={PORT}"


def _as_postgres(*command: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True, timeout=timeout)


def _pg_ctl(root: Path, *args: str) -> subprocess.CompletedProcess:
    return _as_postgres(str(bindir() / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "postgres.log"), "-w", "-t", str(int(START_TIMEOUT)), *args)


def log_tail(root: Path, lines: int = 20) -> str:
    try:
        return "\n".join((root / "postgres.log").read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start(root: Path) -> str:
    """initdb (first time) and start the cluster in root; returns the superuser URL."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    shutil.chown(root, "postgres", "postgres")
    os.chmod(root, 0o755)   # the socket must be reachable by the roles the tests connect as
    if not (root / "data" / "PG_VERSION").exists():
        done = _as_postgres(str(bindir() / "initdb"), "-D", str(root / "data"), "-U", "postgres", "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync")
        if done.returncode != 0:
            raise ClusterError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        (root / "data" / "pg_hba.conf").write_text(HBA)
        with open(root / "data" / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = ''\nunix_socket_directories = '{root}'\nport = {PORT}\n"
                       "fsync = off\nmax_connections = 200\nshared_buffers = 64MB\n")
    done = _pg_ctl(root, "start")
    if done.returncode != 0:
        raise ClusterError(f"pg_ctl start failed: {done.stderr.strip() or done.stdout.strip()}\n{log_tail(root)}")
    wait_ready(root)
    return admin_url(root)


def wait_ready(root: Path, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run([str(bindir() / "pg_isready"), "-h", str(root), "-p", str(PORT)], capture_output=True, text=True)
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise ClusterError(f"the cluster in {root} is not accepting connections: {done.stdout.strip()}\n{log_tail(root)}")
        time.sleep(0.2)


def restart(root: Path) -> None:
    """Stop (fast: every connection is cut) and start again, as a crashed or upgraded server would."""
    done = _pg_ctl(Path(root), "restart", "-m", "fast")
    if done.returncode != 0:
        raise ClusterError(f"pg_ctl restart failed: {done.stderr.strip()}\n{log_tail(Path(root))}")
    wait_ready(Path(root))


def stop(root: Path, remove: bool = False) -> None:
    root = Path(root)
    if (root / "data" / "postmaster.pid").exists():
        _pg_ctl(root, "stop", "-m", "immediate")
    if remove:
        shutil.rmtree(root, ignore_errors=True)


class Cluster:
    """A running cluster in root: fresh databases and roles for tests, SQL as the superuser, restart."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def url(self, database: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql://{user}{secret}@/{database}?host={self.root}&port={PORT}"

    def sql(self, statements: str, database: str = "postgres", args: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as db:
            cursor = db.execute(statements, args or None)
            return cursor.fetchall() if cursor.description else []

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.sql(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def restart(self) -> None:
        restart(self.root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.postgres", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("start", help="start a private cluster in DIR; print its superuser URL").add_argument("dir", type=Path)
    p_stop = sub.add_parser("stop", help="stop the private cluster in DIR")
    p_stop.add_argument("dir", type=Path)
    p_stop.add_argument("--remove", action="store_true", help="also delete DIR")
    args = parser.parse_args(argv)
    if args.action == "start":
        try:
            print(start(args.dir))
        except (ClusterError, OSError, subprocess.SubprocessError) as exc:
            print(f"postgres: FAILED to start a private cluster in {args.dir}: {exc}", file=sys.stderr)
            return 1
    else:
        stop(args.dir, remove=args.remove)
    return 0


if __name__ == "__main__":
    sys.exit(main())
