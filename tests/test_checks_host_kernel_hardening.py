"""Host hardening checks (CIS 1.2.1 and beyond CIS) on the recorded Debian 12 host, kernel
6.18.44-fc-v669: known kernel breakout flaws, user namespaces, AppArmor/SELinux, seccomp and
the hardening sysctls. Each case edits the recorded facts the way another host would look."""

from __future__ import annotations

import re

import pytest

from dockbench.benchmark.collect.probe import Record
from dockbench.benchmark.document.model import Status
from dockbench.checks.common import load_data
from dockbench.checks.host_kernel.hardening import TUNABLES, kernel_table, parse_version
from tests.recorded import build, docker_not_installed, docker_unreachable, judge, observed, recorded_records, recorded_snapshot

RECORDED_KERNEL = "6.18.44-fc-v669"
DIRTY_PIPE = "CVE-2022-0847 (Dirty Pipe, stale pipe buffer flags let writes reach read-only files)"
FS_CONTEXT = "CVE-2022-0185 (heap overflow in the fs_context legacy_parse_param)"
RELEASE_AGENT = "CVE-2022-0492 (cgroup v1 release_agent runs a program as root on the host)"
NF_TABLES = "CVE-2024-1086 (use-after-free in nf_tables verdicts)"
RECORDED_OPTIONS = ["name=seccomp,profile=default"]


def with_kernel(release):
    snap = recorded_snapshot()
    snap["host"]["kernel"] = release
    return snap


# --- the data table


def test_kernel_table_has_the_flaws_the_issue_names_with_branch_fixes_inside_their_branch():
    flaws, _ = kernel_table()
    assert [f.id for f in flaws] == ["CVE-2022-0847", "CVE-2022-0185", "CVE-2022-0492", "CVE-2024-1086"]
    for flaw in flaws:
        introduced, mainline = parse_version(flaw.introduced), parse_version(flaw.fixed_mainline)
        assert introduced < mainline
        for branch, fix in flaw.fixed.items():
            assert fix is None or fix.startswith(branch + "."), (flaw.id, branch, fix)
            assert fix is None or introduced < parse_version(fix) < mainline, (flaw.id, fix)


def test_kernel_table_facts_as_verified():
    flaws = {f.id: f for f in kernel_table()[0]}
    assert (flaws["CVE-2022-0847"].introduced, flaws["CVE-2022-0847"].fixed_mainline) == ("5.8", "5.17")
    assert flaws["CVE-2022-0847"].fixed == {"5.10": "5.10.102", "5.15": "5.15.25", "5.16": "5.16.11"}
    assert flaws["CVE-2022-0185"].fixed == {"5.4": "5.4.173", "5.10": "5.10.93", "5.15": "5.15.16", "5.16": "5.16.2"}
    assert flaws["CVE-2024-1086"].fixed == {"5.15": "5.15.149", "6.1": "6.1.76", "6.6": "6.6.15"}
    assert (flaws["CVE-2024-1086"].introduced, flaws["CVE-2024-1086"].fixed_mainline, flaws["CVE-2024-1086"].complete) == ("3.15", "6.8", False)


@pytest.mark.parametrize(
    "release, what",
    [
        ("5.10.0-28-amd64", "a Debian or Ubuntu build"),
        ("5.15.0-91-generic", "a Debian or Ubuntu build"),
        ("6.5.0-0.deb12.4-amd64", "a Debian or Ubuntu build"),
        ("4.18.0-513.el8.x86_64", "a Red Hat Enterprise Linux (or rebuild) kernel"),
        ("5.14.0-362.8.1.el9_3.x86_64", "a Red Hat Enterprise Linux (or rebuild) kernel"),
        ("5.15.0-200.131.27.el9uek.x86_64", "an Oracle Unbreakable Enterprise Kernel"),
        ("5.10.205-195.807.amzn2.x86_64", "an Amazon Linux kernel"),
        ("5.14.21-150500.55.39-default", "a SUSE Linux Enterprise kernel"),
        ("6.5.11-7-pve", "a Proxmox VE kernel"),
        ("6.8.0-rc1", "a release candidate"),
        ("6.18.44-fc-v669", None),
        ("6.7.4-arch1-1", None),
        ("6.1.21-v8+", None),
    ],
)
def test_kernel_table_release_patterns(release, what):
    found = next((w for pattern, w in kernel_table()[1] if pattern.search(release)), None)
    assert (found or "").startswith(what or "") and (found is None) == (what is None)


