"""JSON from outside (a host's docker output, a saved document) decoded with a bound on its
nesting, so that a hostile text fails as a ValueError naming the problem, not as a RecursionError.

json's own decoder goes as deep as Python's recursion limit, and every walk of the value after it
(scrub, the renderers, the schema check) would recurse as deep. Otherwise the verdict is
json.loads's (which also refuses, as a plain ValueError, an integer too long to convert), or
with finite=True, also refusing NaN, Infinity and numbers beyond a float's range (1e999 decodes
to inf): what a snapshot keeps from a host must write back as JSON.

YAML's flow collections ([...], {...}) are JSON's syntax, and PyYAML's pure-Python scanner
takes quadratic time on them nested deep (100,000 '[' is minutes): check_flow_nesting refuses
such a text before it is parsed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 128  # a report or facts snapshot nests about 10 deep


class TooDeep(ValueError):
    def __init__(self, limit: int):
        super().__init__(f"nested deeper than {limit} levels")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:40]} is beyond a float's range")
    return number


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


DECODERS = {False: json.JSONDecoder(), True: json.JSONDecoder(parse_float=_finite, parse_constant=_no_constant)}


def check_depth(value: Any, limit: int = MAX_DEPTH) -> Any:
    """value, if no array or object in it nests deeper than limit (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            raise TooDeep(limit)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return value


def raw_decode(text: str, pos: int = 0, limit: int = MAX_DEPTH, *, finite: bool = False) -> tuple[Any, int]:
    """The JSON value at text[pos:] and where it ends, as JSONDecoder.raw_decode, within the bound.
    Raises json.JSONDecodeError for malformed text and ValueError beyond the bound."""
    try:
        value, end = DECODERS[finite].raw_decode(text, pos)
    except RecursionError:
        raise TooDeep(limit) from None
    return check_depth(value, limit), end


def loads(text: str | bytes, limit: int = MAX_DEPTH, *, finite: bool = False) -> Any:
    """json.loads within the bound (ValueError, as json.loads raises, for what it refuses)."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    value, end = raw_decode(text, len(text) - len(text.lstrip(" \t\n\r")), limit, finite=finite)
    if text[end:].strip(" \t\n\r"):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


_QUOTED_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')
_FLOW = re.compile(r"[\[\]{}]")


def check_flow_nesting(text: str, limit: int = MAX_DEPTH) -> str:
    """text, if its brackets outside quotes and comments nest no deeper than limit (YAML, before parsing)."""
    depth = 0
    for bracket in _FLOW.findall(_QUOTED_OR_COMMENT.sub("", text)):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        if depth > limit:
            raise TooDeep(limit)
    return text
