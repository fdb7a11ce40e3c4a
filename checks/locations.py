"""Where things live on the audited host, found from its facts rather than assumed."""

from __future__ import annotations

import re

from dockbench.benchmark.collect.paths import strip_root
from dockbench.benchmark.collect.well_known_paths import DEFAULT_SOCKET, UNIT_DIRS
from dockbench.benchmark.document.model import Undecidable
from dockbench.benchmark.judge.facts import Facts


def unit_file(facts: Facts, unit: str) -> str | None:
    """The unit file systemd would load for `unit`, or None when no unit dir has it.

    One the probe saw but could not stat (unreadable) is returned too: the checks then say
    so, rather than judge a file of lower precedence that systemd does not load.
    """
    for directory in UNIT_DIRS:
        path = f"{directory}/{unit}"
        if facts.file(path).state not in ("absent", "not_collected"):
            return path
    return None


def docker_socket(facts: Facts) -> str | None:
    """The unix socket of the audited daemon, as a path on the target; None for TCP daemons."""
    host = facts.docker.get("host") or ""
    if host.startswith("unix://"):
        path = host[len("unix://") :]
        return strip_root(path, facts.target_root)
    if host:
        return None
    return DEFAULT_SOCKET


# containerd's own socket where /etc/containerd/config.toml moves it: [grpc] address = "PATH"
_CONTAINERD_GRPC = re.compile(r'^\[grpc\]\s*$(?:(?!^\[).)*?^\s*address\s*=\s*"(/[^"]+)"', re.MULTILINE | re.DOTALL)


def configured_sockets(facts: Facts) -> list[str]:
    """Unix sockets the runtimes are configured to serve: the audited daemon's -H/hosts unix://
    entries and containerd's [grpc] address (docker.socket's paths belong to the system
    daemon, which need not be the audited one). A daemon.json that cannot be read adds none
    (its own checks say why)."""
    try:
        option = facts.daemon_option("hosts", flag="host", many=True)
    except Undecidable:
        option = None
    hosts = option.value if option else []
    paths = [h[len("unix://") :] for h in ([hosts] if isinstance(hosts, str) else hosts) if isinstance(h, str) and h.startswith("unix://")]
    match = _CONTAINERD_GRPC.search(facts.file("/etc/containerd/config.toml").content or "")
    return paths + ([match.group(1)] if match else [])


def daemon_json(facts: Facts) -> str:
    return facts.daemon_config["path"]


def dockerd_binary(facts: Facts) -> str:
    """The dockerd executable: the running one's argv[0] when absolute, else where packages put it."""
    argv = facts.daemon_argv
    if argv and argv[0].startswith("/"):
        return argv[0]
    found = facts.first_present("/usr/bin/dockerd", "/usr/sbin/dockerd")
    return found.path if found else "/usr/bin/dockerd"


def tls_file(facts: Facts, key: str) -> str | None:
    """The daemon's TLS file for `key`: configured, or dockerd's default under ~/.docker when TLS is on."""
    option = facts.tls_file(key)
    return option.value if option else None


CERTS_D = "/etc/docker/certs.d"


def is_private_key(path: str, entry: dict) -> bool:
    """A key under certs.d: named *.key, or a certificate-named file the probe found a key in."""
    return path.endswith(".key") or bool(entry.get("private_key"))
