"""What systemd would run for a unit, worked out from the unit files the probe read.

When no dockerd process can be seen (a host mounted under --root, or /proc hidden from the
probe), the daemon's configured command line is the ExecStart= of the docker.service that
systemd loads: the highest-precedence unit file, overridden by its drop-ins, with $VARS taken
from Environment= and EnvironmentFile= (/etc/default/docker's DOCKER_OPTS, /etc/sysconfig/docker's
OPTIONS). These are pure functions of the snapshot's files: nothing here reads the host.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Any

from dockbench.benchmark.collect.well_known_paths import UNIT_DIRS

# Variables of the daemon's environment that change what dockerd does (TLS defaults);
# the rest of a unit's environment is not kept: proxies there may carry passwords.
KEPT_ENVIRONMENT = ("DOCKER_CERT_PATH", "DOCKER_CONFIG", "DOCKER_TLS_VERIFY")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_WHOLE_VARIABLE = re.compile(rf"\$({_NAME})")
_BRACED_VARIABLE = re.compile(rf"\$\{{({_NAME})\}}")
_EXEC_PREFIXES = "-@:+!"


def _logical_lines(text: str):
    """Lines with backslash continuations joined; comments and blank lines dropped."""
    pending = None
    for raw in text.splitlines():
        line = raw.strip()
        if line[:1] in ("#", ";"):
            continue  # a comment, even between continued lines
        if pending is not None:
            line = pending + " " + line
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        pending = None
        if line:
            yield line
    if pending:
        yield pending


def _entries(text: str):
    """(section, key, value) for each assignment of a unit file."""
    section = None
    for line in _logical_lines(text):
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if sep:
            yield section, key.strip(), value.strip()


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: systemd would reject it, whitespace is the best guess
        return text.split()


def environment_file(text: str) -> dict[str, str]:
    """KEY=VALUE assignments of an EnvironmentFile (shell-like quoting, # and ; comments)."""
    values = {}
    for line in _logical_lines(text):
        key, sep, value = line.partition("=")
        key = key.strip()
        if sep and re.fullmatch(_NAME, key):
            values[key] = " ".join(_split(value.strip()))
    return values


def unit_paths(files: dict[str, dict], unit: str) -> tuple[str | None, list[str]]:
    """The unit file systemd loads for `unit` and its drop-ins, in the order they apply.

    A drop-in name in a higher-precedence directory hides the same name in lower ones;
    drop-ins apply in the lexical order of their names, whatever their directory.
    """
    main = next((f"{d}/{unit}" for d in UNIT_DIRS if files.get(f"{d}/{unit}", {}).get("state", "absent") not in ("absent", "not_collected")), None)
    dropins: dict[str, str] = {}
    for directory in reversed(UNIT_DIRS):
        prefix = f"{directory}/{unit}.d/"
        for path in files:
            if path.startswith(prefix) and path.endswith(".conf") and "/" not in path[len(prefix) :]:
                dropins[posixpath.basename(path)] = path
    return main, [dropins[name] for name in sorted(dropins)]


def _settings(files: dict[str, dict], paths: list[str], section: str, notes: list[str]) -> dict[str, list[str]]:
    """Each key's values over the unit and its drop-ins; an empty assignment resets the list."""
    settings: dict[str, list[str]] = {}
    for path in paths:
        entry = files[path]
        if "content" not in entry:
            notes.append(f"{path} could not be read ({entry.get('content_error') or entry.get('error') or entry['state']})")
            continue
        for where, key, value in _entries(entry["content"]):
            if where == section:
                settings[key] = (settings.get(key, []) + [value]) if value else []
    return settings


def _environment(files: dict[str, dict], settings: dict[str, list[str]], notes: list[str]) -> tuple[dict[str, str], list[dict]]:
    """Environment= values, then EnvironmentFile= files, which take precedence over them."""
    env: dict[str, str] = {}
    for value in settings.get("Environment", []):
        for word in _split(value):
            key, sep, val = word.partition("=")
            if sep:
                env[key] = val
    sources = []
    for value in settings.get("EnvironmentFile", []):
        optional = value.startswith("-")
        path = value.lstrip("-")
        entry = files.get(path, {"state": "not_collected"})
        sources.append({"path": path, "optional": optional, "state": entry["state"]})
        if "content" in entry:
            env.update(environment_file(entry["content"]))
        elif entry["state"] == "absent" and not optional:
            notes.append(f"EnvironmentFile {path} does not exist: systemd would refuse to start the service")
        elif entry["state"] != "absent":
            notes.append(f"EnvironmentFile {path} was not read ({entry['state']}): its variables are missing from the command line")
    return env, sources


def command_line(value: str, env: dict[str, str]) -> list[str]:
    """An Exec line as argv: a lone $VAR splits into words, ${VAR} stays inside its word."""
    prefixes = value[: len(value) - len(value.lstrip(_EXEC_PREFIXES))]
    argv: list[str] = []
    for word in _split(value[len(prefixes) :]):
        whole = _WHOLE_VARIABLE.fullmatch(word)
        if whole:
            argv += _split(env.get(whole.group(1), ""))
        else:
            argv.append(_BRACED_VARIABLE.sub(lambda m: env.get(m.group(1), ""), word).replace("%%", "%"))
    if "@" in prefixes and len(argv) > 1:
        del argv[1]  # "@" gives argv[0] separately from the executable
    return argv


def load(files: dict[str, dict], unit: str, notes: list[str]) -> tuple[dict[str, Any] | None, dict[str, list[str]] | None]:
    """Where the unit comes from, and its effective [Service]/[Socket] settings when it can run.

    (None, None) when no unit dir has it; no settings when it is masked or unreadable.
    """
    main, dropins = unit_paths(files, unit)
    if main is None:
        return None, None
    entry = files[main]
    loaded: dict[str, Any] = {"path": main, "dropins": dropins}
    if entry["state"] == "present" and (entry["type"] != "file" or entry["size"] == 0):
        loaded["masked"] = True  # a link to /dev/null or an empty file: systemd will not start it
        return loaded, None
    if "content" not in entry:
        loaded["error"] = f"{main} could not be read ({entry.get('content_error') or entry.get('error') or entry['state']})"
        notes.append(loaded["error"])
        return loaded, None
    section = "Socket" if unit.endswith(".socket") else "Service"
    return loaded, _settings(files, [main] + dropins, section, notes)


def service_command(files: dict[str, dict], unit: str, notes: list[str]) -> dict[str, Any] | None:
    """The command line systemd would start for a service unit ("argv"), with where it came from."""
    loaded, settings = load(files, unit, notes)
    if settings is None:
        return loaded
    env, sources = _environment(files, settings, notes)
    starts = settings.get("ExecStart", [])
    if len(starts) > 1:
        notes.append(f"{unit} has {len(starts)} ExecStart= lines: systemd refuses that for a service that is not Type=oneshot")
    loaded["environment_files"] = sources
    loaded["environment"] = {k: env[k] for k in KEPT_ENVIRONMENT if k in env}
    loaded["user"] = (settings.get("User") or ["root"])[-1]
    loaded["argv"] = command_line(starts[-1], env) if starts else []
    return loaded


def socket_listeners(files: dict[str, dict], unit: str, notes: list[str]) -> dict[str, Any] | None:
    """The ListenStream= addresses of a socket unit (socket activation hands them to dockerd as fd://)."""
    loaded, settings = load(files, unit, notes)
    if settings is not None:
        loaded["listen_stream"] = settings.get("ListenStream", [])
    return loaded