@pytest.mark.parametrize(
    "text, version",
    [("5.10.0-28-amd64", (5, 10, 0)), ("6.18.44-fc-v669", (6, 18, 44)), ("6.8", (6, 8, 0)), ("6.8.0-rc1", (6, 8, -1)), ("6.8-rc3", (6, 8, -1)), ("custom", None)],
)
def test_parse_version(text, version):
    assert parse_version(text) == version


# --- host-kernel-known-breakouts


def test_breakouts_recorded_kernel_is_past_every_fix():
    outcome = judge(recorded_snapshot(), "host-kernel-known-breakouts")
    assert outcome.status is Status.PASS
    assert outcome.message == f"kernel {RECORDED_KERNEL} is not affected by the 4 container-breakout flaws in the table"
    assert observed(outcome) == [
        ("kernel", RECORDED_KERNEL),
        (DIRTY_PIPE, "not affected: fixed in mainline 5.17"),
        (FS_CONTEXT, "not affected: fixed in mainline 5.17"),
        (RELEASE_AGENT, "not affected: fixed in mainline 5.17"),
        (NF_TABLES, "not affected: fixed in mainline 6.8"),
    ]


def test_breakouts_old_5_10_kernel_fails_naming_each_flaw_and_its_fix():
    outcome = judge(with_kernel("5.10.90"), "host-kernel-known-breakouts")
    assert outcome.status is Status.FAIL
    assert outcome.message == "kernel 5.10.90 is affected by CVE-2022-0847, CVE-2022-0185, CVE-2022-0492"
    assert observed(outcome) == [
        ("kernel", "5.10.90"),
        (DIRTY_PIPE, "affected: fixed in 5.10.102 on the 5.10 branch"),
        (FS_CONTEXT, "affected: fixed in 5.10.93 on the 5.10 branch"),
        (RELEASE_AGENT, "affected: fixed in 5.10.97 on the 5.10 branch"),
        (NF_TABLES, "unknown: the table does not record the fix on the 5.10 branch (fixed in mainline 6.8)"),
    ]


def test_breakouts_first_fixed_release_of_a_branch_passes():
    outcome = judge(with_kernel("5.15.149"), "host-kernel-known-breakouts")
    assert outcome.status is Status.PASS
    assert observed(outcome)[1:] == [
        (DIRTY_PIPE, "not affected: fixed in 5.15.25 on the 5.15 branch"),
        (FS_CONTEXT, "not affected: fixed in 5.15.16 on the 5.15 branch"),
        (RELEASE_AGENT, "not affected: fixed in 5.15.20 on the 5.15 branch"),
        (NF_TABLES, "not affected: fixed in 5.15.149 on the 5.15 branch"),
    ]


def test_breakouts_one_release_before_the_fix_fails():
    outcome = judge(with_kernel("5.15.148"), "host-kernel-known-breakouts")
    assert (outcome.status, outcome.message) == (Status.FAIL, "kernel 5.15.148 is affected by CVE-2024-1086")
    assert observed(outcome)[4] == (NF_TABLES, "affected: fixed in 5.15.149 on the 5.15 branch")


def test_breakouts_branch_that_ended_without_the_fix_is_affected():
    outcome = judge(with_kernel("5.13.19"), "host-kernel-known-breakouts")
    assert outcome.status is Status.FAIL
    assert outcome.message == "kernel 5.13.19 is affected by CVE-2022-0847, CVE-2022-0185"
    assert observed(outcome)[1:3] == [
        (DIRTY_PIPE, "affected: the 5.13 branch ended without the fix (fixed in mainline 5.17)"),
        (FS_CONTEXT, "affected: the 5.13 branch ended without the fix (fixed in mainline 5.17)"),
    ]


