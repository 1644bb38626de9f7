"""Tied parameters: a scenario field computed from the free parameters of a calibration,
e.g. ``"populations.speculators.params.aggressiveness" = "200 / leverage"``.

An expression is arithmetic over the free parameters' names and numbers:
``+ - * / **``, parentheses, and the functions ``min``, ``max``, ``abs``,
``log``, ``exp``, ``sqrt``, ``round``. It is parsed once with ``ast`` and
evaluated by walking the tree, so nothing else can run.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["Expression"]

_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[float], float]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "log": math.log,
    "exp": math.exp,
    "sqrt": math.sqrt,
    "round": round,
}


class Expression:
    """A parsed expression over ``names``; ``field`` names it in errors."""

    def __init__(self, text: str, names: Sequence[str], field: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise TypeError(f"{field}: must be an expression string, got {text!r}")
        self.text = text
        self.field = field
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            raise ValueError(f"{field}: not an expression: {text!r}") from None
        self.names: set[str] = set()
        self._check(tree.body, set(names))
        self.tree = tree.body

    def _check(self, node: ast.AST, known: set[str]) -> None:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ValueError(f"{self.field}: only numbers may appear, got {node.value!r}")
        elif isinstance(node, ast.Name):
            if node.id not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise ValueError(
                    f"{self.field}: unknown name {node.id!r}; the free parameters are {allowed}"
                )
            self.names.add(node.id)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._check(node.left, known)
            self._check(node.right, known)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            self._check(node.operand, known)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and not node.keywords
        ):
            for arg in node.args:
                self._check(arg, known)
        else:
            raise ValueError(
                f"{self.field}: {ast.unparse(node)!r} is not allowed; use numbers, the free "
                f"parameters, + - * / ** and {', '.join(_FUNCTIONS)}"
            )

    def __call__(self, values: Mapping[str, float]) -> float:
        try:
            result = self._eval(self.tree, values)
        except (ArithmeticError, ValueError) as exc:
            raise ValueError(
                f"{self.field}: {self.text!r} fails at {dict(values)}: {exc}"
            ) from None
        if isinstance(result, complex) or not math.isfinite(result):
            raise ValueError(f"{self.field}: {self.text!r} is not finite at {dict(values)}")
        return float(result)

    def _eval(self, node: ast.AST, values: Mapping[str, float]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](
                self._eval(node.left, values), self._eval(node.right, values)
            )
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self._eval(node.operand, values))
        assert isinstance(node, ast.Call)
        assert isinstance(node.func, ast.Name)
        return _FUNCTIONS[node.func.id](*(self._eval(a, values) for a in node.args))
