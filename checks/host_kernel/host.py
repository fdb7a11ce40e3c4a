"""The host under Docker (CIS 1.x): data partition, who controls the daemon, audit rules."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable

from dockbench.benchmark.collect.paths import is_under
from dockbench.benchmark.document.model import Evidence, Layer, Outcome, Severity, failed, manual, not_applicable, passed
from dockbench.benchmark.judge.facts import Facts
from dockbench.checks.catalog import check
from dockbench.checks.fixes import AuditWatch, fixable
from dockbench.checks.locations import daemon_json, dockerd_binary, unit_file


def docker_root(facts: Facts) -> tuple[str, str]:
    """Docker's data directory and where that was learnt; userns-remap adds a subdirectory."""
    if facts.docker_ok and facts.info.get("DockerRootDir"):
        root = facts.info["DockerRootDir"]
        remapped = any("userns" in opt for opt in facts.info.get("SecurityOptions") or [])
        return (posixpath.dirname(root) if remapped else root), "docker info"
    option = facts.daemon_option("data-root")
    if option:
        return option.value, option.source
    return "/var/lib/docker", "default"


@check(
    "host-docker-data-partition",
    title="Docker's data directory is on its own filesystem",
    layer=Layer.HOST_KERNEL,
    severity=Severity.MEDIUM,
    rationale="Images, containers and logs can fill a disk; on their own filesystem they cannot fill / and stop the host.",
    remediation="Mount a dedicated filesystem (e.g. an LVM volume) on Docker's data directory, /var/lib/docker by default.",
)
def data_partition(facts: Facts) -> Outcome:
    root, source = docker_root(facts)
    mounts = facts.mounts
    mount = _covering(mounts, root)
    if mount is None:
        return failed(f"no mount covers {root}", [Evidence(root, source)])
    evidence = [Evidence(root, f"from {source}; mounted filesystem {mount['mount_point']} ({mount['fstype']} {mount['source']})")]
    if mount["mount_point"] != root:
        return failed(f"{root} lives on the {mount['mount_point']} filesystem", evidence)
    # A bind mount of a directory (dockerd makes one of its data root) is a mount, not a filesystem.
    parent = _covering(mounts, posixpath.dirname(root)) if root != "/" else None
    if parent is not None and mount.get("dev") and mount.get("dev") == parent.get("dev"):
        evidence.append(Evidence(parent["mount_point"], f"same device {parent['dev']} ({parent['fstype']} {parent['source']})"))
        return failed(f"{root} is a bind mount of a directory on the {parent['mount_point']} filesystem", evidence)
    return passed(f"{root} is its own mount", evidence)


def _covering(mounts: list[dict], path: str) -> dict | None:
    """The mount a path lives on: the deepest mount point above it, the last mounted on top."""
    covering = None
    for mount in mounts:
        point = mount["mount_point"]
        above = is_under(path, point)
        if above and (covering is None or len(point) >= len(covering["mount_point"])):
            covering = mount
    return covering


@check(
    "host-docker-group-members",
    title="Only trusted users can control the Docker daemon",
    layer=Layer.HOST_KERNEL,
    severity=Severity.HIGH,
    rationale="Members of the docker group can start a privileged container: they are root on the host in all but name.",
    remediation="Remove users who do not need to run Docker from the docker group (gpasswd -d USER docker).",
)
def docker_group_members(facts: Facts) -> Outcome:
    """Members listed in /etc/group and users whose primary group is docker, judged against
    the site's trusted_docker_users when the policy names them (exact names, not substrings)."""
    group = facts.groups.get("docker")
    if group is None:
        return passed("there is no docker group: only root can use the daemon socket", [Evidence("/etc/group", "no docker group")])
    users = facts.users
    members = sorted(set(group["members"]) | {name for name, u in users.items() if u["gid"] == group["gid"]})
    evidence = [Evidence("docker group", members)]
    if not members:
        return passed("the docker group has no members", evidence)
    trusted = facts.policy.trusted_docker_users
    if trusted is None:
        return manual(
            f"{len(members)} users can control the daemon; confirm each is trusted, or list them in trusted_docker_users in --config: {', '.join(members)}",
            evidence,
        )
    evidence.append(Evidence("trusted_docker_users", sorted(trusted)))
    untrusted = [name for name in members if name not in trusted]
    if untrusted:
        return failed(f"docker group members not in trusted_docker_users: {', '.join(untrusted)}", evidence)
    return passed("every docker group member is in trusted_docker_users", evidence)


def _watched_paths(rule: str) -> list[str]:
    """Paths an audit rule watches: `-w PATH` and `-F path=PATH` / `-F dir=PATH`."""
    try:
        tokens = shlex.split(rule)
    except ValueError:
        tokens = rule.split()
    paths = []
    for i, token in enumerate(tokens):
        if token == "-w" and i + 1 < len(tokens):
            paths.append(tokens[i + 1])
        for prefix in ("path=", "dir="):
            if token.startswith(prefix):
                paths.append(token[len(prefix) :])
    return paths


