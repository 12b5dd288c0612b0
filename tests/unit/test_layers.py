"""The architecture holds: no import cycle (imports inside functions count), modules stay small,
and every public path the README and the plugin's users rely on still imports."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).parents[2]
SRC = ROOT / "src" / "asrbench"
#: The house limit on a module's length, in lines.
MAX_LINES = 400


def _graph() -> grimp.ImportGraph:
    # exclude_type_checking_imports: annotations are not imports at run time
    return grimp.build_graph("asrbench", exclude_type_checking_imports=True, cache_dir=None)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_cycle_and_no_false_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycle_counting_imports_inside_functions():
    graph = _graph()
    modules = {m for m in graph.modules if m.startswith("asrbench")}
    # a package imports its own submodules only to re-export them; the edge submodule -> package
    # that every submodule has (Python imports the parent first) is not an import of the code
    edges = {m: {n for n in graph.find_modules_directly_imported_by(m)
                 if n in modules and not m.startswith(n + ".")}
             for m in modules}
    assert _cycles(edges) == []


def test_modules_stay_under_the_house_limit():
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_every_subpackage_says_its_job():
    for init in SRC.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"{init.parent.name}: no docstring saying its job"


#: The public paths (the pytest11 entry point, the command, the extension points).
PUBLIC = {
    "asrbench": ["AsrBenchError", "AudioError", "ConfigError", "EngineError", "EngineUnavailable"],
    "asrbench.plugin": ["pytest_addoption", "pytest_configure"],
    "asrbench.cli": ["main"],
    "asrbench.testing": ["EngineContract"],
    "asrbench.hookspec": [],
    "asrbench.engines": ["Engine", "ModelSpec", "register_engine", "engine_class", "engine_names",
                         "parse_model_spec", "DECODING_DEFAULTS"],
    "asrbench.datasets": ["Dataset", "UtteranceSpec", "Utterance", "load_dataset"],
    "asrbench.errors": ["EngineError", "ConfigError", "AudioError", "EngineUnavailable"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_paths_import(module):
    loaded = importlib.import_module(module)
    for name in PUBLIC[module]:
        assert hasattr(loaded, name), f"{module}.{name}"


def test_every_import_the_readme_shows_works():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    imports = [node for block in blocks for node in ast.walk(ast.parse(block))
               if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("asrbench")]
    assert imports, "the README shows no asrbench import"
    for node in imports:
        module = importlib.import_module(str(node.module))
        for alias in node.names:
            assert hasattr(module, alias.name), f"from {node.module} import {alias.name}"


def test_the_report_schema_ships_with_the_package():
    from asrbench.reporting.schema import load_schema

    assert load_schema()["title"]
