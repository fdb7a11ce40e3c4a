"""JSON from outside (a host's docker output, a saved document) decoded with a bound on its
nesting, so that a hostile text fails as a ValueError naming the problem, not as a RecursionError.

json's own decoder goes as deep as Python's recursion limit, and every walk of the value after it
(scrub, the renderers, the schema check) would recurse as deep. Otherwise the verdict is
json.loads's (which also refuses, as a plain ValueError, an integer too long to convert).
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 128  # a report or facts snapshot nests about 10 deep


class TooDeep(ValueError):
    def __init__(self, limit: int):
        super().__init__(f"nested deeper than {limit} levels")


DECODER = json.JSONDecoder()


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


def raw_decode(text: str, pos: int = 0, limit: int = MAX_DEPTH) -> tuple[Any, int]:
    """The JSON value at text[pos:] and where it ends, as JSONDecoder.raw_decode, within the bound.
    Raises json.JSONDecodeError for malformed text and ValueError beyond the bound."""
    try:
        value, end = DECODER.raw_decode(text, pos)
    except RecursionError:
        raise TooDeep(limit) from None
    return check_depth(value, limit), end


def loads(text: str | bytes, limit: int = MAX_DEPTH) -> Any:
    """json.loads within the bound (ValueError, as json.loads raises, for what it refuses)."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    value, end = raw_decode(text, len(text) - len(text.lstrip(" \t\n\r")), limit)
    if text[end:].strip(" \t\n\r"):
        raise json.JSONDecodeError("Extra data", text, end)
    return value
