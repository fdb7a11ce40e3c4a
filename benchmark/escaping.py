"""Host-reported text made inert for an output: characters it must not carry raw, as \\xNN."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL and C1: what terminal escape sequences are made of
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def hex_escape(text: str, chars: re.Pattern[str] = CONTROL) -> str:
    """text with every character that chars matches written as \\xNN (its code point in hex)."""
    return chars.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
