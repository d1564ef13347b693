"""The hardware catalog: YAML files shipped in ``hwopt/hardware/catalog`` plus user files.

Lookup is by name or alias, case-insensitive, ignoring spaces, ``-`` and ``_`` (so
``A100-80GB-SXM``, ``a100_80gb_sxm`` and ``A100 80GB SXM`` are one key).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from hwopt.errors import HardwareError, UnknownNameError
from hwopt.hardware._target import HardwareTarget


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


def _load_file(text: str, where: str) -> list[HardwareTarget]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise HardwareError(f"{where}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if isinstance(data, dict) and "hardware" in data:
        data = data["hardware"]
    if not isinstance(data, list):
        raise HardwareError(f"{where}: expected a list of hardware entries (or a mapping with key 'hardware')")
    return [HardwareTarget.from_dict(entry, where) for entry in data]


class Catalog:
    """Hardware targets by name; later files override earlier entries of the same name."""

    def __init__(self, targets: list[HardwareTarget] = ()):  # type: ignore[assignment]
        self._by_name: dict[str, HardwareTarget] = {}
        self._lookup: dict[str, str] = {}
        for t in targets:
            self.add(t)

    def add(self, target: HardwareTarget) -> None:
        self._by_name[target.name] = target
        for k in (target.name, *target.aliases):
            self._lookup[_key(k)] = target.name

    def add_file(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise HardwareError(f"hardware file {str(path)!r} does not exist")
        for t in _load_file(path.read_text(), str(path)):
            self.add(t)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __iter__(self):
        return iter(self._by_name[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, name: str) -> HardwareTarget:
        found = self._lookup.get(_key(name))
        if found is None:
            raise UnknownNameError("hardware", name, self.names())
        return self._by_name[found]


@lru_cache(maxsize=1)
def _builtin() -> tuple[HardwareTarget, ...]:
    out: list[HardwareTarget] = []
    root = resources.files("hwopt.hardware") / "catalog"
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.endswith((".yaml", ".yml")):
            out.extend(_load_file(entry.read_text(), f"catalog/{entry.name}"))
    return tuple(out)


def load_catalog(*extra_files: str | Path) -> Catalog:
    """The built-in catalog, extended (and overridden) by the given user YAML files."""
    cat = Catalog(list(_builtin()))
    for f in extra_files:
        cat.add_file(f)
    return cat


def get_hardware(name: str, *extra_files: str | Path) -> HardwareTarget:
    """Look up one target by name or alias (``get_hardware('h100 sxm')``); ``local`` is this machine."""
    from hwopt.hardware._local import resolve_hardware

    return resolve_hardware(name, *extra_files)