def test_breakouts_kernel_older_than_a_flaw_is_not_affected_by_it_and_unrecorded_branches_need_a_person():
    outcome = judge(with_kernel("4.19.300"), "host-kernel-known-breakouts")
    assert outcome.status is Status.MANUAL
    assert outcome.message == "kernel 4.19.300: the table cannot tell whether it carries the fix for CVE-2022-0492, CVE-2024-1086; check its changelog"
    assert observed(outcome)[1:3] == [(DIRTY_PIPE, "not affected: introduced in 5.8"), (FS_CONTEXT, "not affected: introduced in 5.1")]


@pytest.mark.parametrize(
    "release, what, base, ids",
    [
        ("5.10.0-28-amd64", "a Debian or Ubuntu build (its ABI name hides the upstream patch level)", "5.10", ["CVE-2022-0847", "CVE-2022-0185", "CVE-2022-0492", "CVE-2024-1086"]),
        ("4.18.0-513.el8.x86_64", "a Red Hat Enterprise Linux (or rebuild) kernel", "4.18", ["CVE-2022-0847", "CVE-2022-0185", "CVE-2022-0492", "CVE-2024-1086"]),
        ("6.1.0-18-amd64", "a Debian or Ubuntu build (its ABI name hides the upstream patch level)", "6.1", ["CVE-2024-1086"]),
        ("6.8.0-rc1", "a release candidate", "6.8", ["CVE-2024-1086"]),
    ],
)
def test_breakouts_vendor_kernels_cannot_be_decided_by_version(release, what, base, ids):
    outcome = judge(with_kernel(release), "host-kernel-known-breakouts")
    assert outcome.status is Status.MANUAL
    assert outcome.message == f"kernel {release} is {what}: its version cannot show which fixes it carries; confirm with its vendor that it is fixed for {', '.join(ids)}"
    assert observed(outcome)[0] == ("kernel", f"{release}: {what} based on {base}")
    assert [subject.split()[0] for subject, _ in observed(outcome)[1:]] == ids


def test_breakouts_vendor_kernel_based_past_every_mainline_fix_passes():
    outcome = judge(with_kernel("6.8.0-45-generic"), "host-kernel-known-breakouts")
    assert outcome.status is Status.PASS
    assert outcome.message == "kernel 6.8.0-45-generic is based on 6.8, which already has the mainline fix of every flaw in the table"
    assert observed(outcome) == [("kernel", "6.8.0-45-generic: a Debian or Ubuntu build (its ABI name hides the upstream patch level) based on 6.8")]


def test_breakouts_unreadable_release_is_manual():
    outcome = judge(with_kernel("custom-build"), "host-kernel-known-breakouts")
    assert (outcome.status, observed(outcome)) == (Status.MANUAL, [("kernel", "custom-build")])
    assert outcome.message == "cannot read a version from the kernel release 'custom-build': compare it with the flaws by hand"


def test_breakouts_without_a_kernel_release_cannot_decide():
    outcome = judge(with_kernel(None), "host-kernel-known-breakouts")
    assert (outcome.status, outcome.message) == (Status.ERROR, "the kernel release was not collected (uname -r gave nothing)")


# --- host-user-namespaces-available


def test_userns_recorded_host_has_user_namespaces():
    outcome = judge(recorded_snapshot(), "host-user-namespaces-available")
    assert (outcome.status, outcome.message) == (Status.PASS, "user namespaces are available (up to 9 per user)")
    assert observed(outcome) == [("user.max_user_namespaces", "9")]


def test_userns_disabled_fails():
    snap = recorded_snapshot()
    snap["sysctl"]["user.max_user_namespaces"] = "0"
    outcome = judge(snap, "host-user-namespaces-available")
    assert outcome.status is Status.FAIL
    assert outcome.message == "user namespaces are disabled (user.max_user_namespaces=0): neither userns-remap nor a rootless daemon can work"
    assert observed(outcome) == [("user.max_user_namespaces", "0")]


