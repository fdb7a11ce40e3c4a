"""A host's plan as a POSIX shell script: a dry run by default, `--apply` to change the host.

Every string that comes from the host (paths, names, file contents, messages) reaches the
shell through `word` only, single-quoted, so the script runs it as data, never as code. Each
step first compares: a second run changes nothing. A file is copied beside itself with a time
stamp before its first change; the daemon is restarted only with `--restart-daemon`.
"""

from __future__ import annotations

import posixpath
import shlex

from dockbench.benchmark.remediate.targets import on_disk, single_host

PRELUDE = r"""set -eu
APPLY=0
RESTART=0
for arg in "$@"; do
  case "$arg" in
    --apply) APPLY=1 ;;
    --restart-daemon) RESTART=1 ;;
    *) echo "usage: $0 [--apply] [--restart-daemon]" >&2; exit 2 ;;
  esac
done
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
CHANGED=0
REFUSED=0

say() { printf '%s\n' "$*"; }

# backup FILE: a copy beside it, FILE.dockbench-STAMP, before the first change of this run
backup() {
  if [ -e "$1" ] && [ ! -e "$1.dockbench-$STAMP" ]; then cp -p "$1" "$1.dockbench-$STAMP"; fi
}

# done_change FILE WHAT: a change made (with --apply) or that would be made
done_change() {
  if [ "$APPLY" = 1 ]; then say "changed: $1: $2"; CHANGED=1; else say "would change: $1: $2"; fi
}

# put_file FILE DIR MODE OWNER SCANNED_SIZE CONTENT: FILE holds exactly CONTENT
put_file() {
  if [ -f "$1" ] && printf '%s' "$6" | cmp -s - "$1"; then say "unchanged: $1"; return 0; fi
  if [ -n "$5" ] && [ -f "$1" ] && [ "$(wc -c < "$1" | tr -d ' ')" != "$5" ]; then
    say "refused: $1 changed since the scan: scan the host again"; REFUSED=1; return 0
  fi
  if [ "$APPLY" = 1 ]; then
    backup "$1"
    mkdir -p "$2"
    printf '%s' "$6" > "$1.dockbench-new"
    chown "$4" "$1.dockbench-new"
    chmod "$3" "$1.dockbench-new"
    mv -f "$1.dockbench-new" "$1"
  fi
  done_change "$1" "new content"
}

# put_line FILE DIR MODE LINE [KEY]: LINE is in FILE; with KEY, other lines setting KEY go
put_line() {
  if [ -f "$1" ] && grep -qxF -e "$4" "$1"; then say "unchanged: $1: $4"; return 0; fi
  if [ "$APPLY" = 1 ]; then
    backup "$1"
    mkdir -p "$2"
    {
      if [ -f "$1" ]; then
        if [ -n "${5:-}" ]; then grep -vF -e "$5 =" -e "$5=" "$1" || true; else cat "$1"; fi
      fi
      printf '%s\n' "$4"
    } > "$1.dockbench-new"
    chmod "$3" "$1.dockbench-new"
    mv -f "$1.dockbench-new" "$1"
  fi
  done_change "$1" "$4"
}

# set_mode FILE MODE / set_owner FILE OWNER STAT_FORMAT (%u:%g for ids, %U:%G for names): only when they differ
set_mode() {
  if [ ! -e "$1" ]; then say "missing: $1"; return 0; fi
  if [ "$((0$(stat -c %a "$1")))" = "$((0$2))" ]; then say "unchanged: $1: mode $2"; return 0; fi
  if [ "$APPLY" = 1 ]; then chmod "$2" "$1"; fi
  done_change "$1" "mode $2"
}
set_owner() {
  if [ ! -e "$1" ]; then say "missing: $1"; return 0; fi
  if [ "$(stat -c "$3" "$1")" = "$2" ]; then say "unchanged: $1: owner $2"; return 0; fi
  if [ "$APPLY" = 1 ]; then chown -h "$2" "$1"; fi
  done_change "$1" "owner $2"
}
"""


def word(text: object) -> str:
    """The one quoting of host data for the shell: a single-quoted word."""
    return shlex.quote(str(text))


