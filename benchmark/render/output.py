"""Writing a rendered document: to stdout, in place for devices, atomically for files."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from dockbench.benchmark.document.reader import Source
from dockbench.benchmark.render.registry import format_for_path, registry


class OutputError(Exception):
    """An output that could not be written (a missing folder, no permission, a full disk, a
    folder of host pages in the way): the CLI says so and exits 2 instead of a traceback."""


@contextmanager
def _writing(target: str):
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc


def write(document: dict[str, Any] | Source, path: str | os.PathLike, fmt: str | None = None, archived: Any = None) -> str:
    """Render and write to path ('-' for stdout), atomically for regular files. Returns the format used.

    document: a document in memory or a Source (benchmark.document.reader); a format that renders
    host by host writes as it goes, holding one host report at a time. Without fmt, the format
    comes from the path's extension (format_for_path); stdout needs fmt. A format with pages may
    write a file its own way (html: a big sweep as a summary page and a folder of host pages).
    archived: what the archive knows of a host report (render.summary.Archived), for the formats
    that show it (html: its summary's scope and the change since the previous scan).
    """
    target = os.fspath(path)
    if fmt is None:
        if target == "-":
            raise ValueError("writing to stdout needs a format")
        fmt = format_for_path(target)
    source = document if isinstance(document, Source) else Source.of(document)
    chosen = registry()[fmt]
    with _writing(target):
        if chosen.pages is not None and chosen.pages(source, target):
            return fmt
    if chosen.writer is None:
        write_text(chosen.render_whole(source.whole(), archived), target)
    else:
        write_with(target, lambda stream: chosen.writer(source, stream))
    return fmt


def in_place(target: str) -> bool:
    """'-' (stdout) or a device such as /dev/null or a FIFO: written as it is, never through a
    temporary file renamed over it (and never as a folder of pages)."""
    return target == "-" or (os.path.exists(target) and not os.path.isfile(target))


def write_text(text: str, target: str) -> None:
    """Write text to target ('-' for stdout), a regular file atomically (see write_with)."""
    write_with(target, lambda stream: stream.write(text))


def write_with(target: str, write_to: Callable[[IO], Any], binary: bool = False) -> None:
    """Call write_to with a stream to target: stdout for '-', the file itself for a device
    (/dev/null, a FIFO), else a temp file beside target renamed over it once complete (and
    removed if writing fails), so a reader such as a metrics collector never sees half of it.
    Text is UTF-8, its line ends as written (CSV rows end in CRLF, as RFC 4180 says)."""
    text = {"encoding": "utf-8", "newline": ""} if not binary else {}
    mode = "wb" if binary else "w"
    if target == "-":
        if binary:
            with os.fdopen(os.dup(1), "wb") as stream:
                write_to(stream)
        else:
            write_to(sys.stdout)
            sys.stdout.flush()
        return
    with _writing(target):
        if in_place(target):  # a device: '-' was handled above
            with open(target, mode, **text) as stream:
                write_to(stream)
            return
        tmp = Path(target).with_name(Path(target).name + ".tmp")
        try:
            with open(tmp, mode, **text) as stream:
                write_to(stream)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, target)
