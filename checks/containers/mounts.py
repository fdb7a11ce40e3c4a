"""What of the host each container can reach through its filesystem: bind mounts, devices,
mount propagation and its own root filesystem."""

from __future__ import annotations

import posixpath
from typing import Any

from dockbench.benchmark.collect.paths import is_below, is_under
from dockbench.benchmark.document.model import Severity
from dockbench.benchmark.judge.facts import Container, Facts
from dockbench.checks.catalog import container_check
from dockbench.checks.containers.base import host_mounts, host_path, mount_text
from dockbench.checks.fixes import RunOption, fixable
from dockbench.checks.locations import docker_socket

SENSITIVE_DIRS = ("/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr")
# Where the runtimes put their API sockets (/var/run is read as /run); any file named like one counts too.
RUNTIME_SOCKETS = ("/run/docker.sock", "/run/containerd/containerd.sock", "/run/crio/crio.sock", "/run/podman/podman.sock")
RUNTIME_SOCKET_NAMES = frozenset(posixpath.basename(s) for s in RUNTIME_SOCKETS)
KERNEL_TREES = ("/proc", "/sys")
SHARED_PROPAGATION = ("shared", "rshared")


def _host_sockets(facts: Facts) -> list[str]:
    """Runtime sockets known to exist: the audited daemon's, then the default ones the probe saw."""
    seen = [s for s in RUNTIME_SOCKETS if facts.file(s).present or facts.file("/var" + s).present]
    return list(dict.fromkeys(host_path(s) for s in (docker_socket(facts), *seen) if s))


def _socket_exposure(source: str, facts: Facts) -> str | None:
    """How a bind source exposes a runtime socket: "" when it is one (by path or by name), or
    the socket a mounted directory holds (-v /var/run:/host-run hands over docker.sock as surely
    as naming it)."""
    if posixpath.basename(source) in RUNTIME_SOCKET_NAMES:
        return ""
    sockets = _host_sockets(facts)
    if source in sockets:
        return ""
    held = [s for s in sockets if is_below(s, source)]
    return f" (holds {held[0]})" if held else None


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
    """Bind mounts of a runtime socket, or of a directory holding the audited daemon's or a default one."""
    return _exposing_mounts(c, facts)


def _exposing_mounts(c: Container, facts: Facts, exposed=lambda source: False) -> list[str] | None:
    """Bind mounts that expose a runtime socket, or whose host path `exposed` singles out."""
    hits = []
    for m in host_mounts(c):
        source = host_path(m.get("Source"))
        exposure = _socket_exposure(source, facts)
        if exposure is None and exposed(source):
            exposure = ""
        if exposure is not None:
            hits.append(mount_text(m) + exposure)
    return hits or None


@container_check(
    "container-no-sensitive-mounts",
    title="Containers do not mount sensitive host directories",
    offense="mount sensitive host directories",
    severity=Severity.HIGH,
    rationale="Mounting /, /etc, /proc, /sys and similar lets a container read secrets or rewrite the host.",
    remediation="Mount only the specific files or directories the workload needs, read-only where possible.",
)
def sensitive_mounts(c: Container, facts: Facts):
    hits = []
    for m in host_mounts(c):
        source = str(m.get("Source", "")).rstrip("/") or "/"
        under = any(is_below(source, d) for d in SENSITIVE_DIRS if d != "/")
        if source in SENSITIVE_DIRS or (under and m.get("RW")):
            hits.append(f"{source} -> {m.get('Destination')} ({'rw' if m.get('RW') else 'ro'})")
    return hits or None


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
    return _exposing_mounts(c, facts, lambda source: source in ("/", "/run") or any(is_under(source, top) for top in KERNEL_TREES))


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