def render_sh(plan: dict) -> str:
    host = single_host(plan, "sh")
    lines = ["#!/bin/sh", "# dockbench remediation plan: review it, then run it as root on the host it names.",
             "# Dry run by default (prints each change); --apply makes them; --restart-daemon also restarts dockerd.", PRELUDE]
    lines.append(f"say {word('dockbench plan for ' + host['host'] + ' (scan ' + host['scan_id'] + ')')}")
    if host["transport"] == "ssh" and host["hostname"]:
        lines += [f'if [ "$(uname -n)" != {word(host["hostname"])} ]; then',
                  f"  say {word('this plan is for ' + host['hostname'] + ': run it there')} >&2; exit 2", "fi"]
    for item in host["items"]:
        if item["refused"]:
            lines.append(f"say {word('refused: ' + item['check'] + ': ' + item['refused'])}")
        elif item["kind"] == "socket":
            lines.append(f"say {word('to review: ' + item['check'] + ': ' + item['impact'])}")
    lines += _daemon_json(host) + _line_files(host) + _files(host) + _containers(host)
    lines += ['if [ "$REFUSED" = 1 ]; then exit 1; fi', ""]
    return "\n".join(lines)


def _daemon_json(host: dict) -> list[str]:
    config = host["daemon_json"]
    if config is None:
        return []
    path = on_disk(host, config["path"])
    size = config["scanned_size"] if config["exists"] else ""
    lines = [f"say {word('daemon.json for ' + ', '.join(config['checks']) + ':')}",
             f"say {word(config['diff'])}",
             f"put_file {word(path)} {word(posixpath.dirname(path))} {config['mode']:04o} {config['uid']}:{config['gid']} {word(size)} {word(config['new_text'])}"]
    if host["root"] == "/":
        lines += ['if [ "$RESTART" = 1 ] && [ "$APPLY" = 1 ] && [ "$CHANGED" = 1 ]; then systemctl restart docker; say "restarted: docker";',
                  'else say "the daemon reads daemon.json when it restarts: systemctl restart docker (or --restart-daemon)"; fi']
    else:
        lines.append(f"say {word('the daemon of the host mounted at ' + host['root'] + ' reads daemon.json when it restarts')}")
    return lines


def _line_files(host: dict) -> list[str]:
    """The audit rules file and the sysctl drop-in: lines ensured one by one, then loaded on a live host."""
    lines: list[str] = []
    for block, mode, load in ((host["audit_rules"], "0640", "augenrules --load"), (host["sysctl"], "0644", "sysctl -p")):
        if block is None:
            continue
        path = on_disk(host, block["path"])
        lines.append("CHANGED=0")
        lines += [f"put_line {word(path)} {word(posixpath.dirname(path))} {mode} {word(e['line'])} {word(e['key'])}" for e in block["lines"]]
        if host["root"] == "/":
            command = f"{load} {word(path)}" if load.startswith("sysctl") else load
            lines.append(f'if [ "$APPLY" = 1 ] && [ "$CHANGED" = 1 ]; then {command}; fi')
    return lines


def _files(host: dict) -> list[str]:
    lines = []
    for item in host["items"]:
        for change in item["changes"] if item["kind"] == "file" else ():
            path = word(on_disk(host, change["file"]))
            if "mode" in change:
                lines.append(f"set_mode {path} {change['mode']['new']}")
            else:
                ids = change["owner"].get("ids")
                lines.append(f"set_owner {path} {word(ids)} %u:%g" if ids else f"set_owner {path} {word(change['owner']['new'])} %U:%G")
    return lines


def _containers(host: dict) -> list[str]:
    """Run options change when a container is re-created: printed for a person, never applied."""
    lines = []
    for entry in host["containers"]:
        options = " ".join(shlex.quote(o) for o in entry["options"])
        lines.append(f"say {word('to review: re-create container ' + entry['name'] + ' with ' + options + ' (' + ', '.join(entry['checks']) + ')')}")
    for project in host["compose"]:
        lines.append(f"say {word('to review: Compose project ' + project['project'] + ': ' + project['path'] + ' with')}")
        lines.append(f"say {word(project['text'])}")
    return lines
