"""What `pip install` ships: one top-level import name (dockbench) carrying the probe, schema,
mappings, data tables and templates, found from an installed copy exactly as from the source tree."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

from dockbench import checks

REPO = Path(__file__).resolve().parent.parent
# The runtime dependencies live in the test venv; an installed copy borrows them from there.
DEPENDENCIES = sysconfig.get_paths()["purelib"]


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, env={**os.environ, **env}, check=True)


def test_an_installed_copy_carries_everything_it_needs(tmp_path):
    target = tmp_path / "site"
    run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(REPO), cwd=tmp_path)
    env = {"PYTHONPATH": f"{target}{os.pathsep}{DEPENDENCIES}"}
    where = run(sys.executable, "-c", "from dockbench import benchmark, checks, templates; print(benchmark.__file__, checks.__file__, templates.__file__)", cwd=tmp_path, **env).stdout.split()
    assert all(path.startswith(str(target)) for path in where), where
    installed = json.loads(run(sys.executable, "-m", "dockbench.benchmark", "checks", "list", "--format", "json", cwd=tmp_path, **env).stdout)
    assert len(installed) == len(checks.load().all())
    mappings = [f"checks/mappings/cis-docker-{v}.yaml" for v in ("1.6.0", "1.7.0", "1.8.0")]
    periodic = [f"benchmark/periodic/{name}" for name in ("dockbench-scan.service", "dockbench-scan.timer", "dockbench.cron")]
    for relative in ("benchmark/collect/probe.sh", "benchmark/document/schema/report.schema.json", *mappings, *periodic):
        assert (target / "dockbench" / relative).is_file(), relative
    assert list((target / "dockbench/checks/data").glob("*.yaml"))
    assert list((target / "dockbench/templates").glob("*.j2"))


def test_a_wheel_adds_one_top_level_package_to_a_fresh_virtualenv(tmp_path):
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO), cwd=tmp_path)
    (wheel,) = wheels.glob("dockbench-*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv), cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip())
    before = {p.name for p in site.iterdir()}
    run(str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel), cwd=tmp_path)
    added = {p.name for p in site.iterdir()} - before
    packages = {name for name in added if not name.endswith(".dist-info") and name != "__pycache__"}
    assert packages == {"dockbench"}, added
    assert {p.name for p in (site / "dockbench").iterdir()} == {"benchmark", "checks", "templates"}
    # The console script runs from the wheel's copy, its dependencies borrowed from the test venv.
    listed = json.loads(run(str(venv / "bin" / "dockbench"), "checks", "list", "--format", "json", cwd=tmp_path, PYTHONPATH=DEPENDENCIES).stdout)
    assert len(listed) == len(checks.load().all())
    where = run(str(python), "-c", "import dockbench.benchmark as b; print(b.__file__)", cwd=tmp_path, PYTHONPATH=DEPENDENCIES).stdout.strip()
    assert where.startswith(str(site / "dockbench")), where


def test_the_code_imports_only_through_the_dockbench_name():
    """A bare `import benchmark` would load a second copy of every module (and of the check registry)."""
    bare = re.compile(r"^\s*(from|import) (benchmark|checks|templates)\b", re.M)
    offenders = [str(p.relative_to(REPO)) for folder in ("benchmark", "checks", "templates", "tests") for p in (REPO / folder).rglob("*.py") if bare.search(p.read_text())]
    assert offenders == []