def test_userns_unprivileged_creation_off_still_serves_userns_remap():
    snap = recorded_snapshot()
    snap["sysctl"]["kernel.unprivileged_userns_clone"] = "0"
    outcome = judge(snap, "host-user-namespaces-available")
    assert outcome.status is Status.PASS
    assert outcome.message.startswith("user namespaces are available to root (up to 9 per user), so userns-remap works;")
    assert observed(outcome) == [("user.max_user_namespaces", "9"), ("kernel.unprivileged_userns_clone", "0")]


def test_userns_limit_absent_is_not_applicable():
    snap = recorded_snapshot()
    del snap["sysctl"]["user.max_user_namespaces"]
    outcome = judge(snap, "host-user-namespaces-available")
    assert outcome.status is Status.NOT_APPLICABLE
    assert observed(outcome) == [("user.max_user_namespaces", "absent")]


def test_userns_unreadable_limit_cannot_decide():
    snap = recorded_snapshot()
    snap["sysctl"]["user.max_user_namespaces"] = ""
    outcome = judge(snap, "host-user-namespaces-available")
    assert (outcome.status, outcome.message) == (Status.ERROR, "user.max_user_namespaces could not be read (got ''): re-run with --sudo")


# --- host-lsm-enabled


def test_lsm_recorded_host_has_neither():
    outcome = judge(recorded_snapshot(), "host-lsm-enabled")
    assert outcome.status is Status.FAIL
    assert outcome.message == "neither AppArmor nor SELinux is enabled: containers run without a mandatory access control profile"
    assert observed(outcome) == [("AppArmor", "not enabled"), ("SELinux", "not enabled"), ("docker info SecurityOptions", RECORDED_OPTIONS)]


def test_lsm_apparmor_passes():
    snap = recorded_snapshot()
    snap["lsm"]["apparmor"] = True
    outcome = judge(snap, "host-lsm-enabled")
    assert (outcome.status, outcome.message) == (Status.PASS, "AppArmor enabled")
    assert observed(outcome)[0] == ("AppArmor", "enabled (/sys/kernel/security/apparmor)")


def test_lsm_selinux_enforcing_passes():
    snap = recorded_snapshot()
    snap["lsm"]["selinux"] = "1"
    outcome = judge(snap, "host-lsm-enabled")
    assert (outcome.status, outcome.message) == (Status.PASS, "SELinux (enforcing) enabled")
    assert observed(outcome)[1] == ("SELinux", "enforcing (/sys/fs/selinux/enforce)")


def test_lsm_selinux_permissive_fails():
    snap = recorded_snapshot()
    snap["lsm"]["selinux"] = "0"
    outcome = judge(snap, "host-lsm-enabled")
    assert (outcome.status, outcome.message) == (Status.FAIL, "SELinux is permissive (it logs violations but blocks none) and AppArmor is not enabled")
    assert observed(outcome)[1] == ("SELinux", "permissive (/sys/fs/selinux/enforce)")


def test_lsm_daemon_report_counts_when_the_probe_could_not_see_securityfs():
    snap = recorded_snapshot()
    snap["docker"]["info"]["SecurityOptions"] = ["name=apparmor", *RECORDED_OPTIONS]
    outcome = judge(snap, "host-lsm-enabled")
    assert (outcome.status, outcome.message) == (Status.PASS, "AppArmor enabled")
    assert observed(outcome) == [("AppArmor", "not enabled"), ("SELinux", "not enabled"), ("docker info SecurityOptions", ["name=apparmor", *RECORDED_OPTIONS])]


def test_lsm_decided_without_the_daemon():
    snap = docker_unreachable(recorded_snapshot())
    snap["lsm"]["apparmor"] = True
    outcome = judge(snap, "host-lsm-enabled")
    assert (outcome.status, observed(outcome)) == (Status.PASS, [("AppArmor", "enabled (/sys/kernel/security/apparmor)"), ("SELinux", "not enabled")])


# --- host-seccomp-available