def audit_covers(rule: str, path: str) -> bool:
    """True when the rule watches the path itself or a directory above it."""
    return any(is_under(path, w) for w in _watched_paths(rule))


def judge_rule_files(facts: Facts, path: str, covering: list[str], unloaded: str, evidence: list[Evidence]) -> Outcome:
    """The verdict when the loaded rules could not be read: a rule file watches nothing unless
    an audit daemon loads it, and even then the verdict rests on files, not the kernel's rules."""
    daemon = facts.audit_daemon
    evidence = [*evidence, Evidence("audit daemon", daemon.describe()), Evidence("loaded rules", unloaded)]
    if covering and daemon.absent:
        return failed(f"{path} is watched only in rule files, and no audit daemon is installed or running to load them: nothing audits it", evidence)
    if covering and not daemon.known:
        return manual(f"{path} is watched in rule files, but the snapshot does not say whether an audit daemon loads them: scan the host again", evidence)
    confirm = "the verdict rests on the rule files; confirm it with --sudo (as root the probe reads the loaded rules with auditctl -l)"
    if covering:
        return passed(f"{path} is watched in the rule files and an audit daemon is present; {confirm}", evidence)
    return failed(f"no audit rule watches {path}; {confirm}", evidence)


def first_of(*paths: str) -> Callable[[Facts], str]:
    def locate(facts: Facts) -> str:
        found = facts.first_present(*paths)
        return found.path if found else paths[0]

    return locate


AUDITED = [
    ("host-audit-dockerd", "the dockerd binary", dockerd_binary),
    ("host-audit-run-containerd", "/run/containerd", first_of("/run/containerd")),
    ("host-audit-docker-data", "Docker's data directory", lambda f: docker_root(f)[0]),
    ("host-audit-etc-docker", "/etc/docker", first_of("/etc/docker")),
    ("host-audit-docker-service", "the docker.service unit", lambda f: unit_file(f, "docker.service")),
    ("host-audit-containerd-sock", "the containerd socket", first_of("/run/containerd/containerd.sock")),
    ("host-audit-docker-socket-unit", "the docker.socket unit", lambda f: unit_file(f, "docker.socket")),
    ("host-audit-etc-default-docker", "/etc/default/docker", first_of("/etc/default/docker")),
    ("host-audit-daemon-json", "the daemon.json file", daemon_json),
    ("host-audit-containerd-config", "/etc/containerd/config.toml", first_of("/etc/containerd/config.toml")),
    ("host-audit-etc-sysconfig-docker", "/etc/sysconfig/docker", first_of("/etc/sysconfig/docker")),
    ("host-audit-containerd", "the containerd binary", first_of("/usr/bin/containerd")),
    ("host-audit-containerd-shim", "containerd-shim", first_of("/usr/bin/containerd-shim")),
    ("host-audit-containerd-shim-runc-v1", "containerd-shim-runc-v1", first_of("/usr/bin/containerd-shim-runc-v1")),
    ("host-audit-containerd-shim-runc-v2", "containerd-shim-runc-v2", first_of("/usr/bin/containerd-shim-runc-v2")),
    ("host-audit-runc", "the runc binary", first_of("/usr/bin/runc", "/usr/sbin/runc")),
]


def audited(what: str, locate: Callable[[Facts], str | None]) -> Callable[[Facts], Outcome]:
    """The check of one AUDITED row: does an audit rule watch the path `locate` finds?"""

    def judge(facts: Facts) -> Outcome:
        path = locate(facts)
        if path is None:
            return not_applicable(f"{what} does not exist on this host")
        if facts.file(path).state == "absent":
            return not_applicable(f"{path} does not exist", [Evidence(path, "absent")])
        rules, source = facts.audit_rules()
        covering = [r for r in rules if audit_covers(r, path)]
        evidence = [Evidence(source, covering or f"{len(rules)} rules, none for {path}")]
        unloaded = facts.audit_rules_unloaded()
        if unloaded is None:
            return passed(f"{path} is audited", evidence) if covering else failed(f"no audit rule watches {path}", evidence)
        return judge_rule_files(facts, path, covering, unloaded, evidence)

    return judge


for _id, _what, _locate in AUDITED:
    check(
        _id,
        title=f"Changes to {_what} are audited",
        layer=Layer.HOST_KERNEL,
        severity=Severity.LOW,
        rationale=f"An audit trail of {_what} shows who changed the container runtime, and when.",
        remediation=f"Add an auditd watch such as `-w PATH -p wa -k docker` for {_what} (path in the evidence) to /etc/audit/rules.d/ and reload with augenrules --load.",
    )(audited(_what, _locate))
    fixable(_id, AuditWatch(_locate))
