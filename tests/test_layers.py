"""The structure drawn from the imports: index/ (the lower layer) imports nothing from chatbot/, and
no module of either package imports, even inside a function body, a module that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("chatbot", "index")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(name: str, source: str, known: set[str], is_package: bool = False) -> set[str]:
    """The project modules (among `known`) that module `name` imports anywhere in its source: at module
    level, in function bodies, under conditions."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from .mod import y
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports the module pkg.mod when there is one.
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import chatbot.x.y` or an attribute: its nearest module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    known = {module_name(p) for p in paths}
    return {
        module_name(p): imported_modules(module_name(p), p.read_text("utf-8"), known, p.name == "__init__.py")
        for p in paths
    }


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (Tarjan), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def test_the_import_reader_sees_imports_in_function_bodies_and_relative_ones():
    known = {"chatbot", "chatbot.a", "chatbot.b", "chatbot.c", "index", "index.x"}
    source = "import index.x.attr\n\ndef f():\n    from chatbot import b\n    if True:\n        from .c import thing\n"
    assert imported_modules("chatbot.a", source, known) == {"index.x", "chatbot", "chatbot.b", "chatbot.c"}
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_holds_the_known_edges():
    graph = import_graph()
    assert {"chatbot.answering", "chatbot.citations", "index.errors"} <= graph["chatbot.llm"]
    assert "index.chunking" in graph["index.store"] and len(graph) >= 30


def test_index_imports_nothing_from_chatbot():
    graph = import_graph()
    upward = {f"{m} -> {t}" for m, targets in graph.items() if m.startswith("index") for t in targets if t.startswith("chatbot")}
    assert upward == set()


def test_no_import_cycles():
    assert find_cycles(import_graph()) == []