def test_seccomp_recorded_daemon_applies_filters():
    outcome = judge(recorded_snapshot(), "host-seccomp-available")
    assert (outcome.status, outcome.message) == (Status.PASS, "the daemon applies seccomp filters (name=seccomp,profile=default)")
    assert observed(outcome) == [("docker info SecurityOptions", RECORDED_OPTIONS), ("/proc/self/status", {"Seccomp": "0", "Seccomp_filters": "0"})]


def test_seccomp_daemon_without_seccomp_fails():
    snap = recorded_snapshot()
    snap["docker"]["info"]["SecurityOptions"] = ["name=cgroupns"]
    outcome = judge(snap, "host-seccomp-available")
    assert (outcome.status, outcome.message) == (Status.FAIL, "the daemon reports no seccomp support: containers run without system call filtering")
    assert observed(outcome)[0] == ("docker info SecurityOptions", ["name=cgroupns"])


@pytest.mark.parametrize("docker_state", [docker_unreachable, docker_not_installed])
def test_seccomp_from_the_kernel_when_the_daemon_does_not_answer(docker_state):
    outcome = judge(docker_state(recorded_snapshot()), "host-seccomp-available")
    assert (outcome.status, outcome.message) == (Status.PASS, "the kernel supports seccomp (the daemon did not answer, so its own support was not seen)")
    assert observed(outcome) == [("/proc/self/status", {"Seccomp": "0", "Seccomp_filters": "0"})]


def test_seccomp_kernel_without_seccomp_fails():
    snap = docker_unreachable(recorded_snapshot())
    snap["host"]["seccomp"] = {"mode": None, "filters": None}
    outcome = judge(snap, "host-seccomp-available")
    assert (outcome.status, outcome.message) == (Status.FAIL, "the kernel was built without seccomp: containers cannot be given system call filters")


def test_seccomp_undecidable_without_either_fact():
    snap = docker_unreachable(recorded_snapshot())
    snap["host"]["seccomp"] = None
    outcome = judge(snap, "host-seccomp-available")
    assert outcome.status is Status.ERROR
    assert outcome.message.startswith("neither docker info nor the kernel's seccomp status was collected")


@pytest.mark.parametrize(
    "record, parsed",
    [
        (None, None),  # an older probe did not look
        (Record(b"", 0), {"mode": None, "filters": None}),  # the kernel printed no Seccomp line
        (Record(b"Seccomp:\t2\n", 0), {"mode": "2", "filters": None}),  # before Linux 5.9, inside a container
        (Record(b"Seccomp:\t0\nSeccomp_filters:\t0\n", 0), {"mode": "0", "filters": "0"}),
    ],
)
def test_seccomp_fact_parsed_from_the_probe_record(record, parsed):
    records = recorded_records()
    del records["kernel:seccomp"]
    if record is not None:
        records["kernel:seccomp"] = record
    assert build(records)["host"]["seccomp"] == parsed


# --- host-sysctl-*

RECORDED_SYSCTL = {
    "kernel.unprivileged_bpf_disabled": "2",
    "kernel.kptr_restrict": "0",
    "kernel.dmesg_restrict": "1",
    "fs.protected_symlinks": "0",
    "fs.protected_hardlinks": "1",
    "kernel.randomize_va_space": "2",
    "kernel.yama.ptrace_scope": None,  # no Yama on the recorded kernel
}


def test_sysctl_table_ids_and_values():
    assert [(t.id, t.name, t.allowed) for t in TUNABLES] == [
        ("host-sysctl-unprivileged-bpf-disabled", "kernel.unprivileged_bpf_disabled", ("1", "2")),
        ("host-sysctl-kptr-restrict", "kernel.kptr_restrict", ("1", "2")),
        ("host-sysctl-dmesg-restrict", "kernel.dmesg_restrict", ("1",)),
        ("host-sysctl-protected-symlinks", "fs.protected_symlinks", ("1",)),
        ("host-sysctl-protected-hardlinks", "fs.protected_hardlinks", ("1",)),
        ("host-sysctl-randomize-va-space", "kernel.randomize_va_space", ("2",)),
        ("host-sysctl-ptrace-scope", "kernel.yama.ptrace_scope", ("1", "2", "3")),
    ]


