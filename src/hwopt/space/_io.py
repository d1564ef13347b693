"""Reading and writing search spaces as YAML / JSON files.

Errors name the file and the place inside it (``space.yaml: parameters[2] ('ks'): ...``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from hwopt.errors import SpaceError
from hwopt.space._params import PARAMETER_KINDS
from hwopt.space._space import SearchSpace

_COMMON = {"name", "type", "length", "active_when"}
_KIND_KEYS = {
    "categorical": {"choices", "ordered"},
    "integer": {"low", "high", "step"},
    "float": {"low", "high", "levels", "log"},
}
_REQUIRED = {"categorical": ("choices",), "integer": ("low", "high"), "float": ("low", "high")}


def space_from_dict(data: Any, where: str = "space") -> SearchSpace:
    """Build a SearchSpace from its dict form; errors say where in the document they are."""
    if not isinstance(data, dict):
        raise SpaceError(f"{where}: expected a mapping with key 'parameters', got {type(data).__name__}")
    unknown = sorted(set(data) - {"name", "parameters", "constraints"})
    if unknown:
        raise SpaceError(f"{where}: unknown key(s) {unknown}; valid: constraints, name, parameters")
    params_data = data.get("parameters")
    if not isinstance(params_data, list) or not params_data:
        raise SpaceError(f"{where}: 'parameters' must be a non-empty list")
    params = []
    for k, pd in enumerate(params_data):
        loc = f"{where}: parameters[{k}]"
        if not isinstance(pd, dict):
            raise SpaceError(f"{loc}: expected a mapping, got {pd!r}")
        name = pd.get("name")
        if name is not None:
            loc += f" ({name!r})"
        kind = pd.get("type")
        if kind not in PARAMETER_KINDS:
            raise SpaceError(f"{loc}: unknown type {kind!r}; valid: {', '.join(PARAMETER_KINDS)}")
        bad = sorted(set(pd) - _COMMON - _KIND_KEYS[kind])
        if bad:
            raise SpaceError(f"{loc}: unknown key(s) {bad} for type {kind!r}; valid: {sorted(_COMMON | _KIND_KEYS[kind])}")
        for req in ("name", *_REQUIRED[kind]):
            if req not in pd:
                raise SpaceError(f"{loc}: missing key {req!r}")
        kwargs = {k2: v for k2, v in pd.items() if k2 not in ("type", "name")}
        try:
            params.append(PARAMETER_KINDS[kind](name, **kwargs))
        except SpaceError as exc:
            raise SpaceError(f"{loc}: {exc}") from None
        except TypeError as exc:
            raise SpaceError(f"{loc}: {exc}") from None
    constraints = data.get("constraints", [])
    if not isinstance(constraints, list) or not all(isinstance(c, str) for c in constraints):
        raise SpaceError(f"{where}: 'constraints' must be a list of expression strings")
    try:
        return SearchSpace(params, constraints, name=str(data.get("name", "")))
    except SpaceError as exc:
        raise SpaceError(f"{where}: {exc}") from None


def load_space(path: str | Path) -> SearchSpace:
    """Load a space from a ``.yaml``/``.yml``/``.json`` file."""
    path = Path(path)
    if not path.is_file():
        raise SpaceError(f"space file {str(path)!r} does not exist")
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0]
        raise SpaceError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({first})") from None
    return space_from_dict(data, where=str(path))


def save_space(space: SearchSpace, path: str | Path) -> None:
    path = Path(path)
    data = space.to_dict()
    path.write_text(json.dumps(data, indent=2) if path.suffix == ".json" else yaml.safe_dump(data, sort_keys=False))
