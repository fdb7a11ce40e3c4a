"""Daemon-wide settings (CIS 2.x): read from the running daemon where it reports them,
else from its command line and daemon.json, with the daemon's default when neither sets them."""

from __future__ import annotations

from typing import Any

from dockbench.benchmark.document.model import Evidence, Layer, Outcome, Severity, Undecidable, failed, not_applicable, passed
from dockbench.benchmark.judge.facts import Facts
from dockbench.checks.catalog import check
from dockbench.checks.fixes import DaemonSetting, fixable

DEFAULT_BRIDGE_OPTION = "com.docker.network.bridge.default_bridge"
ICC_OPTION = "com.docker.network.bridge.enable_icc"


def in_swarm(facts: Facts) -> bool:
    return facts.docker_ok and (facts.info.get("Swarm") or {}).get("LocalNodeState") == "active"


def configured(facts: Facts, key: str, default: Any) -> tuple[Any, Evidence]:
    """An option's value and the evidence of where it came from (or that the default applies)."""
    option = facts.daemon_option(key)
    if option is None:
        return default, Evidence(key, f"{default!r} (not set: daemon default)")
    return option.value, Evidence(key, f"{option.value!r} ({option.source})")


def judge_option(facts: Facts, key: str, default: Any, want: Any, bad_message: str, good_message: str) -> Outcome:
    value, evidence = configured(facts, key, default)
    if value == want:
        return passed(good_message, [evidence])
    return failed(bad_message, [evidence])


@check(
    "daemon-config-valid",  # the INVALID_CONFIG_FINDING that Facts.daemon_option points at
    title="The daemon's configuration file parses as daemon configuration",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.HIGH,
    rationale="dockerd refuses to start with a daemon.json it cannot parse, so the next restart (an upgrade, a reboot) takes every container down; until then nobody can tell which settings it holds.",
    remediation="Fix the file at the place the evidence names (check it with `python3 -m json.tool FILE` or `dockerd --validate --config-file FILE`), then restart the daemon while someone watches.",
)
def config_valid(facts: Facts) -> Outcome:
    """The one finding for an unparseable daemon.json; the checks that read options from it
    point here instead of each repeating the parse error."""
    config = facts.daemon_config
    path, state = config["path"], config["state"]
    if state == "invalid":
        return failed(f"{path} cannot be parsed: dockerd will refuse to start with it after a restart", [Evidence(path, config["error"])])
    if state == "present":
        return passed(f"{path} parses as daemon configuration", [Evidence(path, f"{len(config['data'] or {})} options set")])
    if state in ("absent", "not_collected"):
        return not_applicable(f"there is no {path}: the daemon runs on its flags and defaults", [Evidence(path, state.replace("_", " "))])
    if state == "unreadable":
        raise Undecidable(f"cannot read {path} ({config['error']}): re-run with --sudo or as root")
    raise Undecidable(config["error"] or f"{path}: {state}")


@check(
    "daemon-icc-disabled",
    title="Containers on the default bridge cannot talk to each other",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.MEDIUM,
    rationale="With inter-container communication on, any container on docker0 can reach every other one's ports.",
    remediation='Set "icc": false in daemon.json and use user-defined networks for containers that must talk.',
)
def icc_disabled(facts: Facts) -> Outcome:
    if facts.docker_ok:
        bridges = [n for n in facts.networks if (n.get("Options") or {}).get(DEFAULT_BRIDGE_OPTION) == "true"]
        if not bridges:
            return not_applicable("the daemon has no default bridge network (bridge: none)")
        icc = (bridges[0].get("Options") or {}).get(ICC_OPTION, "true")
        evidence = [Evidence(f"network {bridges[0].get('Name')}", f"{ICC_OPTION}={icc}", "network", str(bridges[0].get("Id") or ""))]
        if icc == "false":
            return passed("inter-container communication is off on the default bridge", evidence)
        return failed("inter-container communication is on for the default bridge", evidence)
    return judge_option(facts, "icc", True, False, "icc is not disabled", "icc is disabled")


@check(
    "daemon-log-level-info",
    title="The daemon logs at level info (not debug)",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.LOW,
    rationale="info records the events an investigation needs; debug floods the logs and can record sensitive request data.",
    remediation='Remove --log-level/-D or set "log-level": "info" (and drop "debug": true) in daemon.json.',
)
def log_level_info(facts: Facts) -> Outcome:
    level, evidence = configured(facts, "log-level", "info")
    debug, debug_evidence = configured(facts, "debug", False)
    evidence = [evidence, debug_evidence]
    if facts.docker_ok and facts.info.get("Debug"):
        debug = True
        evidence.append(Evidence("docker info", "Debug=true"))
    if debug is True:
        return failed("the daemon runs in debug mode", evidence)
    if level != "info":
        return failed(f"log level is {level!r}, not 'info'", evidence)
    return passed("log level is info", evidence)


@check(
    "daemon-iptables-enabled",
    title="The daemon manages iptables rules",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.MEDIUM,
    rationale="With iptables off, published ports and container isolation depend on hand-written firewall rules.",
    remediation='Remove --iptables=false and "iptables": false from daemon.json.',
)
def iptables_enabled(facts: Facts) -> Outcome:
    return judge_option(facts, "iptables", True, True, "the daemon does not manage iptables", "the daemon manages iptables")


