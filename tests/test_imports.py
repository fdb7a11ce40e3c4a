"""No import cycles among dockbench's own modules, counting imports inside functions too.

A function-level import can hide a cycle from Python (it runs after both modules loaded) but
not from a reader: the two modules still depend on each other. The graph is built from the
source with `ast`, so nothing is imported to draw it.

An edge goes to the module an import names: `from dockbench.benchmark.archive import codec`
points at archive.codec, `from dockbench.benchmark.archive import open_archive` at the
archive package. The implicit import of a parent package (Python runs archive/__init__.py
before archive.codec) is not an edge: a package `__init__` that loads its own submodules,
as checks/__init__.py and checks/containers/__init__.py do, is in a cycle only when one of
those submodules takes a name back from the `__init__`.

Run `python -m tests.test_imports` to print the graph's cycles (none, or each one found).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"dockbench.benchmark": ROOT / "benchmark", "dockbench.checks": ROOT / "checks", "dockbench.templates": ROOT / "templates"}


def modules() -> dict[str, Path]:
    """Every dockbench.* module name and its source file."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """(module imported, line) for every import of a dockbench module anywhere in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # import a.b.c names a.b.c, or the nearest module above it
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.append((target, node.lineno))
    return sorted(edges, key=lambda edge: edge[1])


def graph() -> dict[str, dict[str, int]]:
    """module -> {module it imports: line of the first such import}."""
    found = modules()
    edges: dict[str, dict[str, int]] = {}
    for name, path in found.items():
        edges[name] = {}
        for target, line in imports_of(name, path, set(found)):
            edges[name].setdefault(target, line)
    return edges


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (Tarjan), as a path a -> ... -> a."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [_path_back(group[0], set(group), edges) for group in groups]


def _path_back(start: str, group: set[str], edges: dict[str, dict[str, int]]) -> list[str]:
    """The shortest way from start back to itself inside its group (breadth first)."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in sorted(edges[node]):
                if nxt not in group or nxt in came_from:
                    continue
                came_from[nxt] = node
                if nxt == start:
                    path = [start]
                    while path[-1] != start or len(path) == 1:
                        path.append(came_from[path[-1]])
                    return path[::-1]
                nxt_frontier.append(nxt)
        frontier = nxt_frontier
    raise AssertionError(f"{start} is in a cycle with no way back")


def describe(cycle: list[str], edges: dict[str, dict[str, int]]) -> str:
    return " -> ".join(f"{a} (line {edges[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"


def test_the_graph_sees_every_kind_of_import(tmp_path):
    source = tmp_path / "cli.py"
    source.write_text(
        "import os\n"
        "from dockbench.benchmark.judge.facts import Facts\n"                 # a name from a module
        "from dockbench.benchmark.document import report as report_mod\n"  # a module from its package
        "from dockbench.benchmark.archive import open_archive\n"        # a name from a package
        "import dockbench.benchmark.fleet.sweep.Sweep\n"                      # a dotted name below a module
        "from .. import render\n"                                      # relative
        "def lazy():\n"
        "    from dockbench import checks\n"                           # inside a function
    )
    known = {"dockbench.benchmark.judge.facts", "dockbench.benchmark.document.report", "dockbench.benchmark.archive", "dockbench.benchmark.archive.sqlite",
             "dockbench.benchmark.fleet.sweep", "dockbench.benchmark.render", "dockbench.checks", "dockbench.benchmark.cli.scan"}
    assert imports_of("dockbench.benchmark.cli.scan", source, known) == [
        ("dockbench.benchmark.judge.facts", 2), ("dockbench.benchmark.document.report", 3), ("dockbench.benchmark.archive", 4),
        ("dockbench.benchmark.fleet.sweep", 5), ("dockbench.benchmark.render", 6), ("dockbench.checks", 8),
    ]
    edges = graph()
    assert {"dockbench.benchmark.cli.scan", "dockbench.benchmark.cli.archive", "dockbench.checks", "dockbench.checks.containers.mounts", "dockbench.templates"} <= set(edges)
    assert "dockbench.benchmark.judge.facts" in edges["dockbench.benchmark.judge.options"]


def test_cycles_are_found_and_shown_with_their_lines():
    edges = {"a": {"b": 3}, "b": {"c": 7}, "c": {"a": 1}, "d": {"a": 2}}
    assert cycles(edges) == [["a", "b", "c", "a"]]
    assert describe(["a", "b", "c", "a"], edges) == "a (line 3) -> b (line 7) -> c (line 1) -> a"
    assert cycles({"a": {"b": 1}, "b": {}}) == []


def test_no_import_cycles_among_project_modules():
    edges = graph()
    found = [describe(c, edges) for c in cycles(edges)]
    assert not found, "import cycles:\n" + "\n".join(found)


if __name__ == "__main__":
    edges = graph()
    found = cycles(edges)
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} import edges, {len(found)} cycle(s)")
    for cycle in found:
        print(describe(cycle, edges))


# The layering of benchmark/'s folders (README, "Code layout"): the folders each one must not import.
# Collecting and judging know nothing of sweeps, commands, outputs or the archive; the document
# model knows nothing but itself; no code but the command line knows it is a command line.
MUST_NOT_IMPORT = {
    "collect": {"fleet", "cli", "render", "archive", "remediate"},
    "judge": {"fleet", "cli", "render", "archive", "remediate"},
    "document": {"collect", "judge", "fleet", "cli", "render", "archive", "checks", "remediate"},
    "render": {"collect", "fleet", "cli", "archive"},
    "archive": {"collect", "judge", "fleet", "cli"},
    "fleet": {"cli"},
    "remediate": {"collect", "fleet", "cli", "archive"},
    "checks": {"fleet", "cli", "render", "archive", "remediate"},
}


def folder_of(module: str) -> str:
    """The room a dockbench module lives in: a benchmark/ folder, "checks", or "benchmark" for the top."""
    parts = module.split(".")
    if parts[1] != "benchmark":
        return parts[1]
    return parts[2] if len(parts) > 3 or (len(parts) == 3 and (ROOT / "benchmark" / parts[2]).is_dir()) else "benchmark"


def layering_breaches(edges: dict[str, dict[str, int]]) -> list[str]:
    return [f"{a} (line {line}) imports {b}" for a, targets in sorted(edges.items()) for b, line in targets.items()
            if folder_of(b) in MUST_NOT_IMPORT.get(folder_of(a), set())]


def test_folders_import_only_what_their_layer_may():
    edges = graph()
    assert {folder_of(m) for m in edges} >= set(MUST_NOT_IMPORT), "a folder of the layering is gone: update MUST_NOT_IMPORT and the README"
    assert layering_breaches(edges) == []


def test_the_layering_test_sees_a_breach():
    edges = {"dockbench.benchmark.collect.probe": {"dockbench.benchmark.fleet.sweep": 7}, "dockbench.benchmark.cli.scan": {"dockbench.benchmark.fleet.sweep": 3}}
    assert layering_breaches(edges) == ["dockbench.benchmark.collect.probe (line 7) imports dockbench.benchmark.fleet.sweep"]


def click_importers() -> list[str]:
    """Modules outside benchmark/cli/ that import click (anywhere in the file)."""
    found = []
    for name, path in modules().items():
        if folder_of(name) == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "click" for a in node.names)) or \
               (isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "click"):
                found.append(f"{name} (line {node.lineno})")
    return found


def test_nothing_but_the_command_line_imports_click():
    assert "dockbench.benchmark.cli.main" in modules()
    assert click_importers() == []
