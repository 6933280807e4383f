"""The Blender layer's structure: pure helpers never import bpy, and only registration imports operators."""
from __future__ import annotations

import ast
from pathlib import Path

BLENDER = Path(__file__).resolve().parents[2] / "pixelplayer_blender" / "blender"


def imported(path: Path) -> set[str]:
    """Every module name ``path`` imports, relative imports written with their dots."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names |= {base} | {f"{base}.{a.name}" if node.module else base + a.name for a in node.names}
    return names


def test_pure_helpers_never_import_bpy():
    for path in (BLENDER / "pure").glob("*.py"):
        assert not {n for n in imported(path) if n.split(".")[0] in {"bpy", "gpu", "bpy_extras"}}, path


def test_only_registration_imports_operator_modules():
    for path in BLENDER.rglob("*.py"):
        if path.name == "addon.py":
            continue
        assert not {n for n in imported(path) if "operators" in n.split(".")}, path
