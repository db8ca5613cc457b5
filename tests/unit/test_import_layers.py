"""The house's dependency rule, checked on the source: no import circles among the logic modules.

Every import counts, at module level or inside a function, TYPE_CHECKING ones included: a circle hidden in a
function body is still a circle (it only moves the failure from import time to call time).
"""

from __future__ import annotations

import ast
from pathlib import Path

LOGIC = Path(__file__).resolve().parents[2] / "layers" / "common" / "avatarsmith" / "logic"


def _logic_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("avatarsmith.logic."):
            found.add(node.module.split(".")[2])
        elif isinstance(node, ast.ImportFrom) and node.module == "avatarsmith.logic":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("avatarsmith.logic."):
                    found.add(alias.name.split(".")[2])
    return found - {path.stem}


def _graph() -> dict[str, set[str]]:
    return {path.stem: _logic_imports(path) for path in LOGIC.glob("*.py") if path.stem != "__init__"}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary circle found by a depth-first walk from each module (small graph: plain DFS)."""
    found: set[tuple[str, ...]] = set()

    def walk(start: str, node: str, trail: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                cycle = trail[:]
                turn = cycle.index(min(cycle))
                found.add(tuple(cycle[turn:] + cycle[:turn]))
            elif nxt not in trail and nxt > start:
                walk(start, nxt, [*trail, nxt])

    for start in sorted(graph):
        walk(start, start, [start])
    return [list(c) for c in sorted(found)]


def test_the_cycle_finder_sees_a_circle_hidden_in_a_function() -> None:
    # Given a made-up graph with one two-module circle and one three-module circle
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    # Then both are found, and nothing else
    assert _cycles(graph) == [["a", "b"], ["c", "d", "e"]]


def test_logic_modules_import_each_other_one_way_only() -> None:
    graph = _graph()
    assert len(graph) > 20, "the logic package was not found"
    assert _cycles(graph) == []
