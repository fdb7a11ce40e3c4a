"""`dockbench fix` end to end: a private daemon with a bad configuration, under a --root tree of
its own, is scanned, its plan applied (as a shell script, or as an Ansible playbook), the daemon
restarted and scanned again: every item the plan called safe now PASSes, no check got worse, and
applying the plan again changes nothing.

The daemon (tests/support/dockerd.py) lives inside the tree at /run/d, so its socket and its
daemon.json are the tree's; the tree's docker.service names the same command line, which is
where a --root scan reads dockerd's options. Strings from the host are hostile: a daemon label
and Compose labels with quotes, newlines, `$(...)`, backticks and Ansible's `{{ }}`, each of
which would create CANARY if a script ran it as code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.cli_run import by_id, dockbench, load_report
from tests.support import dockerd
from tests.test_host_tree import put

RANK = {"PASS": 0, "NOT_APPLICABLE": 0, "MANUAL": 1, "FAIL": 2, "ERROR": 2}
DAEMON_DIR = "/run/d"

def hostile(canary: Path) -> str:
    return f"it's $(touch {canary}) `touch {canary}` {{{{ lookup('pipe', 'touch {canary}') }}}}\n'; touch {canary}; '"

def bad_config(canary: Path) -> dict:
    return {"live-restore": False, "debug": True, "log-level": "debug", "userland-proxy": True, "labels": [f"note={hostile(canary)}"]}

class Host:
    """The tree, its daemon, and the scans of it."""

    def __init__(self, base: Path):
        self.base, self.root = base, base / "h"
        self.daemon_dir = self.root / DAEMON_DIR.lstrip("/")
        self.canary = base / "CANARY"
        self.archive = base / "archive.sqlite3"
        self.host = dockerd.host_url(self.daemon_dir)

    def scan(self, name: str, *extra) -> tuple[dict, Path, Path]:
        report, facts = self.base / f"{name}.json", self.base / f"{name}.facts.json"
        done = dockbench("scan", "--root", self.root, "--docker-host", self.host, "-o", report, "--facts-out", facts,
                         "--archive", self.archive, "-q", "--fail-on", "never", *extra)
        assert done.returncode == 0, done.stderr
        return by_id(load_report(report)), report, facts

    def restart(self) -> None:
        """Stop the daemon and start it on the daemon.json the plan wrote (start() writes it again, byte for byte)."""
        path = self.daemon_dir / "daemon.json"
        text = path.read_text()
        dockerd.stop(self.daemon_dir)
        dockerd.start(self.daemon_dir, config=json.loads(text))
        assert path.read_text() == text

@pytest.fixture
def bad_host():
    base = Path(tempfile.mkdtemp(prefix="dbt-fix-", dir="/tmp"))
    base.chmod(0o755)
    host = Host(base)
    root = host.root
    put(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644)
    put(root, "/etc/group", "root:x:0:\ndocker:x:999:\n", 0o644)
    put(root, "/etc/hostname", "fix-host\n", 0o644)
    put(root, "/etc/os-release", 'ID=debian\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n', 0o644)
    put(root, "/usr/sbin/auditd", "#!/bin/sh\n", 0o750)
    (root / "etc/audit/rules.d").mkdir(parents=True)
    put(root, "/usr/lib/systemd/system/docker.service",
        f"[Service]\nExecStart=/usr/bin/dockerd --host unix://{DAEMON_DIR}/docker.sock --config-file {DAEMON_DIR}/daemon.json "
        f"--bridge none --iptables=false --ip-masq=false\n", 0o644)
    try:
        dockerd.start(host.daemon_dir, config=bad_config(host.canary))
    except dockerd.DaemonError as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"cannot start the private dockerd: {exc}", pytrace=False)
    (host.daemon_dir / "daemon.json").chmod(0o666)
    labels = {"com.docker.compose.project": hostile(host.canary), "com.docker.compose.service": "web$(touch x)",
              "com.docker.compose.project.working_dir": f"/srv/it's $(touch {host.canary})"}
    run = dockerd.docker(host.host, "run", "-d", "--network", "none", "--restart", "always", "--name", "composed",
                         *(f"--label={k}={v}" for k, v in labels.items()), dockerd.IMAGE, "sleep", "3600")
    assert run.returncode == 0, run.stderr
    yield host
    dockerd.stop(host.daemon_dir)
    shutil.rmtree(base, ignore_errors=True)

def fix(*args) -> str:
    done = dockbench("fix", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout

def plan_of(host: Host, report: Path, facts: Path) -> dict:
    return json.loads(fix(report, "--facts", facts, "-f", "json", "--skip", "daemon-userns-remap"))["hosts"][0]

def assert_fixed(plan: dict, before: dict, after: dict) -> None:
    safe = [i["check"] for i in plan["items"] if i["safe"]]
    assert safe, "the plan has no safe item to apply"
    assert {c: after[c]["status"] for c in safe} == dict.fromkeys(safe, "PASS")
    worse = {c: (before[c]["status"], after[c]["status"]) for c in before if RANK[after[c]["status"]] > RANK[before[c]["status"]]}
    assert worse == {}

def assert_plan_shape(plan: dict) -> None:
    items = {i["check"]: i for i in plan["items"]}
    # Both in daemon.json and on dockerd's command line is refused, with where the command line is.
    assert items["daemon-iptables-enabled"]["refused"].startswith("iptables is given on dockerd's command line (/usr/lib/systemd/system/docker.service)")
    assert items["daemon-live-restore"]["changes"] == [{"file": f"{DAEMON_DIR}/daemon.json", "key": "live-restore", "old": False, "was_set": True, "new": True}]
    config = plan["daemon_json"]
    new = json.loads(config["new_text"])
    assert list(new)[:5] == ["live-restore", "debug", "log-level", "userland-proxy", "labels"], "the other keys and their order are kept"
    assert (new["live-restore"], new["debug"], new["log-level"], new["userland-proxy"]) == (True, False, "info", False)
    assert items["perm-daemon-json-mode"]["changes"] == [{"file": f"{DAEMON_DIR}/daemon.json", "mode": {"old": "0666", "new": "0644"}}]
    assert f"-w {DAEMON_DIR}/daemon.json -p wa -k docker" in [line["line"] for line in plan["audit_rules"]["lines"]]
    container = plan["containers"][0]
    assert container["name"] == "composed" and container["compose_service"] == "web$(touch x)"
    assert plan["compose"][0]["path"].endswith("/docker-compose.override.yml")
    assert not any(i["safe"] for i in plan["items"] if i["kind"] == "container")

def test_the_shell_script_fixes_what_it_calls_safe_and_is_idempotent(bad_host):
    before, report, facts = bad_host.scan("before", "--fix-out", bad_host.base / "scan-plan.json")
    plan = plan_of(bad_host, report, facts)
    assert_plan_shape(plan)
    from_scan = json.loads((bad_host.base / "scan-plan.json").read_text())["hosts"][0]
    assert [i["check"] for i in from_scan["items"] if i["check"] != "daemon-userns-remap"] == [i["check"] for i in plan["items"]]
    script = bad_host.base / "plan.sh"
    fix(report, "--facts", facts, "--skip", "daemon-userns-remap", "-o", script)
    daemon_json = bad_host.daemon_dir / "daemon.json"
    original = daemon_json.read_text()

    dry = subprocess.run(["sh", script], capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert f"would change: {daemon_json}: new content" in dry.stdout
    assert daemon_json.read_text() == original, "a dry run changed the host"

    applied = subprocess.run(["sh", script, "--apply"], capture_output=True, text=True, timeout=60)
    assert f"changed: {daemon_json}: new content" in applied.stdout, applied.stdout + applied.stderr
    assert "refused: daemon-iptables-enabled: iptables is given on dockerd's command line" in applied.stdout
    assert hostile(bad_host.canary) in applied.stdout  # the Compose project name, printed as it is
    backups = list(daemon_json.parent.glob("daemon.json.dockbench-*"))
    assert [b.read_text() for b in backups] == [original]
    bad_host.restart()
    after, _, _ = bad_host.scan("after")
    assert_fixed(plan, before, after)

    again = subprocess.run(["sh", script, "--apply"], capture_output=True, text=True, timeout=60)
    assert [line for line in again.stdout.splitlines() if line.startswith("changed:")] == [], again.stdout
    assert f"unchanged: {daemon_json}" in again.stdout
    assert not bad_host.canary.exists(), "a hostile string ran as code"

def test_the_ansible_playbook_fixes_what_it_calls_safe_and_then_changes_nothing(bad_host, tmp_path):
    before, report, facts = bad_host.scan("before")
    plan = plan_of(bad_host, report, facts)
    playbook = bad_host.base / "plan.yml"
    scan_id = load_report(report)["scan_id"]
    fix(scan_id[:13], "--archive", bad_host.archive, "--skip", "daemon-userns-remap", "-o", playbook)
    env = {**os.environ, "ANSIBLE_HOME": str(tmp_path / "ansible"), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"), "ANSIBLE_NOCOLOR": "1"}
    command = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)]

    def run(*extra: str) -> str:
        done = subprocess.run([*command, *extra], capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    run("--syntax-check")
    first = run()
    assert "changed=0" not in first.split("PLAY RECAP")[1]
    assert json.loads((bad_host.daemon_dir / "daemon.json").read_text()) == json.loads(plan["daemon_json"]["new_text"])
    bad_host.restart()
    after, _, _ = bad_host.scan("after")
    assert_fixed(plan, before, after)
    checked = run("--check", "--diff")
    assert "changed=0" in checked.split("PLAY RECAP")[1], checked
    assert not bad_host.canary.exists(), "a hostile string ran as code"
