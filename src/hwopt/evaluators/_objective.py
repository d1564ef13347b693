"""Objectives and constraints: ``accuracy:max``, ``latency:min``, ``latency<=20``.

An objective names a metric and a direction; a constraint names a metric and a bound.
``latency:min<=20`` is both. Strategies only ever see the minimisation matrix ``F`` (maximised
objectives negated) and the constraint-violation matrix ``G`` (``<= 0`` is feasible), the
convention pymoo uses for constrained domination.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from hwopt.errors import ObjectiveError

_SPEC = re.compile(
    r"^\s*(?P<name>[A-Za-z_][\w.@\-]*)\s*"
    r"(?::\s*(?P<dir>max|min|maximize|minimize))?\s*"
    r"(?:(?P<op><=|>=)\s*(?P<bound>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*(?P<unit>[A-Za-z%]*))?\s*$"
)
_UNIT_SCALE = {"": 1.0, "ms": 1.0, "s": 1e3, "us": 1e-3, "%": 1.0}


def scalar(value: Any) -> float:
    """The number an objective compares: a float, or ``median`` / ``value`` of a measurement dict."""
    if isinstance(value, Mapping):
        for key in ("median", "value", "mean"):
            if key in value:
                return float(value[key])
        raise ObjectiveError(f"measurement {value!r} has no 'median' or 'value'")
    if value is None:
        return math.nan
    return float(value)


@dataclass(frozen=True)
class Objective:
    """A metric to minimise or maximise."""

    name: str
    direction: str = "min"  # "min" | "max"
    unit: str = ""

    def __post_init__(self):
        if self.direction not in ("min", "max"):
            raise ObjectiveError(f"objective {self.name!r}: direction must be 'min' or 'max', got {self.direction!r}")

    @property
    def sign(self) -> float:
        return -1.0 if self.direction == "max" else 1.0

    def __str__(self) -> str:
        return f"{self.name}:{self.direction}"


@dataclass(frozen=True)
class Constraint:
    """A bound on a metric, e.g. ``latency<=20``; violation is the (positive) excess."""

    name: str
    op: str  # "<=" | ">="
    bound: float

    def violation(self, value: float) -> float:
        if math.isnan(value):
            return math.inf
        return value - self.bound if self.op == "<=" else self.bound - value

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.bound:g}"


def parse_spec(spec: str) -> tuple[Objective | None, Constraint | None]:
    """Parse one ``--objectives`` item into an objective, a constraint, or both."""
    m = _SPEC.match(spec)
    if not m:
        raise ObjectiveError(
            f"cannot parse objective {spec!r}; write NAME:max, NAME:min, NAME<=BOUND or NAME:min<=BOUND"
        )
    name, direction = m["name"], m["dir"]
    if direction is None and m["op"] is None:
        raise ObjectiveError(f"objective {spec!r} needs a direction (:max or :min) or a bound (<= / >=)")
    obj = Objective(name, {"maximize": "max", "minimize": "min"}.get(direction, direction)) if direction else None
    con = None
    if m["op"]:
        unit = m["unit"] or ""
        if unit not in _UNIT_SCALE:
            raise ObjectiveError(f"unknown unit {unit!r} in {spec!r}; valid: ms, s, us, %")
        con = Constraint(name, m["op"], float(m["bound"]) * _UNIT_SCALE[unit])
    return obj, con


def parse_objectives(specs: Sequence[str]) -> tuple[list[Objective], list[Constraint]]:
    """Parse a list of specs; at least one objective, no metric twice."""
    objectives: list[Objective] = []
    constraints: list[Constraint] = []
    for s in specs:
        o, c = parse_spec(s)
        if o:
            if any(x.name == o.name for x in objectives):
                raise ObjectiveError(f"objective {o.name!r} is given twice")
            objectives.append(o)
        if c:
            constraints.append(c)
    if not objectives:
        raise ObjectiveError("give at least one objective, e.g. accuracy:max")
    return objectives, constraints


def to_matrices(
    measurements: Sequence[Mapping[str, Any] | None],
    objectives: Sequence[Objective],
    constraints: Sequence[Constraint] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """``F`` (n × n_obj, minimisation form, NaN for failures) and ``G`` (n × n_constr, ≤0 feasible)."""
    n = len(measurements)
    F = np.full((n, len(objectives)), np.nan)
    G = np.zeros((n, len(constraints)))
    for i, m in enumerate(measurements):
        if m is None:
            G[i] = np.inf
            continue
        for j, o in enumerate(objectives):
            F[i, j] = o.sign * scalar(m.get(o.name))
        for j, c in enumerate(constraints):
            G[i, j] = c.violation(scalar(m.get(c.name)))
    return F, G
