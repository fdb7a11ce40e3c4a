"""Per-container runtime settings (CIS 4.1 and 5.x), judged from `docker inspect` alone:
nothing is ever run inside a container. Each failure names every offending container."""

from __future__ import annotations

from typing import Any

from benchmark.facts import Container, Facts
from benchmark.model import Layer, Needs, Outcome, Severity
from checks.catalog import check
from checks.common import per_container
from checks.locations import docker_socket

DOCKER = (Needs.DOCKER,)
SENSITIVE_DIRS = ("/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr")
# Docker's default capability set (moby oci/caps/defaults.go).
DEFAULT_CAPABILITIES = frozenset({
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
})
RUNTIME_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock")


def container_check(id: str, *, title: str, offense: str, severity: Severity, rationale: str, remediation: str):
    """Register a check over the selected containers; the function returns the offending value or None.

    `offense` completes "N of M containers ...", e.g. "run privileged".
    """

    def register(offending):
        def judge(facts: Facts) -> Outcome:
            return per_container(facts, lambda c: offending(c, facts), offense)

        judge.__doc__ = offending.__doc__
        check(id, title=title, layer=Layer.CONTAINERS, severity=severity, rationale=rationale, remediation=remediation, needs=DOCKER)(judge)
        return offending

    return register


def _security_opts(c: Container) -> list[str]:
    return [str(o) for o in c.host_config.get("SecurityOpt") or []]


def _host_mounts(c: Container) -> list[dict[str, Any]]:
    return [m for m in c.mounts if m.get("Type") == "bind"]


@container_check(
    "container-not-privileged",
    title="Containers do not run privileged",
    offense="run privileged",
    severity=Severity.CRITICAL,
    rationale="A privileged container has every capability and all host devices: escaping it is trivial.",
    remediation="Run without --privileged; add only the specific capabilities or devices the workload needs.",
)
def privileged(c: Container, facts: Facts):
    return "Privileged=true" if c.host_config.get("Privileged") else None


@container_check(
    "container-no-host-pid",
    title="Containers do not share the host's process namespace",
    offense="share the host's process namespace",
    severity=Severity.HIGH,
    rationale="With --pid host a container sees and can signal every host process, and can read their environments.",
    remediation="Remove --pid=host.",
)
def host_pid(c: Container, facts: Facts):
    return "PidMode=host" if c.host_config.get("PidMode") == "host" else None


@container_check(
    "container-no-host-network",
    title="Containers do not share the host's network namespace",
    offense="share the host's network namespace",
    severity=Severity.HIGH,
    rationale="With --network host a container can bind host ports and reach services listening on loopback.",
    remediation="Remove --network=host; publish the ports the service needs.",
)
def host_network(c: Container, facts: Facts):
    return "NetworkMode=host" if c.host_config.get("NetworkMode") == "host" else None


@container_check(
    "container-no-host-ipc",
    title="Containers do not share the host's IPC namespace",
    offense="share the host's IPC namespace",
    severity=Severity.HIGH,
    rationale="A shared IPC namespace exposes host shared memory segments and semaphores to the container.",
    remediation="Remove --ipc=host.",
)
def host_ipc(c: Container, facts: Facts):
    return "IpcMode=host" if c.host_config.get("IpcMode") == "host" else None


@container_check(
    "container-no-host-uts",
    title="Containers do not share the host's UTS namespace",
    offense="share the host's UTS namespace",
    severity=Severity.LOW,
    rationale="A container sharing the UTS namespace can change the host's hostname.",
    remediation="Remove --uts=host.",
)
def host_uts(c: Container, facts: Facts):
    return "UTSMode=host" if c.host_config.get("UTSMode") == "host" else None


@container_check(
    "container-no-host-userns",
    title="Containers do not share the host's user namespace",
    offense="share the host's user namespace",
    severity=Severity.MEDIUM,
    rationale="--userns=host opts a container out of the daemon's user-namespace remapping: its root is the host's root.",
    remediation="Remove --userns=host.",
)
def host_userns(c: Container, facts: Facts):
    return "UsernsMode=host" if c.host_config.get("UsernsMode") == "host" else None


@container_check(
    "container-capabilities-restricted",
    title="Containers add no Linux capabilities",
    offense="add Linux capabilities",
    severity=Severity.HIGH,
    rationale="Added capabilities such as SYS_ADMIN or SYS_PTRACE are the usual first step of a container escape.",
    remediation="Remove --cap-add; if one is truly needed, drop ALL and add back only that one.",
)
def added_capabilities(c: Container, facts: Facts):
    added = c.host_config.get("CapAdd") or []
    if "ALL" in {_capability(d) for d in c.host_config.get("CapDrop") or []}:
        # --cap-drop ALL --cap-add NET_BIND_SERVICE stays within Docker's default set.
        added = [a for a in added if _capability(a) not in DEFAULT_CAPABILITIES]
    return sorted(added) if added else None


