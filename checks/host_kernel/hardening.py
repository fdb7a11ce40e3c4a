"""How well the host kernel holds containers in (CIS 1.2.1, and beyond CIS): known breakout
flaws in the running kernel, user namespaces, a mandatory access control module, seccomp and the
hardening sysctls. Containers share the host's kernel, so its flaws and settings are theirs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from dockbench.benchmark.document.model import Evidence, Layer, Outcome, Severity, Undecidable, failed, manual, not_applicable, passed
from dockbench.benchmark.judge.facts import Facts
from dockbench.checks.catalog import check
from dockbench.checks.common import load_data
from dockbench.checks.fixes import KernelSetting, fixable

KERNEL_FLAWS = "kernel-breakouts.yaml"
SELINUX_STATES = {None: "not enabled", "1": "enforcing", "0": "permissive"}

Version = tuple[int, int, int]


def parse_version(text: str) -> Version | None:
    """The leading x.y[.z] of a release string: "5.10.0-28-amd64" -> (5, 10, 0). A release
    candidate comes before its release: "6.8.0-rc1" -> (6, 8, -1)."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?(-rc\d+)?", text)
    if not match:
        return None
    patch = -1 if match[4] and not int(match[3] or 0) else int(match[3] or 0)
    return int(match[1]), int(match[2]), patch


@dataclass(frozen=True)
class Flaw:
    """One kernel flaw of the data table and the releases that carry its fix."""

    id: str
    name: str
    introduced: str
    fixed_mainline: str
    fixed: dict[str, str | None]
    complete: bool

    def verdict(self, version: Version) -> tuple[str, str]:
        """("affected" | "not affected" | "unknown", why) for an upstream kernel version."""
        if version < parse_version(self.introduced):
            return "not affected", f"introduced in {self.introduced}"
        if version >= parse_version(self.fixed_mainline):
            return "not affected", f"fixed in mainline {self.fixed_mainline}"
        branch = f"{version[0]}.{version[1]}"
        if branch in self.fixed:
            fix = self.fixed[branch]
            if fix is None:
                return "affected", f"the {branch} branch ended without the fix (fixed in mainline {self.fixed_mainline})"
            state = "not affected" if version >= parse_version(fix) else "affected"
            return state, f"fixed in {fix} on the {branch} branch"
        if self.complete:
            return "affected", f"the {branch} branch ended without the fix (fixed in mainline {self.fixed_mainline})"
        return "unknown", f"the table does not record the fix on the {branch} branch (fixed in mainline {self.fixed_mainline})"


@cache
def kernel_table() -> tuple[tuple[Flaw, ...], tuple[tuple[re.Pattern[str], str], ...]]:
    """The flaws, and the release-string patterns whose version says nothing about fixes."""
    data = load_data(KERNEL_FLAWS)
    flaws = tuple(
        Flaw(c["id"], c["name"], str(c["introduced"]), str(c["fixed_mainline"]), {str(b): v and str(v) for b, v in c["fixed"].items()}, bool(c["complete"]))
        for c in data["cves"]
    )
    return flaws, tuple((re.compile(u["pattern"]), u["what"]) for u in data["undecidable"])


@check(
    "host-kernel-known-breakouts",
    title="The kernel is not affected by known container-breakout flaws",
    layer=Layer.HOST_KERNEL,
    severity=Severity.CRITICAL,
    rationale="Containers share the host's kernel: a kernel privilege escalation such as Dirty Pipe lets any process in any container become root on the host.",
    remediation="Install the distribution's current kernel (or a stable release at or after the fixed one shown in the evidence) and reboot into it.",
)
def known_breakouts(facts: Facts) -> Outcome:
    release = facts.host.get("kernel")
    if not release:
        raise Undecidable("the kernel release was not collected (uname -r gave nothing)")
    flaws, undecidable = kernel_table()
    version = parse_version(release)
    if version is None:
        return manual(f"cannot read a version from the kernel release {release!r}: compare it with the flaws by hand", [Evidence("kernel", release)])
    vendor = next((what for pattern, what in undecidable if pattern.search(release)), None)
    if vendor:
        return _vendor_kernel(release, version, vendor, flaws)
    verdicts = [(flaw, *flaw.verdict(version)) for flaw in flaws]
    evidence = [Evidence("kernel", release)] + [Evidence(f"{flaw.id} ({flaw.name})", f"{state}: {why}") for flaw, state, why in verdicts]
    affected = [flaw.id for flaw, state, _ in verdicts if state == "affected"]
    unknown = [flaw.id for flaw, state, _ in verdicts if state == "unknown"]
    if affected:
        return failed(f"kernel {release} is affected by {', '.join(affected)}", evidence)
    if unknown:
        return manual(f"kernel {release}: the table cannot tell whether it carries the fix for {', '.join(unknown)}; check its changelog", evidence)
    return passed(f"kernel {release} is not affected by the {len(flaws)} container-breakout flaws in the table", evidence)


