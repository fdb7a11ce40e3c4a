"""The plan's formats: md for reviewers, json for tools, sh and ansible to apply it."""

from __future__ import annotations

import json
from collections.abc import Callable

from dockbench.benchmark.remediate.ansible import render_ansible
from dockbench.benchmark.remediate.markdown import render_md
from dockbench.benchmark.remediate.shell import render_sh


def render_json(plan: dict) -> str:
    return json.dumps(plan, indent=2, ensure_ascii=False) + "\n"


FORMATS: dict[str, Callable[[dict], str]] = {"md": render_md, "json": render_json, "sh": render_sh, "ansible": render_ansible}
EXTENSIONS = {".md": "md", ".json": "json", ".sh": "sh", ".yml": "ansible", ".yaml": "ansible"}


def format_for_path(path: str) -> str:
    """The format an output file's extension names."""
    for extension, fmt in EXTENSIONS.items():
        if path.endswith(extension):
            return fmt
    raise ValueError(f"cannot tell the plan format from {path!r}: use one of {', '.join(EXTENSIONS)}")


def render(plan: dict, fmt: str) -> str:
    return FORMATS[fmt](plan)
