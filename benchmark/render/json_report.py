"""The document itself, as JSON (the source of truth every other format is rendered from)."""

from __future__ import annotations

import json
from typing import Any

from dockbench.benchmark.render.registry import Format


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


FORMAT = Format("json", (".json",), render_json, order=10)  # the report document itself (the source of truth)
