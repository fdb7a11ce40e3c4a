"""Mutations of real recorded probe output through everything a host's bytes reach: the parser,
the snapshot, the facts and every check, the report (schema-valid) and every renderer (host
text escaped). A host's output either makes a report or is refused as probe_malformed."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from dockbench.benchmark.collect import probe, rounds
from dockbench.benchmark.collect.rounds import CollectError
from dockbench.benchmark.collect.transports import ProbeRun
from dockbench.benchmark.judge.options import JudgingOptions
from tests.fuzz.hostile import JSON_TEXT, assert_inert
from tests.recorded import RECORDED, TARGET
from tests.test_probe_format import frame

JUDGE = JudgingOptions(include_stopped=True).judge()
_HEADER = b"@@dockbench "
def _frames(data: bytes) -> list[bytes]:
    """The recorded output cut into its records, each with its header, in order."""
    starts = [0] + [i + 1 for i in range(len(data)) if data.startswith(b"\n" + _HEADER, i)]
    return [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)])]


RECORDED_BYTES = RECORDED.read_bytes()
FRAMES = _frames(RECORDED_BYTES)
JSON_RECORDS = [i for i, f in enumerate(FRAMES) if any(f.split(b"\n", 2)[1].startswith(n) for n in (b"docker:", b"read:"))]


def _swap_payload(index: int, payload: bytes) -> list[bytes]:
    """The recorded frames with one record's output replaced (its header made to match)."""
    head, rest = FRAMES[index].split(b"\n", 1)
    stream, rc, name_len = head.split(b" ")[1:4]
    frames = list(FRAMES)
    frames[index] = frame(stream.decode(), rc.decode(), rest[: int(name_len)], payload)
    return frames


@st.composite
def mutated(draw) -> bytes:
    """The recorded output, damaged the ways a broken or hostile host damages it."""
    how = draw(st.sampled_from(["truncate", "duplicate", "reorder", "lie", "swap", "swap"]))
    frames = list(FRAMES)
    if how == "truncate":
        return RECORDED_BYTES[: draw(st.integers(0, len(RECORDED_BYTES)))]
    if how == "duplicate":
        i = draw(st.integers(0, len(frames) - 1))
        frames.insert(draw(st.integers(0, len(frames))), frames[i])
    elif how == "reorder":
        frames = draw(st.permutations(frames))
    elif how == "lie":
        i = draw(st.integers(0, len(frames) - 1))
        head, rest = frames[i].split(b"\n", 1)
        words = head.split(b" ")
        words[draw(st.sampled_from([3, 4]))] = str(draw(st.integers(0, 1 << 40))).encode()
        frames[i] = b" ".join(words) + b"\n" + rest
    else:
        frames = _swap_payload(draw(st.sampled_from(JSON_RECORDS)), draw(JSON_TEXT))
    return b"".join(frames)


def audited(data: bytes) -> dict | None:
    """The host report the output makes, as a sweep makes it; None when it is refused."""
    outputs = [ProbeRun(data, b"", 0)]
    try:
        while isinstance(snapshot := rounds.advance(outputs, target=dict(TARGET)), bytes):
            outputs.append(ProbeRun(FRAMES[0] + FRAMES[-1], b"", 0))  # a second round that found nothing
    except CollectError:
        return None
    json.dumps(snapshot, allow_nan=False)  # a snapshot is plain JSON (facts files, the archive)
    return JUDGE(snapshot, "2026-01-01T00:00:00Z")


@given(mutated())
def test_damaged_probe_output_makes_a_valid_inert_report_or_is_refused(data):
    document = audited(data)
    if document is not None:
        assert_inert(document)


@given(st.sampled_from(JSON_RECORDS), JSON_TEXT)
def test_hostile_json_in_any_record_is_judged_or_refused_never_raised(index, payload):
    document = audited(b"".join(_swap_payload(index, payload)))
    assert document is not None  # the framing is intact: the record's value is judged (ERROR or not), not the host refused
    assert_inert(document)


def test_the_mutations_reach_every_layer():
    """Not a fuzz target: the recorded output itself reports, so a refusal above is the mutation's."""
    assert audited(RECORDED_BYTES)["summary"]["total"] > 50
    assert probe.parse(b"".join(FRAMES)).keys() == probe.parse(RECORDED_BYTES).keys()
