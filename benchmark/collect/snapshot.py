"""Turn probe records into the facts snapshot: typed, JSON-serialisable, free of secrets.

The snapshot is the evidence a report rests on: it is archived and can be judged again later
without access to the host, so it records what was seen, including what could not be seen.
"""

from __future__ import annotations

import ipaddress
import json
import posixpath
import re
import shlex
import stat
from typing import Any

from dockbench.benchmark import clock
from dockbench.benchmark.collect import probe, systemd
from dockbench.benchmark.collect.paths import strip_root
from dockbench.benchmark.collect.probe import Record
from dockbench.benchmark.collect.well_known_paths import CLIENT_CONFIG, DEFAULT_DAEMON_JSON, DEFAULT_SOCKET
from dockbench.benchmark.document import bounded_json, redact
from dockbench.benchmark.judge.facts import HISTORY_NOT_COLLECTED, flag_values

FACTS_VERSION = 1
_NOT_FOUND = ("No such file", "Not a directory")
_FILE_TYPES = {
    stat.S_IFREG: "file",
    stat.S_IFDIR: "directory",
    stat.S_IFSOCK: "socket",
    stat.S_IFLNK: "symlink",
    stat.S_IFIFO: "fifo",
    stat.S_IFCHR: "char-device",
    stat.S_IFBLK: "block-device",
}
# Files whose contents are parsed into their own section and not kept verbatim (with CLIENT_CONFIG).
_PARSED_ONLY = ("/etc/passwd", "/etc/group", "/proc/1/mountinfo", "/proc/self/mountinfo")
_TCP_LISTEN = "0A"
_PEM_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.DOTALL)
# A container's cgroup is named by its id: /docker/ID (cgroupfs), docker-ID.scope (systemd), or
# PARENT/ID under a --cgroup-parent; processes a container's own systemd starts sit below it.
_CONTAINER_ID = re.compile(r"[/-]([0-9a-f]{64})(?=[./]|$)", re.MULTILINE)


def _keeps_content(path: str) -> bool:
    """Parsed files are kept in their own section; client configs hold registry tokens."""
    return path not in _PARSED_ONLY and not path.endswith(CLIENT_CONFIG)


def _failure_state(err: str) -> str:
    if any(marker in err for marker in _NOT_FOUND):
        return "absent"
    if "Permission denied" in err or "Operation not permitted" in err:
        return "unreadable"
    return "error"


def _parse_stat(record: Record) -> dict[str, Any]:
    if not record.ok:
        return {"state": _failure_state(record.error_text), "error": record.error_text}
    try:
        raw_mode, uid, gid, size, mtime = record.text.split()[:5]
        mode = int(raw_mode, 16)
        return {
            "state": "present",
            "type": _FILE_TYPES.get(stat.S_IFMT(mode), "other"),
            "mode": stat.S_IMODE(mode),
            "uid": int(uid),
            "gid": int(gid),
            "size": int(size),
            "mtime": int(mtime),
        }
    except ValueError:
        return {"state": "error", "error": f"unexpected stat output {record.text[:80]!r}"}


def _drop_private_keys(entry: dict[str, Any]) -> None:
    """Private keys never enter the snapshot: of a PEM file holding one, keep the certificates only."""
    if _PEM_PRIVATE_KEY.search(entry["content"]):
        entry["content"] = "\n".join(_PEM_CERTIFICATE.findall(entry["content"]))
        entry["private_key"] = True


def _files(records: dict[str, Record], users: dict, groups: dict) -> dict[str, dict]:
    uid_names = {u["uid"]: name for name, u in users.items()}
    gid_names = {g["gid"]: name for name, g in groups.items()}
    files: dict[str, dict] = {}
    for name, record in records.items():
        if not name.startswith("stat:"):
            continue
        path = name[5:]
        entry = _parse_stat(record)
        if entry["state"] == "present":
            entry["owner"] = uid_names.get(entry["uid"])
            entry["group"] = gid_names.get(entry["gid"])
            content = records.get("read:" + path)
            if content is not None and not content.ok:
                entry["content_error"] = content.error_text
                entry["state"] = "unreadable"
            elif content is not None and _keeps_content(path):
                entry["content"] = redact.scrub_url(content.text)
                _drop_private_keys(entry)
            if "private-key:" + path in records:
                entry["private_key"] = True  # the probe saw a key in it and only stat'ed it
        files[path] = entry
    return files


