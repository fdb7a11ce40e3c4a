"""The remediation plan of a judged report: per host, one item per fixable FAIL, what it
changes and at what risk, the host changes merged per file, and what a person must answer.

Only FAILs that no waiver covers get items; MANUAL findings become questions, waived ones are
listed as waived. Paths are the target's own (a --root scan's `root` prefixes them when a
script applies the plan). Items that cannot be written from what the report and its facts
hold are kept, refused, with the reason.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from typing import Any

import yaml

from dockbench import checks
from dockbench.benchmark import __version__
from dockbench.benchmark.document.redact import REDACTED
from dockbench.benchmark.judge.facts import Facts, flag_values
from dockbench.checks.fixes import FIXES, AuditWatch, DaemonSetting, FileSetting, KernelSetting, RunOption

AUDIT_RULES_FILE = "/etc/audit/rules.d/dockbench.rules"
SYSCTL_FILE = "/etc/sysctl.d/60-dockbench.conf"
OVERRIDE_FILE = "docker-compose.override.yml"
COMPOSE_PROJECT, COMPOSE_SERVICE, COMPOSE_DIR = "com.docker.compose.project", "com.docker.compose.service", "com.docker.compose.project.working_dir"
NEEDS_FACTS = "needs the scan's facts snapshot (--facts FILE, or --archive with a scan stored with its facts)"
# An audit rule file has no quoting: a watched path must be one plain word.
PLAIN_PATH = re.compile(r"/[^\s\x00-\x1f\x7f]*")


class PlanError(ValueError):
    """The input cannot give a plan (not a report, or facts of another host); the message says which."""


def build(document: dict[str, Any], facts: dict[str, Any] | None = None, *, only: tuple[str, ...] = (), skip: tuple[str, ...] = (),
          safe_only: bool = False, host: str | None = None) -> dict[str, Any]:
    """The plan for a host report or a sweep (or its one `host`); `facts` is the host's snapshot,
    or a sweep's {"kind": "facts-sweep", "hosts": {target name: snapshot}}. `safe_only` keeps
    the items that may be applied unattended, and no other change."""
    if document.get("kind") not in ("host", "sweep"):
        raise PlanError("not a dockbench report (its kind is neither host nor sweep)")
    reports = document["hosts"] if document["kind"] == "sweep" else [document]
    if host is not None:
        reports = [r for r in reports if host in (r["target"]["name"], r["target"].get("hostname"))]
        if not reports:
            raise PlanError(f"the report has no host {host!r}")
    if facts is not None and facts.get("kind") == "facts-sweep":
        by_name = facts.get("hosts") or {}
    elif facts is not None:
        if len(reports) != 1 or facts.get("collected_at") != reports[0].get("facts_collected_at"):
            raise PlanError("the facts snapshot is not the one this report was judged from (its collected_at differs)")
        by_name = {reports[0]["target"]["name"]: facts}
    else:
        by_name = {}
    return {
        "kind": "remediation-plan",
        "tool": {"name": "dockbench", "version": __version__},
        "benchmark": document["benchmark"],
        "source": document.get("sweep_id") or document.get("scan_id"),
        "hosts": [host_plan(report, by_name.get(report["target"]["name"]), only, skip, safe_only) for report in reports],
    }


def selected(check_id: str, only: tuple[str, ...], skip: tuple[str, ...]) -> bool:
    """--only / --skip: check ids or globs."""
    if only and not any(fnmatch.fnmatchcase(check_id, p) for p in only):
        return False
    return not any(fnmatch.fnmatchcase(check_id, p) for p in skip)


def host_plan(report: dict[str, Any], snapshot: dict[str, Any] | None, only: tuple[str, ...], skip: tuple[str, ...], safe_only: bool = False) -> dict[str, Any]:
    checks.load()  # the fix declarations register with the checks
    facts = Facts(snapshot) if snapshot is not None else None
    target = report["target"]
    plan: dict[str, Any] = {
        "host": target["name"], "hostname": target.get("hostname"), "transport": target.get("transport"), "root": target.get("root") or "/",
        "scan_id": report["scan_id"], "facts": facts is not None,
        "items": [], "daemon_json": None, "audit_rules": None, "sysctl": None, "containers": [], "compose": [],
        "questions": [], "waived": [], "not_covered": [],
    }
    for result in report["results"]:
        if not selected(result["id"], only, skip) or result["status"] not in ("FAIL", "MANUAL"):
            continue
        head = {"check": result["id"], "cis": [c["id"] for c in result.get("cis", [])], "title": result["title"]}
        if result.get("waived"):
            plan["waived"].append({**head, "status": result["status"], "message": result["message"]})
        elif result["status"] == "MANUAL":
            plan["questions"].append({**head, "question": result["message"]})
        elif result["id"] not in FIXES:
            plan["not_covered"].append({**head, "remediation": result["remediation"]})
        else:
            fix = FIXES[result["id"]]
            item = {**head, "why": result["rationale"], "impact": fix.impact, "restart": None, "safe": fix.safe, "refused": None}
            plan["items"].append(item)
            ITEM_BUILDERS[type(fix)](item, fix, result, facts, plan)
            if item["refused"]:
                item["safe"] = False
    if safe_only:
        plan["left_for_review"] = [i["check"] for i in plan["items"] if not i["safe"]]
        plan["items"] = [i for i in plan["items"] if i["safe"]]
    _merge_lines(plan)
    _merge_daemon_json(plan, facts)
    _merge_containers(plan, facts)
    return plan


def _daemon_item(item: dict, fix: DaemonSetting, result: dict, facts: Facts | None, plan: dict) -> None:
    item.update(kind="daemon_json", restart="daemon", changes=[])
    if facts is None:
        item["refused"] = f"{NEEDS_FACTS}: daemon.json's content is in it"
        return
    config = facts.daemon_config
    path, data = config["path"], config["data"] or {}
    if config["state"] == "invalid":
        item["refused"] = f"{path} does not parse ({config['error']}): fix it by hand first (see daemon-config-valid)"
    elif config["state"] not in ("present", "absent"):
        item["refused"] = f"{path} could not be read ({config['state']}{': ' + config['error'] if config['error'] else ''}): scan again with --sudo"
    elif REDACTED in json.dumps(data):
        item["refused"] = f"{path} holds values the probe dropped as secrets, so the file cannot be rewritten from the scan: set {', '.join(fix.settings)} by hand"
    else:
        on_command_line = [key for key in fix.settings if flag_values(facts.daemon_argv, key)]
        refusal = fix.refuse(facts) if fix.refuse else None
        if on_command_line:
            source = (facts.daemon or {}).get("source") or "the dockerd command line"
            item["refused"] = (f"{', '.join(on_command_line)} is given on dockerd's command line ({source}), and dockerd refuses to start with an option "
                               "both there and in daemon.json: change it on the command line")
        elif refusal:
            item["refused"] = refusal
    item["changes"] = [{"file": path, "key": key, "old": data.get(key), "was_set": key in data, "new": value}
                       for key, value in fix.settings.items() if data.get(key, object()) != value]


def _merge_daemon_json(plan: dict, facts: Facts | None) -> None:
    """One new daemon.json for every daemon item not refused: the other keys and their order kept."""
    items = [i for i in plan["items"] if i["kind"] == "daemon_json" and not i["refused"]]
    if facts is None or not items:
        return
    config = facts.daemon_config
    old = dict(config["data"] or {})
    new = dict(old)
    for item in items:
        new.update({change["key"]: change["new"] for change in item["changes"]})
    old_text = json.dumps(old, indent=2, ensure_ascii=False) + "\n" if config["state"] == "present" else ""
    new_text = json.dumps(new, indent=2, ensure_ascii=False) + "\n"
    entry = facts.file(config["path"]).entry
    plan["daemon_json"] = {
        "path": config["path"],
        "checks": [i["check"] for i in items],
        "exists": config["state"] == "present",
        "scanned_size": entry.get("size"),  # the script refuses a file that changed since the scan
        "mode": entry.get("mode", 0o644), "uid": entry.get("uid", 0), "gid": entry.get("gid", 0),
        "diff": "".join(difflib.unified_diff(old_text.splitlines(True), new_text.splitlines(True), config["path"], config["path"] + " (new)")),
        "new_text": new_text,
    }


def _audit_item(item: dict, fix: AuditWatch, result: dict, facts: Facts | None, plan: dict) -> None:
    item.update(kind="audit_rule", changes=[], reload="augenrules --load")
    if facts is None:
        item["refused"] = f"{NEEDS_FACTS}: the path to watch is found from it"
        return
    path = fix.locate(facts)
    if not path or not PLAIN_PATH.fullmatch(path):
        item["refused"] = f"the watched path {path!r} holds whitespace or control characters, which an audit rule cannot name"
        return
    rule = f"-w {path} -p wa -k docker"
    item["changes"] = [{"file": AUDIT_RULES_FILE, "add_line": rule}]
    if facts.audit_daemon.absent:
        item["safe"] = False
        item["impact"] += " No audit daemon is installed or running here, so nothing will load the rule: install auditd first."


def _merge_lines(plan: dict) -> None:
    """The audit rules file and the sysctl drop-in: each line the items add, once."""
    for block, kind, path in (("audit_rules", "audit_rule", AUDIT_RULES_FILE), ("sysctl", "sysctl", SYSCTL_FILE)):
        items = [i for i in plan["items"] if i["kind"] == kind and not i["refused"]]
        lines = {c.get("add_line") or c["line"]: c.get("key", "") for i in items for c in i["changes"]}
        plan[block] = {"path": path, "lines": [{"line": line, "key": key} for line, key in lines.items()], "checks": [i["check"] for i in items]} if items else None


def _file_item(item: dict, fix: FileSetting, result: dict, facts: Facts | None, plan: dict) -> None:
    """The file and its owner and mode are the evidence of the FAIL: `PATH: "file root:root 0666"`."""
    item.update(kind="file", changes=[])
    evidence = (result.get("evidence") or [{}])[0]
    words = str(evidence.get("observed", "")).split()
    if len(words) != 3 or ":" not in words[1] or not re.fullmatch(r"[0-7]{3,4}", words[2]):
        item["refused"] = "the finding's evidence does not name the file with its owner and mode"
        return
    path, owner, mode = evidence["subject"], words[1], int(words[2], 8)
    if words[0] == "socket":  # shown for review, not applied: it would not outlast the next start
        item.update(kind="socket", safe=False)
        item["impact"] += " The daemon re-creates its socket at every start: set it with dockerd's --group, or docker.socket's SocketUser=, SocketGroup= and SocketMode=."
    if fix.owner is not None:
        item["changes"] = [{"file": path, "owner": {"old": owner, "new": ":".join(fix.owner)}}]
        user, group = fix.owner
        uid, gid = ((facts.users.get(user) or {}).get("uid"), (facts.groups.get(group) or {}).get("gid")) if facts else (None, None)
        if uid is not None and gid is not None:  # the target's own ids: a --root host's names are not this machine's
            item["changes"][0]["owner"]["ids"] = f"{uid}:{gid}"
    elif fix.mode is not None:
        item["changes"] = [{"file": path, "mode": {"old": f"{mode:04o}", "new": f"{mode & fix.mode:04o}"}}]


def _kernel_item(item: dict, fix: KernelSetting, result: dict, facts: Facts | None, plan: dict) -> None:
    item.update(kind="sysctl", reload=f"sysctl -p {SYSCTL_FILE}")
    old = (result.get("evidence") or [{}])[0].get("observed")
    item["changes"] = [{"file": SYSCTL_FILE, "key": fix.name, "old": old, "new": fix.value, "line": f"{fix.name} = {fix.value}"}]
    if plan["root"] != "/":
        item["safe"] = False
        item["impact"] += " On a host mounted with --root the drop-in takes effect at that host's next boot."


def _container_item(item: dict, fix: RunOption, result: dict, facts: Facts | None, plan: dict) -> None:
    item.update(kind="container", restart="container", safe=False, options=list(fix.options), compose=fix.compose)
    item["containers"] = [e["subject"] for e in result.get("evidence") or [] if "subject" in e]


def _merge_containers(plan: dict, facts: Facts | None) -> None:
    """Per container, every run option its items change; per Compose project, the override file."""
    by_name = {c.name: c for c in facts.all_containers} if facts is not None else {}
    containers: dict[str, dict] = {}
    for item in (i for i in plan["items"] if i["kind"] == "container"):
        for name in item["containers"]:
            labels = by_name[name].labels if name in by_name else {}
            entry = containers.setdefault(name, {"name": name, "options": [], "checks": [], "compose_project": labels.get(COMPOSE_PROJECT),
                                                  "compose_service": labels.get(COMPOSE_SERVICE), "compose_dir": labels.get(COMPOSE_DIR)})
            entry["options"] += item["options"]
            entry["checks"].append(item["check"])
            entry.setdefault("compose", {}).update(item["compose"])
    plan["containers"] = list(containers.values())
    projects: dict[tuple[str, str | None], dict] = {}
    for entry in plan["containers"]:
        if entry["compose_project"] and entry["compose_service"]:
            project = projects.setdefault((entry["compose_project"], entry["compose_dir"]), {"services": {}})
            project["services"].setdefault(entry["compose_service"], {}).update(entry["compose"])
    plan["compose"] = [
        {"project": name, "working_dir": directory, "path": f"{directory.rstrip('/')}/{OVERRIDE_FILE}" if directory else OVERRIDE_FILE,
         "text": yaml.safe_dump({"services": project["services"]}, sort_keys=False, allow_unicode=True)}
        for (name, directory), project in projects.items()
    ]


ITEM_BUILDERS = {DaemonSetting: _daemon_item, AuditWatch: _audit_item, FileSetting: _file_item, KernelSetting: _kernel_item, RunOption: _container_item}
