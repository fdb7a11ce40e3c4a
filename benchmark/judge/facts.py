"""Typed, read-only views over a facts snapshot, so checks read facts and never raw JSON paths."""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from dockbench.benchmark import clock
from dockbench.benchmark.collect.well_known_paths import DEFAULT_DAEMON_JSON
from dockbench.benchmark.document.model import Undecidable
from dockbench.benchmark.judge.policy import Policy


@dataclass(frozen=True)
class FileFact:
    """One path as the probe saw it: present, absent, unreadable, error or not collected."""

    path: str
    entry: dict[str, Any]

    @property
    def state(self) -> str:
        return self.entry.get("state", "not_collected")

    @property
    def present(self) -> bool:
        return self.state == "present"

    @property
    def mode(self) -> int:
        return self.entry["mode"]

    @property
    def uid(self) -> int:
        return self.entry["uid"]

    @property
    def gid(self) -> int:
        return self.entry["gid"]

    @property
    def type(self) -> str:
        return self.entry.get("type", "")

    @property
    def content(self) -> str | None:
        return self.entry.get("content")

    @property
    def owner(self) -> str:
        return self.entry.get("owner") or str(self.uid)

    @property
    def group(self) -> str:
        return self.entry.get("group") or str(self.gid)

    def describe(self) -> str:
        """e.g. "/var/run/docker.sock socket root:docker 0660", or why it could not be seen."""
        if not self.present:
            reason = self.entry.get("error") or self.entry.get("content_error")
            return f"{self.path} {self.state}" + (f" ({reason})" if reason and self.state != "absent" else "")
        return f"{self.path} {self.type} {self.owner}:{self.group} {self.mode:04o}"

    def require(self) -> None:
        """Raise Undecidable unless the path was seen (absent is a decision for the caller)."""
        if self.state in ("unreadable", "error"):
            raise Undecidable(f"cannot inspect {self.describe()}: re-run with --sudo or as root")
        if self.state == "not_collected":
            raise Undecidable(f"{self.path} was not collected by the probe")


@dataclass(frozen=True)
class Socket:
    """A TCP socket in the LISTEN state, from /proc/net/tcp and tcp6."""

    address: str
    port: int


@dataclass(frozen=True)
class AuditDaemon:
    """The audit daemon as the probe saw it; None where it could not look (an older snapshot,
    or no process table under --root)."""

    binary: str | None = None
    installed: bool | None = None
    pids: list[int] | None = None

    @property
    def known(self) -> bool:
        return self.installed is not None or self.pids is not None

    @property
    def absent(self) -> bool:
        """Known to be neither installed nor running: nothing would load rule files."""
        return self.installed is False and not self.pids

    def describe(self) -> str:
        if not self.known:
            return "not looked for (the snapshot predates it)"
        installed = f"installed at {self.binary}" if self.binary else "not installed" if self.installed is False else "installation unknown"
        running = "running state unknown" if self.pids is None else f"running (pid {', '.join(map(str, self.pids))})" if self.pids else "not running"
        return f"{installed}, {running}"


@dataclass(frozen=True)
class Option:
    """A daemon option's effective value and where it was set."""

    value: Any
    source: str

    def describe(self, key: str) -> str:
        return f"{key}={self.value!r} ({self.source})"


@dataclass(frozen=True)
class Container:
    inspect: dict[str, Any]

    @property
    def name(self) -> str:
        return (self.inspect.get("Name") or self.inspect.get("Id", "?")[:12]).lstrip("/")

    @property
    def id(self) -> str:
        return self.inspect.get("Id", "")

    @property
    def running(self) -> bool:
        return bool((self.inspect.get("State") or {}).get("Running"))

    @property
    def host_config(self) -> dict[str, Any]:
        return self.inspect.get("HostConfig") or {}

    @property
    def config(self) -> dict[str, Any]:
        return self.inspect.get("Config") or {}

    @property
    def labels(self) -> dict[str, str]:
        return self.config.get("Labels") or {}

    @property
    def mounts(self) -> list[dict[str, Any]]:
        return self.inspect.get("Mounts") or []


