"""The package map of docs/architecture.md holds: imports point one way (down the
layers)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "archiver"

# Layer of each package; a module may import packages of its own layer or below, and
# none of another package on its own layer unless listed in SIDEWAYS.
LAYERS = {
    "core": 1,
    "parsers": 2,
    "security": 3,
    "store": 4,
    "archive": 5,
    "search": 6,
    "ingest": 6,
    "retention": 7,
    "audit": 7,
    "curation": 8,
    "governance": 8,
    "production": 8,
    "cli": 9,
}
# Packages of one layer that may use each other, one way only.
SIDEWAYS = {("audit", "retention"), ("governance", "curation"), ("production", "curation")}


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in ast.walk(node):
                if hasattr(child, "lineno"):
                    lines.add(child.lineno)
    return lines


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The archiver modules ``name`` imports (at any depth of its code, typing-only
    imports left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = _type_checking_lines(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        for target in targets:
            if target.startswith("archiver") and target in known and target != name:
                found.add(target)
    return found


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for module, targets in graph().items():
        here = package_of(module)
        if here is None:
            continue
        for target in targets:
            there = package_of(target)
            if there is None or there == here:
                continue
            if LAYERS[there] > LAYERS[here] or (
                LAYERS[there] == LAYERS[here] and (here, there) not in SIDEWAYS
            ):
                wrong.append(f"{module} imports {target}")
    assert wrong == []
