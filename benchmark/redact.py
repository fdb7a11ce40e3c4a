"""Drop secrets at parse time, so that no snapshot, report or archive can ever hold one."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"
_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credential|\bauth\b|_auth$",
    re.IGNORECASE,
)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^/@:\s]*):(?P<pw>[^/@\s]*)@", re.IGNORECASE)


def looks_secret(name: str) -> bool:
    """True for names such as DB_PASSWORD, GITHUB_TOKEN or splunk-token."""
    return bool(_SECRET_NAME.search(name))


def scrub_url(text: str) -> str:
    """Mask the password of any user:password@ part of URLs in text."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)


def env_names(env: list[str] | None) -> list[str] | None:
    """Keep the names of KEY=value entries, never the values."""
    if env is None:
        return None
    return [item.split("=", 1)[0] for item in env]


def scrub(value: Any) -> Any:
    """Copy a JSON value, masking values under secret-looking keys and URL passwords.

    Docker's `Env` lists are reduced to variable names.
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "Env" and isinstance(item, list):
                out[key] = env_names(item)
            elif looks_secret(key) and isinstance(item, (str, int, float)) and item not in ("", None):
                out[key] = REDACTED
            else:
                out[key] = scrub(item)
        return out
    if isinstance(value, list):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return scrub_url(value)
    return value