def _text(records: dict[str, Record], name: str) -> str | None:
    record = records.get(name)
    return record.text if record is not None and record.ok else None


def _users(records: dict[str, Record]) -> dict[str, dict]:
    users = {}
    for line in (_text(records, "read:/etc/passwd") or "").splitlines():
        parts = line.split(":")
        if len(parts) >= 7 and parts[2].isdigit():
            users[parts[0]] = {"uid": int(parts[2]), "gid": int(parts[3]) if parts[3].isdigit() else None, "home": parts[5]}
    return users


def _groups(records: dict[str, Record]) -> dict[str, dict]:
    groups = {}
    for line in (_text(records, "read:/etc/group") or "").splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and parts[2].isdigit():
            groups[parts[0]] = {"gid": int(parts[2]), "members": [m for m in parts[3].split(",") if m]}
    return groups


def _mounts(records: dict[str, Record]) -> list[dict] | None:
    text = _text(records, "read:/proc/1/mountinfo") or _text(records, "read:/proc/self/mountinfo")
    if text is None:
        return None
    mounts = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 2:
            point = fields[4].encode().decode("unicode_escape")  # octal escapes such as \040
            mounts.append({"mount_point": point, "fstype": tail[0], "source": tail[1], "options": fields[5] if len(fields) > 5 else "", "dev": fields[2]})
    return mounts


def _os_release(records: dict[str, Record]) -> dict[str, str]:
    text = _text(records, "read:/etc/os-release") or _text(records, "read:/usr/lib/os-release") or ""
    release = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in ("ID", "VERSION_ID", "PRETTY_NAME"):
            try:
                release[key.lower()] = " ".join(shlex.split(value))
            except ValueError:
                release[key.lower()] = value.strip("\"'")
    return release


def _seccomp(records: dict[str, Record]) -> dict[str, str | None] | None:
    """The kernel's seccomp support from the probe's own /proc/self/status.

    None when the probe did not look (an older probe); {"mode": None, ...} when the kernel
    printed no Seccomp line, i.e. was built without seccomp. "filters" appears from Linux 5.9.
    """
    text = _text(records, "kernel:seccomp")
    if text is None:
        return None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {"mode": (fields.get("Seccomp") or "").strip() or None, "filters": (fields.get("Seccomp_filters") or "").strip() or None}


def _audit(records: dict[str, Record]) -> dict[str, Any]:
    def rules(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]

    loaded = records.get("auditctl")
    audit: dict[str, Any] = {"loaded": None, "loaded_error": None, "files": {}}
    if loaded is not None:
        if loaded.ok:
            audit["loaded"] = [r for r in rules(loaded.text) if r != "No rules"]
        else:
            audit["loaded_error"] = loaded.error_text or f"auditctl exited {loaded.rc}"
    for name, record in records.items():
        if name.startswith("read:/etc/audit/") and record.ok:
            audit["files"][name[5:]] = rules(record.text)
    audit["daemon"] = _audit_daemon(records)
    return audit


AUDITD_BINARIES = ("/sbin/auditd", "/usr/sbin/auditd")


def _audit_daemon(records: dict[str, Record]) -> dict[str, Any]:
    """Whether an audit daemon is installed (its binary) and running (a process named auditd);
    None where the probe could not look (no process table under --root)."""
    binaries = [path for path in AUDITD_BINARIES if f"stat:{path}" in records]
    installed = next((path for path in binaries if records[f"stat:{path}"].ok), None)
    running = sorted(int(name.rsplit(":", 1)[1]) for name in records if name.startswith("process:auditd:"))
    return {
        "binary": installed,
        "installed": bool(installed) if binaries else None,
        "pids": running if "processes" in records else None,
    }


DOCKER_JSON_DEPTH = 64  # docker's own output nests under 10 deep; the snapshot adds a few levels above it
_IMAGE_CONFIG_LINE = re.compile(r"(?P<path>[^\n]*/sha256/(?P<hex>[0-9a-f]{64})):(?P<text>.*)")