@dataclass(frozen=True)
class Image:
    """One local image as `docker image inspect` reports it (environment values already dropped)."""

    inspect: dict[str, Any]

    @property
    def id(self) -> str:
        return self.inspect.get("Id", "")

    @property
    def short_id(self) -> str:
        return self.id[: len("sha256:") + 12] if self.id.startswith("sha256:") else self.id[:12]

    @property
    def tags(self) -> list[str]:
        return [t for t in self.inspect.get("RepoTags") or [] if t != "<none>:<none>"]

    @property
    def digests(self) -> list[str]:
        return [d for d in self.inspect.get("RepoDigests") or [] if not d.startswith("<none>@")]

    @property
    def name(self) -> str:
        return ", ".join(self.tags) or (self.digests[0] if self.digests else f"<untagged {self.short_id}>")

    @property
    def created(self) -> str:
        return str(self.inspect.get("Created") or "")[:19] + "Z" if self.inspect.get("Created") else "unknown"

    @property
    def config(self) -> dict[str, Any]:
        return self.inspect.get("Config") or {}

    @property
    def parent(self) -> str:
        """The id of the image this one was built on, as the classic builder records it; "" if none."""
        return self.inspect.get("Parent") or ""

    def _recorded(self) -> tuple[list[str], list[str]]:
        """The classic builder's record of the step: build argument names, and the command."""
        cmd = [str(p) for p in (self.inspect.get("ContainerConfig") or {}).get("Cmd") or []]
        if cmd and re.fullmatch(r"\|\d+", cmd[0]):  # a RUN step given build arguments: "|2", "K=v", "K2=v2", ...
            end = 1 + int(cmd[0][1:])
            return [arg.split("=", 1)[0] for arg in cmd[1:end]], cmd[end:]
        return [], cmd

    @property
    def build_args(self) -> list[str]:
        names, _ = self._recorded()
        step = self.step or ""
        return names + ([word.split("=", 1)[0] for word in step[4:].split()] if step.startswith("ARG ") else [])

    @property
    def step(self) -> str | None:
        """The build step that made this image, as the classic builder recorded it."""
        _, parts = self._recorded()
        if parts[:2] != ["/bin/sh", "-c"]:
            return None  # exec form, a committed container's command, or no record at all
        text = " ".join(p.strip() for p in parts[2:] if p.strip())
        return text[len("#(nop)") :].strip() if text.startswith("#(nop)") else "RUN " + text


@dataclass(frozen=True)
class ImageHistory:
    """Build steps per image id, read from the image configs the daemon keeps; `state` is
    "read", or why they could not be ("unreadable" without root, "absent" with containerd's
    image store, "not_collected" in an older snapshot), with `reason` saying it in words."""

    state: str
    store: str | None
    reason: str | None
    images: dict[str, list[str]]

    @property
    def read(self) -> bool:
        return self.state == "read"


NOT_RESOLVED = object()
HISTORY_NOT_COLLECTED: dict[str, Any] = {"state": "not_collected", "store": None, "reason": "the probe did not read image configs (an older snapshot)", "images": {}}


# dockerd flags that take no value: "--icc" means true, "--icc=false" false; "--icc false" is
# not a thing (Go's flag parser would read "false" as a stray argument).
BOOLEAN_FLAGS = frozenset(
    ["icc", "iptables", "ip6tables", "ip-forward", "ip-masq", "live-restore", "userland-proxy", "no-new-privileges", "selinux-enabled", "tls", "tlsverify", "experimental", "debug", "ipv6", "disable-legacy-registry"]
)
# The finding that reports an unparseable daemon.json; every check reading an option from it points there.
INVALID_CONFIG_FINDING = "daemon-config-valid"
TLS_DEFAULT_FILES = {"tlscacert": "ca.pem", "tlscert": "cert.pem", "tlskey": "key.pem"}
SHORT_FLAGS = {"debug": "-D", "log-level": "-l", "host": "-H", "group": "-G"}


def _as_bool(text: str) -> bool | str:
    lowered = text.lower()
    return True if lowered in ("true", "1") else False if lowered in ("false", "0") else text


