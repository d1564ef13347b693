"""Name → plug-in lookup, shared by every registry (strategies, benchmarks, spaces, ...).

Entries are ``"module:attr"`` strings resolved on first use, so listing names never imports
torch or other heavy dependencies. Adding a plug-in is one module plus one ``register`` call.
"""

from __future__ import annotations

import importlib
from typing import Any, Generic, TypeVar

from hwopt.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping of names to lazily imported objects, with helpful errors for unknown names."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, str | T] = {}
        self._help: dict[str, str] = {}

    def register(self, name: str, target: str | T, help: str = "") -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = target
        self._help[name] = help

    def names(self) -> list[str]:
        return sorted(self._entries)

    def help(self, name: str) -> str:
        return self._help.get(name, "")

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str) -> T:
        try:
            target = self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self.names()) from None
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            target = getattr(importlib.import_module(module), attr)
            self._entries[name] = target
        return target  # type: ignore[return-value]

    def create(self, name: str, **kwargs: Any):
        """Instantiate the entry ``name`` with keyword arguments."""
        return self.get(name)(**kwargs)