def _image_history(records: dict[str, Record], root_dir: str | None) -> dict[str, Any]:
    """Each image's build steps from the configs in the daemon's image store (`grep -r ''` of
    image/*/imagedb/content/sha256, so "PATH:line" per line). Only the steps are kept, with
    declared values dropped: a config also holds the image's environment values."""
    history: dict[str, Any] = dict(HISTORY_NOT_COLLECTED, images={})
    stat_record = records.get(f"stat:{root_dir}/image") if root_dir else None
    if stat_record is None:
        return history
    store = f"{root_dir}/image"
    history["store"] = store
    if not stat_record.ok:
        state = _failure_state(stat_record.error_text)
        history.update(state=state, reason=f"{store} is readable by root only ({stat_record.error_text}): re-run with --sudo" if state == "unreadable" else f"{store}: {stat_record.error_text}")
        return history
    texts: dict[str, list[str]] = {}
    problems = []
    for name, record in records.items():
        if not name.startswith("image-configs:"):
            continue
        if record.error_text:
            problems.append(record.error_text.splitlines()[0])
        for line in record.text.split("\n"):
            match = _IMAGE_CONFIG_LINE.fullmatch(line)
            if match:  # grep prefixes every line, also those of a pretty-printed config
                texts.setdefault("sha256:" + match["hex"], []).append(match["text"])
    if not any(name.startswith("image-configs:") for name in records):
        history.update(state="absent", reason=f"{store} has no imagedb: the daemon keeps images in containerd's image store")
        return history
    for image_id, lines in texts.items():
        try:
            config = bounded_json.loads("\n".join(lines), DOCKER_JSON_DEPTH, finite=True)
            steps = [redact.history_step(str(step.get("created_by") or "")) for step in config.get("history") or [] if isinstance(step, dict)]
        except (ValueError, AttributeError) as exc:
            problems.append(f"{image_id}: config is not JSON ({exc})")
            continue
        history["images"][image_id] = [step for step in steps if step]
    history.update(state="read", reason="; ".join(problems) or None)
    return history


def _json_values(record: Record | None, what: str, errors: list[str]) -> list[Any]:
    """Every JSON value in a record's output: one, an array, or several in a row (one per line,
    or one array per xargs batch)."""
    if record is None:
        return []
    if not record.ok and record.error_text:
        errors.append(f"{what}: {record.error_text}")
    text, pos, values = record.text, 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        try:
            value, pos = bounded_json.raw_decode(text, pos, DOCKER_JSON_DEPTH, finite=True)
        except json.JSONDecodeError as exc:
            errors.append(f"{what}: output is not JSON ({exc.msg} at offset {exc.pos})")
            break
        except ValueError as exc:
            errors.append(f"{what}: output refused ({exc}, at offset {pos})")
            break
        values.append(value)
    return values


def _json_document(record: Record | None, what: str, errors: list[str]) -> dict[str, Any] | None:
    """The one JSON object a record printed (docker info, docker version); None if it is not one."""
    values = _json_values(record, what, errors)
    if values and not isinstance(values[0], dict):
        errors.append(f"{what}: output is not a JSON object")
        return None
    return values[0] if values else None


def _json_list(record: Record | None, what: str, errors: list[str]) -> list[Any]:
    """Objects of a batched inspect or a JSON-lines listing, whichever form the output took."""
    items: list[Any] = []
    for value in _json_values(record, what, errors):
        items.extend(value if isinstance(value, list) else [value])
    return items


def _socket_of(host: str | None) -> str | None:
    if not host:
        return DEFAULT_SOCKET
    if host.startswith("unix://"):
        return host[len("unix://") :]
    if host.startswith("/"):
        return host
    return None


def _daemon_hosts(argv: list[str], config: dict | None) -> list[str]:
    hosts = flag_values(argv, "host")
    if isinstance(config, dict) and isinstance(config.get("hosts"), list):
        hosts += [h for h in config["hosts"] if isinstance(h, str)]
    return hosts


def _config_file(argv: list[str]) -> str | None:
    files = flag_values(argv, "config-file")
    return files[-1] if files else None  # as dockerd's flag parser: the last one given wins


