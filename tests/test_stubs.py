"""The typed stubs of the compiled module name exactly what it has."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from deleverage import _core

STUB = Path(_core.__file__).with_name("_core.pyi")
if not STUB.exists():  # an installed wheel keeps it beside the extension; a source tree too
    STUB = Path(__file__).parents[1] / "python" / "deleverage" / "_core.pyi"
TREE = ast.parse(STUB.read_text())
ALIASES = {"Records", "F64", "I64", "StrategySpec"}


def _names(body: list[ast.stmt]) -> set[str]:
    out: set[str] = set()
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            out.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
        elif isinstance(node, ast.Assign):
            out.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return out


def test_module_names_match() -> None:
    assert _names(TREE.body) - ALIASES == {n for n in dir(_core) if not n.startswith("_")}


@pytest.mark.parametrize("cls", [n.name for n in TREE.body if isinstance(n, ast.ClassDef)], ids=str)
def test_class_members_match(cls: str) -> None:
    node = next(n for n in TREE.body if isinstance(n, ast.ClassDef) and n.name == cls)
    stubbed = {n for n in _names(node.body) if not n.startswith("_")}
    real = {n for n in dir(getattr(_core, cls)) if not n.startswith("_")}
    assert stubbed == real
