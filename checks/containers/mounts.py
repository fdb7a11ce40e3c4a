"""What of the host each container can reach through its filesystem: bind mounts, devices,
mount propagation and its own root filesystem."""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable
from typing import Any

from dockbench.benchmark.collect.paths import is_below, is_under
from dockbench.benchmark.document.model import Severity
from dockbench.benchmark.judge.facts import Container, Facts
from dockbench.checks.catalog import container_check
from dockbench.checks.common import Review
from dockbench.checks.containers.base import Reach, host_path, host_reach, mount_text
from dockbench.checks.fixes import RunOption, fixable
from dockbench.checks.locations import configured_sockets, docker_socket

SENSITIVE_DIRS = ("/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr")
# Where the runtimes put their API sockets (/var/run is read as /run): Docker, containerd (its own
# and the one dockerd starts), CRI-O, Podman, BuildKit; any file named like one counts too.
RUNTIME_SOCKETS = ("/run/docker.sock", "/run/containerd/containerd.sock", "/run/docker/containerd/containerd.sock", "/run/crio/crio.sock", "/run/podman/podman.sock", "/run/buildkit/buildkitd.sock")
RUNTIME_SOCKET_NAMES = frozenset(posixpath.basename(s) for s in RUNTIME_SOCKETS)
KERNEL_TREES = ("/proc", "/sys")
SHARED_PROPAGATION = ("shared", "rshared")


def _host_sockets(facts: Facts) -> list[str]:
    """Runtime sockets, as given and resolved: the audited daemon's, those the runtimes are
    configured to serve, then the default ones the probe saw."""
    seen = [s for s in RUNTIME_SOCKETS if facts.file(s).present or facts.file("/var" + s).present or facts.realpath(s)]
    found = [p for s in (docker_socket(facts), *configured_sockets(facts), *seen) if s for p in (s, facts.realpath(s)) if p]
    return list(dict.fromkeys(host_path(p) for p in found))


def _socket_exposure(path: str, sockets: list[str]) -> str | None:
    """How a host path a mount reaches exposes a runtime socket: "" when it is one (by path or
    by name), or the socket a mounted directory holds (-v /var/run:/host-run hands over
    docker.sock as surely as naming it)."""
    if posixpath.basename(path) in RUNTIME_SOCKET_NAMES or path in sockets:
        return ""
    held = [s for s in sockets if is_below(s, path)]
    return f" (holds {held[0]})" if held else None


def _judge_reach(c: Container, facts: Facts, exposure: Callable[[Reach, str], str | None], shown: Callable[[str], str] = str):
    """The container's mounts whose host paths `exposure` finds exposing (its text, with what
    `exposure` adds), else a Review of the mounts the facts could not settle, else None.
    `shown` writes a bind's source as the evidence shows it."""
    hits, review = [], []
    for reach in host_reach(c, facts):
        reach = dataclasses.replace(reach, source=shown(reach.source)) if reach.mount.get("Type") == "bind" else reach
        found = next((text for path in reach.paths for text in [exposure(reach, path)] if text is not None), None)
        if found is not None:
            hits.append(reach.text + found)
        elif reach.review:
            review.append(f"{reach.text}: {reach.review}")
    return hits or (Review(review) if review else None)


@container_check(
    "container-docker-socket-not-mounted",
    title="Containers do not mount a container runtime socket (Docker, containerd, CRI-O, Podman)",
    offense="mount a container runtime socket",
    severity=Severity.CRITICAL,
    rationale="A container holding the daemon's socket can start a privileged container: it controls the host.",
    remediation="Remove the socket volume (or the directory volume holding it); give tools that need the API "
    "a narrowly scoped proxy instead.",
)
def runtime_socket(c: Container, facts: Facts):
    """Mounts (binds, and volumes binding a host path) of a runtime socket, or of a directory
    holding the audited daemon's or a default one, through symbolic links too."""
    sockets = _host_sockets(facts)
    return _judge_reach(c, facts, lambda reach, path: _socket_exposure(path, sockets))


