"""The recorded probe output of a real host, parsed once, for tests that judge checks.

tests/data/probe-debian12-docker20.out is what the probe printed on a Debian 12 host with a
Docker 20.10 daemon at unix:///tmp/dbt/docker.sock running two containers, "web" (hardened)
and "risky" (--pid/--ipc/--uts host, --cap-add SYS_ADMIN NET_ADMIN, seccomp=unconfined,
the daemon socket and /etc mounted), and holding two created ones, "published" and
"dormant" (--privileged). Its three per-kind inspect records were later re-framed, bytes
unchanged, as the one `docker:inspect` record (with the id lists) today's probe prints.

Tests take a fresh copy with `recorded_snapshot()`, edit it the way another real host would
look (a file's mode, a container's HostConfig, an audit rule), and `judge` one check on it.
Where parsing is part of the story (daemon.json, client config files), they add probe
records in the probe's own format and `build` the snapshot from them instead.
"""

from __future__ import annotations

import copy
import json
import stat
from functools import cache
from pathlib import Path
from typing import Any

from dockbench import checks
from dockbench.benchmark.collect import probe, snapshot
from dockbench.benchmark.collect.probe import Record
from dockbench.benchmark.collect.well_known_paths import DEFAULT_DAEMON_JSON
from dockbench.benchmark.document.model import Outcome
from dockbench.benchmark.judge.facts import Facts, Selection
from dockbench.benchmark.judge.runner import run_check

RECORDED = Path(__file__).parent / "data" / "probe-debian12-docker20.out"
TARGET = {"name": "recorded", "transport": "local", "root": "/", "docker_host": "unix:///tmp/dbt/docker.sock"}
DOCKER_HOST = TARGET["docker_host"]
MTIME = 1795443146  # when the recorded daemon started
_TYPE_BITS = {"file": stat.S_IFREG, "directory": stat.S_IFDIR, "socket": stat.S_IFSOCK}


@cache
def _records() -> dict[str, Record]:
    return probe.parse(RECORDED.read_bytes())


@cache
def _snapshot() -> dict[str, Any]:
    return build(_records())


def recorded_records() -> dict[str, Record]:
    """A fresh copy of the recorded probe records, to add or replace some."""
    return copy.deepcopy(_records())


def recorded_snapshot() -> dict[str, Any]:
    """A fresh, freely editable copy of the recorded host's snapshot."""
    return copy.deepcopy(_snapshot())


def build(records: dict[str, Record]) -> dict[str, Any]:
    return snapshot.build(records, target=dict(TARGET))


def judge(snap: dict[str, Any], check_id: str, selection: Selection | None = None) -> Outcome:
    """Run one catalog check on a snapshot, exactly as a scan does."""
    return run_check(checks.load().get(check_id), Facts(snap, selection))


