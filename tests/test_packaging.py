"""What `pip install .` ships: the probe, schema, mappings, data tables and templates, found
from an installed copy exactly as from the source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_an_installed_copy_carries_everything_it_needs(tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(REPO)],
                   check=True, capture_output=True, cwd=tmp_path)
    env = {**os.environ, "PYTHONPATH": str(target)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=tmp_path, env=env, check=True)

    where = run("-c", "import benchmark, checks, templates; print(benchmark.__file__, checks.__file__, templates.__file__)").stdout.split()
    assert all(path.startswith(str(target)) for path in where), where
    installed = json.loads(run("-m", "benchmark", "checks", "list", "--format", "json").stdout)
    from checks import load

    assert len(installed) == len(load().all())
    for relative in ("benchmark/probe.sh", "benchmark/schema/report.schema.json", "checks/mappings/cis-docker-1.6.0.yaml"):
        assert (target / relative).is_file(), relative
    assert list((target / "checks/data").glob("*.yaml"))
    assert list((target / "templates").glob("*.j2"))
