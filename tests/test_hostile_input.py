"""Hostile or broken input, each a plain test: what fuzzing found (its minimal example) and the
documented failure of every reader of outside input, probe output, docker's JSON, saved documents,
inventories, waiver and policy files, ssh_config (issue 21)."""

from __future__ import annotations

import json

import pytest

from dockbench.benchmark.collect.probe import Record
from dockbench.benchmark.collect.transports import MAX_STDERR_BYTES, LocalTransport, TransportError
from dockbench.benchmark.document import bounded_json
from dockbench.benchmark.document.redact import looks_secret
from tests.cli_run import dockbench
from tests.recorded import build, inspected, judge, observed, recorded_records, set_inspected

# --- what the fuzz targets found (tests/fuzz/test_fuzz_probe.py)


def _with_output(name: str, out: bytes):
    records = recorded_records()
    records[name].out = out
    return build(records)


@pytest.mark.parametrize("record", ["docker:info", "docker:version"])
def test_docker_json_that_is_not_an_object_is_an_error_not_a_crash(record):
    snap = _with_output(record, b"[[]]")
    assert f"{record.replace(':', ' ')}: output is not a JSON object" in snap["docker"]["errors"]


def test_a_number_beyond_a_float_in_docker_output_is_refused():
    snap = _with_output("docker:info", b'{"MemTotal": 1e999}')
    assert snap["docker"]["info"] is None
    assert "docker info: output refused (number 1e999 is beyond a float's range, at offset 0)" in snap["docker"]["errors"]
    json.dumps(snap, allow_nan=False)


def test_deeply_nested_docker_inspect_is_refused_with_a_message():
    records = recorded_records()
    records["docker:inspect"].out = b"[" * 100000 + b"]" * 100000
    snap = build(records)
    assert "docker inspect: output refused (nested deeper than 64 levels, at offset 0)" in snap["docker"]["errors"]


def test_a_client_config_that_is_not_an_object_is_its_error():
    records = recorded_records()
    records.update({"stat:/root/.docker/config.json": records["stat:/etc/hostname"]})
    name = "read:/root/.docker/config.json"
    records[name] = Record(b"[]", 0)
    assert build(records)["client_configs"]["/root/.docker/config.json"] == {"error": "not a JSON object"}


def test_bounded_json_refuses_depth_and_keeps_json_loads_verdict_otherwise():
    assert bounded_json.loads("[" * 128 + "]" * 128) is not None
    with pytest.raises(ValueError, match="nested deeper than 128 levels"):
        bounded_json.loads("[" * 129 + "]" * 129)
    with pytest.raises(ValueError, match="nested deeper than 128 levels"):
        bounded_json.loads("[" * 100000)
    assert bounded_json.loads('{"a": NaN}')["a"] != bounded_json.loads('{"a": NaN}')["a"]  # as json.loads
    with pytest.raises(ValueError, match="NaN is not a JSON number"):
        bounded_json.loads('{"a": NaN}', finite=True)


# --- secret-like names


@pytest.mark.parametrize("name", ["db.password", "<b>API_KEY</b>", "api.key", "Private Key", "access.key", "pa\nssword", "ＰＡＳＳＷＯＲＤ", "<i>api</i>.<b>key</b>"])
def test_names_with_odd_characters_around_a_secret_word_are_secret_like(name):
    assert looks_secret(name)


@pytest.mark.parametrize("name", ["PATH", "HOSTNAME", "LANG", "AUTHOR", "KEYBOARD"])
def test_plain_names_are_not(name):
    assert not looks_secret(name)


def test_an_odd_secret_name_fails_the_check_and_its_value_never_reaches_the_snapshot():
    records = recorded_records()
    found = inspected(records)
    web = next(c for c in found["containers"] if c["Name"] == "/web")
    web["Config"]["Env"] = ["db.password=s3cr3t-value", "<b>API_KEY</b>=s3cr3t-too", "LANG=C"]
    set_inspected(records, "containers", found["containers"])
    snap = build(records)
    assert "s3cr3t" not in json.dumps(snap)
    outcome = judge(snap, "container-env-secret-names")
    assert ("web", ["db.password", "<b>API_KEY</b>"]) in observed(outcome)


# --- the local transport reads within its limits


def test_a_local_probe_flooding_stdout_ends_probe_too_large():
    with pytest.raises(TransportError) as caught:
        LocalTransport(max_bytes=1 << 20).execute(["sh", "-c", "head -c 100000000 /dev/zero"], b"")
    assert (caught.value.kind, str(caught.value)) == ("probe_too_large", "local probe: the probe sent more than 1,048,576 bytes on stdout; the host was abandoned")


def test_a_local_probe_flooding_stderr_ends_probe_too_large():
    with pytest.raises(TransportError) as caught:
        LocalTransport().execute(["sh", "-c", "head -c 100000000 /dev/zero >&2"], b"")
    assert (caught.value.kind, str(caught.value)) == ("probe_too_large", f"local probe: the probe sent more than {MAX_STDERR_BYTES:,} bytes on stderr; the host was abandoned")


def test_a_local_probe_trickling_output_ends_at_the_timeout():
    with pytest.raises(TransportError) as caught:
        LocalTransport(timeout=1).execute(["sh", "-c", "while :; do printf x; sleep 0.1; done"], b"")
    assert (caught.value.kind, str(caught.value)) == ("timeout", "the probe did not finish within 1 s")


