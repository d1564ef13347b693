"""SearchSpace: named parameters with conditional activity and constraints.

A *config* is a plain dict ``{name: value or list of values}`` — the same JSON form as the
shared OFA tables (``{"ks": [...], "e": [...], "d": [...], "r": 224}``). Its *canonical form*
replaces inactive values with ``None`` so configs that describe the same network share one
form and one :meth:`SearchSpace.hash`. Evolutionary algorithms see the *encoding*: one integer
level per (parameter, element), in parameter order.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from hwopt.errors import SpaceError
from hwopt.space._expr import Expression
from hwopt.space._params import Parameter, _key

Config = dict[str, Any]


class SearchSpace:
    """An ordered set of parameters, with activity conditions and feasibility constraints.

    ``active_when`` of a parameter is an expression over other parameters (and, for list
    parameters, the element index ``i``), e.g. ``"i % 4 < d[i // 4]"``: element ``i`` of the
    kernel-size list is active only when its layer exists. ``constraints`` are expressions that
    every config must satisfy (e.g. ``"sum(d) <= 15"``).
    """

    def __init__(
        self,
        parameters: Sequence[Parameter],
        constraints: Sequence[str] = (),
        name: str = "",
        canonicalize: Callable[[Config], Config] | None = None,
    ):
        if not parameters:
            raise SpaceError("a search space needs at least one parameter")
        self.name = name
        #: optional hook mapping a masked config to its representative (e.g. isomorphic cells);
        #: spaces defined in Python may set it, space files cannot
        self.canonicalize = canonicalize
        self.parameters: list[Parameter] = list(parameters)
        self._by_name: dict[str, Parameter] = {}
        for p in self.parameters:
            if not isinstance(p, Parameter):
                raise SpaceError(f"{p!r} is not a Parameter")
            if p.name in self._by_name:
                raise SpaceError(f"parameter {p.name!r} is defined twice")
            self._by_name[p.name] = p
        self._conditions: dict[str, Expression] = {}
        for p in self.parameters:
            if p.active_when is None:
                continue
            expr = Expression(str(p.active_when), where=f"parameter {p.name!r} active_when")
            allowed = set(self._by_name) | ({"i"} if p.length else set())
            unknown = expr.names - allowed
            if unknown:
                raise SpaceError(
                    f"parameter {p.name!r} active_when reads unknown name(s) {sorted(unknown)}; "
                    f"valid: {sorted(allowed)}"
                )
            if p.name in expr.names:
                raise SpaceError(f"parameter {p.name!r} active_when refers to itself")
            self._conditions[p.name] = expr
        self._order = self._topological_order()
        self.constraints = [str(c) for c in constraints]
        self._constraint_exprs = []
        for k, c in enumerate(self.constraints):
            expr = Expression(c, where=f"constraint {k}")
            unknown = expr.names - set(self._by_name)
            if unknown:
                raise SpaceError(f"constraint {c!r} reads unknown name(s) {sorted(unknown)}; valid: {sorted(self._by_name)}")
            self._constraint_exprs.append(expr)
        # encoding layout
        self._slices: dict[str, slice] = {}
        start = 0
        for p in self.parameters:
            self._slices[p.name] = slice(start, start + p.width)
            start += p.width
        self.n_var = start
        self.xl = np.zeros(self.n_var, dtype=np.int64)
        self.xu = np.concatenate([[p.n_levels - 1] * p.width for p in self.parameters]).astype(np.int64)
        self.ordinal = np.concatenate([[p.ordinal] * p.width for p in self.parameters]).astype(bool)
        self._mask_cache: dict[tuple, np.ndarray] = {}
        self._deps = {name: sorted(e.names - {"i"}) for name, e in self._conditions.items()}
        self._active_cache: dict[tuple, Any] = {}

    # ------------------------------------------------------------------ basics
    def __getitem__(self, name: str) -> Parameter:
        try:
            return self._by_name[name]
        except KeyError:
            raise SpaceError(f"unknown parameter {name!r}; valid: {', '.join(self._by_name)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def __repr__(self) -> str:
        return f"SearchSpace(name={self.name!r}, parameters={len(self.parameters)}, n_var={self.n_var})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.to_dict() == other.to_dict()

    def size(self) -> int:
        """Number of distinct encodings (an upper bound on distinct canonical configs)."""
        return int(np.prod([p.n_levels ** p.width for p in self.parameters], dtype=object))

    @property
    def is_conditional(self) -> bool:
        return bool(self._conditions)

    def _topological_order(self) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(name: str, path: tuple[str, ...]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                raise SpaceError(f"active_when conditions form a cycle: {' -> '.join(path + (name,))}")
            state[name] = 1
            expr = self._conditions.get(name)
            for dep in sorted(expr.names - {"i"}) if expr else ():
                visit(dep, path + (name,))
            state[name] = 2
            order.append(name)

        for p in self.parameters:
            visit(p.name, ())
        return order

    # ------------------------------------------------------------------ validation
    def validate(self, config: Any) -> Config:
        """Check keys, lengths and values; return a copy with numpy scalars made plain."""
        if not isinstance(config, dict):
            raise SpaceError(f"a config must be a mapping of parameter names, got {type(config).__name__}")
        unknown = sorted(set(config) - set(self._by_name))
        if unknown:
            raise SpaceError(f"config has unknown parameter(s) {unknown}; valid: {self.names}")
        out: Config = {}
        for p in self.parameters:
            if p.name not in config:
                raise SpaceError(f"config is missing parameter {p.name!r}")
            v = config[p.name]
            if p.length is None:
                out[p.name] = None if v is None else p.value(p.level(v))
            else:
                if not isinstance(v, (list, tuple, np.ndarray)) or len(v) != p.length:
                    raise SpaceError(f"parameter {p.name!r} must be a list of {p.length} values, got {v!r}")
                out[p.name] = [None if e is None else p.value(p.level(e)) for e in v]
        return out

    # ------------------------------------------------------------------ activity
    def _active(self, p: Parameter, env: dict[str, Any]) -> list[bool] | bool:
        """Activity of ``p`` given the canonical values in ``env``; memoised per value of the
        parameters its condition reads, since interpreting the expression per config and element
        dominated hashing (a search hashes tens of thousands of candidates per round)."""
        expr = self._conditions.get(p.name)
        if expr is None:
            return [True] * p.length if p.length else True
        key = (p.name,) + tuple(_frozen(env.get(n)) for n in self._deps[p.name])
        try:
            hit = self._active_cache.get(key)
        except TypeError:  # an unhashable value: evaluate without the memo
            hit = self._evaluate_active(p, expr, env)
            return list(hit) if p.length else hit
        if hit is None:
            if len(self._active_cache) >= 100_000:
                self._active_cache.clear()
            hit = self._active_cache[key] = self._evaluate_active(p, expr, env)
        return list(hit) if p.length else hit

    def _evaluate_active(self, p: Parameter, expr: Expression, env: dict[str, Any]) -> tuple[bool, ...] | bool:
        """Interpret ``p``'s condition (per element of a list parameter)."""

        def ok(extra: dict[str, Any]) -> bool:
            try:
                return bool(expr({**env, **extra}))
            except (TypeError, IndexError):  # reads an inactive (None) value → inactive too
                return False

        if p.length:
            return tuple(ok({"i": i}) for i in range(p.length))
        return ok({})

    def canonical(self, config: Any) -> Config:
        """The canonical form: validated, inactive values replaced by ``None``."""
        cfg = self.validate(config)
        out: Config = {}
        for name in self._order:
            p = self._by_name[name]
            act = self._active(p, out)
            v = cfg[name]
            if p.length:
                vals = [e if a else None for e, a in zip(v, act)]
                missing = [i for i, (e, a) in enumerate(zip(v, act)) if a and e is None]
                if missing:
                    raise SpaceError(f"parameter {name!r} element {missing[0]} is active but None")
                out[name] = vals
            else:
                if act and v is None:
                    raise SpaceError(f"parameter {name!r} is active but None")
                out[name] = v if act else None
        out = {p.name: out[p.name] for p in self.parameters}
        return self.canonicalize(out) if self.canonicalize else out

    def hash(self, config: Any) -> str:
        """Stable 16-hex-digit hash of the canonical form (same across processes and versions)."""
        canon = self.canonical(config)
        blob = json.dumps(canon, sort_keys=True, separators=(",", ":"), default=_json_default)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]

    def is_feasible(self, config: Config) -> bool:
        """Whether the config satisfies every space constraint."""
        if not self._constraint_exprs:
            return True
        env = self.canonical(config)
        try:
            return all(bool(c(env)) for c in self._constraint_exprs)
        except TypeError:
            return False

    # ------------------------------------------------------------------ encoding
    def encode(self, config: Config) -> np.ndarray:
        """Integer levels, one per (parameter, element); inactive/None elements encode as 0."""
        cfg = self.validate(config)
        x = np.zeros(self.n_var, dtype=np.int64)
        for p in self.parameters:
            v = cfg[p.name]
            vals = v if p.length else [v]
            x[self._slices[p.name]] = [0 if e is None else p.level(e) for e in vals]
        return x

    def encode_many(self, configs: Iterable[Config]) -> np.ndarray:
        rows = [self.encode(c) for c in configs]
        return np.asarray(rows, dtype=np.int64).reshape(len(rows), self.n_var)

    def decode(self, x: Sequence[int] | np.ndarray) -> Config:
        """The config of an integer vector (values clipped to the bounds)."""
        x = np.clip(np.rint(np.asarray(x, dtype=float)).astype(np.int64), self.xl, self.xu)
        if x.shape != (self.n_var,):
            raise SpaceError(f"expected a vector of {self.n_var} levels, got shape {x.shape}")
        out: Config = {}
        for p in self.parameters:
            levels = x[self._slices[p.name]]
            vals = [p.value(k) for k in levels]
            out[p.name] = vals if p.length else vals[0]
        return out

    def decode_many(self, X: np.ndarray) -> list[Config]:
        return [self.decode(x) for x in np.atleast_2d(X)]

    def active_mask(self, X: np.ndarray) -> np.ndarray:
        """Boolean matrix: which encoded dimensions are active for each row of ``X`` (vectorised)."""
        X = np.atleast_2d(np.asarray(X, dtype=np.int64))
        if not self._conditions:
            return np.ones(X.shape, dtype=bool)
        deps = sorted({n for e in self._conditions.values() for n in e.names} - {"i"})
        cols = np.concatenate([np.arange(self.n_var)[self._slices[n]] for n in deps])
        keys, inverse = np.unique(X[:, cols], axis=0, return_inverse=True)
        masks = np.empty((len(keys), self.n_var), dtype=bool)
        for k, key in enumerate(keys):
            cache_key = tuple(int(v) for v in key)
            mask = self._mask_cache.get(cache_key)
            if mask is None:
                row = X[np.flatnonzero(inverse.ravel() == k)[0]]
                canon = self.canonical(self.decode(row))
                mask = np.concatenate([
                    [e is not None for e in (canon[p.name] if p.length else [canon[p.name]])]
                    for p in self.parameters
                ])
                self._mask_cache[cache_key] = mask
            masks[k] = mask
        return masks[inverse.ravel()]

    def canonical_matrix(self, X: np.ndarray) -> np.ndarray:
        """``X`` with inactive dimensions set to -1, so equal rows are equivalent configs."""
        X = np.atleast_2d(np.asarray(X, dtype=np.int64)).copy()
        X[~self.active_mask(X)] = -1
        return X

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int = 1, seed: int | np.random.Generator | None = None, max_tries: int = 1000) -> list[Config]:
        """``n`` configs drawn uniformly over the encoding, rejecting infeasible ones."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        out: list[Config] = []
        tries = 0
        while len(out) < n:
            X = rng.integers(self.xl, self.xu + 1, size=(max(n - len(out), 1), self.n_var))
            for x in X:
                cfg = self.decode(x)
                if self.is_feasible(cfg):
                    out.append(cfg)
            tries += 1
            if tries > max_tries:
                raise SpaceError(f"could not sample {n} feasible configs in {max_tries} rounds; are the constraints satisfiable?")
        return out[:n]

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"parameters": [p.to_dict() for p in self.parameters]}
        if self.name:
            out["name"] = self.name
        if self.constraints:
            out["constraints"] = list(self.constraints)
        return out


def _frozen(v: Any) -> Any:
    """A hashable identity of a config value (lists become tuples; 1 and True stay apart)."""
    if isinstance(v, list):
        return tuple(None if e is None else _key(e) for e in v)
    return None if v is None else _key(v)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    raise TypeError(f"{obj!r} is not JSON serialisable")