def _daemon_sockets(daemon: dict) -> set[str]:
    """Unix sockets a dockerd serves; systemd socket activation (fd://) means docker.socket.

    Without -H, dockerd serves its default socket: a rootless one (not uid 0) serves
    $XDG_RUNTIME_DIR/docker.sock, which is /run/user/UID/docker.sock.
    """
    hosts = _daemon_hosts(daemon["argv"], daemon["config"]["data"])
    if not hosts and daemon["uid"]:
        return {f"/run/user/{daemon['uid']}/docker.sock"}
    sockets = set()
    for host in hosts or ["fd://"]:
        path = DEFAULT_SOCKET if host.startswith("fd://") else _socket_of(host)
        if path:
            sockets.add(_normal(path))
    return sockets


def _normal(path: str) -> str:
    return posixpath.normpath(path.replace("/var/run/", "/run/", 1) if path.startswith("/var/run/") else path)


def _load_daemon_json(path: str, files: dict) -> dict[str, Any]:
    entry = files.get(path, {"state": "not_collected"})
    config: dict[str, Any] = {"path": path, "state": entry["state"], "data": None, "error": entry.get("error") or entry.get("content_error")}
    if entry["state"] == "present" and "content" in entry:
        try:
            data = bounded_json.loads(entry["content"], DOCKER_JSON_DEPTH, finite=True) if entry["content"].strip() else {}
            if not isinstance(data, dict):
                raise ValueError("top level is not a JSON object")
            config["data"] = redact.scrub(data)
        except (ValueError, json.JSONDecodeError) as exc:
            config["state"] = "invalid"
            config["error"] = f"{path} is not valid daemon configuration: {exc}"
        if config["data"] is not None:
            entry["content"] = json.dumps(config["data"], indent=2)
    return config


def _target_socket(docker_host: str | None, root: str) -> str | None:
    """The audited unix socket as a path on the target (under --root, without the root prefix)."""
    path = _socket_of(docker_host)
    return strip_root(path, root or "/") if path else path


def _units(files: dict) -> dict[str, dict | None]:
    """docker.service and docker.socket as systemd would load them (each with its own notes)."""
    units: dict[str, dict | None] = {}
    for name, load in (("docker.service", systemd.service_command), ("docker.socket", systemd.socket_listeners)):
        notes: list[str] = []
        units[name] = load(files, name, notes)
        if units[name] is not None:
            units[name]["notes"] = notes
    return units


def _configured_daemon(service: dict | None, files: dict, target: str | None, notes: list[str]) -> dict | None:
    """The daemon docker.service would start: the facts when no dockerd process can be seen."""
    if not service or not service.get("argv"):
        return None
    argv = [redact.scrub_url(a) for a in service["argv"]]
    config = _load_daemon_json(_config_file(argv) or DEFAULT_DAEMON_JSON, files)
    daemon = {"pid": None, "uid": None, "user": service["user"], "argv": argv, "environment": service["environment"], "source": service["path"], "config": config, "selected_by": "service unit"}
    if target and _normal(target) not in _daemon_sockets(daemon):
        notes.append(f"{service['path']} starts a daemon that does not serve {target}: its options were not attributed")
        return None
    notes.extend(f"{service['path']}: {note}" for note in service["notes"])
    return daemon


def _daemon(records: dict[str, Record], files: dict, users: dict, target_info: dict[str, Any], units: dict, notes: list[str]) -> dict | None:
    """Pick the dockerd that serves the audited socket, with its argv and config file.

    With no dockerd process in sight, the one docker.service configures stands in for it.
    """
    target = _target_socket(target_info.get("docker_host"), target_info.get("root", "/"))
    found = []
    for name, record in records.items():
        if name.startswith("cmdline:") and record.ok:
            pid = name[8:]
            argv = [redact.scrub_url(a) for a in record.text.split("\n") if a != ""]
            owner = files.get(f"/proc/{pid}", {}).get("uid")
            config_path = _config_file(argv)
            if config_path is None:
                home = next((u["home"] for u in users.values() if u["uid"] == owner), None) if owner else None
                config_path = posixpath.join(home, ".config/docker/daemon.json") if home and owner != 0 else DEFAULT_DAEMON_JSON
            found.append({"pid": int(pid), "uid": owner, "argv": argv, "source": f"/proc/{pid}/cmdline", "config": _load_daemon_json(config_path, files)})
    if not found:
        return _configured_daemon(units.get("docker.service"), files, target, notes)
    for daemon in found:
        if target and _normal(target) in _daemon_sockets(daemon):
            daemon["selected_by"] = "socket"
            return daemon
    if len(found) == 1:
        found[0]["selected_by"] = "only dockerd running"
        return found[0]
    notes.append(f"{len(found)} dockerd processes run and none listens on {target}: daemon flags were not attributed")
    return None


