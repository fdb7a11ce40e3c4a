"""Hypothesis strategies for what a hostile or broken host (or file) sends: JSON of every
shape, deep nesting, huge numbers, markup and control characters, invalid UTF-8."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from dockbench.benchmark import render
from dockbench.benchmark.document import validate
from dockbench.benchmark.render import terminal

# Host text that must never reach an output unescaped: markup and terminal control sequences.
MARKUP = "<x-fuzz-pwn onload=1>"
CONTROL = "\x1b]0;fuzz\x07\x1b[2J"
TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from([MARKUP, CONTROL, "\x00", "\u2028", "\ud800", "'\"&;|`$(x)", "../../etc/passwd", "A" * 300]),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# JSON text as a host might send it: valid values of every type, deep nesting (past any
# recursion limit), numbers too long to convert or out of range, text cut short, not UTF-8.
JSON_TEXT = st.one_of(
    JSON.map(lambda value: json.dumps(value).encode("utf-8", "surrogatepass")),
    st.integers(1, 5000).map(lambda depth: nested(depth).encode()),
    st.sampled_from([b"9" * 5000, b"1e999", b"-1e999", b"NaN", b"[" * 100000, b'{"a":' * 3000, b"\xff\xfe{}", b'"\xc3', b"{", b"", b"null"]),
    st.binary(max_size=64),
)


# Where each format must hold host text inert: no markup where markup means something, no
# terminal control characters where a terminal or a parser reads the text (the html page and
# csv cells keep control characters as the host sent them, as they did before this fuzzing).
NO_MARKUP = ("html", "junit", "md")
NO_CONTROL = ("json", "jsonl", "ocsf", "junit", "md", "prometheus", "terminal")


def assert_inert(document: dict) -> None:
    """The report is schema-valid and every format renders it with host text held inert."""
    validate.check(document)
    outputs = {fmt: render.render(document, fmt) for fmt in render.formats()}
    outputs["terminal"] = terminal.render(document)
    for fmt, text in outputs.items():
        if fmt in NO_MARKUP:
            assert MARKUP not in text, fmt
        if fmt in NO_CONTROL:
            assert not {"\x1b", "\x07", "\x00"} & set(text), fmt
