"""What runs in each container and how it is operated: sshd, health checks, docker exec, and
secrets handed over in the environment."""

from __future__ import annotations

from collections import Counter

from dockbench.benchmark.document.model import Evidence, Layer, Outcome, Severity, Status, Undecidable, manual
from dockbench.benchmark.document.redact import looks_secret
from dockbench.benchmark.judge.facts import Container, Facts
from dockbench.checks.catalog import DOCKER, check, container_check
from dockbench.checks.common import per_container

NO_HEALTHCHECK = "no health check (none in the image, no --health-cmd)"


@container_check(
    "container-no-sshd",
    title="Containers do not run sshd",
    offense="run sshd",
    severity=Severity.MEDIUM,
    rationale="An ssh daemon in a container is one more service to patch, one more set of keys and passwords to "
    "manage, and a way in that bypasses the audit trail of docker exec.",
    remediation="Remove sshd from the image; use docker exec (audited on the host) to get into a container.",
)
def sshd_running(c: Container, facts: Facts):
    """From the host: sshd processes (by /proc/PID/comm) whose cgroup is the container's.

    Nothing is executed in the container, so an image without ps cannot hide one.
    """
    processes = facts.container_processes
    if processes is None:
        raise Undecidable("this snapshot has no container process facts (it predates them): scan the host again")
    count = processes.get(c.id, []).count("sshd")
    return f"{count} sshd process{'es' if count > 1 else ''} running" if count else None


def _health(c: Container) -> str | None:
    """The health check state of a container, or None when it has none."""
    test = (c.config.get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return None
    health = (c.inspect.get("State") or {}).get("Health") or {}
    status = health.get("Status") if c.running else None
    if status == "unhealthy":
        return f"unhealthy (failing streak {health.get('FailingStreak', '?')})"
    return status or "configured (not running)"


def _no_health_check(c: Container) -> str | None:
    if _health(c) is not None:
        return None
    test = (c.config.get("Healthcheck") or {}).get("Test") or []
    return "health check disabled (--no-healthcheck or HEALTHCHECK NONE)" if test[:1] == ["NONE"] else NO_HEALTHCHECK


@check(
    "container-healthcheck",
    title="Containers have a health check",
    layer=Layer.CONTAINERS,
    severity=Severity.LOW,
    needs=DOCKER,
    rationale="Without a health check, a container whose service hangs or fails still counts as running: nothing "
    "notices, and orchestration cannot replace it.",
    remediation="Add a HEALTHCHECK to the image, or run with --health-cmd (and --health-interval, --health-retries).",
)
def health_checked(facts: Facts) -> Outcome:
    """FAIL for containers without a health check; the health of the others is reported alongside.

    An unhealthy container is not a failure of this check (its health is being checked), but the
    evidence names it: the point of a health check is that someone looks.
    """
    outcome = per_container(facts, _no_health_check, "lack a health check")
    if outcome.status is Status.NOT_APPLICABLE:
        return outcome
    states = [(c, state) for c in facts.containers for state in [_health(c)] if state is not None]
    summary = Counter(state.split(" ")[0] for _, state in states)
    message = outcome.message + ("; health: " + ", ".join(f"{n} {s}" for s, n in sorted(summary.items())) if summary else "")
    unwell = [Evidence.container(c, f"health: {state}") for c, state in states if state != "healthy"]
    return Outcome.of(outcome.status, message, [*outcome.evidence, *unwell])


def _rule_paths(rule: str) -> list[str]:
    """The words of an audit rule with any key= prefix cut: -w PATH, -F path=PATH, -F exe=PATH."""
    return [word.split("=", 1)[-1] for word in rule.split()]


def _cli_audit_rules(facts: Facts) -> Evidence:
    """Audit rules that record runs of the docker client (e.g. -w /usr/bin/docker -p x -k docker)."""
    try:
        rules, source = facts.audit_rules()
    except Undecidable as exc:
        return Evidence("audit rules on the docker CLI", f"unknown: {exc}")
    found = [rule for rule in rules if any(p.startswith("/") and p.endswith("/docker") for p in _rule_paths(rule))]
    return Evidence(f"audit rules on the docker CLI ({source})", found or "none: docker commands are not being recorded")


def _exec_review(usage: str):
    """The check of one kind of docker exec use, which only a reviewer of the audit log can judge."""

    def review(facts: Facts) -> Outcome:
        """MANUAL: which exec commands ran is history, not state, so no read-only snapshot holds it.

        The evidence is what the reviewer starts from: whether the audit log records docker CLI
        runs, and which selected containers have exec sessions open right now (their ExecIDs).
        """
        sessions = [Evidence.container(c, f"{len(c.inspect['ExecIDs'])} exec session(s) open") for c in facts.containers if c.inspect.get("ExecIDs")]
        return manual(
            f"docker exec history is not part of a host snapshot: review the audit log (e.g. ausearch -k docker -i) for {usage}",
            [_cli_audit_rules(facts), *sessions],
        )

    return review


AUDIT_CLI = "audit the docker client (auditctl -w /usr/bin/docker -p x -k docker) so that its use shows up"

check(
    "container-exec-not-privileged",
    title="docker exec is not used with --privileged",
    layer=Layer.CONTAINERS,
    severity=Severity.HIGH,
    needs=DOCKER,
    rationale="docker exec --privileged runs a process with every capability and no confinement inside a container "
    "that was started without them, undoing its isolation for that process.",
    remediation=f"Do not use docker exec --privileged; {AUDIT_CLI}.",
)(_exec_review("docker exec --privileged"))

check(
    "container-exec-not-root",
    title="docker exec is not used with --user root",
    layer=Layer.CONTAINERS,
    severity=Severity.MEDIUM,
    needs=DOCKER,
    rationale="docker exec --user root (or -u 0) runs a root process in a container built to run as another user, "
    "undoing that hardening for the process.",
    remediation=f"Do not use docker exec --user root; {AUDIT_CLI}.",
)(_exec_review("docker exec --user root (or -u 0)"))


@container_check(
    "container-env-secret-names",
    title="Containers get no secrets through environment variables",
    offense="have environment variables named like secrets",
    severity=Severity.MEDIUM,
    rationale="Environment variables are shown by docker inspect to anyone who can reach the daemon, inherited by "
    "every child process, and often logged on crashes; they are a poor place for passwords and tokens.",
    remediation="Pass secrets as files (Docker or swarm secrets, a read-only mount) and point the service at them "
    "(the NAME_FILE convention); remove the listed variables.",
)
def secret_env_names(c: Container, facts: Facts):
    """Variable names only: the snapshot never holds their values. NAME_FILE variables point at a
    secret file (the recommended way) and do not count."""
    names = [str(item).split("=", 1)[0] for item in c.config.get("Env") or []]
    hits = [n for n in names if looks_secret(n) and not n.upper().endswith("_FILE")]
    return hits or None