def test_the_local_transport_feeds_a_large_script_and_reads_both_streams():
    run = LocalTransport().execute(["sh", "-c", "cat; echo err >&2; exit 3"], b"x" * (4 << 20))
    assert (len(run.stdout), run.stderr, run.exit_status) == (4 << 20, b"err\n", 3)


# --- garbage files on the command line: a message naming the file and exit 2


GARBAGE = {
    "deep.json": b"[" * 100000 + b"]" * 100000,
    "list.json": b"[1, 2]",
    "not-utf8.json": b'{"kind": "host", "a": "\xff"}',
    "huge-number.json": b'{"kind": "host", "n": ' + b"9" * 5000 + b"}",
    "lines.jsonl": b'{"kind": "sweep_start"}\n{"kind": "host"}\n',
    "facts.json": json.dumps({"facts_version": 1, "docker": []}).encode(),
    "deep.yaml": b"hosts: " + b"[" * 2000 + b"]" * 2000,
    "not-utf8.yaml": b"\xff\xfe\x00garbage",
    "types.yaml": b"hosts:\n  a: {host: [1]}\n",
    "huge-number.yaml": b"hosts:\n  a: {port: " + b"9" * 5000 + b"}\n",  # found by tests/fuzz/test_fuzz_files.py
    "flow.yaml": b"hosts: " + b"[" * 100000,  # found by the same: minutes in PyYAML's scanner before check_flow_nesting
}
CASES = [
    (["report", "deep.json"], "dockbench: deep.json: not valid JSON: nested deeper than 128 levels: line 1 column 1 (byte 0)"),
    (["report", "list.json"], "dockbench: list.json: not a dockbench report: $: expected object, got [1, 2]"),
    (["report", "not-utf8.json"], "dockbench: not-utf8.json: not valid JSON: not UTF-8 text (byte 0xff at byte 23)"),
    (["report", "huge-number.json"], "dockbench: huge-number.json: not valid JSON: Exceeds the limit (4300 digits) for integer string conversion: "
     "value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit: line 1 column 23 (byte 22)"),
    (["report", "lines.jsonl"], "dockbench: lines.jsonl: line 2 is not a dockbench sweep line (KeyError: 'target')"),
    (["evaluate", "deep.json"], "dockbench: cannot read deep.json: not valid JSON: nested deeper than 128 levels: line 1 column 1 (byte 0)"),
    (["evaluate", "facts.json"], "dockbench: cannot judge facts.json: the facts snapshot lacks or mistypes what every report needs "
     "(TypeError: list indices must be integers or slices, not str)"),
    (["scan", "--inventory", "deep.yaml"], "Error: Invalid value: deep.yaml: not valid YAML: nested deeper than 128 levels"),
    (["scan", "--inventory", "not-utf8.yaml"], "Error: Invalid value: not-utf8.yaml: not a text file (not UTF-8)"),
    (["scan", "--inventory", "huge-number.yaml"], "Error: Invalid value: huge-number.yaml: not valid YAML: Exceeds the limit (4300 digits) "
     "for integer string conversion: value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit"),
    (["scan", "--inventory", "flow.yaml"], "Error: Invalid value: flow.yaml: not valid YAML: nested deeper than 128 levels"),
    (["evaluate", "facts.json", "--waivers", "flow.yaml"], "Error: Invalid value for --waivers: flow.yaml: not a YAML file: nested deeper than 128 levels"),
    (["scan", "--inventory", "types.yaml"], "Error: Invalid value: types.yaml: host 'a': host must be a string, got [1]"),
    (["evaluate", "facts.json", "--waivers", "deep.yaml"], "Error: Invalid value for --waivers: deep.yaml: not a YAML file: nested deeper than 128 levels"),
    (["evaluate", "facts.json", "--waivers", "not-utf8.yaml"], "Error: Invalid value for --waivers: not-utf8.yaml: not a YAML file: "
     "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    (["evaluate", "facts.json", "--config", "deep.yaml"], "Error: Invalid value for --config: deep.yaml: nested deeper than 128 levels"),
    (["evaluate", "facts.json", "--config", "not-utf8.yaml"], "Error: Invalid value for --config: not-utf8.yaml: "
     "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    (["scan", "ssh://root@127.0.0.1:1", "--ssh-config", "not-utf8.yaml", "--known-hosts", "/dev/null"],
     "dockbench: scan of 127.0.0.1 failed [config_error]: cannot read ssh config not-utf8.yaml: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    (["scan", "ssh://root@127.0.0.1:1", "--known-hosts", "not-utf8.yaml"],
     "Error: cannot read known hosts not-utf8.yaml: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(args) for args, _ in CASES])
def test_a_garbage_file_is_its_message_and_exit_2(tmp_path, args, message):
    for name, content in GARBAGE.items():
        (tmp_path / name).write_bytes(content)
    quiet = {"scan": ["--no-archive", "-q"], "evaluate": ["-q"], "report": []}[args[0]]
    done = dockbench(*args, *quiet, "-o", tmp_path / "out.json", cwd=tmp_path)
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (2, message)
    assert "Traceback" not in done.stderr