def resolved(snap: dict[str, Any], links: dict[str, str] | None = None, volumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The snapshot as today's probe records its containers' mounts (the recorded probe predates
    it): each bind source with its links resolved (to itself, unless `links` maps it), and
    `volumes` as `docker volume inspect` shows them. Call it after editing the mounts."""
    sources = [m["Source"] for c in snap["docker"]["containers"] for m in c.get("Mounts") or [] if m.get("Type") == "bind"]
    snap["realpaths"] = {source: source for source in sources} | (links or {})
    snap["docker"]["volumes"] = volumes or []
    return snap


def observed(outcome: Outcome) -> list[tuple[str, Any]]:
    """The evidence as (subject, observed) pairs, for exact comparison."""
    return [(e.subject, e.observed) for e in outcome.evidence]


# --- files, as the probe's stat shows them


def present(snap: dict[str, Any], kind: str, owner: str, group: str, mode: int) -> dict[str, Any]:
    """A stat entry for a path owned by users and groups of the recorded host."""
    return {
        "state": "present",
        "type": kind,
        "mode": mode,
        "uid": snap["users"][owner]["uid"],
        "gid": snap["groups"][group]["gid"],
        "size": 0 if kind == "socket" else 4096 if kind == "directory" else 1024,
        "mtime": MTIME,
        "owner": owner,
        "group": group,
    }


def absent(path: str) -> dict[str, Any]:
    return {"state": "absent", "error": f"stat: cannot statx '{path}': No such file or directory"}


def unreadable(path: str) -> dict[str, Any]:
    """What stat shows for a path under a directory the scanning user may not search."""
    return {"state": "unreadable", "error": f"stat: cannot statx '{path}': Permission denied"}


def stat_record(kind: str, mode: int, uid: int, gid: int, size: int) -> Record:
    """The probe's `stat -L -c '%f %u %g %s %Y'` output for a path."""
    return Record(out=f"{_TYPE_BITS[kind] | mode:x} {uid} {gid} {size} {MTIME}\n".encode(), rc=0)


def with_file(records: dict[str, Record], path: str, content: str, mode: int = 0o644) -> dict[str, Record]:
    """Records of a root-owned file that the probe stat'ed and read."""
    data = content.encode()
    records["stat:" + path] = stat_record("file", mode, 0, 0, len(data))
    records["read:" + path] = Record(out=data, rc=0)
    return records


def unparsed(key: str) -> str:
    """The ERROR of a check that needs option `key` from a daemon.json that does not parse: it
    points at the one finding that reports the parse error."""
    return f"{snapshot.DEFAULT_DAEMON_JSON} cannot be parsed, so the value it sets for {key} is unknown: see daemon-config-valid"


def with_daemon_json(content: str, mode: int = 0o644) -> dict[str, Any]:
    """The recorded host's snapshot had /etc/docker/daemon.json held `content`."""
    return build(with_file(recorded_records(), DEFAULT_DAEMON_JSON, content, mode))


# --- the Docker daemon


def docker_unreachable(snap: dict[str, Any]) -> dict[str, Any]:
    """The daemon stopped: `docker info` failed, so no container, image or network facts."""
    snap["docker"] = {
        "host": DOCKER_HOST,
        "status": "unreachable",
        "error": f"Cannot connect to the Docker daemon at {DOCKER_HOST}. Is the docker daemon running?",
        "errors": [],
    }
    return snap


def docker_not_installed(snap: dict[str, Any]) -> dict[str, Any]:
    snap["docker"] = {
        "host": DOCKER_HOST,
        "status": "not_installed",
        "error": "the docker command is not installed on the target",
        "errors": [],
    }
    return snap


def container(snap: dict[str, Any], name: str) -> dict[str, Any]:
    """The `docker inspect` document of a recorded container, to edit in place."""
    for inspect in snap["docker"]["containers"]:
        if inspect["Name"] == "/" + name:
            return inspect
    raise KeyError(name)


def bind(source: str, destination: str, rw: bool = True) -> dict[str, Any]:
    """A bind mount as `docker inspect` lists it under Mounts."""
    return {"Type": "bind", "Source": source, "Destination": destination, "Mode": "", "RW": rw, "Propagation": "rprivate"}


def inspected(records: dict[str, Record]) -> dict[str, list[dict[str, Any]]]:
    """The objects of each kind (containers, images, networks) in the probe's one `docker inspect`, as printed."""
    ids = {kind: set(records[f"docker:ids:{kind}"].text.split()) for kind in snapshot.INSPECTED}
    decoder, text, pos, items = json.JSONDecoder(), records["docker:inspect"].text, 0, []
    while pos < len(text.rstrip()):
        value, pos = decoder.raw_decode(text, pos)
        items += value
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return {kind: [i for i in items if i["Id"] in ids[kind]] for kind in snapshot.INSPECTED}


def set_inspected(records: dict[str, Record], kind: str, items: list[dict[str, Any]]) -> None:
    """Make the probe records say `docker inspect` found these objects of `kind` (and the rest as before)."""
    found = inspected(records)
    found[kind] = items
    for name, objects in found.items():
        records[f"docker:ids:{name}"] = Record("\n".join(o["Id"] for o in objects).encode(), 0)
    records["docker:inspect"] = Record(json.dumps([o for name in snapshot.INSPECTED for o in found[name]]).encode(), 0)