def flag_values(argv: list[str], name: str) -> list[Any]:
    """Every value given to a dockerd flag on its command line, in order."""
    names = ["--" + name] + ([SHORT_FLAGS[name]] if name in SHORT_FLAGS else [])
    values: list[Any] = []
    for i, arg in enumerate(argv):
        for flag in names:
            if arg.startswith(flag + "="):
                values.append(arg.split("=", 1)[1])
            elif arg == flag:
                values.append("true" if name in BOOLEAN_FLAGS else argv[i + 1] if i + 1 < len(argv) else "")
    return [_as_bool(v) for v in values] if name in BOOLEAN_FLAGS else values


@dataclass
class Selection:
    """Which containers the per-container checks look at."""

    include_stopped: bool = False
    name_patterns: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()

    def matches(self, container: Container) -> bool:
        if not self.include_stopped and not container.running:
            return False
        if self.name_patterns and not any(fnmatch.fnmatchcase(container.name, p) for p in self.name_patterns):
            return False
        for label in self.labels:
            key, sep, value = label.partition("=")
            if key not in container.labels or (sep and container.labels[key] != value):
                return False
        return True


class Facts:
    """The snapshot of one host, with accessors that state what could not be known."""

    def __init__(self, snapshot: dict[str, Any], selection: Selection | None = None, policy: Policy | None = None):
        self.snapshot = snapshot
        self.selection = selection or Selection()
        self.policy = policy or Policy()

    # --- host
    @property
    def host(self) -> dict[str, Any]:
        return self.snapshot["host"]

    @property
    def collected_at(self) -> datetime | None:
        """When the probe ran (UTC); None when the snapshot has no readable time stamp."""
        try:
            return datetime.strptime(self.snapshot["collected_at"], clock.SECONDS).replace(tzinfo=timezone.utc)
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def target_root(self) -> str:
        """Where the target's / is, as the probe sees it: "/" on a live host, else the directory given with --root."""
        return self.snapshot["target"].get("root", "/")

    def file(self, path: str) -> FileFact:
        return FileFact(path, self.snapshot["files"].get(path, {"state": "not_collected"}))

    @property
    def files(self) -> list[FileFact]:
        """Every path the probe looked at (present or not), sorted: for checks that search by name."""
        return [FileFact(path, entry) for path, entry in sorted(self.snapshot["files"].items())]

    def first_present(self, *paths: str) -> FileFact | None:
        for path in paths:
            fact = self.file(path)
            if fact.present:
                return fact
        return None

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        """/etc/passwd by user name: uid, gid, home."""
        return self.snapshot["users"]

    @property
    def groups(self) -> dict[str, dict[str, Any]]:
        return self.snapshot["groups"]

    @property
    def mounts(self) -> list[dict[str, Any]]:
        mounts = self.snapshot.get("mounts")
        if mounts is None:
            raise Undecidable("the mount table could not be read (/proc/1/mountinfo, /proc/self/mountinfo)")
        return mounts

    @property
    def sysctl(self) -> dict[str, str]:
        return self.snapshot["sysctl"]

    @property
    def apparmor(self) -> bool:
        """Whether AppArmor is enabled in the kernel (/sys/kernel/security/apparmor exists)."""
        return bool(self.snapshot["lsm"].get("apparmor"))

    @property
    def selinux(self) -> str | None:
        """SELinux's /sys/fs/selinux/enforce: "1" enforcing, "0" permissive; None when SELinux is off."""
        return self.snapshot["lsm"].get("selinux")

    @property
    def listening(self) -> list[Socket] | None:
        """TCP sockets listening in the probe's network namespace; None when /proc/net/tcp was not read."""
        sockets = self.snapshot.get("listening")
        return None if sockets is None else [Socket(s["address"], s["port"]) for s in sockets]

    def unit(self, name: str) -> dict[str, Any]:
        """What the probe read of a systemd unit (path, listen_stream, ...); empty when there is none."""
        return (self.snapshot.get("units") or {}).get(name) or {}

    def env(self, name: str) -> str | None:
        """A variable of the probe's own environment (only DOCKER_CONTENT_TRUST is kept): "" or None when unset."""
        return self.snapshot["env"].get(name)

    @property
    def client_configs(self) -> dict[str, dict[str, Any]]:
        """Docker client config.json files by path, reduced to which registries hold credentials."""
        return self.snapshot["client_configs"]

    def audit_rules(self) -> tuple[list[str], str]:
        """The audit rules in force: loaded ones when auditctl could list them, else rule files."""
        audit = self.snapshot["audit"]
        if audit["loaded"] is not None:
            return audit["loaded"], "auditctl -l"
        files = audit["files"]
        if files:
            return [rule for rules in files.values() for rule in rules], "rule files " + ", ".join(sorted(files))
        if audit["loaded_error"]:
            raise Undecidable(f"auditctl -l failed ({audit['loaded_error']}) and no rule files were found: re-run with --sudo")
        return [], "no auditctl and no rule files in /etc/audit"

    def audit_rules_unloaded(self) -> str | None:
        """Why the loaded audit rules were not read when audit_rules() comes from rule files
        alone (None when it does not): the verdict then rests on files that may not be loaded."""
        audit = self.snapshot["audit"]
        if audit["loaded"] is not None or not audit["files"]:
            return None
        if audit["loaded_error"]:
            return f"auditctl -l failed: {audit['loaded_error']}"
        if self.target_root != "/":
            return "auditctl -l is not run on a host mounted with --root"
        return "auditctl is not installed"

    @property
    def audit_daemon(self) -> AuditDaemon:
        return AuditDaemon(**self.snapshot["audit"].get("daemon") or {})

    # --- daemon
    @property
    def daemon(self) -> dict[str, Any] | None:
        return self.snapshot["daemon"]

    @property
    def daemon_argv(self) -> list[str]:
        return self.daemon["argv"] if self.daemon else []

    @property
    def daemon_config(self) -> dict[str, Any]:
        return self.snapshot["daemon_config"]

    def daemon_option(self, key: str, flag: str | None = None, many: bool = False) -> Option | None:
        """The value of a dockerd option from its command line, else its daemon.json.

        `key` is the daemon.json name, `flag` the command-line one when it differs
        (insecure-registries / insecure-registry); `many` returns every value as a list.
        Returns None when neither sets it (the daemon's default applies). Raises Undecidable
        when the config file exists but could not be read or parsed.
        """
        flags = flag_values(self.daemon_argv, flag or key)
        if flags:
            return Option(flags if many else flags[-1], "dockerd command line")
        config = self.daemon_config
        if config["state"] == "present":
            data = config["data"] or {}
            if key in data:
                return Option(data[key], config["path"])
            return None
        if config["state"] == "absent" or config["state"] == "not_collected" and not self.daemon:
            return None
        reason = config["error"] or f"{config['path']}: {config['state']}"
        if config["state"] == "unreadable":
            raise Undecidable(f"cannot read {config['path']} ({reason}): re-run with --sudo or as root")
        if config["state"] == "invalid":  # the parse error is reported once, by its own finding
            raise Undecidable(f"{config['path']} cannot be parsed, so the value it sets for {key} is unknown: see {INVALID_CONFIG_FINDING}")
        raise Undecidable(reason)

    @property
    def daemon_user(self) -> str | None:
        """Who the daemon runs as: its process owner, else the service unit's User= (root by default)."""
        daemon = self.daemon
        if not daemon:
            return None
        if daemon.get("uid") is not None:
            return next((name for name, u in self.users.items() if u["uid"] == daemon["uid"]), str(daemon["uid"]))
        return daemon.get("user")

    def daemon_tls(self) -> tuple[bool, bool | None]:
        """(TLS on, clients verified) as dockerd decides them.

        Setting tlsverify at all, even to false, turns TLS on; so does DOCKER_TLS_VERIFY in the
        environment a service unit gives the daemon. Verified is None when TLS is on and tlsverify
        is not set: releases since Docker 27 then verify clients, older ones do not.
        """
        verify, tls = self.daemon_option("tlsverify"), self.daemon_option("tls")
        if verify is None and self._daemon_env("DOCKER_TLS_VERIFY"):
            return True, True
        if verify is not None:
            return True, verify.value is True
        return (True, None) if tls is not None and tls.value is True else (False, False)

    def _daemon_env(self, name: str) -> str | None:
        return ((self.daemon or {}).get("environment") or {}).get(name) or None

    def tls_file(self, key: str) -> Option | None:
        """The TLS file dockerd uses for `key` (tlscacert, tlscert, tlskey).

        Set explicitly, or, with TLS on, dockerd's default: ca.pem, cert.pem and key.pem in
        $DOCKER_CERT_PATH, else $DOCKER_CONFIG, else ~/.docker of the user the daemon runs as.
        """
        option = self.daemon_option(key)
        if option is not None and isinstance(option.value, str) and option.value:
            return option
        # No daemon in sight: /etc/docker/daemon.json belongs to the system daemon, which runs as root.
        user = self.daemon_user or ("root" if self.daemon_config["path"] == DEFAULT_DAEMON_JSON else None)
        home = (self.users.get(user) or {}).get("home") if user else None
        variable = next((name for name in ("DOCKER_CERT_PATH", "DOCKER_CONFIG") if self._daemon_env(name)), None)
        directory = self._daemon_env(variable) if variable else posixpath.join(home, ".docker") if home else None
        if not self.daemon_tls()[0] or directory is None:
            return None
        return Option(posixpath.join(directory, TLS_DEFAULT_FILES[key]), f"dockerd default from ${variable}" if variable else f"dockerd default for {user}")

    # --- docker
    @property
    def docker(self) -> dict[str, Any]:
        return self.snapshot["docker"]

    @property
    def docker_ok(self) -> bool:
        return self.docker["status"] == "ok"

    @property
    def info(self) -> dict[str, Any]:
        return self.docker.get("info") or {}

    @property
    def all_containers(self) -> list[Container]:
        return [Container(c) for c in self.docker.get("containers") or []]

    @property
    def images(self) -> list[Image]:
        """Every local image (`docker image ls -a`), the builder's intermediate ones included."""
        return [Image(i) for i in self.docker.get("images") or []]

    def container(self, ref: str) -> Container | None:
        """A container by full id, name or id prefix (as `container:REF` modes name them), stopped ones included."""
        found = [c for c in self.all_containers if ref in (c.id, c.name) or len(ref) >= 12 and c.id.startswith(ref)]
        return found[0] if len(found) == 1 else None

    @property
    def containers(self) -> list[Container]:
        """The containers selected for per-container checks (running ones by default)."""
        return [c for c in self.all_containers if self.selection.matches(c)]

    @property
    def container_processes(self) -> dict[str, list[str]] | None:
        """Container id -> command names (/proc/PID/comm) of its processes, seen from the host;
        None when the snapshot predates these facts."""
        return self.snapshot.get("container_processes")

    @property
    def volumes(self) -> dict[str, dict[str, Any]] | None:
        """The named volumes containers use, by name, as `docker volume inspect` reports them
        (Driver, Options); None when the snapshot predates these facts."""
        volumes = self.docker.get("volumes")
        return None if volumes is None else {str(v.get("Name")): v for v in volumes if isinstance(v, dict)}

    @property
    def paths_resolved(self) -> bool:
        """Whether the probe resolved mount sources at all (not in a snapshot that predates it)."""
        return self.snapshot.get("realpaths") is not None

    def realpath(self, path: str) -> str | None:
        """A mount source, volume device or runtime socket with its symbolic links resolved on
        the host, "" when nothing is there; None when the probe did not resolve it (an older
        snapshot, or a path it could not read off the inspect output)."""
        resolved = (self.snapshot.get("realpaths") or {}).get(path, NOT_RESOLVED)
        return None if resolved is NOT_RESOLVED else resolved or ""

    @property
    def image_history(self) -> ImageHistory:
        return ImageHistory(**(self.docker.get("image_history") or HISTORY_NOT_COLLECTED))

    @property
    def networks(self) -> list[dict[str, Any]]:
        return self.docker.get("networks") or []

    @property
    def rootless(self) -> bool:
        return any("rootless" in opt for opt in self.info.get("SecurityOptions") or [])
