"""What the command line shows of dockbench, written to a folder, so a refactoring can be held
to it: run it before and after the change and compare the two folders.

    .venv/bin/python -m tests.behaviour /tmp/before            # on the old checkout's venv
    .venv/bin/python -m tests.behaviour /tmp/after
    diff -r /tmp/before /tmp/after                             # nothing, for a pure refactoring

Each case is one `dockbench` run on recorded data (no host is probed): every `--help` text, the
catalog in each format and benchmark, `evaluate` of the recorded snapshots under several
options into every output format, `report` of the frozen sweep and its first host in every
format, and bad input. A case's folder holds its stdout, stderr, exit code and every file it
wrote; scan ids and times are masked, since they are new on each run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data"
MASKS = [
    (re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), b"<uuid>"),
    (re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"), b"<time>"),
    (re.compile(rb"\d{8}T\d{6}Z"), b"<stamp>"),
    (re.compile(rb'("(?:start_|end_)?time": )\d{13}'), rb"\1<epoch-ms>"),
    (re.compile(rb"(_(?:timestamp|duration)_seconds\{[^}\n]*\} )\d+"), rb"\1<seconds>"),
    (re.compile(rb'(<testsuite [^\n]*? time=")[\d.]+'), rb"\1<seconds>"),
]
WAIVERS = """waivers:
  - {id: pid, check: container-no-host-pid, containers: ["risky*"], justification: "ps <b>", owner: sec, expires: 2099-12-31}
  - {id: cis, check: "2.2", justification: legacy, owner: net, expires: 2099-01-01}
  - {id: old, check: daemon-live-restore, justification: was, owner: ops, expires: 2020-01-01}
"""
BAD_WAIVERS = "waivers:\n  - {id: x, check: no-such-check, justification: j, owner: o, expires: 2099-01-01}\n"
POLICY = "trusted_docker_users: [root]\nallowed_registries: [registry.example.test]\nallowed_capabilities: [CAP_NET_ADMIN]\n"
OUTPUTS = ["r.json", "r.html", "r.xml", "r.csv", "r.md", "r.ocsf.json", "r.prom"]

SNAPSHOTS = """
import json, sys
from tests.recorded import recorded_snapshot
from tests.test_checks_swarm import manager
json.dump({"snapshot": recorded_snapshot(), "swarm": manager()}, sys.stdout, indent=1, sort_keys=True)
"""

COMMANDS = """
import json
from dockbench.benchmark.cli import main
def walk(group, path):
    yield path
    for name, command in sorted(getattr(group, "commands", {}).items()):
        yield from walk(command, path + [name])
