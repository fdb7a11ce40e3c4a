"""Shared fixtures: a real, private Docker daemon for the probe and transport tests, and a
real, private PostgreSQL cluster for the archive and distributed sweep tests.

``docker_daemon`` (session): the daemon named by DOCKBENCH_TEST_DOCKER_HOST if set
(tests/run.sh starts one and sets it), else a private dockerd started here in a
temporary directory (needs root). It never skips: no daemon is a test failure.

``containers`` (function): the same object; every container a test starts with
``run_container`` is removed (``docker rm -f``) when that test ends.

``postgres`` (session): the cluster tests/run.sh started (DOCKBENCH_TEST_POSTGRES_DIR), else
one started here; no cluster is a test failure, never a skip. ``archive_location`` (function,
parametrized "sqlite" / "postgresql"): a fresh archive location of each backend, an archive
file that does not exist yet or the URL of a new, empty database.
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support import dockerd
from tests.support import postgres as pg

# Every `dockbench scan` stores its scan in the archive under $XDG_DATA_HOME: in the tests, that
# is a directory of this test run, never the user's own archive.
_DATA_HOME = tempfile.mkdtemp(prefix="dbt-data-")
os.environ["XDG_DATA_HOME"] = _DATA_HOME
os.environ.pop("DOCKBENCH_ARCHIVE", None)
atexit.register(shutil.rmtree, _DATA_HOME, ignore_errors=True)

# The fuzz targets (tests/fuzz): "ci" is the fixed budget every run pays (each target's
# max_examples; about 11 s of CPU for all of them), "long" a deeper search run by hand
# (HYPOTHESIS_PROFILE=long). Examples are derandomized in CI so that a run is repeatable.
settings.register_profile("ci", max_examples=30, deadline=5000, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class DockerCommandError(subprocess.CalledProcessError):
    def __str__(self) -> str:
        return (f"{shlex.join(self.cmd)} exited {self.returncode}\n"
                f"stderr: {(self.stderr or '').strip()}")


class DockerDaemon:
    """Handle on the test daemon: ``host``, ``socket``, ``image``, ``docker()``, ``run_container()``,
    ``create_container()``, ``inspect()``, ``name()``."""

    image = dockerd.IMAGE

    def __init__(self, host: str, root: Path | None = None) -> None:
        if not host.startswith("unix://"):
            raise ValueError(f"test daemon must be on a unix socket, got {host!r}")
        self.host = host
        self.socket = host[len("unix://"):]
        self.root = root  # the daemon's directory if we started it, else None
        self.run_id = uuid.uuid4().hex[:8]
        self.created: list[str] = []

    def docker(self, *args: str, check: bool = True, timeout: float = 120,
               input: str | None = None) -> subprocess.CompletedProcess:
        """Run the docker CLI against this daemon (text output)."""
        proc = dockerd.docker(self.host, *args, timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise DockerCommandError(proc.returncode, proc.args, proc.stdout, proc.stderr)
        return proc

    def name(self, name: str) -> str:
        """A container name unique to this test run: dbt-<run id>-<name>."""
        return f"dbt-{self.run_id}-{name}"

    def run_container(self, name: str, *docker_run_args: str,
                      command: tuple[str, ...] | list[str] = ("sleep", "600")) -> str:
        """``docker run -d --network none --name dbt-<run>-NAME ARGS IMAGE COMMAND``; returns the full name."""
        full = self.name(name)
        self.created.append(full)
        self.docker("run", "-d", "--network", "none", "--name", full,
                    *docker_run_args, self.image, *command)
        return full

    def create_container(self, name: str, *docker_create_args: str,
                         command: tuple[str, ...] | list[str] = ()) -> str:
        """``docker create --network none --name dbt-<run>-NAME ARGS IMAGE COMMAND`` (not started)."""
        full = self.name(name)
        self.created.append(full)
        self.docker("create", "--network", "none", "--name", full,
                    *docker_create_args, self.image, *command)
        return full

    def inspect(self, name: str) -> dict:
        """``docker inspect NAME`` as a dict."""
        return json.loads(self.docker("inspect", name).stdout)[0]

    def remove(self, names: list[str]) -> None:
        if names:
            self.docker("rm", "-f", "-v", *names, check=False)
            for n in names:
                if n in self.created:
                    self.created.remove(n)


@pytest.fixture(scope="session")
def docker_daemon():
    host = os.environ.get("DOCKBENCH_TEST_DOCKER_HOST")
    if host:
        try:
            dockerd.wait_ready(host, timeout=15)
            dockerd.import_image(host)
        except dockerd.DaemonError as exc:
            pytest.fail(f"DOCKBENCH_TEST_DOCKER_HOST={host}: {exc}", pytrace=False)
        daemon = DockerDaemon(host)
    else:
        # A short path of our own: unix socket paths are limited, and pytest's
        # tmp dir cleanup must never walk into a daemon's mounts.
        root = Path(tempfile.mkdtemp(prefix="dbt-dockerd-", dir="/tmp"))
        try:
            host = dockerd.start(root)
        except dockerd.DaemonError as exc:
            dockerd.stop(root, remove=True)
            pytest.fail(f"cannot start a private dockerd for the tests: {exc}", pytrace=False)
        daemon = DockerDaemon(host, root)
    try:
        yield daemon
    finally:
        daemon.remove(list(daemon.created))
        if daemon.root is not None:
            dockerd.stop(daemon.root, remove=True)


@pytest.fixture(scope="module")
def real(docker_daemon, tmp_path_factory):
    """Real `dockbench scan` reports of the test daemon for the renderer tests (tests/render_scans.py)."""
    from tests.render_scans import scans

    return scans(docker_daemon, tmp_path_factory.mktemp("render-scans"))


@pytest.fixture
def containers(docker_daemon):
    """The daemon, with every container started during the test removed afterwards."""
    before = set(docker_daemon.created)
    yield docker_daemon
    docker_daemon.remove([n for n in docker_daemon.created if n not in before])


@pytest.fixture(scope="session")
def postgres():
    root = os.environ.get("DOCKBENCH_TEST_POSTGRES_DIR")
    started = None
    if not root:
        started = Path(tempfile.mkdtemp(prefix="dbt-pg-", dir="/tmp"))
        try:
            pg.start(started)
        except (pg.ClusterError, OSError, subprocess.SubprocessError) as exc:
            pg.stop(started, remove=True)
            pytest.fail(f"cannot start a private PostgreSQL cluster for the tests: {exc}", pytrace=False)
        root = str(started)
    try:
        pg.wait_ready(Path(root), timeout=15)
    except pg.ClusterError as exc:
        pytest.fail(f"DOCKBENCH_TEST_POSTGRES_DIR={root}: {exc}", pytrace=False)
    yield pg.Cluster(Path(root))
    if started is not None:
        pg.stop(started, remove=True)


@pytest.fixture
def postgres_database(postgres):
    """The URL of a new, empty database (dropped after the test)."""
    name = postgres.create_database()
    yield postgres.url(name)
    postgres.drop_database(name)


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def archive_location(request, tmp_path):
    if request.param == "sqlite":
        return tmp_path / "archive.sqlite3"
    return request.getfixturevalue("postgres_database")