@check(
    "daemon-live-restore",
    title="Live restore is enabled",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.LOW,
    rationale="Containers keep running while the daemon is stopped or upgraded, so patching Docker needs no downtime.",
    remediation='Set "live-restore": true in daemon.json (not available with swarm mode).',
)
def live_restore(facts: Facts) -> Outcome:
    if facts.docker_ok and "LiveRestoreEnabled" in facts.info:
        evidence = [Evidence("docker info", f"LiveRestoreEnabled={str(facts.info['LiveRestoreEnabled']).lower()}")]
        if facts.info["LiveRestoreEnabled"]:
            return passed("live restore is enabled", evidence)
        return failed("live restore is disabled", evidence)
    return judge_option(facts, "live-restore", False, True, "live restore is not enabled", "live restore is enabled")


@check(
    "daemon-userland-proxy-disabled",
    title="The userland proxy is disabled",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.LOW,
    rationale="docker-proxy processes widen the attack surface; hairpin NAT in the kernel does the same job.",
    remediation='Set "userland-proxy": false in daemon.json.',
)
def userland_proxy_disabled(facts: Facts) -> Outcome:
    return judge_option(facts, "userland-proxy", True, False, "the userland proxy is enabled", "the userland proxy is disabled")


@check(
    "daemon-no-new-privileges",
    title="Containers cannot gain new privileges by default",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.MEDIUM,
    rationale="no-new-privileges stops setuid binaries inside a container from raising a process's privileges.",
    remediation='Set "no-new-privileges": true in daemon.json.',
)
def no_new_privileges(facts: Facts) -> Outcome:
    return judge_option(facts, "no-new-privileges", False, True, "no-new-privileges is not set daemon-wide", "no-new-privileges is set daemon-wide")


def judge_storage_driver(facts: Facts, bad: str) -> Outcome:
    """FAIL when the daemon uses `bad`: the driver it reports, else the one configured."""
    if facts.docker_ok:
        driver, evidence = facts.info.get("Driver"), Evidence("docker info", f"Driver={facts.info.get('Driver')}")
    else:
        driver, evidence = configured(facts, "storage-driver", None)
        if driver is None:
            return not_applicable("the daemon is unreachable and no storage driver is configured", [evidence])
    if driver == bad:
        return failed(f"the daemon uses {bad}", [evidence])
    return passed(f"the daemon uses {driver}", [evidence])


# Storage drivers not to use: (check id, driver, rationale, remediation)
UNWANTED_DRIVERS = [
    ("daemon-storage-driver-not-aufs", "aufs", "aufs is unmaintained, removed from current Docker releases and known to crash kernels.",
     'Switch to overlay2 ("storage-driver": "overlay2"), migrating images and volumes first.'),
    ("daemon-storage-driver-not-devicemapper", "devicemapper",
     "devicemapper is deprecated since Docker 18.09 and gone from Docker 25; in its default loop-lvm mode it is slow and can lose data when its thin pool fills.",
     'Switch to overlay2 ("storage-driver": "overlay2" in daemon.json, or remove --storage-driver devicemapper), migrating images and volumes first (docker save/load, volume backups).'),
]
for _id, _driver, _why, _fix in UNWANTED_DRIVERS:
    check(_id, title=f"The {_driver} storage driver is not used", layer=Layer.DAEMON_CONFIG, severity=Severity.MEDIUM, rationale=_why, remediation=_fix)(
        lambda facts, driver=_driver: judge_storage_driver(facts, driver)
    )


@check(
    "daemon-experimental-off",
    title="Experimental features are off",
    layer=Layer.DAEMON_CONFIG,
    severity=Severity.LOW,
    rationale="Experimental features are not covered by Docker's stability and security guarantees.",
    remediation='Remove --experimental and "experimental": true from daemon.json.',
)
def experimental_off(facts: Facts) -> Outcome:
    if facts.docker_ok and "ExperimentalBuild" in facts.info:
        evidence = [Evidence("docker info", f"ExperimentalBuild={str(facts.info['ExperimentalBuild']).lower()}")]
        if facts.info["ExperimentalBuild"]:
            return failed("experimental features are enabled", evidence)
        return passed("experimental features are off", evidence)
    return judge_option(facts, "experimental", False, False, "experimental features are enabled", "experimental features are off")


# How `dockbench fix` sets each of these in daemon.json, and what that costs.
fixable("daemon-icc-disabled", DaemonSetting({"icc": False}, "Containers that talk to each other over the default bridge (docker0) lose that path; "
        "put them on a user-defined network first.", safe=False))
fixable("daemon-log-level-info", DaemonSetting({"log-level": "info", "debug": False}, "The daemon logs less: debug messages stop."))
fixable("daemon-iptables-enabled", DaemonSetting({"iptables": True}, "dockerd rewrites the DOCKER chains at start: hand-written rules for container "
        "traffic may clash with the ones it adds.", safe=False))
fixable("daemon-live-restore", DaemonSetting({"live-restore": True}, "Containers keep running while the daemon stops; it cannot be combined with swarm mode.",
        refuse=lambda facts: "this node is in a swarm, and live-restore cannot be combined with swarm mode" if in_swarm(facts) else None))
fixable("daemon-userland-proxy-disabled", DaemonSetting({"userland-proxy": False}, "Published ports are forwarded by the kernel (hairpin NAT) "
        "instead of docker-proxy processes; a kernel without it cannot reach them through localhost."))
fixable("daemon-no-new-privileges", DaemonSetting({"no-new-privileges": True}, "Containers created after the restart cannot raise privileges "
        "through setuid binaries (sudo or su inside a container stop working)."))
fixable("daemon-experimental-off", DaemonSetting({"experimental": False}, "Experimental features (e.g. checkpoint/restore) stop working."))
