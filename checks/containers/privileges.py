"""Isolation of each container from the host: namespaces, capabilities, LSM confinement, user."""

from __future__ import annotations

from dockbench.benchmark.document.model import Evidence, Outcome, Severity, not_applicable
from dockbench.benchmark.judge.facts import Container, Facts
from dockbench.checks.catalog import container_check
from dockbench.checks.containers.base import allowed_capabilities, capability, capability_policy, security_opts, shared_namespace
from dockbench.checks.fixes import RunOption, fixable

# Docker's default capability set (moby oci/caps/defaults.go).
DEFAULT_CAPABILITIES = frozenset({
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
})
DANGEROUS_CAPABILITIES = frozenset({"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_MODULE", "CAP_DAC_READ_SEARCH", "CAP_NET_ADMIN", "CAP_BPF"})
# SELinux types that mean "not confined": Docker's --security-opt label=type:spc_t, or a host process type.
UNCONFINED_SELINUX_TYPES = ("spc_t", "unconfined_t")


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
    return shared_namespace(c, facts, "PidMode")


@container_check(
    "container-no-host-network",
    title="Containers do not share the host's network namespace",
    offense="share the host's network namespace",
    severity=Severity.HIGH,
    rationale="With --network host a container can bind host ports and reach services listening on loopback.",
    remediation="Remove --network=host; publish the ports the service needs.",
)
def host_network(c: Container, facts: Facts):
    return shared_namespace(c, facts, "NetworkMode")


@container_check(
    "container-no-host-ipc",
    title="Containers do not share the host's IPC namespace",
    offense="share the host's IPC namespace",
    severity=Severity.HIGH,
    rationale="A shared IPC namespace exposes host shared memory segments and semaphores to the container.",
    remediation="Remove --ipc=host.",
)
def host_ipc(c: Container, facts: Facts):
    return shared_namespace(c, facts, "IpcMode")


@container_check(
    "container-no-host-uts",
    title="Containers do not share the host's UTS namespace",
    offense="share the host's UTS namespace",
    severity=Severity.LOW,
    rationale="A container sharing the UTS namespace can change the host's hostname.",
    remediation="Remove --uts=host.",
)
def host_uts(c: Container, facts: Facts):
    return shared_namespace(c, facts, "UTSMode")


@container_check(
    "container-no-host-userns",
    title="Containers do not share the host's user namespace",
    offense="share the host's user namespace",
    severity=Severity.MEDIUM,
    rationale="--userns=host opts a container out of the daemon's user-namespace remapping: its root is the host's root.",
    remediation="Remove --userns=host.",
)
def host_userns(c: Container, facts: Facts):
    return shared_namespace(c, facts, "UsernsMode")


@container_check(
    "container-capabilities-restricted",
    title="Containers add no Linux capabilities",
    offense="add Linux capabilities",
    severity=Severity.HIGH,
    rationale="Added capabilities such as SYS_ADMIN or SYS_PTRACE are the usual first step of a container escape.",
    remediation="Remove --cap-add; if one is truly needed, drop ALL and add back only that one, "
    "or list it under allowed_capabilities in the policy file (--config).",
    context=capability_policy,
)
def added_capabilities(c: Container, facts: Facts):
    """Capabilities added beyond Docker's default set, less those the site policy allows."""
    allowed = allowed_capabilities(facts)
    added = [a for a in c.host_config.get("CapAdd") or [] if capability(a) not in allowed]
    if "ALL" in {capability(d) for d in c.host_config.get("CapDrop") or []}:
        # --cap-drop ALL --cap-add NET_BIND_SERVICE stays within Docker's default set.
        added = [a for a in added if capability(a) not in DEFAULT_CAPABILITIES]
    return sorted(added) if added else None


@container_check(
    "container-dangerous-capabilities",
    title="Containers hold none of the capabilities that break isolation",
    offense="hold capabilities that break isolation",
    severity=Severity.CRITICAL,
    rationale="SYS_ADMIN (mount, cgroups), SYS_MODULE (load kernel code), SYS_PTRACE (inject into processes), "
    "DAC_READ_SEARCH (open any host file by handle: the 'shocker' escape), NET_ADMIN (rewrite host-visible "
    "networking) and BPF (load kernel programs) each give a known way out of a container or into its neighbours.",
    remediation="Remove these --cap-add entries and --privileged; where one is a deliberate, reviewed exception, "
    "list it under allowed_capabilities in the policy file (--config).",
    context=capability_policy,
)
def dangerous_capabilities(c: Container, facts: Facts):
    """The dangerous capabilities a container ends up with, computed as Docker does.

    --cap-add ALL grants every capability but the dropped ones; otherwise added ones count even
    when also dropped (Docker drops first, then adds). A privileged container always offends:
    it has every capability and more, and no capability policy can excuse that.
    """
    hc = c.host_config
    if hc.get("Privileged"):
        return "Privileged=true (every capability)"
    added = {capability(a) for a in hc.get("CapAdd") or []}
    dropped = {capability(d) for d in hc.get("CapDrop") or []}
    held = (DANGEROUS_CAPABILITIES - dropped if "ALL" in added else set()) | (added & DANGEROUS_CAPABILITIES)
    held -= allowed_capabilities(facts)
    return sorted(held) or None


