"""The options several commands share, and the values they settle into: what to judge
(JudgingOptions and its Judge), which hosts, how to reach them over SSH, where results go."""

from __future__ import annotations

import sys

import click

from dockbench.benchmark.collect import inventory
from dockbench.benchmark.collect.inventory import Target
from dockbench.benchmark.collect.transports import DEFAULT_MAX_PROBE_BYTES
from dockbench.benchmark.judge.check_registry import UnknownBenchmark
from dockbench.benchmark.judge.options import JudgingError, JudgingOptions, catalog

WORKERS_FROM = 50  # smaller sweeps judge in their threads: a worker process costs ~0.3 s of CPU to start


def apply(options, func):
    """func with these click options, in the order listed (as stacked decorators would give)."""
    for option in reversed(options):
        func = option(func)
    return func


def _known_benchmark(ctx, param, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return catalog().benchmark(value).id
    except UnknownBenchmark as exc:
        raise click.BadParameter(str(exc)) from None


def benchmark_option(func):
    """--benchmark: the version whose numbering, levels and assessments a report follows.

    Checked when given, so that commands which never judge (report, history) start without
    loading the catalog; the help names the mapping files (a file is named by its benchmark).
    """
    from dockbench import checks  # the package alone, not its check modules

    known = ", ".join(sorted((path.stem for path in checks.MAPPINGS.glob("*.yaml")), reverse=True))
    return click.option("--benchmark", metavar="ID", callback=_known_benchmark,
                        help=f"CIS benchmark version to judge against, one of {known}. Default: the newest.")(func)


def judging_options(func):
    """What to judge and by which policy, shared by scan, evaluate, reevaluate and sweep start."""
    return apply([
        benchmark_option,
        click.option("--level", type=click.IntRange(1, 2), help="CIS profile: 1 runs level-1 checks, 2 levels 1 and 2. Checks beyond CIS always run."),
        click.option("--include", multiple=True, metavar="ID|CIS|LAYER", help="Only these checks: a check id (globs work), a CIS id or section (5, 5.1), or a layer (repeatable)."),
        click.option("--exclude", multiple=True, metavar="ID|CIS|LAYER", help="Leave these checks out (same forms as --include; repeatable)."),
        click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="Policy file (YAML): trusted_docker_users, allowed_registries, allowed_capabilities, allowed_host_ports, cert_expiry_warning_days."),
        click.option("--include-stopped", is_flag=True, help="Also check containers that are not running."),
        click.option("--container", "containers", multiple=True, metavar="PATTERN", help="Only containers whose name matches this glob (repeatable)."),
        click.option("--label", "labels", multiple=True, metavar="KEY[=VALUE]", help="Only containers with this label (repeatable)."),
        click.option("--waivers", "waivers_file", envvar="DOCKBENCH_WAIVERS", metavar="FILE", help="Accepted risks (YAML): waived FAILs and ERRORs stay in the report but do not count toward the exit code. Default: $DOCKBENCH_WAIVERS."),
    ], func)


def judged(make):
    """make() (of JudgingOptions or its Judge) with a JudgingError worded as a usage error of the option at fault."""
    try:
        return make()
    except JudgingError as exc:
        if exc.option is None:
            raise click.UsageError(str(exc)) from None
        raise click.BadParameter(str(exc), param_hint=exc.option) from exc


def judge_of(judging: dict):
    """The Judge of judging_options' values, its files read and its checks resolved (exit 2 if not);
    its JudgingOptions are its .options."""
    options = judged(lambda: JudgingOptions.load(**judging))
    return judged(options.judge)


def fleet_options(func):
    """Which hosts a sweep audits and how many at once (scan only: `sweep work` takes its hosts from the queue)."""
    return apply([
        click.option("--inventory", type=click.Path(exists=True, dir_okay=False), help="Hosts to sweep: dockbench YAML, or an Ansible INI/YAML inventory."),
        click.option("--limit", metavar="PATTERN", help="Only inventory hosts or groups matching these comma-separated globs (!pattern excludes)."),
        click.option("--parallel", default=16, show_default=True, type=click.IntRange(1, 512), help="Hosts audited at once."),
        click.option("--workers", type=click.IntRange(0, 256), help=f"Processes judging the hosts' facts (0: in the SSH threads). Default: one per CPU for sweeps of {WORKERS_FROM} hosts or more, else 0."),
    ], func)


