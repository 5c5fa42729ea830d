"""The import structure the design asks for (docs/design/seams.md), checked on the code itself.

* No import cycle between any two modules of the shipped packages; an import inside a function or under
  ``TYPE_CHECKING`` counts (it is a cycle all the same, only deferred).
* The step runner imports no compute backend; the orchestrators import nothing of durableml but the contract
  (they must stay deterministic); the library imports no ``azure.functions`` (it does not know its host).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("durableml", "funchost", "orchestrators", "activities", "triggers")
TOP_MODULES = ("function_app", "app_decorators")


def _modules() -> dict[str, Path]:
    found = {name: ROOT / f"{name}.py" for name in TOP_MODULES}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The modules of ``modules`` that the module ``name`` (file ``path``) imports, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
                break
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imported(path, name, modules) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (``[a, b, a]``), or [] when there is none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        stack.append(module)
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == 1:
                return stack[stack.index(imported) :] + [imported]
            if imported not in state:
                found = visit(imported)
                if found:
                    return found
        stack.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back_through_others() -> None:
    graph = _graph()
    assert len(graph) > 150 and "durableml.service.runtime" in graph  # the whole tree was read
    assert _cycle(graph) == []


def test_the_runner_imports_no_backend() -> None:
    graph = _graph()
    for name, imported in graph.items():
        if name.startswith("durableml.runner"):
            assert not {m for m in imported if m.startswith("durableml.compute")}, (name, imported)


def test_orchestrators_import_only_the_contract_of_durableml() -> None:
    graph = _graph()
    for name, imported in graph.items():
        if name.startswith("orchestrators."):
            assert {m for m in imported if m.startswith("durableml")} <= {"durableml", "durableml.contract"}, name


def test_the_library_does_not_import_the_functions_host() -> None:
    for name, path in _modules().items():
        if name.startswith("durableml"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            imports = [
                alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
            ] + [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
            assert not [m for m in imports if m.startswith(("azure.functions", "azure.durable_functions"))], name
