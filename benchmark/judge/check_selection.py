"""Which checks run: `--level`, `--include` and `--exclude` by check id (globs), CIS id or layer."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from dockbench.benchmark.document.model import CheckMeta


def _matches(meta: CheckMeta, token: str) -> bool:
    return (
        fnmatch.fnmatchcase(meta.id, token)
        or meta.layer.value == token
        or any(ref.id == token or ref.id.startswith(token + ".") for ref in meta.cis)
    )


@dataclass(frozen=True)
class CheckFilter:
    """`level` 1 keeps level-1 checks; 2 keeps levels 1 and 2 (CIS profiles nest)."""

    level: int | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def keeps(self, meta: CheckMeta) -> bool:
        if self.level is not None and meta.level is not None and meta.level > self.level:
            return False
        if self.include and not any(_matches(meta, t) for t in self.include):
            return False
        return not any(_matches(meta, t) for t in self.exclude)
