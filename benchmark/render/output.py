"""Writing a rendered document: to stdout, in place for devices, atomically for files."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from dockbench.benchmark.render.registry import format_for_path, registry, render


def write(document: dict[str, Any], path: str | os.PathLike, fmt: str | None = None) -> str:
    """Render and write to path ('-' for stdout), atomically for regular files. Returns the format used.

    Without fmt, the format comes from the path's extension (format_for_path); stdout needs fmt.
    A format with a writer may write a file its own way (html: a big sweep as several pages).
    """
    target = os.fspath(path)
    if fmt is None:
        if target == "-":
            raise ValueError("writing to stdout needs a format")
        fmt = format_for_path(target)
    writer = registry()[fmt].writer if fmt in registry() else None
    if writer is None or not writer(document, target):
        write_text(render(document, fmt), target)
    return fmt


def write_text(text: str, target: str) -> None:
    """Write text to target ('-' for stdout); a regular file is replaced atomically (a temp file
    beside it, then renamed over it), so a reader such as a metrics collector never sees half of it."""
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    if os.path.exists(target) and not os.path.isfile(target):
        with open(target, "w", encoding="utf-8", newline="") as stream:  # /dev/null, a FIFO: write in place
            stream.write(text)
        return
    tmp = Path(target).with_name(Path(target).name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as stream:  # CSV rows end in CRLF, as RFC 4180 says
        stream.write(text)
    os.replace(tmp, target)
