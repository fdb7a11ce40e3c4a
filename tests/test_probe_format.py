"""The probe's framing: any bytes in a record survive; damaged output is refused, not guessed."""

from __future__ import annotations

import subprocess

import pytest

from dockbench.benchmark.collect import probe
from dockbench.benchmark.collect.probe import ProbeOutputError


def frame(stream: str, rc: str, name: bytes, data: bytes) -> bytes:
    return b"@@dockbench %s %s %d %d\n" % (stream.encode(), rc.encode(), len(name), len(data)) + name + data + b"\n"


def output(*frames: bytes) -> bytes:
    return frame("o", "0", b"probe", b"1 1") + b"".join(frames) + frame("o", "0", b"end", b"")


def test_records_keep_hostile_bytes_intact():
    hostile = b"line\n@@dockbench o 0 3 3\nend\n\x1b[31m\xff\xfe trailing newlines\n\n"
    records = probe.parse(output(frame("o", "0", b"read:/etc/x y", hostile), frame("e", "-", b"read:/etc/x y", b"warn\n")))
    assert records["read:/etc/x y"].out == hostile
    assert records["read:/etc/x y"].rc == 0
    assert records["read:/etc/x y"].err == b"warn\n"


def test_exit_status_is_kept_and_stderr_is_separate():
    records = probe.parse(output(frame("o", "1", b"stat:/nope", b""), frame("e", "-", b"stat:/nope", b"No such file or directory")))
    assert records["stat:/nope"].rc == 1
    assert not records["stat:/nope"].ok
    assert records["stat:/nope"].error_text == "No such file or directory"


@pytest.mark.parametrize(
    "damaged, reason",
    [
        (output(frame("o", "0", b"id", b"0"))[:-20], "truncated"),
        (b"Welcome to the bastion!\n" + frame("o", "0", b"id", b"0"), "unexpected bytes"),
        (output()[: -len(frame("o", "0", b"end", b""))], "end marker"),
        (frame("o", "0", b"id", b"0") + frame("o", "0", b"end", b""), "no probe header"),
        (b"", "no probe header"),
        (output().replace(b"1 1", b"9 1"), "probe format"),
    ],
)
def test_damaged_output_is_refused_with_the_reason(damaged, reason):
    with pytest.raises(ProbeOutputError, match=reason):
        probe.parse(damaged)


def test_parameters_are_quoted_for_the_shell():
    script = probe.build(root="/tmp/it's $(touch /tmp/pwned) root", docker_host="unix:///x;y")
    result = subprocess.run(["sh", "-c", script.decode().split("\n# dockbench probe")[0] + '\nprintf "%s|%s" "$DB_ROOT" "$DB_DOCKER_HOST"'], capture_output=True, text=True, check=True)
    assert result.stdout == "/tmp/it's $(touch /tmp/pwned) root|unix:///x;y"


def test_paths_with_newlines_are_not_passed_to_the_probe():
    script = probe.build(round_no=2, read_paths=("/etc/ok", "/etc/bad\nname"))
    assert b"DB_READ='/etc/ok'\n" in script


def test_text_printed_before_the_probe_is_set_aside():
    records = probe.parse(b"Welcome to the bastion!\nLast login: never\n" + output(frame("o", "0", b"id", b"0")))
    assert records["id"].out == b"0"
    assert records[probe.NOISE].out == b"Welcome to the bastion!\nLast login: never\n"
