"""A frozen real sweep document and the digest of what each format made of it, to hold the
renderers to their bytes.

tests/data/reports/sweep.json is a fleet sweep judged from the recorded probe output of a real
host (tests/data/probe-debian12-docker20.out): four hosts with their own names and containers,
one host's text made hostile, a real waiver file applied to three of them, two targets
unreachable; its first host is also the host report the tests render. rendered.json holds the
SHA-256 of each document's rendering in every format but html (whose pages another part of the
project owns), as the renderers wrote them when it was made. tests/test_sweep_reader.py renders
the documents again, from memory, from files in several layouts and from a sweep's spool, and
compares digests (writing what differs next to the test's files, to diff).

    .venv/bin/python -m tests.golden              # record the digests again (after a deliberate change of a format)
    .venv/bin/python -m tests.golden --documents  # judge the document again first (after a schema change)
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from dockbench.benchmark import render
from dockbench.benchmark.document import report as report_mod

DATA = Path(__file__).parent / "data" / "reports"
DOCUMENT, DIGESTS = DATA / "sweep.json", DATA / "rendered.json"
FORMATS = [fmt for fmt in render.formats() if fmt != "html"]
WAIVERS = {"waivers": [
    {"id": "risky-pid", "check": "container-no-host-pid", "containers": ["risky*"], "justification": "needs the host's ps <b>really</b>",
     "owner": "platform", "expires": "2099-12-31"},
    {"id": "icc-web", "check": "daemon-icc-disabled", "hosts": ["web-*"], "justification": "legacy | bridge", "owner": "net", "expires": "2099-01-01"},
    {"id": "old-1", "check": "daemon-live-restore", "justification": "was needed", "owner": "ops", "expires": "2020-01-01"},
]}


def documents() -> dict[str, dict[str, Any]]:
    """The frozen sweep, and its first host as a host report of its own."""
    sweep = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return {"host": sweep["hosts"][0], "sweep": sweep}


def digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def digests() -> dict[str, dict[str, str]]:
    """{document: {format: SHA-256 of its rendering}}, as recorded."""
    return json.loads(DIGESTS.read_text())


def _judged(plans: dict[bool, Any], hostname: str, containers: list[int], waivers: bool, started: str) -> dict[str, Any]:
    from tests.recorded import recorded_snapshot

    snap = recorded_snapshot()
    snap["host"]["hostname"] = hostname
    snap["target"].update(name=f"ssh://audit@{hostname}", transport="ssh")
    snap["docker"]["containers"] = [snap["docker"]["containers"][i] for i in containers]
    report = plans[waivers](snap, started)
    report["finished_at"] = started.replace(":00Z", ":07Z")
    return report


def make_documents() -> None:
    from dockbench.benchmark.judge.options import JudgingOptions
    from tests import sweepdoc
    from tests.render_scans import hostile_edit

    with tempfile.TemporaryDirectory() as directory:
        waivers = Path(directory) / "waivers.yaml"
        waivers.write_text(json.dumps(WAIVERS))  # JSON is YAML
        plans = {with_waivers: JudgingOptions.load(include_stopped=True, waivers_file=str(waivers) if with_waivers else None).judge()
                 for with_waivers in (False, True)}
        first = _judged(plans, "web-01.dc1.example.test", [0, 1, 2, 3], True, "2026-11-23T14:00:00Z")
        hosts = [first, _judged(plans, "db-01.dc2.example.test", [1], False, "2026-11-23T14:01:00Z"),
                 hostile_edit(_judged(plans, "odd-01.dc1.example.test", [0, 3], True, "2026-11-23T14:02:00Z")),
                 _judged(plans, "web-02.dc1.example.test", [0], True, "2026-11-23T14:03:00Z")]
    errors = [sweepdoc.error_entry("ssh://audit@down-01.example.test", "auth_failed", "Authentication failed for audit@down-01 <script>x</script>", name="down-01"),
              sweepdoc.error_entry("ssh://audit@down-02.example.test:2222", "timeout", "no answer within 30 s", name="down-02")]
    sweep = report_mod.build_sweep(copy.deepcopy(hosts), errors, benchmark=first["benchmark"], started_at="2026-11-23T14:00:00Z",
                                   finished_at="2026-11-23T14:04:00Z", sweep_id="6f1d2c0e-1111-4222-8333-944455556666")
    DATA.mkdir(parents=True, exist_ok=True)
    DOCUMENT.write_text(json.dumps(sweep, ensure_ascii=False) + "\n", encoding="utf-8")


def write_digests() -> None:
    found = {name: {fmt: digest(render.render(document, fmt)) for fmt in FORMATS} for name, document in documents().items()}
    DIGESTS.write_text(json.dumps(found, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", action="store_true", help="judge the documents again first")
    if parser.parse_args(argv).documents:
        make_documents()
    write_digests()


if __name__ == "__main__":
    main()