@pytest.mark.parametrize("tunable", TUNABLES, ids=lambda t: t.id)
def test_sysctl_recorded_host(tunable):
    value = RECORDED_SYSCTL[tunable.name]
    outcome = judge(recorded_snapshot(), tunable.id)
    if value is None:
        assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, f"{tunable.name} is not present on this kernel")
        assert observed(outcome) == [(tunable.name, "absent")]
    elif value in tunable.allowed:
        assert (outcome.status, outcome.message, observed(outcome)) == (Status.PASS, f"{tunable.name} is {value}", [(tunable.name, value)])
    else:
        assert (outcome.status, observed(outcome)) == (Status.FAIL, [(tunable.name, value)])
        assert outcome.message == f"{tunable.name} is {value}, expected {' or '.join(tunable.allowed)}"


@pytest.mark.parametrize("tunable", TUNABLES, ids=lambda t: t.id)
@pytest.mark.parametrize("allowed", [True, False])
def test_sysctl_each_value(tunable, allowed):
    snap = recorded_snapshot()
    value = tunable.allowed[-1] if allowed else "0"
    snap["sysctl"][tunable.name] = value
    outcome = judge(snap, tunable.id)
    assert outcome.status is (Status.PASS if allowed else Status.FAIL)
    assert observed(outcome) == [(tunable.name, value)]


def test_sysctl_absent_is_not_applicable_not_a_pass():
    snap = recorded_snapshot()
    del snap["sysctl"]["kernel.kptr_restrict"]
    outcome = judge(snap, "host-sysctl-kptr-restrict")
    assert (outcome.status, outcome.message) == (Status.NOT_APPLICABLE, "kernel.kptr_restrict is not present on this kernel")


def test_sysctl_unreadable_value_cannot_decide():
    snap = recorded_snapshot()
    snap["sysctl"]["kernel.dmesg_restrict"] = ""
    outcome = judge(snap, "host-sysctl-dmesg-restrict")
    assert (outcome.status, outcome.message) == (Status.ERROR, "kernel.dmesg_restrict exists but could not be read: re-run with --sudo")


# --- host-hardened (CIS 1.2.1)


def test_hardened_recorded_host_lists_what_a_reviewer_starts_from():
    outcome = judge(recorded_snapshot(), "host-hardened")
    assert outcome.status is Status.MANUAL
    assert outcome.message.startswith("judge the host against its operating system's hardening benchmark")
    assert observed(outcome) == [
        ("kernel", f"{RECORDED_KERNEL} x86_64"),
        ("operating system", "Debian GNU/Linux 12 (bookworm)"),
        ("AppArmor", "not enabled"),
        ("SELinux", "not enabled"),
        ("docker info SecurityOptions", RECORDED_OPTIONS),
        (
            "kernel tunables",
            {
                "fs.protected_fifos": "0",
                "fs.protected_hardlinks": "1",
                "fs.protected_regular": "0",
                "fs.protected_symlinks": "0",
                "kernel.dmesg_restrict": "1",
                "kernel.kptr_restrict": "0",
                "kernel.randomize_va_space": "2",
                "kernel.unprivileged_bpf_disabled": "2",
                "net.ipv4.ip_forward": "1",
                "user.max_user_namespaces": "9",
            },
        ),
    ]


def test_hardened_without_os_release_or_daemon():
    snap = docker_unreachable(recorded_snapshot())
    snap["host"]["os"] = {}
    snap["lsm"]["selinux"] = "1"
    outcome = judge(snap, "host-hardened")
    assert outcome.status is Status.MANUAL
    assert observed(outcome)[1:4] == [
        ("operating system", "unknown (no os-release file)"),
        ("AppArmor", "not enabled"),
        ("SELinux", "enforcing (/sys/fs/selinux/enforce)"),
    ]


def test_data_tables_load_as_yaml():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(load_data("docker-engine-lifecycle.yaml")["checked"]))
    assert load_data("kernel-breakouts.yaml")["cves"]
