"""The package's layout (STYLE.md): no import cycles, and nothing imports upward.

The graph counts every ``import`` of a deepbelief module, also those inside functions: a deferred import hides a
cycle from Python but not from the reader.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "deepbelief"


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph():
    """{module: set of deepbelief modules it imports}."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith("deepbelief"))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(base + ([node.module] if node.module else []))
                elif node.module and node.module.startswith("deepbelief"):
                    base = node.module
                else:
                    continue
                for alias in node.names:  # `from . import x` may name a submodule
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph):
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _is_package_root(module):
    """A package's __init__ re-exports its children; importing it from a child is what creates cycles."""
    return module == "deepbelief"


def test_there_are_no_import_cycles():
    graph = import_graph()
    # A package's __init__ importing its own submodules is no cycle of ideas; the child must not import it back.
    assert cycles(graph) == []


def test_the_graph_sees_deferred_imports():
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    graph = import_graph()
    assert "deepbelief.core.rbm" in graph["deepbelief.estimators._layer"]


@pytest.mark.parametrize("lower", ["deepbelief.core", "deepbelief.data"])
def test_lower_layers_import_nothing_above_them(lower):
    allowed = {"deepbelief.core": ("deepbelief.core", "deepbelief._validation", "deepbelief._random"),
               "deepbelief.data": ("deepbelief.data", "deepbelief._validation", "deepbelief.errors")}[lower]
    for module, targets in import_graph().items():
        if module == lower or module.startswith(lower + "."):
            upward = sorted(t for t in targets if not t.startswith(allowed))
            assert upward == [], f"{module} imports {upward}"


def test_only_the_package_root_imports_the_version_module():
    for module, targets in import_graph().items():
        assert "deepbelief" not in targets or _is_package_root(module) or module == "deepbelief.__main__", \
            f"{module} imports the package root (take __version__ from deepbelief._version)"


def test_training_is_quiet_and_knows_no_estimators():
    """training/ imports no scikit-learn, argparse or progress bars, prints nothing and imports only core/ and the
    error types from the package (STYLE.md)."""
    for path in (PACKAGE / "training").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n.split(".")[0] in ("sklearn", "argparse", "tqdm", "matplotlib") for n in names), \
                    f"{path.name} imports {names}"
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                raise AssertionError(f"{path.name} prints (line {node.lineno}); report through a callback")
    for module, targets in import_graph().items():
        if module.startswith("deepbelief.training"):
            upward = sorted(t for t in targets if not t.startswith(("deepbelief.training", "deepbelief.core",
                                                                    "deepbelief.errors")))
            assert upward == [], f"{module} imports {upward}"
