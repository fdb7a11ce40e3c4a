"""Gather one host's facts: the probe once, and a second time only for paths the first revealed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from dockbench.benchmark.collect import probe, snapshot
from dockbench.benchmark.collect.probe import ProbeOutputError, Record
from dockbench.benchmark.collect.transports import ProbeRun
from dockbench.benchmark.collect.well_known_paths import CLIENT_CONFIG, SWARM_STATE
from dockbench.benchmark.document.model import Undecidable
from dockbench.benchmark.judge.facts import Facts

T = TypeVar("T")
TLS_CERT_KEYS = ("tlscacert", "tlscert")
TLS_KEY_KEY = "tlskey"


class CollectError(Exception):
    """Facts could not be gathered from the target."""


def _records(run: ProbeRun) -> dict[str, Record]:
    try:
        return probe.parse(run.stdout)
    except ProbeOutputError as exc:
        detail = run.stderr.decode("utf-8", "replace").strip()[-300:]
        why = f"probe output unusable: {exc}"
        if run.exit_status:
            why += f" (exit status {run.exit_status})"
        raise CollectError(why + (f"; stderr: {detail}" if detail else "")) from exc


def second_round_paths(first: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Paths named by the first snapshot's facts: TLS files, a daemon.json or EnvironmentFile
    named by the daemon's configuration, user configs.

    Private keys are only stat'ed: their contents never leave the target.
    """
    stat_only: set[str] = set()
    read: set[str] = set()
    facts = Facts(first)
    for key in TLS_CERT_KEYS + (TLS_KEY_KEY,):
        try:
            option = facts.tls_file(key)
        except Undecidable:  # daemon.json unusable: the checks say so
            break
        if option is not None and option.value.startswith("/"):
            (stat_only if key == TLS_KEY_KEY else read).add(option.value)
    config = first["daemon_config"]
    if config["state"] == "not_collected":
        read.add(config["path"])
    service = first.get("units", {}).get("docker.service") or {}
    read.update(source["path"] for source in service.get("environment_files", []) if source["state"] == "not_collected")
    members = set(first["groups"].get("docker", {}).get("members", []))
    for name, user in first["users"].items():
        if (name in members or user["uid"] == 0) and user["home"].startswith("/"):
            read.add(user["home"].rstrip("/") + CLIENT_CONFIG)
    info = first["docker"].get("info") or {}
    if (info.get("Swarm") or {}).get("LocalNodeState", "inactive") != "inactive" and str(info.get("DockerRootDir", "")).startswith("/"):
        read.add(info["DockerRootDir"].rstrip("/") + SWARM_STATE)
    seen = set(first["files"])
    return tuple(sorted(stat_only - seen)), tuple(sorted(read - seen))


def advance(outputs: list[ProbeRun], *, root: str = "/", docker_host: str | None = None, target: dict[str, Any]) -> dict[str, Any] | bytes:
    """The facts snapshot the probe rounds run so far make, or the script of the round still
    needed. Pure: sweeps call it in a worker process, away from the SSH connections."""
    records = _records(outputs[0])
    if len(outputs) > 1:
        more = _records(outputs[1])
        more.pop("probe", None)
        more.pop("end", None)
        return snapshot.build({**records, **more}, target=target, rounds=2)
    first = snapshot.build(records, target=target)
    stat_paths, read_paths = second_round_paths(first)
    swarm_manager = bool(((first["docker"].get("info") or {}).get("Swarm") or {}).get("ControlAvailable"))
    if not (stat_paths or read_paths or swarm_manager):
        return first
    return probe.build(root=root, docker_host=docker_host, round_no=2, stat_paths=stat_paths, read_paths=read_paths, swarm_manager=swarm_manager)


def target_of(transport, root: str, docker_host: str | None, target_name: str) -> dict[str, Any]:
    return {"name": target_name, "transport": transport.name, "root": root, "docker_host": docker_host}


def run_rounds(transport, script: bytes, settle: Callable[[list[ProbeRun]], T | bytes]) -> T:
    """The one probe-round loop: run a script, hand every output so far to settle, and run the
    script settle returns (bytes) until it returns what the rounds made."""
    outputs = [transport.run(script)]
    while isinstance(step := settle(outputs), bytes):
        outputs.append(transport.run(step))
    return step


def collect(transport, *, root: str = "/", docker_host: str | None = None, target_name: str = "local") -> dict[str, Any]:
    """Run the probe on the target and return its facts snapshot."""
    target = target_of(transport, root, docker_host, target_name)
    return run_rounds(transport, probe.build(root=root, docker_host=docker_host), lambda outputs: advance(outputs, root=root, docker_host=docker_host, target=target))