print(json.dumps(list(walk(main, []))))
"""


def mask(data: bytes) -> bytes:
    for pattern, replacement in MASKS:
        data = pattern.sub(replacement, data)
    return data


def run(out: Path, name: str, args: list[str], work: Path, dockbench: list[str]) -> None:
    """One case: run dockbench in a fresh folder and keep everything it showed and wrote."""
    case = out / name
    cwd = work / name
    cwd.mkdir(parents=True)
    for inputs in work.glob("input-*"):
        shutil.copy(inputs, cwd / inputs.name)
    env = dict(os.environ, NO_COLOR="1", COLUMNS="100", DOCKBENCH_ARCHIVE=str(work / "archive.sqlite3"))
    env.pop("DOCKBENCH_WAIVERS", None)
    done = subprocess.run(dockbench + args, cwd=cwd, env=env, capture_output=True, timeout=300)
    done.stdout, done.stderr = (stream.replace(str(work).encode(), b"<work>") for stream in (done.stdout, done.stderr))
    case.mkdir(parents=True)
    (case / "rc").write_text(f"{done.returncode}\n")
    (case / "stdout").write_bytes(mask(done.stdout))
    (case / "stderr").write_bytes(mask(done.stderr))
    for written in sorted(cwd.rglob("*")):
        if written.is_file() and not written.name.startswith("input-"):
            target = case / "files" / mask(str(written.relative_to(cwd)).encode()).decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(mask(written.read_bytes()))


def cases(python: str) -> list[tuple[str, list[str]]]:
    commands = json.loads(subprocess.run([python, "-c", COMMANDS], capture_output=True, check=True, text=True).stdout)
    found = [("help-" + ("-".join(path) or "main"), [*path, "--help"]) for path in commands]
    for benchmark in ("cis-docker-1.8.0", "cis-docker-1.7.0", "cis-docker-1.6.0"):
        found += [(f"checks-{benchmark}-{fmt}", ["checks", "list", "--format", fmt, "--benchmark", benchmark]) for fmt in ("table", "json")]
    outputs = [arg for path in OUTPUTS for arg in ("-o", path)]
    judging = {
        "default": [],
        "stopped": ["--include-stopped"],
        "level1": ["--level", "1", "--benchmark", "cis-docker-1.6.0"],
        "include": ["--include", "5", "--include", "daemon-*", "--exclude", "5.1"],
        "containers": ["--container", "risky", "--label", "nope", "--include-stopped"],
        "waivers": ["--waivers", "input-waivers.yaml", "--include-stopped"],
        "policy": ["--config", "input-policy.yaml", "--benchmark", "cis-docker-1.7.0"],
        "fail-on-fail": ["--fail-on", "fail"],
        "fail-on-never": ["--fail-on", "never", "-q"],
    }
    for name, args in judging.items():
        found.append((f"evaluate-{name}", ["evaluate", "input-snapshot.json", *outputs, *args]))
        found.append((f"evaluate-swarm-{name}", ["evaluate", "input-swarm.json", "-o", "-", *args]))
    found.append(("evaluate-terminal", ["evaluate", "input-snapshot.json", "--include-stopped"]))
    for document in ("input-sweep.json", "input-host.json"):
        for fmt in ("html", "json", "junit", "csv", "md", "jsonl", "ocsf", "prometheus"):
            found.append((f"report-{document[6:-5]}-{fmt}", ["report", document, "-f", fmt, "-o", "-" if fmt != "html" else "out.html"]))
    found += [
        ("bad-waivers", ["evaluate", "input-snapshot.json", "--waivers", "input-bad-waivers.yaml"]),
        ("bad-level", ["evaluate", "input-snapshot.json", "--level", "3"]),
        ("bad-benchmark", ["evaluate", "input-snapshot.json", "--benchmark", "cis-docker-9"]),
        ("no-check", ["evaluate", "input-snapshot.json", "--include", "no-such-*"]),
        ("bad-output", ["evaluate", "input-snapshot.json", "-o", "r.weird"]),
        ("missing-input", ["evaluate", "nothing.json"]),
        ("not-facts", ["evaluate", "input-host.json"]),
        ("not-report", ["report", "input-snapshot.json", "-o", "-"]),
        ("waivers-check", ["waivers", "check", "input-waivers.yaml", "--on", "2030-01-01"]),
        ("waivers-check-json", ["waivers", "check", "input-waivers.yaml", "--on", "2030-01-01", "--json"]),
        ("waivers-check-bad", ["waivers", "check", "input-bad-waivers.yaml"]),
        ("unknown-command", ["nonsense"]),
        ("history-empty", ["history"]),
    ]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write (must not exist)")
    parser.add_argument("--python", default=sys.executable, help="the Python of the dockbench to run (its venv's)")
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    args.out.mkdir(parents=True)
    work = args.out.with_name(args.out.name + ".work")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    snapshots = subprocess.run([args.python, "-c", SNAPSHOTS], cwd=root, capture_output=True, check=True).stdout
    (args.out / "snapshots.json").write_bytes(mask(snapshots))   # the snapshot builder's own output, compared too
    built = json.loads(snapshots)
    sweep = json.loads((DATA / "reports" / "sweep.json").read_text())
    inputs = {"snapshot.json": json.dumps(built["snapshot"]), "swarm.json": json.dumps(built["swarm"]), "sweep.json": json.dumps(sweep),
              "host.json": json.dumps(sweep["hosts"][0]), "waivers.yaml": WAIVERS, "bad-waivers.yaml": BAD_WAIVERS, "policy.yaml": POLICY}
    for name, text in inputs.items():
        (work / f"input-{name}").write_text(text)
    dockbench = [args.python, "-m", "dockbench.benchmark"]
    for name, argv in cases(args.python):
        run(args.out, name, argv, work, dockbench)
    shutil.rmtree(work)
    print(f"{len(list(args.out.iterdir())) - 1} cases in {args.out}")


if __name__ == "__main__":
    main()
