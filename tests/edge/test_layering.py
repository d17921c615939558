"""The import layering of the edge service, read from the source (every import, also the ones
inside functions), so it stays true as features land:

    errors  <  core  <  config, pinmap, toml*  <  adapters, sim, datasets
            <  detector, service, delivery, replay, benchmark, cliargs
            <  adapt, cards (model-directory workflows)
            <  app (the composition root)  <  commands  <  cli

A module imports only from its own layer or below; there is no import circle; core imports no
adapter, command or the root; adapters import no simulation; commands never import each other;
the firmware imports nothing of the Pi's.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EDGE = ROOT / "edge"
PACKAGE = EDGE / "camtrap"
FIRMWARE = ROOT / "firmware"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("camtrap", "camtrap.errors"),
    ("camtrap.core",),
    ("camtrap.config", "camtrap.pinmap", "camtrap.tomlfile", "camtrap.tomlschema"),
    ("camtrap.adapters", "camtrap.sim", "camtrap.datasets"),
    (
        "camtrap.detector",
        "camtrap.service",
        "camtrap.delivery",
        "camtrap.replay",
        "camtrap.benchmark",
        "camtrap.cliargs",
        "camtrap.doctor",
    ),
    ("camtrap.adapt", "camtrap.cards"),
    ("camtrap.app",),
    ("camtrap.commands",),
    ("camtrap.cli", "camtrap.__main__"),
)


def module_name(path: Path, base: Path) -> str:
    parts = path.relative_to(base).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(base: Path, package: str) -> dict[str, Path]:
    return {module_name(p, base): p for p in sorted((base / package).rglob("*.py"))}


def imports(path: Path, known: set[str], prefix: str) -> Iterator[str]:
    """The modules under ``prefix`` that ``path`` imports, anywhere in the file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from camtrap import commands` names a module; `from camtrap.x import f` does not
            names = [f"{node.module}.{a.name}" for a in node.names]
            names = [n if n in known else node.module for n in names]
        else:
            continue
        yield from (n for n in names if n == prefix or n.startswith(prefix + "."))


def graph() -> dict[str, set[str]]:
    mods = modules(EDGE, "camtrap")
    known = set(mods)
    return {m: set(imports(p, known, "camtrap")) - {m} for m, p in mods.items()}


def layer(module: str) -> int:
    best = (-1, -1)  # (length of the matching prefix, layer): the longest prefix decides
    for i, group in enumerate(LAYERS):
        for prefix in group:
            if module == prefix or module.startswith(prefix + "."):
                best = max(best, (len(prefix), i))
    assert best[1] >= 0, f"{module}: in no layer; add it to LAYERS in {__file__}"
    return best[1]


def test_every_module_has_a_layer():
    for module in graph():
        layer(module)


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [
        f"{m} (layer {layer(m)}) imports {d} (layer {layer(d)})"
        for m, deps in graph().items()
        for d in sorted(deps)
        if layer(d) > layer(m)
    ]
    assert upward == []


def test_core_imports_only_core_and_errors():
    bad = [
        f"{m} -> {d}"
        for m, deps in graph().items()
        if m.startswith("camtrap.core")
        for d in deps
        if not (d.startswith("camtrap.core") or d in ("camtrap.errors", "camtrap.core"))
    ]
    assert bad == []


def test_adapters_import_no_simulation_and_no_shell():
    shell = (
        "camtrap.sim",
        "camtrap.commands",
        "camtrap.app",
        "camtrap.service",
        "camtrap.delivery",
    )
    shell += ("camtrap.cli",)
    bad = [
        f"{m} -> {d}"
        for m, deps in graph().items()
        if m.startswith("camtrap.adapters")
        for d in deps
        if d.startswith(shell)
    ]
    assert bad == []


def test_commands_never_import_each_other():
    bad = [
        f"{m} -> {d}"
        for m, deps in graph().items()
        if m.startswith("camtrap.commands.")
        for d in deps
        if d.startswith("camtrap.commands.")
    ]
    assert bad == []


def test_there_is_no_import_circle():
    g = graph()
    circles = [c for c in strongly_connected(g) if len(c) > 1]
    assert circles == []


def test_the_firmware_imports_nothing_of_the_pi():
    mods = modules(FIRMWARE, "trapfw")
    bad = [f"{m} -> {d}" for m, p in mods.items() for d in imports(p, set(mods), "camtrap")]
    assert bad == []


@pytest.mark.parametrize(
    ("g", "want"),
    [
        ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ],
)
def test_the_circle_finder_finds_circles(g: dict[str, set[str]], want: list[list[str]]):
    assert [sorted(c) for c in strongly_connected(g) if len(c) > 1] == want


def strongly_connected(g: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative enough for a package)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(component)

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out
