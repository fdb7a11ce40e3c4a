"""Where a path lies relative to a directory, by its text alone (POSIX paths of the audited
host: nothing here touches a filesystem, so checks stay pure)."""

from __future__ import annotations


def is_below(path: str, top: str) -> bool:
    """path lies inside directory top, at any depth (top itself does not); / holds every absolute path."""
    return path.startswith(top.rstrip("/") + "/")


def is_under(path: str, top: str) -> bool:
    """path is top itself or lies inside it."""
    return path == top or is_below(path, top)


def strip_root(path: str, root: str) -> str:
    """A path under root (where the target's filesystem is mounted, e.g. /host) as the target
    sees it; any other path, or any path when root is /, unchanged."""
    root = root.rstrip("/")
    return path[len(root) :] if root and is_below(path, root) else path