@container_check(
    "container-no-sensitive-mounts",
    title="Containers do not mount sensitive host directories",
    offense="mount sensitive host directories",
    severity=Severity.HIGH,
    rationale="Mounting /, /etc, /proc, /sys and similar lets a container read secrets or rewrite the host.",
    remediation="Mount only the specific files or directories the workload needs, read-only where possible.",
)
def sensitive_mounts(c: Container, facts: Facts):
    """A sensitive directory itself, read-only too (CIS counts it), or a path below one mounted read-write."""

    def exposure(reach: Reach, path: str) -> str | None:
        under = any(is_below(path, d) for d in SENSITIVE_DIRS if d != "/")
        return f" ({reach.mode})" if path in SENSITIVE_DIRS or (under and reach.mount.get("RW")) else None

    return _judge_reach(c, facts, exposure, shown=lambda source: source.rstrip("/") or "/")


@container_check(
    "container-no-runtime-paths-mounted",
    title="Containers mount neither the host's root, /proc, /sys, /run nor a runtime socket",
    offense="mount the host's root, kernel or runtime paths",
    severity=Severity.CRITICAL,
    rationale="These mounts are the short ways out of a container: / and /run hold the runtime sockets, a "
    "runtime socket starts privileged containers, and /proc or /sys (or anything below them) reach kernel "
    "tunables, cgroup release agents and other processes' memory. Read-only does not help: a socket still "
    "connects, and /proc entries still read.",
    remediation="Remove these volumes. Tools that need the Docker API get a narrowly scoped proxy; monitoring "
    "agents get the specific read-only files they need, not the whole tree.",
)
def runtime_paths(c: Container, facts: Facts):
    sockets = _host_sockets(facts)

    def exposure(reach: Reach, path: str) -> str | None:
        socket = _socket_exposure(path, sockets)
        if socket is None and (path in ("/", "/run") or any(is_under(path, top) for top in KERNEL_TREES)):
            return ""
        return socket

    return _judge_reach(c, facts, exposure)


@container_check(
    "container-mount-propagation",
    title="Containers use no shared mount propagation",
    offense="mount with shared propagation",
    severity=Severity.MEDIUM,
    rationale="With shared propagation, mounts made inside the container appear on the host (and the other way "
    "round): a container can then stack mounts over host paths.",
    remediation="Drop the shared/rshared option from the volume (the default is rprivate); use rslave where the "
    "container must see host mounts appear.",
)
def shared_propagation(c: Container, facts: Facts):
    hits = [f"{mount_text(m)} ({m.get('Propagation')})" for m in c.mounts if m.get("Propagation") in SHARED_PROPAGATION]
    return hits or None


def _device(d: dict[str, Any]) -> str:
    return ":".join(str(d.get(k)) for k in ("PathOnHost", "PathInContainer", "CgroupPermissions") if d.get(k))


@container_check(
    "container-no-host-devices",
    title="Containers are given no host devices",
    offense="are given host devices",
    severity=Severity.MEDIUM,
    rationale="A host device in a container bypasses the kernel's file permissions on the host side: a disk can be "
    "read raw, a GPU or USB device driven directly. Device cgroup rules open the same door for any device "
    "the container creates with mknod.",
    remediation="Remove --device and --device-cgroup-rule options the workload does not strictly need; give needed "
    "devices read-only access (:r) where it can work with that.",
)
def host_devices(c: Container, facts: Facts):
    """--device mappings as PathOnHost:PathInContainer:permissions, and --device-cgroup-rule entries."""
    hits = [_device(d) for d in c.host_config.get("Devices") or []]
    hits += [f"device cgroup rule {rule}" for rule in c.host_config.get("DeviceCgroupRules") or []]
    return hits or None


@container_check(
    "container-read-only-rootfs",
    title="Containers run with a read-only root filesystem",
    offense="have a writable root filesystem",
    severity=Severity.LOW,
    rationale="A read-only root filesystem stops an intruder from planting tools or changing binaries in the container.",
    remediation="Run with --read-only and mount writable volumes or tmpfs only where the workload writes.",
)
def writable_rootfs(c: Container, facts: Facts):
    return None if c.host_config.get("ReadonlyRootfs") else "ReadonlyRootfs=false"


fixable("container-read-only-rootfs", RunOption(("--read-only", "--tmpfs", "/tmp"), {"read_only": True, "tmpfs": ["/tmp"]},
        "Software writing outside its volumes and /tmp (caches, pid files, logs under /var) fails: add a volume or tmpfs for each such path."))
