"""Every output names the benchmark a report was judged against and gives its CIS ids: the same
recorded host judged under v1.6.0 and v1.8.0 numbers daemon-live-restore 2.15 and 2.16."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest

from dockbench.benchmark import render
from dockbench.benchmark.judge.options import JudgingOptions
from dockbench.benchmark.render import terminal
from tests.recorded import recorded_snapshot

CHECK = "daemon-live-restore"
NUMBERING = {"cis-docker-1.6.0": ("2.15", "CIS Docker Benchmark v1.6.0"), "cis-docker-1.8.0": ("2.16", "CIS Docker Benchmark v1.8.0")}


def judged(benchmark: str) -> dict:
    return JudgingOptions(benchmark=benchmark).judge()(recorded_snapshot(), "2026-11-23T14:22:53Z")


@pytest.mark.parametrize("benchmark", NUMBERING)
def test_every_format_shows_the_ids_of_the_judged_version(benchmark):
    cis, title = NUMBERING[benchmark]
    document = judged(benchmark)
    assert document["benchmark"]["title"] == title
    text = terminal.render(document, color=False)
    assert title in text.splitlines()[0] and f"FAIL  {CHECK} (CIS {cis}) [low]" in text
    page = render.render(document, "html")
    assert f"{title} ({benchmark})" in page and f"{cis} ({benchmark}, level 1, manual)" in page
    rows = {r["check_id"]: r for r in csv.DictReader(io.StringIO(render.render(document, "csv")))}
    assert rows[CHECK]["cis_ids"] == cis
    case = ET.fromstring(render.render(document, "junit")).find(f".//testcase[@name='{CHECK}']")
    assert f"CIS {cis}" in case.find("failure").text
    suite_props = {p.get("name"): p.get("value") for p in ET.fromstring(render.render(document, "junit")).iter("property")}
    assert suite_props["benchmark"] == title
    markdown = render.render(document, "md")
    assert title in markdown and f"`{CHECK}` (CIS {cis})" in markdown