def _vendor_kernel(release: str, version: Version, vendor: str, flaws: tuple[Flaw, ...]) -> Outcome:
    """A vendor's version names its base, not its fixes: only a base past the mainline fix settles it."""
    base = f"{version[0]}.{version[1]}"
    # Backports can bring a flaw into a base older than its introduction too, so only the
    # mainline fix is a safe bound.
    open_flaws = [flaw for flaw in flaws if version < parse_version(flaw.fixed_mainline)]
    evidence = [Evidence("kernel", f"{release}: {vendor} based on {base}")]
    evidence += [Evidence(f"{flaw.id} ({flaw.name})", f"fixed in mainline {flaw.fixed_mainline}; ask the vendor which of its builds carries the fix") for flaw in open_flaws]
    if not open_flaws:
        return passed(f"kernel {release} is based on {base}, which already has the mainline fix of every flaw in the table", evidence)
    ids = ", ".join(flaw.id for flaw in open_flaws)
    return manual(f"kernel {release} is {vendor}: its version cannot show which fixes it carries; confirm with its vendor that it is fixed for {ids}", evidence)


@check(
    "host-user-namespaces-available",
    title="User namespaces are available",
    layer=Layer.HOST_KERNEL,
    severity=Severity.MEDIUM,
    rationale="User namespaces let the daemon (userns-remap) or a rootless daemon map root in a container to an unprivileged user on the host, so an escape lands without privileges.",
    remediation="Set user.max_user_namespaces to a positive number (e.g. 15000) in /etc/sysctl.d/ and load it with sysctl --system; set kernel.unprivileged_userns_clone=1 too if the daemon runs rootless.",
)
def user_namespaces(facts: Facts) -> Outcome:
    limit = facts.sysctl.get("user.max_user_namespaces")
    if limit is None:
        return not_applicable(
            "user.max_user_namespaces is not present: the kernel predates 4.9 or was built without user namespaces",
            [Evidence("user.max_user_namespaces", "absent")],
        )
    evidence = [Evidence("user.max_user_namespaces", limit)]
    clone = facts.sysctl.get("kernel.unprivileged_userns_clone")
    if clone is not None:
        evidence.append(Evidence("kernel.unprivileged_userns_clone", clone))
    if not limit.isdigit():
        raise Undecidable(f"user.max_user_namespaces could not be read (got {limit!r}): re-run with --sudo")
    if int(limit) == 0:
        return failed("user namespaces are disabled (user.max_user_namespaces=0): neither userns-remap nor a rootless daemon can work", evidence)
    if clone == "0":
        # Turning off unprivileged creation is itself hardening: root (and so userns-remap) keeps them.
        return passed(
            f"user namespaces are available to root (up to {limit} per user), so userns-remap works; "
            "unprivileged users may not create them (kernel.unprivileged_userns_clone=0), which only a rootless daemon needs",
            evidence,
        )
    return passed(f"user namespaces are available (up to {limit} per user)", evidence)


