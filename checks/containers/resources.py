"""What each container may take from the shared kernel: memory, CPU, processes, ulimits, its
cgroup, and how often it is restarted."""

from __future__ import annotations

from dockbench.benchmark.document.model import Evidence, Layer, Severity, Status, Undecidable, manual
from dockbench.benchmark.judge.facts import Container, Facts
from dockbench.checks.catalog import DOCKER, check, container_check
from dockbench.checks.common import per_container
from dockbench.checks.fixes import RunOption, fixable

MAX_RESTARTS = 5  # CIS 5.15: on-failure with at most five retries


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


LIMITS = (("memory", no_memory_limit), ("CPU", no_cpu_limit), ("pids", no_pids_limit))


@container_check(
    "container-resource-limits",
    title="Containers are bounded in memory, CPU and processes",
    offense="lack memory, CPU or pids limits",
    severity=Severity.MEDIUM,
    rationale="Containers share one kernel: a container without memory, CPU and process limits can starve every "
    "other workload on the host, by accident or by attack. This is the classic denial of service of a shared host.",
    remediation="Run each container with --memory, --cpus (or --cpu-shares) and --pids-limit sized for its workload.",
)
def missing_limits(c: Container, facts: Facts):
    """Which of the three limits a container lacks, by the same rules as their own checks (CIS 5.11, 5.12, 5.29)."""
    missing = [name for name, unlimited in LIMITS if unlimited(c, facts) is not None]
    return missing or None


def _ulimits(c: Container) -> list[str]:
    return [f"{u.get('Name')}={u.get('Soft')}:{u.get('Hard')}" for u in c.host_config.get("Ulimits") or []]


def _daemon_ulimits(facts: Facts) -> Evidence:
    try:
        option = facts.daemon_option("default-ulimits", flag="default-ulimit", many=True)
    except Undecidable as exc:
        return Evidence("daemon default-ulimits", f"unknown: {exc}")
    return Evidence("daemon default-ulimits", option.describe("default-ulimits") if option else "not set: containers inherit dockerd's own limits")


@check(
    "container-ulimits",
    title="Container ulimit overrides are reviewed",
    layer=Layer.CONTAINERS,
    severity=Severity.LOW,
    needs=DOCKER,
    rationale="Ulimits cap open files and processes per container user; the daemon's defaults suit most workloads, "
    "and an override (often a raised nofile or nproc) should be one someone chose on purpose.",
    remediation="Keep per-container --ulimit options to workloads that need them, and set sensible daemon-wide "
    "defaults (--default-ulimit or \"default-ulimits\" in daemon.json).",
)
def ulimit_overrides(facts: Facts):
    """Always MANUAL (CIS 5.19 is a judgement): the overrides per container, beside the daemon's defaults."""
    outcome = per_container(facts, lambda c: _ulimits(c) or None, "override the daemon's default ulimits")
    if outcome.status is Status.NOT_APPLICABLE:
        return outcome
    advice = "confirm each override is needed" if outcome.status is Status.FAIL else "confirm no workload needs its own"
    return manual(f"{outcome.message}: {advice}", [*outcome.evidence, _daemon_ulimits(facts)])


@container_check(
    "container-cgroup-confirmed",
    title="Containers' custom cgroup parents are confirmed",
    offense="run under a custom cgroup parent",
    severity=Severity.LOW,
    found=Status.MANUAL,
    rationale="A container placed under its own --cgroup-parent escapes the limits and accounting of Docker's "
    "default cgroup; only someone who knows the host's cgroup layout can say whether that parent is right.",
    remediation="Remove --cgroup-parent unless the parent is part of a deliberate resource layout; confirm the listed "
    "parents carry the limits intended.",
)
def cgroup_parent(c: Container, facts: Facts):
    parent = c.host_config.get("CgroupParent")
    return f"CgroupParent={parent}" if parent else None


@container_check(
    "container-restart-policy",
    title=f"Containers restart on failure at most {MAX_RESTARTS} times",
    offense=f"restart more than {MAX_RESTARTS} times",
    severity=Severity.LOW,
    rationale="A container that restarts without limit turns a crash, or an attack that crashes it, into an endless "
    "loop that consumes the host and hides the failure. 'always' and 'unless-stopped' restart forever, and so does "
    "'on-failure' without a count.",
    remediation=f"Run with --restart on-failure:{MAX_RESTARTS} (or fewer), or no restart policy; let an orchestrator "
    "handle services that must stay up.",
)
def unbounded_restarts(c: Container, facts: Facts):
    policy = c.host_config.get("RestartPolicy") or {}
    name, count = policy.get("Name") or "no", policy.get("MaximumRetryCount") or 0
    if name == "no" or (name == "on-failure" and 0 < count <= MAX_RESTARTS):
        return None
    if name == "on-failure":
        return f"RestartPolicy=on-failure:{count}" if count else "RestartPolicy=on-failure (no retry limit)"
    return f"RestartPolicy={name}"


# The run options `dockbench fix` proposes for the offending containers (applied when each is re-created).
fixable("container-memory-limited", RunOption(("--memory", "512m"), {"mem_limit": "512m"},
        "A container that needs more than the limit is killed by the kernel's OOM killer: size it from the container's real peak first."))
fixable("container-pids-limited", RunOption(("--pids-limit", "256"), {"pids_limit": 256},
        "A container that starts more processes or threads than the limit gets fork failures: raise it for thread-heavy services."))
fixable("container-restart-policy", RunOption(("--restart", "on-failure:5"), {"restart": "on-failure:5"},
        "The container no longer restarts after a clean exit or a daemon restart, and gives up after five failures."))