INSPECTED = ("containers", "images", "networks")


def _inspected(records: dict[str, Record], errors: list[str]) -> dict[str, list[Any]]:
    """The containers, images and networks of the probe's one `docker inspect`, told apart by
    the id lists it printed beside it (each kind in the order its list gave)."""
    kind_of = {}
    for kind in INSPECTED:
        record = records.get(f"docker:ids:{kind}")
        kind_of.update((line, kind) for line in (record.text.split() if record else ()))
    found: dict[str, list[Any]] = {kind: [] for kind in INSPECTED}
    for item in _json_list(records.get("docker:inspect"), "docker inspect", errors):
        kind = kind_of.get(item.get("Id")) if isinstance(item, dict) else None
        if kind:
            found[kind].append(item)
    return {kind: redact.scrub(items) for kind, items in found.items()}


def _docker(records: dict[str, Record], docker_host: str | None) -> dict[str, Any]:
    info = records.get("docker:info")
    docker: dict[str, Any] = {"host": docker_host, "status": "ok", "error": None, "errors": []}
    if info is None:
        docker.update(status="not_collected", error="the probe did not query Docker")
        return docker
    if info.rc == 127 or "not found" in info.error_text and not info.out:
        docker.update(status="not_installed", error="the docker command is not installed on the target")
        return docker
    if not info.ok:
        docker.update(status="unreachable", error=info.error_text or f"docker info exited {info.rc}")
        return docker
    errors = docker["errors"]
    docker["info"] = redact.scrub(_json_document(info, "docker info", errors))
    docker["version"] = redact.scrub(_json_document(records.get("docker:version"), "docker version", errors))
    docker.update(_inspected(records, errors))
    if docker["images"]:
        docker["image_history"] = _image_history(records, (docker["info"] or {}).get("DockerRootDir"))
    if "docker:volume-names" in records:  # else an older probe: the volumes were not collected
        docker["volumes"] = redact.scrub(_json_list(records.get("docker:volumes"), "docker volume inspect", errors))
    nodes = records.get("docker:nodes")
    if nodes is not None:
        docker["nodes"] = _json_list(nodes, "docker node ls", errors)
    return docker


def _hex_address(text: str) -> str:
    """/proc/net/tcp addresses are hex in host (little-endian) order, 32-bit words for IPv6."""
    raw = bytes.fromhex(text)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def _listening(records: dict[str, Record]) -> list[dict] | None:
    """TCP sockets in LISTEN state: the probe's lines of /proc/net/tcp and tcp6 (no ss or netstat)."""
    tables = [records[name] for name in ("listen:tcp", "listen:tcp6") if name in records]
    tables = [t for t in tables if t.rc in (0, 1)]  # grep answers 1 when nothing listens
    if not tables:
        return None
    sockets = []
    for table in tables:
        for line in table.text.splitlines():
            fields = line.split()
            if len(fields) > 3 and fields[3] == _TCP_LISTEN:
                address, _, port = fields[1].partition(":")
                sockets.append({"address": _hex_address(address), "port": int(port, 16)})
    return sorted(sockets, key=lambda s: (s["port"], s["address"]))


def _container_processes(records: dict[str, Record]) -> dict[str, list[str]]:
    """Container id -> names of notable processes (sshd) running in it, from their cgroups."""
    found: dict[str, list[str]] = {}
    for name, record in records.items():
        if name.startswith("cgroup:") and record.ok:
            match = _CONTAINER_ID.search(record.text)
            if match:
                found.setdefault(match.group(1), []).append("sshd")
    return found


