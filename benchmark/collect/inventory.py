"""Targets for SSH sweeps: ``ssh://`` URLs, inventory files and ``--limit``. Pure: no network.

`parse_url` reads one target; `load` reads an inventory in dockbench's own YAML, Ansible YAML or
Ansible INI; `limit` picks hosts by name or group. Every error is an `InventoryError` whose
message names the file, the line or host, and the problem.

All three readers normalise to one `_Tree` (groups with their vars and children; hosts with their
vars and direct groups), with variables already renamed to `Target` fields and checked where they
were written. Precedence and membership are then worked out once, in `_resolve`: host vars over
group vars (a child group over its parents) over defaults / ``all`` vars. Groups at the same depth
merge in file order in our YAML (later wins) and by name in Ansible inventories, as Ansible does.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dockbench.benchmark.collect.transports import SCHEMES
from dockbench.benchmark.document import bounded_json

__all__ = ["InventoryError", "Target", "limit", "load", "parse_url"]


@dataclass(frozen=True)
class Target:
    """One remote host to audit (over SSH: the one scheme today). None means "not set here": ~/.ssh/config, the command line or
    the built-in default decides later. `groups` holds every group the host is in, parents
    included (not ``all``/``ungrouped``), least specific first: the order their vars were merged."""

    name: str                 # inventory host name (or the host for ssh:// URLs)
    host: str                 # address or name to connect to
    port: int | None = None
    user: str | None = None
    key_file: str | None = None
    sudo: bool | None = None
    docker_host: str | None = None
    root: str | None = None
    proxy_jump: str | None = None
    groups: tuple[str, ...] = ()
    scheme: str = "ssh"       # how to reach it: a key of collect.transports.SCHEMES


class InventoryError(Exception):
    """A target URL, inventory or limit pattern that cannot be used; the message says where and why."""


# -- values ------------------------------------------------------------------------------------

_ADDRESS = re.compile(r"[\w.%:-]+")          # host name, IPv4, IPv6 (with %zone)
_NAME = re.compile(r"[\w.%@:-]*[\w.%@-]")    # inventory host or group name
_TRUE = {"true", "yes", "on", "y", "t", "1"}
_FALSE = {"false", "no", "off", "n", "f", "0"}


def _port(value: Any, where: str) -> int:
    text = "" if isinstance(value, bool) or not isinstance(value, (int, str)) else str(value).strip()
    if re.fullmatch(r"[0-9]{1,5}", text) and 1 <= int(text) <= 65535:
        return int(text)
    raise InventoryError(f"{where} must be a number from 1 to 65535, got {value!r}")


def _coerce(name: str, value: Any, where: str) -> Any:
    """The `Target` field `name` from an inventory or URL value; None stays None (it unsets)."""
    if value is None:
        return None
    if name == "port":
        return _port(value, where)
    if name == "sudo":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, (int, str)) else ""
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise InventoryError(f"{where} must be true or false, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InventoryError(f"{where} must be a string, got {value!r}")
    text = str(value).strip()
    if "{{" in text or "{%" in text:
        raise InventoryError(f"{where} is a Jinja2 template ({text!r}); dockbench does not evaluate "
                             "templates, write the value itself")
    if not text:
        raise InventoryError(f"{where} is empty")
    if name == "host" and (not _ADDRESS.fullmatch(text) or text.startswith("-")):
        raise InventoryError(f"{where} {text!r} is not a host name or address")
    if name == "user" and re.search(r"[\s:\x00-\x1f\x7f]", text):
        raise InventoryError(f"{where} {text!r} is not a user name")
    if name == "key_file":
        return os.path.expanduser(text)
    if name == "root" and not text.startswith("/"):
        raise InventoryError(f"{where} must be an absolute path, got {text!r}")
    if name == "proxy_jump" and text.lower() != "none":
        for hop in text.split(","):      # OpenSSH: [user@]host[:port], comma-separated hops
            try:
                parse_url(hop)
            except InventoryError as e:
                raise InventoryError(f"{where} has a bad hop: {e}") from None
    return text


def parse_url(url: str) -> Target:
    """``ssh://user@host:port``, ``ssh://[::1]:2222``, ``user@host:port``, ``host``. An IPv6
    address without brackets (``fe80::1``) is taken whole, with no port."""
    where = f"target {url!r}:"
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        rest = scheme
    elif scheme.lower() not in SCHEMES:
        raise InventoryError(f"{where} only {', '.join(f'{known}://' for known in SCHEMES)} targets are supported, not {scheme}://")
    elif rest.endswith("/"):
        rest = rest[:-1]
    user, at, hostport = rest.rpartition("@")
    if ":" in user:
        raise InventoryError(f"{where} passwords in targets are not supported; use a key or ssh-agent")
    if hostport.startswith("["):
        host, closed, after = hostport[1:].partition("]")
        if not closed or (after and not after.startswith(":")):
            raise InventoryError(f"{where} write an IPv6 address as [address] or [address]:port")
        port = after[1:] if after else None
    elif hostport.count(":") > 1:
        host, port = hostport, None
    else:
        host, colon, port = hostport.partition(":")
        port = port if colon else None
    return Target(
        scheme=scheme.lower() if sep else "ssh",
        name=host,
        host=_coerce("host", host, f"{where} host"),
        port=None if port is None else _port(port, f"{where} port"),
        user=_coerce("user", user, f"{where} user") if at else None,
    )


# -- the one shape every reader produces -------------------------------------------------------

@dataclass
class _Group:
    vars: dict[str, Any] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)


@dataclass
class _Host:
    vars: dict[str, Any] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)


@dataclass
class _Tree:
    source: str
    by_name: bool  # same-depth groups merge by name (Ansible) or in file order (ours)
    groups: dict[str, _Group] = field(default_factory=lambda: {"all": _Group()})
    hosts: dict[str, _Host] = field(default_factory=dict)

    def group(self, name: str) -> _Group:
        return self.groups.setdefault(name, _Group())

    def add_host(self, name: str, group: str | None, variables: dict[str, Any]) -> None:
        host = self.hosts.setdefault(name, _Host())
        host.vars.update(variables)
        if group is not None and group not in host.groups:
            self.group(group)
            host.groups.append(group)

    def add_child(self, parent: str, child: str) -> None:
        children = self.group(parent).children
        self.group(child)
        if child not in children:
            children.append(child)


def _resolve(tree: _Tree) -> list[Target]:
    parents: dict[str, list[str]] = {name: [] for name in tree.groups}
    for name, group in tree.groups.items():
        for child in group.children:
            parents[child].append(name)
    depth: dict[str, int] = {}
    lineage: dict[str, frozenset[str]] = {}  # a group and all its ancestors

    def visit(name: str, below: tuple[str, ...]) -> None:
        if name in lineage:
            return
        if name in below:
            cycle = " -> ".join(reversed(below[below.index(name):] + (name,)))
            raise InventoryError(f"{tree.source}: group {name!r} is its own ancestor ({cycle})")
        ups = parents[name] or ([] if name == "all" else ["all"])
        for up in ups:
            visit(up, below + (name,))
        depth[name] = 1 + max((depth[up] for up in ups), default=-1)
        lineage[name] = frozenset([name]).union(*(lineage[up] for up in ups))

    for name in tree.groups:
        visit(name, ())
    order = {name: i for i, name in enumerate(tree.groups)}

    def rank(group: str) -> tuple[int, str, int]:
        return depth[group], group if tree.by_name else "", order[group]

    targets = []
    for name, host in tree.hosts.items():
        member = frozenset(["all"]).union(*(lineage[g] for g in host.groups))
        ranked = sorted(member, key=rank)
        merged: dict[str, Any] = {}
        for group in ranked:
            merged.update(tree.groups[group].vars)
        merged.update(host.vars)
        merged["host"] = merged.get("host") or name
        groups = tuple(g for g in ranked if g not in ("all", "ungrouped"))  # least specific first
        targets.append(Target(name=name, groups=groups, **merged))
    return targets


# -- shared by the readers ---------------------------------------------------------------------

def _mapping(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InventoryError(f"{where} must be a mapping, got {value!r:.60}")
    return value


def _name(key: Any, what: str, where: str) -> str:
    text = "" if key is None else str(key).strip()
    if not text:
        raise InventoryError(f"{where}: a {what} without a name")
    if not _NAME.fullmatch(text):
        raise InventoryError(f"{where}: {text!r} is not a valid {what} name")
    return text


def _entries(value: Any, what: str, where: str) -> Iterator[tuple[str, Any]]:
    for key, body in _mapping(value, where).items():
        yield _name(key, what, where), body


_RANGE = re.compile(r"\[([0-9]*|[a-zA-Z]):([0-9]+|[a-zA-Z])(?::([0-9]+))?\]")


def _expand(pattern: str, where: str) -> list[str]:
    """Ansible host ranges: ``web[01:03]``, ``db-[a:c]``, ``n[0:10:5]``, several per name."""
    found = _RANGE.search(pattern)
    if not found:
        return [pattern]
    first, last, step = found[1] or "0", found[2], int(found[3] or 1)
    if first.isdigit() != last.isdigit() or step < 1:
        raise InventoryError(f"{where}: bad host range {found[0]!r} in {pattern!r}")
    if first.isdigit():
        width = len(first) if first.startswith("0") else 0
        values = [str(i).zfill(width) for i in range(int(first), int(last) + 1, step)]
    else:
        values = [chr(i) for i in range(ord(first), ord(last) + 1, step)]
    if not values:
        raise InventoryError(f"{where}: empty host range {found[0]!r} in {pattern!r}")
    tails = _expand(pattern[found.end():], where)
    return [pattern[:found.start()] + value + tail for value in values for tail in tails]


def _hosts(pattern: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """An Ansible host entry: names from a range pattern, with the port of ``name:port``."""
    text = "" if pattern is None else str(pattern).strip()
    port: dict[str, Any] = {}
    split = re.fullmatch(r"(.+):([0-9]+)", text)
    if split and ":" not in _RANGE.sub("", split[1]):   # host:port, not an IPv6 address
        text, port = split[1], {"port": _port(split[2], f"{where}: port of {text!r}")}
    return [(_name(name, "host", where), port) for name in _expand(text, where)]


# -- our own YAML ------------------------------------------------------------------------------

_OURS = {"host": "host", "port": "port", "user": "user", "key": "key_file", "sudo": "sudo",
         "docker_host": "docker_host", "root": "root", "proxy_jump": "proxy_jump"}


def _our_vars(raw: Any, where: str) -> dict[str, Any]:
    raw = _mapping(raw, where)
    unknown = [str(key) for key in raw if key not in _OURS]
    if unknown:
        raise InventoryError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(map(repr, unknown))}; known keys: {', '.join(_OURS)}")
    return {_OURS[key]: _coerce(_OURS[key], value, f"{where}: {key}") for key, value in raw.items()}


def _read_ours(data: dict, source: str) -> _Tree:
    tree = _Tree(source, by_name=False)
    for key, value in data.items():
        if key == "defaults":
            tree.groups["all"].vars.update(_our_vars(value, f"{source}: defaults"))
        elif key == "groups":
            for group, body in _entries(value, "group", f"{source}: groups"):
                where = f"{source}: group {group!r}"
                body = _mapping(body, where)
                unknown = [str(k) for k in body if k not in ("vars", "hosts")]
                if unknown:
                    raise InventoryError(f"{where}: unknown key {unknown[0]!r}; a group has vars and hosts")
                tree.group(group).vars.update(_our_vars(body.get("vars"), f"{where} vars"))
                for host, hvars in _entries(body.get("hosts"), "host", f"{where} hosts"):
                    tree.add_host(host, group, _our_vars(hvars, f"{where}, host {host!r}"))
        else:  # "hosts": the caller checked the top-level keys
            for host, hvars in _entries(value, "host", f"{source}: hosts"):
                tree.add_host(host, None, _our_vars(hvars, f"{source}: host {host!r}"))
    return tree


# -- Ansible variables, YAML and INI -----------------------------------------------------------

_ANSIBLE = (  # Target field <- the first of these variables that is set; other variables are ignored
    ("host", ("ansible_host", "ansible_ssh_host")),
    ("port", ("ansible_port", "ansible_ssh_port")),
    ("user", ("ansible_user", "ansible_ssh_user")),
    ("key_file", ("ansible_ssh_private_key_file", "ansible_private_key_file")),
    ("sudo", ("dockbench_sudo", "ansible_become")),
    ("docker_host", ("dockbench_docker_host",)),
    ("root", ("dockbench_root",)),
)


def _proxy_jump(raw: dict, where: str) -> str | None:
    """ProxyJump from ``-J hop`` or ``-o ProxyJump=hop`` in the ssh args Ansible passes on."""
    for var in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        if not isinstance(raw.get(var), str):
            continue
        try:
            words = shlex.split(raw[var])
        except ValueError as e:
            raise InventoryError(f"{where}: {var}: {e}") from None
        for word, following in zip(words, words[1:] + [""]):
            if word.startswith("-J"):
                return word[2:] or following
            if word.startswith("-o"):
                option = (word[2:] or following).replace("=", " ", 1).split(None, 1)
                if len(option) == 2 and option[0].lower() == "proxyjump":
                    return option[1]
    return None


def _ansible_vars(raw: Any, where: str) -> dict[str, Any]:
    raw = _mapping(raw, where)
    out = {}
    for name, variables in _ANSIBLE:
        var = next((v for v in variables if v in raw), None)
        if var:
            out[name] = _coerce(name, raw[var], f"{where}: {var}")
    jump = _proxy_jump(raw, where)
    if jump:
        out["proxy_jump"] = _coerce("proxy_jump", jump, f"{where}: ProxyJump in the ssh args")
    return out


def _read_ansible_yaml(data: dict, source: str) -> _Tree:
    tree = _Tree(source, by_name=True)

    def walk(group: str, body: Any, above: tuple[str, ...]) -> None:
        where = f"{source}: group {group!r}"
        if group in above:
            raise InventoryError(f"{where} contains itself")
        tree.group(group)
        for key, value in _mapping(body, where).items():
            if key == "vars":
                tree.group(group).vars.update(_ansible_vars(value, f"{where} vars"))
            elif key == "hosts":
                for pattern, hvars in _mapping(value, f"{where} hosts").items():
                    variables = _ansible_vars(hvars, f"{where}, host {pattern!r}")
                    for host, port in _hosts(pattern, f"{where} hosts"):
                        tree.add_host(host, group, {**port, **variables})
            elif key == "children":
                for child, child_body in _entries(value, "group", f"{where} children"):
                    tree.add_child(group, child)
                    walk(child, child_body, above + (group,))
            else:
                raise InventoryError(f"{where}: unknown key {key!r}; an Ansible group has hosts, children and vars")

    for group, body in _entries(data, "group", source):
        walk(group, body, ())
    return tree


_SECTION = re.compile(r"\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?")


def _words(text: str, where: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError as e:
        raise InventoryError(f"{where}: {e} in {text.strip()!r}") from None


def _read_ini(text: str, source: str) -> _Tree:
    tree = _Tree(source, by_name=True)
    group, kind = "ungrouped", "hosts"
    for number, line in enumerate(text.splitlines(), 1):
        line, where = line.strip(), f"{source}:{number}"
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            section = _SECTION.fullmatch(line)
            if not section or (section[2] or "hosts") not in ("hosts", "vars", "children"):
                raise InventoryError(f"{where}: bad section header {line!r}; "
                                     "expected [group], [group:vars] or [group:children]")
            group, kind = _name(section[1], "group", where), section[2] or "hosts"
            tree.group(group)
        elif kind == "vars":
            key, equals, value = line.partition("=")
            if not equals or not key.strip():
                raise InventoryError(f"{where}: expected key=value in [{group}:vars], got {line!r}")
            value = " ".join(_words(value, where))
            tree.group(group).vars.update(_ansible_vars({key.strip(): value}, where))
        elif kind == "children":
            words = _words(line, where)
            if len(words) != 1:
                raise InventoryError(f"{where}: expected one group name in [{group}:children], got {line!r}")
            tree.add_child(group, _name(words[0], "group", where))
        else:
            pattern, *assignments = _words(line, where) or [""]
            if "=" in pattern:
                raise InventoryError(f"{where}: a host line must start with the host name, got {line!r}")
            raw = {}
            for item in assignments:
                key, equals, value = item.partition("=")
                if not equals or not key:
                    raise InventoryError(f"{where}: expected key=value after the host name, got {item!r}")
                raw[key] = value
            variables = _ansible_vars(raw, where)
            for host, port in _hosts(pattern, where):
                tree.add_host(host, group, {**port, **variables})
    return tree


# -- loading -----------------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys: a host pasted twice must not silently lose one."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict:
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:   # unhashable: construct_mapping reports it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(data: dict, source: str) -> _Tree:
    if set(data) <= {"defaults", "groups", "hosts"}:
        return _read_ours(data, source)
    if "all" in data or any(isinstance(v, dict) and v and set(v) <= {"hosts", "children", "vars"}
                            for v in data.values()):
        return _read_ansible_yaml(data, source)
    keys = ", ".join(map(repr, map(str, data)))
    raise InventoryError(f"{source}: not an inventory (top-level keys {keys}); dockbench's own YAML "
                         "has defaults, groups and hosts, an Ansible YAML inventory has all or "
                         "groups with hosts, children and vars")


def load(path: str | Path) -> list[Target]:
    """The hosts of an inventory, once each, in file order. The format is detected: a YAML mapping
    of defaults/groups/hosts is ours, one with ``all`` or Ansible-style groups is Ansible YAML,
    anything else is read as Ansible INI (unless the file is named .yml, .yaml or .json)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as e:
        raise InventoryError(f"{source}: cannot read the inventory: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise InventoryError(f"{source}: not a text file (not UTF-8)") from None
    try:
        data, yaml_error = yaml.load(bounded_json.check_flow_nesting(text), Loader=_Loader), None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        data, yaml_error = None, f"{source}{line}: not valid YAML: {getattr(e, 'problem', None) or e}"
    except (RecursionError, ValueError) as e:  # nesting past the composer's recursion or check_flow_nesting; a number too long
        data, yaml_error = None, f"{source}: not valid YAML: {e if isinstance(e, ValueError) else 'nested too deeply'}"
    if isinstance(data, dict):
        tree = _read_yaml(data, source)
    elif Path(path).suffix.lower() in (".yml", ".yaml", ".json") and (yaml_error or data is not None):
        raise InventoryError(yaml_error or f"{source}: expected a mapping at the top level, got {data!r:.60}")
    else:
        try:
            tree = _read_ini(text, source)
        except InventoryError as e:
            if yaml_error is None:
                raise
            raise InventoryError(f"{e} (read as an Ansible INI inventory; as YAML: {yaml_error})") from None
    targets = _resolve(tree)
    if not targets:
        raise InventoryError(f"{source}: the inventory lists no hosts")
    return targets


# -- --limit -----------------------------------------------------------------------------------

def _matcher(pattern: str) -> Callable[[Target], bool]:
    if pattern == "all":
        return lambda target: True
    if pattern.startswith("~"):
        try:
            regex = re.compile(pattern[1:])
        except re.error as e:
            raise InventoryError(f"--limit: bad regular expression {pattern[1:]!r}: {e}") from None
    else:
        regex = re.compile(fnmatch.translate(pattern))
    return lambda target: any(regex.match(name) for name in (target.name, *target.groups))


def limit(targets: list[Target], pattern: str) -> list[Target]:
    """Ansible-style ``--limit``: comma-separated host or group names, with globs (``web*``) or
    ``~regex``; ``all`` is every host; ``!pattern`` excludes; ``&pattern`` must match as well.
    With only exclusions the start is every host (``!db*``). Order is kept; no match gives []."""
    include, require, exclude = [], [], []
    for part in (p.strip() for p in pattern.split(",")):
        if part.startswith("!"):
            exclude.append(_matcher(part[1:]))
        elif part.startswith("&"):
            require.append(_matcher(part[1:]))
        elif part:
            include.append(_matcher(part))
    return [t for t in targets
            if (not include or any(m(t) for m in include))
            and all(m(t) for m in require)
            and not any(m(t) for m in exclude)]
