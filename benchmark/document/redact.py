"""Drop secrets at parse time, so that no snapshot, report or archive can ever hold one."""

from __future__ import annotations

import re
import shlex
import unicodedata
from functools import lru_cache
from typing import Any

REDACTED = "<redacted>"
_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credential|\bauth\b|_auth$",
    re.IGNORECASE,
)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^/@:\s]*):(?P<pw>[^/@\s]*)@", re.IGNORECASE)


_SEPARATORS = re.compile(r"[^0-9A-Za-z]+")
_MARKUP = re.compile(r"<[^<>]*>")


def _plain(name: str) -> str:
    """A name as its words: compatibility forms folded (fullwidth letters), control and invisible
    characters and markup tags dropped, and any run of other characters (dots, spaces) made one "_"."""
    folded = "".join(c for c in unicodedata.normalize("NFKC", name) if unicodedata.category(c)[0] != "C")
    return _SEPARATORS.sub("_", _MARKUP.sub("", folded))


@lru_cache(maxsize=4096)  # the same few hundred keys recur in every container's inspect
def looks_secret(name: str) -> bool:
    """True for names such as DB_PASSWORD, GITHUB_TOKEN, splunk-token, db.password or
    <b>API KEY</b>: the name as it is, or as its words (_plain)."""
    return bool(_SECRET_NAME.search(name) or _SECRET_NAME.search(_plain(name)))


def scrub_url(text: str) -> str:
    """Mask the password of any user:password@ part of URLs in text."""
    if "@" not in text:  # fast path: most strings hold no URL credentials
        return text
    return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)


def env_names(env: list[str] | None) -> list[str] | None:
    """Keep the names of KEY=value entries, never the values."""
    if env is None:
        return None
    return [item.split("=", 1)[0] for item in env]


# A classic-builder step as an image records it in ContainerConfig.Cmd: "#(nop) ENV K=v",
# "#(nop) LABEL k=v", "#(nop) ARG K=v", and RUN steps prefixed by their build arguments
# ("|2", "K=v", "K2=v2", "/bin/sh", "-c", ...). Those values are Dockerfile variables.
_DECLARATION = re.compile(r"^(?P<head>(?:#\(nop\)\s*)?(?P<keyword>ENV|LABEL|ARG)\s+)(?P<body>.*)$", re.DOTALL)
_BUILD_ARGS = re.compile(r"^\|(\d+)$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def _names_only(body: str, bare_names: bool) -> str:
    """"K=v K2='a b'" -> "K=<redacted> K2=<redacted>"; a bare name stays only where allowed (ARG K)."""
    try:
        words = shlex.split(body)
    except ValueError:  # an unbalanced quote: keep only what looks like a name before "="
        return " ".join(f"{name}={REDACTED}" for name in re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_.-]*)=", body))
    kept = [w.split("=", 1)[0] + f"={REDACTED}" if "=" in w else w if bare_names and _NAME.fullmatch(w) else None for w in words]
    return " ".join(k for k in kept if k)


def build_step(cmd: list[Any]) -> list[Any]:
    """Keep a build step's instruction and variable names, never the values it declared."""
    out = list(cmd)
    count = _BUILD_ARGS.match(out[0]) if out and isinstance(out[0], str) else None
    if count:
        end = 1 + int(count.group(1))
        out[1:end] = [f"{str(arg).split('=', 1)[0]}={REDACTED}" for arg in out[1:end]]
    for i, item in enumerate(out):
        match = _DECLARATION.match(item) if isinstance(item, str) else None
        if match:
            out[i] = match["head"] + _names_only(match["body"], bare_names=match["keyword"] == "ARG")
    return out


_SHELL = "/bin/sh -c "
_BUILDKIT = "# buildkit"


def history_step(created_by: str) -> str:
    """A build step from an image's history as Dockerfile text, with declared values dropped.

    The classic builder records "/bin/sh -c #(nop) ADD file:… in /" and "|1 K=v /bin/sh -c CMD"
    (a RUN with its build arguments); BuildKit records "RUN |1 K=v /bin/sh -c CMD # buildkit"
    and "ADD src /dst # buildkit". Both become "ADD …" and "RUN CMD"; ENV, LABEL and ARG keep
    their names only, build arguments vanish.
    """
    text = created_by.strip()
    if text.endswith(_BUILDKIT):
        text = text[: -len(_BUILDKIT)].rstrip()
    run = text.startswith("RUN ")
    if run:
        text = text[4:].lstrip()
    count = re.match(r"\|(\d+)\s+", text)
    if count:  # "|2 K=v K2=v2 rest": the values of build arguments (spaces and all) are never kept
        rest = text[count.end() :]
        at = rest.find(_SHELL)
        text = rest[at:] if at >= 0 else " ".join(rest.split(" ")[int(count.group(1)) :])
    if text.startswith(_SHELL):
        text = text[len(_SHELL) :].strip()
        text = text[len("#(nop)") :].strip() if text.startswith("#(nop)") else "RUN " + text
    elif run or count:
        text = "RUN " + text
    match = _DECLARATION.match(text)
    if match:
        text = match["head"] + _names_only(match["body"], bare_names=match["keyword"] == "ARG")
    return scrub_url(text)


def scrub(value: Any) -> Any:
    """Copy a JSON value, masking values under secret-looking keys and URL passwords.

    Docker's `Env` lists are reduced to variable names; build steps in `Cmd` lists keep the
    names of the variables they declare, not the values.
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "Env" and isinstance(item, list):
                out[key] = env_names(item)
            elif key == "Cmd" and isinstance(item, list):
                out[key] = scrub(build_step(item))
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