def _capability(name: str) -> str:
    """CAP_SYS_ADMIN for sys_admin, SYS_ADMIN or CAP_SYS_ADMIN (Docker accepts and stores each)."""
    name = str(name).upper()
    return name if name == "ALL" or name.startswith("CAP_") else "CAP_" + name


@container_check(
    "container-docker-socket-not-mounted",
    title="Containers do not mount the Docker or containerd socket",
    offense="mount a container runtime socket",
    severity=Severity.CRITICAL,
    rationale="A container holding the daemon's socket can start a privileged container: it controls the host.",
    remediation="Remove the socket volume; give tools that need the API a narrowly scoped proxy instead.",
)
def runtime_socket(c: Container, facts: Facts):
    sockets = set(RUNTIME_SOCKETS) | {docker_socket(facts) or ""}
    hits = [f"{m.get('Source')} -> {m.get('Destination')}" for m in _host_mounts(c) if m.get("Source") in sockets or str(m.get("Source", "")).endswith("/docker.sock")]
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
    for m in _host_mounts(c):
        source = str(m.get("Source", "")).rstrip("/") or "/"
        under = any(source.startswith(d + "/") for d in SENSITIVE_DIRS if d != "/")
        if source in SENSITIVE_DIRS or (under and m.get("RW")):
            hits.append(f"{source} -> {m.get('Destination')} ({'rw' if m.get('RW') else 'ro'})")
    return hits or None


@container_check(
    "container-memory-limited",
    title="Containers have a memory limit",
    offense="have no memory limit",
    severity=Severity.MEDIUM,
    rationale="Without a limit one container can exhaust host memory and get other workloads killed.",
    remediation="Run with --memory (and --memory-swap) sized for the workload.",
)
def no_memory_limit(c: Container, facts: Facts):
    return "Memory=0 (unlimited)" if not c.host_config.get("Memory") else None


@container_check(
    "container-cpu-limited",
    title="Containers have a CPU limit or share",
    offense="have no CPU limit or share",
    severity=Severity.LOW,
    rationale="Without a CPU limit or relative share, one busy container can starve the others.",
    remediation="Run with --cpus, or --cpu-shares set to a value other than the default 1024.",
)
def no_cpu_limit(c: Container, facts: Facts):
    hc = c.host_config
    limited = hc.get("NanoCpus") or hc.get("CpuQuota") or hc.get("CpusetCpus") or hc.get("CpuShares") not in (0, 1024, None)
    return None if limited else "no --cpus, --cpu-quota, --cpuset-cpus or --cpu-shares"


@container_check(
    "container-pids-limited",
    title="Containers have a process count limit",
    offense="have no process count limit",
    severity=Severity.MEDIUM,
    rationale="A fork bomb in a container without a pids limit takes the whole host down.",
    remediation="Run with --pids-limit (e.g. 256).",
)
def no_pids_limit(c: Container, facts: Facts):
    limit = c.host_config.get("PidsLimit")
    return None if limit and limit > 0 else f"PidsLimit={limit}"


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


@container_check(
    "container-no-new-privileges",
    title="Containers cannot gain new privileges",
    offense="may gain new privileges",
    severity=Severity.MEDIUM,
    rationale="no-new-privileges keeps setuid binaries from raising a process's privileges inside the container.",
    remediation="Run with --security-opt no-new-privileges (or set it daemon-wide).",
)
def new_privileges_allowed(c: Container, facts: Facts):
    opts = _security_opts(c)
    if any(o in ("no-new-privileges", "no-new-privileges:true", "no-new-privileges=true") for o in opts):
        return None
    if any(o.startswith("no-new-privileges") for o in opts):
        return [o for o in opts if o.startswith("no-new-privileges")]
    daemon_wide = facts.daemon_option("no-new-privileges")
    return None if daemon_wide and daemon_wide.value is True else "no-new-privileges not set"


@container_check(
    "container-seccomp-enabled",
    title="Containers keep a seccomp profile",
    offense="run without seccomp",
    severity=Severity.HIGH,
    rationale="seccomp blocks the rarely used system calls that most kernel exploits rely on.",
    remediation="Remove --security-opt seccomp=unconfined.",
)
def seccomp_unconfined(c: Container, facts: Facts):
    hits = [o for o in _security_opts(c) if o.replace(":", "=") == "seccomp=unconfined"]
    return hits or None


@container_check(
    "container-user-not-root",
    title="Containers run as a non-root user",
    offense="run as root",
    severity=Severity.MEDIUM,
    rationale="A process running as root in a container is root on the host if it escapes (without user namespaces).",
    remediation="Create a user in the image (USER in the Dockerfile) or run with --user UID:GID.",
)
def runs_as_root(c: Container, facts: Facts):
    user = str(c.config.get("User") or "")
    name = user.split(":")[0]
    return None if name not in ("", "root", "0") else f"User={user or '(unset: root)'}"