def ssh_options(func):
    """How every SSH connection is made and its host key verified."""
    return apply([
        click.option("--connect-timeout", default=10.0, show_default=True, type=click.FloatRange(0.1), help="Seconds to establish each SSH connection."),
        click.option("--user", "ssh_user", metavar="USER", help="SSH user when neither the target nor ~/.ssh/config names one."),
        click.option("-i", "--identity", type=click.Path(exists=True, dir_okay=False), help="SSH private key (an encrypted one asks for its passphrase once)."),
        click.option("--known-hosts", default="~/.ssh/known_hosts", show_default=True, help="known_hosts file used to verify host keys."),
        click.option("--accept-new-host-keys", is_flag=True, help="Record the keys of hosts not yet in known_hosts (a changed key still fails)."),
        click.option("--ssh-config", default="~/.ssh/config", show_default=True, help="OpenSSH client config (HostName, User, Port, IdentityFile, ProxyJump)."),
    ], func)


def max_probe_bytes_option(func):
    """--max-probe-bytes: how much one probe round of a host may send (scan and sweep work)."""
    return click.option("--max-probe-bytes", default=DEFAULT_MAX_PROBE_BYTES, show_default=True, type=click.IntRange(1 << 16), metavar="BYTES",
                        help="Most bytes a host's probe may send (per round); past it the host ends with probe_too_large.")(func)


def ssh_settings(*, connect_timeout, ssh_user, identity, known_hosts, accept_new_host_keys, ssh_config, timeout, sudo, max_probe_bytes):
    """The SSHOptions of ssh_options' values (an encrypted key's passphrase asked for here, once)."""
    from dockbench.benchmark.collect.ssh import SSHOptions  # only remote scans pay for loading the SSH stack

    return SSHOptions(known_hosts=known_hosts, accept_new_host_keys=accept_new_host_keys, ssh_config=ssh_config,
                      connect_timeout=connect_timeout, host_timeout=timeout, max_probe_bytes=max_probe_bytes, user=ssh_user,
                      key_file=identity, passphrase=_passphrase(identity), sudo=sudo)


def targets_of(urls, inventory_file, limit_pattern) -> list[Target]:
    try:
        targets = [inventory.parse_url(u) for u in urls]
        if inventory_file:
            targets += inventory.load(inventory_file)
    except inventory.InventoryError as exc:
        raise click.BadParameter(str(exc)) from exc
    if limit_pattern:
        targets = inventory.limit(targets, limit_pattern)
        if not targets:
            raise click.UsageError(f"no inventory host matches --limit {limit_pattern}")
    return targets


def _passphrase(identity: str | None) -> str | None:
    """Ask once, up front, for an encrypted key's passphrase (never in the middle of a sweep)."""
    if not identity:
        return None
    import paramiko  # only remote scans pay for loading the SSH stack

    try:
        paramiko.PKey.from_path(identity)
        return None
    except (paramiko.PasswordRequiredException, TypeError) as exc:
        if not isinstance(exc, paramiko.PasswordRequiredException) and "password" not in str(exc):
            raise click.BadParameter(f"{identity}: {exc}", param_hint="--identity") from exc
        # paramiko reports an encrypted OpenSSH-format key as cryptography's TypeError
        if not sys.stdin.isatty():
            raise click.BadParameter(f"{identity} is encrypted and there is no terminal to ask for its passphrase: load it into ssh-agent", param_hint="--identity") from None
        return click.prompt(f"Passphrase for {identity}", hide_input=True)
    except (OSError, paramiko.SSHException) as exc:
        raise click.BadParameter(f"{identity}: {exc}", param_hint="--identity") from exc
