"""Daemon-wide isolation and accountability (CIS 2.1, 2.8-2.13, 2.17): rootless mode, user
namespaces, seccomp, authorization plugins and remote logging, and the settings only a reviewer
can weigh (default ulimits, cgroup parent, devicemapper base size).

The live daemon's `docker info` decides wherever it reports a setting, since it shows what is
in force; its command line and daemon.json decide otherwise (the daemon down, or a --root scan).
"""

from __future__ import annotations

from dockbench.benchmark.document.model import (
    Evidence,
    Layer,
    Outcome,
    Severity,
    Undecidable,
    failed,
    manual,
    not_applicable,
    passed,
)
from dockbench.benchmark.judge.facts import Facts
from dockbench.checks.catalog import check
from dockbench.checks.daemon_config.options import configured
from dockbench.checks.fixes import DaemonSetting, fixable

DEFAULT_SECCOMP_NAMES = ("builtin", "default")  # Docker 23+ / before 23
LOCAL_LOG_DRIVERS = ("json-file", "local")
HOST_LOG_DRIVERS = ("syslog", "journald")


def _security_options(facts: Facts) -> Evidence:
    return Evidence("docker info SecurityOptions", facts.info.get("SecurityOptions") or [])


def _configured_list(facts: Facts, key: str, flag: str) -> tuple[list, Evidence]:
    """A list option (daemon.json array or repeated flag) and the evidence of where it is set."""
    option = facts.daemon_option(key, flag=flag, many=True)
    if option is None:
        return [], Evidence(key, "not set")
    values = option.value if isinstance(option.value, list) else [option.value]
    return values, Evidence(key, f"{values!r} ({option.source})")


def _daemon_user(facts: Facts) -> tuple[str | None, Evidence | None]:
    """Who the daemon runs as, from its process or its service unit, when neither answers for it."""
    daemon = facts.daemon
    if not daemon:
        return None, None
    if daemon.get("uid") is not None:
        return facts.daemon_user, Evidence(daemon.get("source") or "dockerd process", f"runs as {facts.daemon_user} (uid {daemon['uid']})")
    return facts.daemon_user, Evidence(daemon["source"], f"User={facts.daemon_user}")


@check(
    "daemon-rootless",
    title="The Docker daemon runs as a non-root user (rootless mode) where possible",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.MEDIUM,
    rationale="A rootless daemon and its containers hold only an ordinary user's privileges: a container escape does not yield root on the host.",
    remediation="Where the workloads allow it (no --privileged, no host devices), install Docker in rootless mode (dockerd-rootless-setuptool.sh) "
    "and run the daemon as a dedicated user.",
)
def rootless(facts: Facts) -> Outcome:
    if facts.docker_ok:
        evidence = [_security_options(facts)]
        if facts.rootless:
            return passed("the daemon runs rootless", evidence)
        return manual("the daemon runs as root: rootless mode is advised where the workloads allow it; record why it is not used", evidence)
    user, evidence = _daemon_user(facts)
    if user is None:
        if facts.docker["status"] == "not_installed":
            return not_applicable("Docker is not installed on this host")
        raise Undecidable("the daemon did not answer and no dockerd process or docker.service was found: cannot tell who it runs as")
    if user not in ("root", "0"):
        return passed(f"the daemon runs as {user}, not root", [evidence])
    return manual("the daemon runs as root: rootless mode is advised where the workloads allow it; record why it is not used", [evidence])


def _ulimit_text(value) -> str:
    """"nofile=1024:2048" from a daemon.json entry ({"Name", "Soft", "Hard"}) or a flag value."""
    if isinstance(value, dict):
        return f"{value.get('Name')}={value.get('Soft')}:{value.get('Hard')}"
    return str(value)


@check(
    "daemon-default-ulimits",
    title="Default container ulimits are configured appropriately",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.LOW,
    rationale="Default ulimits (open files, processes) bound what one container can take from the host unless it is given its own limits.",
    remediation='Set "default-ulimits" in daemon.json (e.g. {"nofile": {"Name": "nofile", "Soft": 64000, "Hard": 64000}}) to values that suit the workloads.',
)
def default_ulimits(facts: Facts) -> Outcome:
    option = facts.daemon_option("default-ulimits", flag="default-ulimit", many=True)
    if option is None:
        return manual(
            "no default ulimits are set: containers inherit the daemon's own limits; confirm those suit the host or set default-ulimits",
            [Evidence("default-ulimits", "not set")],
        )
    values = option.value.values() if isinstance(option.value, dict) else option.value if isinstance(option.value, list) else [option.value]
    limits = [_ulimit_text(v) for v in values]
    return manual(f"default ulimits are set ({', '.join(limits)}): confirm they suit the workloads", [Evidence("default-ulimits", f"{limits} ({option.source})")])


