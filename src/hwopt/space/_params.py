"""Parameter kinds of a SearchSpace: categorical, integer and float, scalar or per-layer list.

Every parameter maps its values to integer *levels* ``0 .. n_levels-1``; evolutionary
algorithms work on levels. ``ordinal`` says whether neighbouring levels are similar (integers,
floats, ordered categories) so operators may interpolate, or unrelated (plain categories) so
they must reset instead.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from hwopt.errors import SpaceError


class Parameter:
    """Base class: a named parameter, optionally a list of ``length`` per-layer values."""

    kind = "parameter"

    def __init__(self, name: str, *, length: int | None = None, active_when: str | None = None):
        if not isinstance(name, str) or not name.isidentifier():
            raise SpaceError(f"parameter name {name!r} must be an identifier (letters, digits, _)")
        if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < 1):
            raise SpaceError(f"parameter {name!r}: length must be a positive integer, got {length!r}")
        self.name = name
        self.length = length
        self.active_when = active_when

    # subclasses fill these
    @property
    def n_levels(self) -> int:
        raise NotImplementedError

    ordinal = True

    def level(self, value: Any) -> int:
        raise NotImplementedError

    def value(self, level: int) -> Any:
        raise NotImplementedError

    @property
    def values(self) -> list[Any]:
        return [self.value(k) for k in range(self.n_levels)]

    @property
    def width(self) -> int:
        """Number of encoded dimensions (1 for a scalar)."""
        return self.length or 1

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.kind}
        out.update(self._spec())
        if self.length is not None:
            out["length"] = self.length
        if self.active_when is not None:
            out["active_when"] = self.active_when
        return out

    def _spec(self) -> dict[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type")
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash(repr(self))


class Categorical(Parameter):
    """One of a list of choices (numbers, strings, booleans); ``ordered`` if their order matters."""

    kind = "categorical"

    def __init__(self, name: str, choices: Sequence[Any], *, ordered: bool = False, **kw: Any):
        super().__init__(name, **kw)
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence) or len(choices) == 0:
            raise SpaceError(f"parameter {name!r}: choices must be a non-empty list")
        for c in choices:
            if not isinstance(c, (str, int, float, bool)) or (isinstance(c, float) and not math.isfinite(c)):
                raise SpaceError(f"parameter {name!r}: choice {c!r} must be a finite number, string or boolean")
        keys = [_key(c) for c in choices]
        if len(set(keys)) != len(keys):
            raise SpaceError(f"parameter {name!r}: choices contain duplicates: {list(choices)!r}")
        self.choices = list(choices)
        self.ordered = bool(ordered)
        self._index = {k: i for i, k in enumerate(keys)}

    @property
    def ordinal(self) -> bool:  # type: ignore[override]
        return self.ordered

    @property
    def n_levels(self) -> int:
        return len(self.choices)

    def level(self, value: Any) -> int:
        try:
            return self._index[_key(value)]
        except (KeyError, TypeError):
            raise SpaceError(f"{value!r} is not a choice of {self.name!r}; valid: {self.choices!r}") from None

    def value(self, level: int) -> Any:
        return self.choices[int(level)]

    def _spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"choices": list(self.choices)}
        if self.ordered:
            spec["ordered"] = True
        return spec


class Integer(Parameter):
    """An integer in ``[low, high]`` with a ``step``."""

    kind = "integer"

    def __init__(self, name: str, low: int, high: int, *, step: int = 1, **kw: Any):
        super().__init__(name, **kw)
        for label, v in (("low", low), ("high", high), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise SpaceError(f"parameter {name!r}: {label} must be an integer, got {v!r}")
        if high < low:
            raise SpaceError(f"parameter {name!r}: bounds are reversed (low={low} > high={high})")
        if step < 1 or (high - low) % step:
            raise SpaceError(f"parameter {name!r}: step {step} must be ≥1 and divide high-low ({high - low})")
        self.low, self.high, self.step = int(low), int(high), int(step)

    @property
    def n_levels(self) -> int:
        return (self.high - self.low) // self.step + 1

    def level(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)) or value != int(value):
            raise SpaceError(f"{self.name!r} must be an integer, got {value!r}")
        v = int(value)
        if not self.low <= v <= self.high or (v - self.low) % self.step:
            raise SpaceError(f"{value!r} is out of range for {self.name!r}: {self.low}..{self.high} step {self.step}")
        return (v - self.low) // self.step

    def value(self, level: int) -> int:
        return self.low + int(level) * self.step

    def _spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.step != 1:
            spec["step"] = self.step
        return spec


class Float(Parameter):
    """A real number in ``[low, high]``, searched on a grid of ``levels`` points (``log`` spacing optional)."""

    kind = "float"

    def __init__(self, name: str, low: float, high: float, *, levels: int = 101, log: bool = False, **kw: Any):
        super().__init__(name, **kw)
        for label, v in (("low", low), ("high", high)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise SpaceError(f"parameter {name!r}: {label} must be a finite number, got {v!r}")
        if not high > low:
            raise SpaceError(f"parameter {name!r}: needs low < high (got low={low}, high={high})")
        if log and low <= 0:
            raise SpaceError(f"parameter {name!r}: log scale needs low > 0 (got {low})")
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2:
            raise SpaceError(f"parameter {name!r}: levels must be an integer ≥ 2, got {levels!r}")
        self.low, self.high, self.levels, self.log = float(low), float(high), levels, bool(log)
        grid = np.geomspace(low, high, levels) if log else np.linspace(low, high, levels)
        self._grid = [float(np.round(g, 12)) for g in grid]

    @property
    def n_levels(self) -> int:
        return self.levels

    def level(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
            raise SpaceError(f"{self.name!r} must be a finite number, got {value!r}")
        if not self.low - 1e-9 * abs(self.low) <= value <= self.high + 1e-9 * abs(self.high):
            raise SpaceError(f"{value!r} is out of range for {self.name!r}: [{self.low}, {self.high}]")
        return int(np.argmin(np.abs(np.asarray(self._grid) - float(value))))

    def value(self, level: int) -> float:
        return self._grid[int(level)]

    def _spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"low": self.low, "high": self.high, "levels": self.levels}
        if self.log:
            spec["log"] = True
        return spec


def _key(value: Any) -> tuple[str, Any]:
    """Hashable identity of a choice: keeps 1 and True and "1" apart, 1 and 1.0 together."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return ("n", float(value))
    return (type(value).__name__, value)


PARAMETER_KINDS: dict[str, type[Parameter]] = {c.kind: c for c in (Categorical, Integer, Float)}
