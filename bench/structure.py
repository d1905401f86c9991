"""Structure figures for chatbot/ and db/: long modules, long functions and import cycles.

    python bench/structure.py            # the summary and every module/function over the limits
    python bench/structure.py --cycles   # also print each cycle's files

Imports are read with `ast`, including those inside functions (lazy imports), so a cycle
hidden behind a function-level import still counts. Only the project's own modules are nodes.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("chatbot", "db")
MODULE_LIMIT = 400
FUNCTION_LIMIT = 60


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module
    lines: int


def modules() -> dict[str, Module]:
    found: dict[str, Module] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            text = path.read_text(encoding="utf-8")
            found[".".join(parts)] = Module(".".join(parts), path, ast.parse(text), len(text.splitlines()))
    return found


def imported(module: Module, known: set[str]) -> set[str]:
    """The project modules this one imports, at any depth of its code."""
    targets: set[str] = set()
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for name in names:
            # `from a.b import c` names module a.b.c when it exists, else a.b.
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module.name:
                targets.add(name)
    return targets


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def long_functions(module: Module) -> list[tuple[str, int]]:
    result = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > FUNCTION_LIMIT:
                result.append((f"{module.name}.{node.name}", length))
    return result


def package_edges(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Imports between packages only: a package is a node (`chatbot.people.auth` counts as `chatbot.people`)."""

    def package(name: str) -> str:
        # A package's command-line module is an entry point above every package: its own node.
        if name.endswith(".cli"):
            return name
        parts = name.split(".")
        return ".".join(parts[:2]) if parts[0] == "chatbot" else parts[0]

    return {
        (package(a), package(b)) for a, targets in graph.items() for b in targets if package(a) != package(b)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", action="store_true", help="print the modules of each cycle")
    args = parser.parse_args(argv)
    found = modules()
    graph = {name: imported(module, set(found)) for name, module in found.items()}
    big = sorted(((m.lines, m.name) for m in found.values() if m.lines > MODULE_LIMIT), reverse=True)
    long = sorted((f for m in found.values() for f in long_functions(m)), key=lambda f: -f[1])
    module_cycles = cycles(graph)
    package_graph: dict[str, set[str]] = {}
    for a, b in package_edges(graph):
        package_graph.setdefault(a, set()).add(b)
    package_cycles = cycles(package_graph)
    print(f"modules: {len(found)}, lines: {sum(m.lines for m in found.values())}")
    print(f"modules over {MODULE_LIMIT} lines: {len(big)}")
    for lines, name in big:
        print(f"  {lines:5d}  {name}")
    print(f"functions over {FUNCTION_LIMIT} lines: {len(long)}")
    for name, length in long:
        print(f"  {length:5d}  {name}")
    print(f"import cycles between modules (lazy imports included): {len(module_cycles)}")
    print(f"import cycles between packages: {len(package_cycles)}")
    if args.cycles:
        for component in module_cycles + package_cycles:
            print("  " + " ↔ ".join(component))
    return 0


if __name__ == "__main__":
    sys.exit(main())
