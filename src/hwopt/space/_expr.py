"""Safe evaluation of the small expressions used for conditional activity and constraints.

Space files are data, not code: an expression such as ``i % 4 < d[i // 4]`` is parsed with
:mod:`ast` and only literals, names, arithmetic, comparisons, boolean logic, subscripts and a
few pure functions (``len``, ``sum``, ``min``, ``max``, ``abs``) are allowed.
"""

from __future__ import annotations

import ast
import operator
from typing import Any, Callable

from hwopt.errors import SpaceError

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_FUNCS: dict[str, Callable[..., Any]] = {"len": len, "sum": sum, "min": min, "max": max, "abs": abs}


class Expression:
    """A parsed, validated expression; ``names`` are the variables it reads."""

    def __init__(self, source: str, where: str = "expression"):
        self.source = source
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as exc:
            raise SpaceError(f"{where}: cannot parse {source!r} ({exc.msg})") from None
        self._tree = tree.body
        self.names: set[str] = set()
        self._check(self._tree, where)

    def _check(self, node: ast.AST, where: str) -> None:
        allowed = (ast.Constant, ast.Name, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare,
                   ast.Subscript, ast.Call, ast.Tuple, ast.List, ast.IfExp, ast.Load,
                   ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.Slice)
        for sub in ast.walk(node):
            if not isinstance(sub, allowed):
                raise SpaceError(f"{where}: {type(sub).__name__} is not allowed in {self.source!r}")
            if isinstance(sub, ast.Call):
                if not isinstance(sub.func, ast.Name) or sub.func.id not in _FUNCS or sub.keywords:
                    raise SpaceError(
                        f"{where}: only calls to {', '.join(sorted(_FUNCS))} are allowed in {self.source!r}"
                    )
            if isinstance(sub, ast.Name) and sub.id not in _FUNCS:
                self.names.add(sub.id)
            if isinstance(sub, ast.BinOp) and type(sub.op) not in _BINOPS:
                raise SpaceError(f"{where}: operator {type(sub.op).__name__} is not allowed")

    def __call__(self, env: dict[str, Any]) -> Any:
        return self._eval(self._tree, env)

    def _eval(self, node: ast.AST, env: dict[str, Any]) -> Any:
        ev = self._eval
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in _FUNCS:
                return _FUNCS[node.id]
            try:
                return env[node.id]
            except KeyError:
                raise SpaceError(f"{self.source!r} reads unknown name {node.id!r}") from None
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](ev(node.left, env), ev(node.right, env))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand, env)
            return {ast.Not: lambda: not v, ast.USub: lambda: -v, ast.UAdd: lambda: +v,
                    ast.Invert: lambda: ~v}[type(node.op)]()
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(ev(v, env) for v in node.values)
            return any(ev(v, env) for v in node.values)
        if isinstance(node, ast.Compare):
            left = ev(node.left, env)
            for op, comp in zip(node.ops, node.comparators):
                right = ev(comp, env)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.Subscript):
            return ev(node.value, env)[ev(node.slice, env)]
        if isinstance(node, ast.Slice):
            return slice(*(None if p is None else ev(p, env) for p in (node.lower, node.upper, node.step)))
        if isinstance(node, ast.Call):
            return ev(node.func, env)(*(ev(a, env) for a in node.args))
        if isinstance(node, (ast.Tuple, ast.List)):
            return [ev(e, env) for e in node.elts]
        if isinstance(node, ast.IfExp):
            return ev(node.body, env) if ev(node.test, env) else ev(node.orelse, env)
        raise SpaceError(f"cannot evaluate {self.source!r}")  # pragma: no cover - guarded by _check