def lsm_evidence(facts: Facts) -> list[Evidence]:
    """What the probe saw of AppArmor and SELinux, and what the daemon reports when it answers."""
    selinux = facts.selinux
    evidence = [
        Evidence("AppArmor", "enabled (/sys/kernel/security/apparmor)" if facts.apparmor else "not enabled"),
        Evidence("SELinux", SELINUX_STATES.get(selinux, f"enforce={selinux!r}") + ("" if selinux is None else " (/sys/fs/selinux/enforce)")),
    ]
    if facts.docker_ok:
        evidence.append(Evidence("docker info SecurityOptions", facts.info.get("SecurityOptions") or []))
    return evidence


@check(
    "host-lsm-enabled",
    title="AppArmor or SELinux is enabled",
    layer=Layer.HOST_KERNEL,
    severity=Severity.HIGH,
    rationale="A mandatory access control module confines every container with a profile (docker-default, container_t), a second wall behind namespaces when a process breaks out.",
    remediation="Enable AppArmor (Debian, Ubuntu, SUSE) or SELinux in enforcing mode (RHEL, Fedora) on the kernel command line and in the distribution's configuration, then reboot.",
)
def lsm_enabled(facts: Facts) -> Outcome:
    reported = (facts.info.get("SecurityOptions") or []) if facts.docker_ok else []
    enabled = []
    if facts.apparmor or "name=apparmor" in reported:
        enabled.append("AppArmor")
    if facts.selinux == "1" or "name=selinux" in reported:
        enabled.append("SELinux (enforcing)" if facts.selinux == "1" else "SELinux")
    evidence = lsm_evidence(facts)
    if enabled:
        return passed(f"{' and '.join(enabled)} enabled", evidence)
    if facts.selinux == "0":
        return failed("SELinux is permissive (it logs violations but blocks none) and AppArmor is not enabled", evidence)
    return failed("neither AppArmor nor SELinux is enabled: containers run without a mandatory access control profile", evidence)


@check(
    "host-seccomp-available",
    title="Seccomp is available to confine containers' system calls",
    layer=Layer.HOST_KERNEL,
    severity=Severity.HIGH,
    rationale="Docker's default seccomp profile blocks dozens of system calls (keyctl, add_key, unshare, mount...) that kernel exploits and escapes rely on; without seccomp every container can make them.",
    remediation="Use a kernel built with CONFIG_SECCOMP and CONFIG_SECCOMP_FILTER (every mainstream distribution kernel is) and a dockerd built with seccomp support.",
)
def seccomp_available(facts: Facts) -> Outcome:
    """Decided from docker info when the daemon answers: it reports seccomp only when both the
    kernel supports filter mode and the daemon was built with it, which is what containers get.
    Otherwise from the kernel alone: a Seccomp line in /proc/self/status means it was built in."""
    kernel = facts.host.get("seccomp")
    evidence = [] if kernel is None else [Evidence("/proc/self/status", {"Seccomp": kernel["mode"], "Seccomp_filters": kernel["filters"]})]
    if facts.docker_ok:
        options = facts.info.get("SecurityOptions") or []
        evidence.insert(0, Evidence("docker info SecurityOptions", options))
        reported = [o for o in options if o.startswith("name=seccomp")]
        if reported:
            return passed(f"the daemon applies seccomp filters ({reported[0]})", evidence)
        return failed("the daemon reports no seccomp support: containers run without system call filtering", evidence)
    if kernel is None:
        raise Undecidable("neither docker info nor the kernel's seccomp status was collected: scan again with this version while the daemon runs")
    if kernel["mode"] is None:
        return failed("the kernel was built without seccomp: containers cannot be given system call filters", evidence)
    return passed("the kernel supports seccomp (the daemon did not answer, so its own support was not seen)", evidence)


@dataclass(frozen=True)
class Tunable:
    """A hardening sysctl, the id of its check, and the values that pass (the first is the one to set)."""

    id: str
    name: str
    allowed: tuple[str, ...]
    severity: Severity
    why: str
    impact: str = "Unprivileged programs lose access they should not have; privileged ones are not affected."


