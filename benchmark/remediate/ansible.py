"""A host's plan as an Ansible playbook: one task per item, of ansible.builtin modules only,
tagged by check id, all of them honouring --check.

Ansible templates every string of a playbook; what came from the host is tagged `!unsafe`
(the `Unsafe` strings), so Ansible uses it as it is and never evaluates `{{ ... }}` in it.
"""

from __future__ import annotations

import re

import yaml

from dockbench.benchmark.remediate.targets import on_disk, single_host


class Unsafe(str):
    """A string Ansible must not template: written with the !unsafe tag."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:  # every task spells out its own tags
        return True


_Dumper.add_representer(Unsafe, lambda dumper, text: dumper.represent_scalar("!unsafe", str(text), style="|" if "\n" in text else None))


def render_ansible(plan: dict) -> str:
    host = single_host(plan, "ansible")
    tasks = [_debug([item["check"]], f"refused: {item['check']}: {item['refused']}") for item in host["items"] if item["refused"]]
    tasks += [_debug([item["check"]], f"to review: {item['check']}: {item['impact']}") for item in host["items"] if item["kind"] == "socket" and not item["refused"]]
    tasks += _daemon_json(host) + _line_files(host) + _files(host) + _containers(host)
    play = {
        "name": Unsafe(f"dockbench remediation plan for {host['host']} (scan {host['scan_id']})"),
        "hosts": "all",
        "gather_facts": False,
        "vars": {"restart_daemon": False},
        "tasks": tasks,
    }
    header = ("# dockbench remediation plan: review it, then run it against the host it names, e.g.\n"
              "#   ansible-playbook -i HOST, --become plan.yml --check --diff   (then without --check)\n"
              "# -e restart_daemon=true restarts dockerd after daemon.json changes.\n")
    return header + yaml.dump([play], Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)


def _task(name: str, tags: list[str], module: str, args: dict, **extra) -> dict:
    return {"name": Unsafe(name), "tags": tags, module: args, **extra}


def _debug(tags: list[str], message: str) -> dict:
    return _task(message.splitlines()[0][:100], tags, "ansible.builtin.debug", {"msg": Unsafe(message)})


def _daemon_json(host: dict) -> list[dict]:
    config = host["daemon_json"]
    if config is None:
        return []
    path = on_disk(host, config["path"])
    tasks = [_task(f"daemon.json: {', '.join(config['checks'])}", config["checks"], "ansible.builtin.copy",
                   {"dest": Unsafe(path), "content": Unsafe(config["new_text"]), "backup": True,
                    # an existing file keeps its owner and mode (a file item may change them); a new one is root's, 0644
                    **({} if config["exists"] else {"mode": "0644", "owner": "0", "group": "0"})}, register="daemon_json")]
    if host["root"] == "/":
        tasks.append(_task("restart dockerd to read daemon.json", config["checks"], "ansible.builtin.service", {"name": "docker", "state": "restarted"},
                           when="restart_daemon | bool and daemon_json is changed"))
    return tasks


def _line_files(host: dict) -> list[dict]:
    tasks = []
    for item in host["items"]:
        for change in item["changes"] if item["kind"] in ("audit_rule", "sysctl") and not item["refused"] else ():
            args = {"path": Unsafe(on_disk(host, change["file"])), "create": True, "backup": True,
                    "mode": "0640" if item["kind"] == "audit_rule" else "0644"}
            if item["kind"] == "sysctl":
                args.update(regexp=f"^{re.escape(change['key'])}\\s*=", line=change["line"])
            else:
                args["line"] = Unsafe(change["add_line"])
            tasks.append(_task(f"{item['check']}: {args['line']}", [item["check"]], "ansible.builtin.lineinfile", args))
    return tasks


def _files(host: dict) -> list[dict]:
    tasks = []
    for item in host["items"]:
        for change in item["changes"] if item["kind"] == "file" else ():
            args: dict = {"path": Unsafe(on_disk(host, change["file"]))}
            if "mode" in change:
                args["mode"] = change["mode"]["new"]
            else:
                owner, group = (change["owner"].get("ids") or change["owner"]["new"]).split(":")
                args.update(owner=Unsafe(owner), group=Unsafe(group))
            tasks.append(_task(f"{item['check']}: {change['file']}", [item["check"]], "ansible.builtin.file", args))
    return tasks


def _containers(host: dict) -> list[dict]:
    """Container changes take a re-creation a person schedules: shown, never made."""
    tasks = [_debug(entry["checks"], f"to review: re-create container {entry['name']} with {' '.join(entry['options'])} ({', '.join(entry['checks'])})")
             for entry in host["containers"]]
    tasks += [_debug(["compose"], f"to review: Compose project {p['project']}: {p['path']} with\n{p['text']}") for p in host["compose"]]
    return tasks