@check(
    "daemon-userns-remap",
    title="User namespace remapping is enabled",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.MEDIUM,
    rationale="Without user namespaces, root in a container is root on the host: any escape starts with full privileges.",
    remediation='Set "userns-remap": "default" in daemon.json (Docker creates the dockremap user and its subordinate ids), or run the daemon rootless.',
)
def userns_remap(facts: Facts) -> Outcome:
    if facts.docker_ok:
        evidence = [_security_options(facts)]
        if any(opt.startswith("name=userns") for opt in facts.info.get("SecurityOptions") or []):
            return passed("containers run in a remapped user namespace", evidence)
        if facts.rootless:
            return passed("the rootless daemon and its containers run in the daemon user's namespace", evidence)
        return failed("root in a container is root on the host: user namespace remapping is off", evidence)
    option = facts.daemon_option("userns-remap")
    if option is not None and option.value:
        return passed("user namespace remapping is configured", [Evidence("userns-remap", f"{option.value!r} ({option.source})")])
    user, user_evidence = _daemon_user(facts)
    if user not in (None, "root", "0"):
        return passed(f"the daemon runs as {user}: containers share its unprivileged user namespace", [user_evidence])
    return failed("root in a container is root on the host: user namespace remapping is not configured", [Evidence("userns-remap", "not set")])


@check(
    "daemon-cgroup-parent",
    title="The default cgroup parent for containers is confirmed",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.LOW,
    rationale="The cgroup parent decides which resource limits containers fall under; a custom one should be deliberate.",
    remediation='Leave "cgroup-parent" unset unless containers must sit under a specific, sized cgroup.',
)
def cgroup_parent(facts: Facts) -> Outcome:
    option = facts.daemon_option("cgroup-parent")
    driver = [Evidence("docker info", f"CgroupDriver={facts.info.get('CgroupDriver')}")] if facts.docker_ok else []
    if option is None or not option.value:
        return passed("containers use the daemon's default cgroup parent", [Evidence("cgroup-parent", "not set (default)")] + driver)
    return manual(
        f"containers are placed under cgroup parent {option.value!r}: confirm that cgroup and its limits are intended",
        [Evidence("cgroup-parent", f"{option.value!r} ({option.source})")] + driver,
    )


@check(
    "daemon-storage-base-size",
    title="The devicemapper base device size is not changed until needed",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.LOW,
    rationale="A larger base device lets every container grow its filesystem further, and the thin pool can fill up and stop all containers.",
    remediation="Remove dm.basesize from storage-opts unless containers need the larger size; better, move off devicemapper (removed in Docker 25).",
)
def storage_base_size(facts: Facts) -> Outcome:
    opts, opts_evidence = _configured_list(facts, "storage-opts", "storage-opt")
    basesize = [o for o in opts if isinstance(o, str) and o.split("=", 1)[0].strip().lower() == "dm.basesize"]
    if facts.docker_ok:
        driver = facts.info.get("Driver")
        evidence = [Evidence("docker info", f"Driver={driver}"), opts_evidence]
        status = dict(tuple(pair) for pair in facts.info.get("DriverStatus") or [] if len(pair) == 2)
        if "Base Device Size" in status:
            evidence.append(Evidence("docker info DriverStatus", f"Base Device Size={status['Base Device Size']}"))
    else:
        driver, driver_evidence = configured(facts, "storage-driver", None)
        evidence = [driver_evidence, opts_evidence]
        if driver is None and basesize:
            driver = "devicemapper"  # the daemon did not say; dm.* options only mean something there
    if driver != "devicemapper":
        return not_applicable(f"the storage driver is {driver or 'not known'}: a base device size applies to devicemapper only", evidence)
    if not basesize:
        return passed("devicemapper keeps its default base device size", evidence)
    return manual(f"the base device size is changed ({', '.join(basesize)}): confirm containers need it", evidence)