TUNABLES = [
    Tunable("host-sysctl-unprivileged-bpf-disabled", "kernel.unprivileged_bpf_disabled", ("1", "2"), Severity.HIGH,
            "Unprivileged BPF programs have been a steady source of kernel privilege escalations; only root should load them."),
    Tunable("host-sysctl-kptr-restrict", "kernel.kptr_restrict", ("1", "2"), Severity.MEDIUM,
            "Kernel addresses in /proc (kallsyms, modules) defeat KASLR and make kernel exploits from a container reliable."),
    Tunable("host-sysctl-dmesg-restrict", "kernel.dmesg_restrict", ("1",), Severity.LOW,
            "The kernel log leaks addresses and hardware details useful to an exploit; unprivileged users should not read it."),
    Tunable("host-sysctl-protected-symlinks", "fs.protected_symlinks", ("1",), Severity.MEDIUM,
            "Without it, symlinks in world-writable sticky directories (/tmp) can redirect a privileged process's writes."),
    Tunable("host-sysctl-protected-hardlinks", "fs.protected_hardlinks", ("1",), Severity.MEDIUM,
            "Without it, users can hard-link files they do not own (setuid binaries, configs) and keep them after updates."),
    Tunable("host-sysctl-randomize-va-space", "kernel.randomize_va_space", ("2",), Severity.MEDIUM,
            "Full address space layout randomisation makes memory corruption exploits guess where code and data live."),
    Tunable("host-sysctl-ptrace-scope", "kernel.yama.ptrace_scope", ("1", "2", "3"), Severity.LOW,
            "Yama limits ptrace to a process's own descendants, so one compromised process cannot read another's memory.",
            "Debuggers and tracers (gdb -p, strace -p) can no longer attach to processes they did not start, unless run as root."),
]


def sysctl_judge(tunable: Tunable) -> Callable[[Facts], Outcome]:
    """The check of one TUNABLES row: is the sysctl set to an allowed value?"""
    wanted = " or ".join(tunable.allowed)

    def judge(facts: Facts) -> Outcome:
        value = facts.sysctl.get(tunable.name)
        if value is None:
            return not_applicable(f"{tunable.name} is not present on this kernel", [Evidence(tunable.name, "absent")])
        if value == "":
            raise Undecidable(f"{tunable.name} exists but could not be read: re-run with --sudo")
        evidence = [Evidence(tunable.name, value)]
        if value in tunable.allowed:
            return passed(f"{tunable.name} is {value}", evidence)
        return failed(f"{tunable.name} is {value}, expected {wanted}", evidence)

    return judge


for _tunable in TUNABLES:
    check(
        _tunable.id,
        title=f"{_tunable.name} is {' or '.join(_tunable.allowed)}",
        layer=Layer.HOST_KERNEL,
        severity=_tunable.severity,
        rationale=_tunable.why,
        remediation=f"Set {_tunable.name} = {_tunable.allowed[0]} in a file under /etc/sysctl.d/ and load it with sysctl --system.",
    )(sysctl_judge(_tunable))
    fixable(_tunable.id, KernelSetting(_tunable.name, _tunable.allowed[0], _tunable.impact))


@check(
    "host-hardened",
    title="The container host has been hardened",
    layer=Layer.HOST_KERNEL,
    severity=Severity.MEDIUM,
    rationale="Every container shares the host's kernel and is only as safe as the host under it: an unpatched or loosely configured host undoes any container setting.",
    remediation="Harden the host against its operating system's own benchmark (e.g. the CIS benchmark for the distribution), keep it patched and run nothing on it but the container runtime.",
)
def hardened(facts: Facts) -> Outcome:
    """MANUAL by nature (CIS leaves it to the reviewer): the evidence is what a reviewer starts from."""
    host = facts.host
    evidence = [
        Evidence("kernel", " ".join(x for x in (host.get("kernel"), host.get("arch")) if x) or "not collected"),
        Evidence("operating system", (host.get("os") or {}).get("pretty_name") or "unknown (no os-release file)"),
        *lsm_evidence(facts),
        Evidence("kernel tunables", dict(sorted(facts.sysctl.items()))),
    ]
    return manual(
        "judge the host against its operating system's hardening benchmark; the kernel, security modules and tunables seen are listed "
        "(host-kernel-known-breakouts, host-lsm-enabled, host-seccomp-available and host-sysctl-* give verdicts on each)",
        evidence,
    )
