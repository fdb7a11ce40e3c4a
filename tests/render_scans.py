"""Real `dockbench scan` reports of the test daemon, made once per session for the renderer tests.

Three containers: a hardened one, an exposed one, and a hostile one whose bind-mount sources
(which reach the report as evidence) and labels carry HTML/script payloads. Each scan selects
different containers, so the reports differ the way a fleet's hosts do.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.cli_run import dockbench, load_report

# What hostile input looks like; the *_PWNED forms would set window.__pwned if they ever ran.
PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</script><script>alert(1)</script>",
)
PWNED = (
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror=window.__pwned=2>',
    "</script><script>window.__pwned=3</script>",
    "'><svg onload=window.__pwned=4>",
)
_cache: dict[str, dict[str, Any]] = {}


def scans(daemon, workdir: Path) -> dict[str, Any]:
    """{'reports': {name: report}, 'paths': {name: json path}, 'names': {role: container}} (cached per daemon)."""
    if daemon.host in _cache:
        return _cache[daemon.host]
    names = {
        "web": daemon.run_container(
            "render-web", "--read-only", "-m", "64m", "--cpus", "0.5", "--pids-limit", "64",
            "--security-opt", "no-new-privileges", "--user", "1000:1000", "--cap-drop", "ALL",
        ),
        "risky": daemon.run_container(
            "render-risky", "--pid", "host", "--cap-add", "SYS_ADMIN", "-v", f"{daemon.socket}:/var/run/docker.sock",
            "--security-opt", "seccomp=unconfined",
        ),
    }
    hostile_mounts = []
    for i, payload in enumerate(PAYLOADS + PWNED):
        source = workdir / "hostile" / payload / "docker.sock"  # "/" in a payload just makes a deeper directory
        source.mkdir(parents=True, exist_ok=True)
        hostile_mounts += ["-v", f"{source}:/run/hostile-{i}.sock"]
    labels = [arg for i, p in enumerate(PAYLOADS + PWNED) for arg in ("--label", f"evil{i}={p}")]
    names["hostile"] = daemon.run_container("render-hostile", *hostile_mounts, *labels)

    selections = {"web": ["web"], "risky": ["risky"], "both": ["web", "risky"], "hostile": ["hostile"]}
    reports, paths = {}, {}
    for scan, roles in selections.items():
        out = workdir / f"scan-{scan}.json"
        args = [arg for role in roles for arg in ("--container", names[role])]
        done = dockbench("scan", "--docker-host", daemon.host, "--benchmark", "cis-docker-1.6.0", *args, "-o", out, "-q", "--fail-on", "never")
        assert done.returncode == 0, done.stderr
        reports[scan], paths[scan] = load_report(out), out
    _cache[daemon.host] = {"reports": reports, "paths": paths, "names": names}
    return _cache[daemon.host]


def hostile_edit(report: dict[str, Any]) -> dict[str, Any]:
    """A real report with payloads put where host data lands: hostname, target, OS, messages, evidence, notes."""
    doc = copy.deepcopy(report)
    payload = " ".join(PAYLOADS + PWNED)
    doc["target"].update(hostname=f"host{PWNED[0]}", name=f"ssh://root@{PWNED[1]}", os=PWNED[2], kernel=PAYLOADS[2], docker_host=PWNED[3])
    doc["errors"].append({"stage": PWNED[0], "message": payload})
    for i, result in enumerate(doc["results"][:12]):
        result["message"] = f"{PWNED[i % len(PWNED)]} {result['message']}"
        result["evidence"].append({"subject": PWNED[(i + 1) % len(PWNED)], "observed": {PWNED[(i + 2) % len(PWNED)]: [PAYLOADS[i % len(PAYLOADS)], 1, None]}})
    doc["results"][0]["evidence"].append({"subject": "exact", "observed": PWNED[2]})
    if "scope" in doc:  # a label the user typed, a name a forged snapshot gave
        doc["scope"]["labels"].append(f"evil={PWNED[3]}")
        doc["scope"]["selected"].append({"name": PAYLOADS[0], "id": "0"})
    return doc