@check(
    "daemon-authorization-plugin",
    title="An authorization plugin controls Docker client commands",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.MEDIUM,
    rationale="Without an authorization plugin, anyone who can reach the daemon's socket may run any command, including privileged containers.",
    remediation='Install an authorization plugin (e.g. Open Policy Agent\'s opa-docker-authz) and list it in "authorization-plugins" in daemon.json.',
)
def authorization_plugin(facts: Facts) -> Outcome:
    wanted, wanted_evidence = _configured_list(facts, "authorization-plugins", "authorization-plugin")
    if facts.docker_ok:
        active = (facts.info.get("Plugins") or {}).get("Authorization") or []
        evidence = [Evidence("docker info Plugins.Authorization", active), wanted_evidence]
        if active:
            return passed(f"authorization plugins in force: {', '.join(active)}", evidence)
        if wanted:
            return failed("authorization plugins are configured but the daemon runs none: restart it to load them", evidence)
        return failed("no authorization plugin: every client of the daemon may run any command", evidence)
    if wanted:
        return passed(f"authorization plugins are configured: {', '.join(map(str, wanted))}", [wanted_evidence])
    return failed("no authorization plugin is configured: every client of the daemon may run any command", [wanted_evidence])


@check(
    "daemon-remote-logging",
    title="Container logs are sent to a central or remote log service",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.LOW,
    rationale="Logs kept only on the host are lost with it and can be altered by whoever takes it over; a central copy survives for the investigation.",
    remediation='Set "log-driver" in daemon.json to a shipping driver (syslog with syslog-address, journald with forwarding, fluentd, gelf, splunk, awslogs...).',
)
def remote_logging(facts: Facts) -> Outcome:
    if facts.docker_ok:
        driver = facts.info.get("LoggingDriver")
        evidence = [Evidence("docker info", f"LoggingDriver={driver}")]
    else:
        driver, driver_evidence = configured(facts, "log-driver", "json-file")
        evidence = [driver_evidence]
    if driver in LOCAL_LOG_DRIVERS:
        return failed(f"container logs stay in files on this host ({driver})", evidence)
    if driver == "none":
        return failed("container logs are discarded (log driver none)", evidence)
    if driver in HOST_LOG_DRIVERS:
        return passed(f"container logs go to the host's {driver}, the usual point of forwarding: make sure it forwards them", evidence)
    return passed(f"container logs go to the {driver} log driver", evidence)


def _seccomp_profile(facts: Facts) -> tuple[str | None, Evidence]:
    """The daemon-wide seccomp profile: docker info's "name=seccomp,profile=X", else the configuration."""
    if facts.docker_ok:
        entry = next((o for o in facts.info.get("SecurityOptions") or [] if o.startswith("name=seccomp")), None)
        if entry is None:
            return None, _security_options(facts)
        fields = dict(part.split("=", 1) for part in entry.split(",") if "=" in part)
        return fields.get("profile", "builtin"), Evidence("docker info SecurityOptions", entry)
    option = facts.daemon_option("seccomp-profile")
    if option is None or not option.value:
        return "builtin", Evidence("seccomp-profile", "not set (the default profile)")
    return option.value, Evidence("seccomp-profile", f"{option.value!r} ({option.source})")


@check(
    "daemon-seccomp-profile",
    title="A daemon-wide custom seccomp profile is applied if appropriate",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.MEDIUM,
    rationale="The seccomp profile limits the system calls containers may make, and so the kernel surface they can attack.",
    remediation='Keep the default profile at least; where workloads allow a tighter list, set "seccomp-profile" in daemon.json to a custom profile. Never "unconfined".',
)
def seccomp_profile(facts: Facts) -> Outcome:
    profile, evidence = _seccomp_profile(facts)
    if profile is None:
        return failed("the daemon reports no seccomp support: containers run without system call filtering", [evidence])
    if profile == "unconfined":
        return failed("containers run without a seccomp profile by default (unconfined)", [evidence])
    if profile in DEFAULT_SECCOMP_NAMES:
        return manual(
            f"Docker's default seccomp profile is in force ({profile!r}): decide whether the workloads call for a tighter custom profile",
            [evidence],
        )
    return passed(f"a custom daemon-wide seccomp profile is in force: {profile}", [evidence])


fixable("daemon-userns-remap", DaemonSetting({"userns-remap": "default"}, "Existing images, containers and volumes are hidden until they are "
        "pulled or re-created under the remapped root; bind mounts need their owners shifted.", safe=False))
