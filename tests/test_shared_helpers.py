"""The helpers with one home each: the score, time stamps, control-character escaping, paths."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from dockbench.benchmark import clock
from dockbench.benchmark.collect.paths import is_below, is_under, strip_root
from dockbench.benchmark.document.report import score_of, score_text, summarize
from dockbench.benchmark.escaping import hex_escape


def test_the_score_is_the_share_of_decided_checks_that_passed():
    assert score_of({"PASS": 2, "FAIL": 1, "MANUAL": 5, "NOT_APPLICABLE": 9, "ERROR": 3}) == 66.7
    assert score_of({"PASS": 3}) == 100.0
    assert score_of({"MANUAL": 1, "NOT_APPLICABLE": 1}) is None
    assert score_of({}) is None
    results = [{"status": s, "layer": "containers"} for s in ("PASS", "FAIL", "FAIL", "MANUAL")]
    assert summarize(results)["score"] == score_of({"PASS": 1, "FAIL": 2}) == 33.3


def test_a_score_reads_as_percent_or_n_a():
    assert score_text(66.7) == "66.7%"
    assert score_text(100.0) == "100.0%"
    assert score_text(0.0) == "0.0%"
    assert score_text(None) == "n/a"


def test_stamps_are_utc_to_the_second_or_the_microsecond():
    before = datetime.now(timezone.utc).replace(microsecond=0)
    seconds, precise = clock.stamp(), clock.stamp(precise=True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", seconds)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", precise)
    assert before <= datetime.strptime(seconds, clock.SECONDS).replace(tzinfo=timezone.utc) <= datetime.now(timezone.utc)
    eastern = datetime(2026, 1, 31, 9, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert clock.stamp(eastern) == "2026-01-31T07:30:05Z"
    assert clock.stamp(eastern, precise=True) == "2026-01-31T07:30:05.123456Z"


def test_control_characters_are_shown_as_hex_tab_and_newline_kept():
    assert hex_escape("a\x1b[2Jb\x07\x7f\x9b\tc\n") == "a\\x1b[2Jb\\x07\\x7f\\x9b\tc\n"
    assert hex_escape("plain é ü") == "plain é ü"
    assert hex_escape("a\x0cb\tc", re.compile("[\x0c]")) == "a\\x0cb\tc"


def test_under_and_below_a_directory():
    assert is_under("/proc", "/proc") and is_under("/proc/1/mem", "/proc") and is_under("/proc/1", "/proc/")
    assert not is_under("/procfs", "/proc") and not is_under("/", "/proc")
    assert is_below("/run/docker.sock", "/run") and not is_below("/run", "/run") and not is_below("/running", "/run")
    assert is_below("/etc", "/") and is_under("/", "/")


def test_strip_root_gives_the_path_the_target_sees():
    assert strip_root("/host/var/run/docker.sock", "/host") == "/var/run/docker.sock"
    assert strip_root("/host/var/run/docker.sock", "/host/") == "/var/run/docker.sock"
    assert strip_root("/hostile/x.sock", "/host") == "/hostile/x.sock"
    assert strip_root("/var/run/docker.sock", "/") == "/var/run/docker.sock"
    assert strip_root("/host", "/host") == "/host"