@container_check(
    "container-no-new-privileges",
    title="Containers cannot gain new privileges",
    offense="may gain new privileges",
    severity=Severity.MEDIUM,
    rationale="no-new-privileges keeps setuid binaries from raising a process's privileges inside the container.",
    remediation="Run with --security-opt no-new-privileges (or set it daemon-wide).",
)
def new_privileges_allowed(c: Container, facts: Facts):
    opts = security_opts(c)
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
    hits = [o for o in security_opts(c) if o.replace(":", "=") == "seccomp=unconfined"]
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


def _daemon_apparmor(facts: Facts) -> list[str]:
    return [str(o) for o in facts.info.get("SecurityOptions") or [] if str(o).split(",")[0] == "name=apparmor"]


def _apparmor(facts: Facts) -> list[Evidence]:
    found = "present" if facts.apparmor else "absent"
    return [Evidence("/sys/kernel/security/apparmor", found), Evidence("docker info SecurityOptions", _daemon_apparmor(facts) or "no apparmor entry")]


def _without_apparmor(facts: Facts) -> Outcome | None:
    """AppArmor confines containers only where the kernel has it; elsewhere there is nothing to set.

    The daemon's own report counts too: it sees the kernel even when the probe's /sys does not.
    """
    if facts.apparmor or _daemon_apparmor(facts):
        return None
    return not_applicable("the host has no AppArmor: /sys/kernel/security/apparmor is absent and the daemon reports none", _apparmor(facts))


@container_check(
    "container-apparmor",
    title="Containers run under an AppArmor profile (where the host has AppArmor)",
    offense="run without an AppArmor profile",
    severity=Severity.MEDIUM,
    rationale="On an AppArmor host, Docker confines each container with a profile (docker-default) that denies "
    "writes to /proc and /sys files and mounting; an unconfined container loses that second line of defence.",
    remediation="Remove --security-opt apparmor=unconfined (and --privileged); use docker-default or a profile "
    "written for the workload (--security-opt apparmor=PROFILE).",
    precondition=_without_apparmor,
    context=_apparmor,
)
def apparmor_unconfined(c: Container, facts: Facts):
    profile = str(c.inspect.get("AppArmorProfile") or "")
    return None if profile not in ("", "unconfined") else f"AppArmorProfile={profile or '(none)'}"


def _selinux(facts: Facts) -> list[Evidence]:
    mode = facts.selinux
    return [Evidence("/sys/fs/selinux/enforce", "absent" if mode is None else f"{mode} ({'enforcing' if mode == '1' else 'permissive'})")]


def _selinux_not_enforcing(facts: Facts) -> Outcome | None:
    """Labels confine containers only while SELinux enforces; permissive mode merely logs."""
    mode = facts.selinux
    if mode == "1":
        return None
    why = "SELinux is not enabled on this host" if mode is None else "SELinux is permissive on this host: labels are not enforced"
    return not_applicable(why, _selinux(facts))


@container_check(
    "container-selinux",
    title="Containers run confined by an SELinux label (where SELinux enforces)",
    offense="run without SELinux confinement",
    severity=Severity.MEDIUM,
    rationale="On an enforcing SELinux host, the container_t label and per-container MCS categories keep a "
    "compromised container away from host files and from other containers; label=disable, the spc_t type, "
    "or a daemon started without --selinux-enabled drops that protection.",
    remediation="Start dockerd with --selinux-enabled (\"selinux-enabled\": true); remove --security-opt label=disable "
    "and label=type:spc_t; set label=level:/label=type: options only to tighten the default.",
    precondition=_selinux_not_enforcing,
    context=_selinux,
)
def selinux_unconfined(c: Container, facts: Facts):
    """label=disable or an unconfined type; no process label at all means the daemon does not label containers."""
    unconfined = {"disable", *(f"type:{t}" for t in UNCONFINED_SELINUX_TYPES)}
    disabled = [o for o in security_opts(c) if o[:6] in ("label=", "label:") and o[6:] in unconfined]
    if disabled:
        return disabled
    label = str(c.inspect.get("ProcessLabel") or "")
    if not label:
        return "no SELinux process label (dockerd without --selinux-enabled?)"
    parts = label.split(":")
    return f"ProcessLabel={label} (unconfined type)" if len(parts) > 2 and parts[2] in UNCONFINED_SELINUX_TYPES else None


fixable("container-no-new-privileges", RunOption(("--security-opt", "no-new-privileges"), {"security_opt": ["no-new-privileges:true"]},
        "setuid programs in the container (sudo, su, ping on some images) no longer raise privileges."))