def _realpaths(records: dict[str, Record], root: str) -> dict[str, str | None] | None:
    """Each mount source, volume device and runtime socket with its symbolic links resolved
    (None where nothing is there); None when the probe did not resolve them (an older probe)."""
    if "realpaths" not in records:
        return None
    return {name[len("realpath:") :]: strip_root(record.text.strip(), root) if record.ok and record.text.strip() else None for name, record in records.items() if name.startswith("realpath:")}


def _client_configs(records: dict[str, Record]) -> dict[str, dict]:
    """Registry logins from Docker client config files: which registries, never the tokens."""
    configs = {}
    for name, record in records.items():
        if not (name.startswith("read:") and name.endswith(CLIENT_CONFIG)) or not record.ok:
            continue
        try:
            data = bounded_json.loads(record.text or "{}", DOCKER_JSON_DEPTH, finite=True)
        except json.JSONDecodeError as exc:
            configs[name[5:]] = {"error": f"not valid JSON: {exc.msg}"}
            continue
        except ValueError as exc:
            configs[name[5:]] = {"error": f"refused: {exc}"}
            continue
        if not isinstance(data, dict):
            configs[name[5:]] = {"error": "not a JSON object"}
            continue
        auths, helpers = (data.get(key) if isinstance(data.get(key), dict) else {} for key in ("auths", "credHelpers"))
        configs[name[5:]] = {
            "auths": {reg: {"has_credentials": isinstance(v, dict) and bool(v.get("auth") or v.get("identitytoken") or v.get("password"))} for reg, v in auths.items()},
            "creds_store": data.get("credsStore") if isinstance(data.get("credsStore"), str) else None,
            "cred_helpers": {k: v for k, v in helpers.items() if isinstance(v, str)},
        }
    return configs



def build(records: dict[str, Record], *, target: dict[str, Any], rounds: int = 1, notes: list[str] | None = None) -> dict[str, Any]:
    """Assemble the snapshot from all probe records of one host."""
    notes = list(notes or [])
    if probe.NOISE in records:
        notes.append(f"ignored {len(records[probe.NOISE].out)} bytes printed before the probe output (login banner or shell start-up files)")
    users, groups = _users(records), _groups(records)
    files = _files(records, users, groups)
    uname = (_text(records, "uname") or "").split()
    hostname = (_text(records, "read:/etc/hostname") or _text(records, "nodename") or "").strip()
    uid_text = (_text(records, "id") or "").strip()
    lsm_selinux = _text(records, "lsm:selinux")
    units = _units(files)
    daemon = _daemon(records, files, users, target, units, notes)
    return {
        "facts_version": FACTS_VERSION,
        "collected_at": clock.stamp(),
        "target": target,
        "probe": {"uid": int(uid_text) if uid_text.isdigit() else None, "rounds": rounds, "notes": notes},
        "host": {
            "hostname": hostname,
            "kernel": uname[1] if len(uname) > 1 else None,
            "arch": uname[2] if len(uname) > 2 else None,
            "os": _os_release(records),
            "seccomp": _seccomp(records),
        },
        "users": users,
        "groups": groups,
        "files": files,
        "mounts": _mounts(records),
        "sysctl": {name[7:].replace("/", "."): record.text.strip() for name, record in records.items() if name.startswith("sysctl:")},
        "lsm": {"apparmor": "lsm:apparmor" in records, "selinux": lsm_selinux.strip() if lsm_selinux is not None else None},
        "audit": _audit(records),
        "daemon": daemon,
        "units": units,
        "daemon_config": daemon["config"] if daemon else _load_daemon_json(DEFAULT_DAEMON_JSON, files),
        "docker": _docker(records, target.get("docker_host")),
        "client_configs": _client_configs(records),
        "realpaths": _realpaths(records, target.get("root", "/") or "/"),
        "listening": _listening(records),
        "container_processes": _container_processes(records),
        "env": {"DOCKER_CONTENT_TRUST": _text(records, "env:DOCKER_CONTENT_TRUST")},
    }
