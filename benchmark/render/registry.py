"""The one registry of formats: every module of this package that declares a ``FORMAT``.

A format is added by adding a module with a writer, which renders a document host by host
(source, stream -> None; see benchmark.document.reader.Source) and

    FORMAT = Format("name", (".ext",), writer=write_name, order=80)  # what it is, in a few words

or, for a format that needs the whole document at once, a renderer (document -> str) instead:
``Format("name", (".ext",), render_name, order=80)``.

``order`` places it in formats() (the order the formats are documented in); the first
extension is the one a file gets by default, and every extension tells the format of a path.
"""

from __future__ import annotations

import importlib
import io
import os
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from dockbench.benchmark.document.reader import Source


@dataclass(frozen=True)
class Format:
    name: str
    extensions: tuple[str, ...]
    renderer: Callable[[dict[str, Any]], str] | None = None  # the whole document -> its text
    order: int = 100
    writer: Callable[[Any, Any], None] | None = None  # (Source, text stream): writes host by host
    pages: Callable[[Any, str], bool] | None = None  # (Source, path): writes a file its own way (several pages) when it returns True
    archived: bool = False  # the renderer also takes what the archive knows of a host report (render.summary.Archived, or None)

    @property
    def extension(self) -> str:
        return self.extensions[0]

    def render_whole(self, document: dict[str, Any], archived: Any = None) -> str:
        """The whole document rendered (a format with a renderer), with archived if it takes it."""
        return self.renderer(document, archived) if self.archived else self.renderer(document)


@cache
def registry() -> dict[str, Format]:
    """The formats of the package's modules, by name, in their documented order (the modules
    are found on disk and imported by name, so this module imports none of them)."""
    found = []
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        declared = getattr(importlib.import_module(f"{__package__}.{module.name}"), "FORMAT", None)
        if isinstance(declared, Format):
            found.append(declared)
    return {f.name: f for f in sorted(found, key=lambda f: (f.order, f.name))}


def formats() -> list[str]:
    """The format names, in the order they are documented."""
    return list(registry())


def extension(fmt: str) -> str:
    return registry()[fmt].extension


def format_for_path(path: str | os.PathLike) -> str:
    """The format a file name asks for by its extension (report.html -> html, junit.xml -> junit,
    findings.ocsf.json -> ocsf: the longest known extension the name ends with)."""
    by_extension = {ext: f.name for f in registry().values() for ext in f.extensions}
    name = Path(path).name.lower()
    suffix = max((ext for ext in by_extension if name.endswith(ext)), key=len, default=None)
    if suffix is None:
        known = ", ".join(sorted(by_extension))
        raise ValueError(f"cannot tell the format of {os.fspath(path)!r} from its extension (known: {known}); name the format")
    return by_extension[suffix]


def render(document: dict[str, Any], fmt: str, archived: Any = None) -> str:
    """The document (in memory) rendered in format fmt (one of formats()); archived: what the
    archive knows of a host report (render.summary.Archived), for the formats that show it."""
    formats_ = registry()
    if fmt not in formats_:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(formats_)})")
    if formats_[fmt].writer is None:
        return formats_[fmt].render_whole(document, archived)
    out = io.StringIO()
    formats_[fmt].writer(Source.of(document), out)
    return out.getvalue()
