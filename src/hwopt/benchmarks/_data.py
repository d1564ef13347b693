"""Where benchmark data lives: ``--data-dir``, ``$HWOPT_DATA_DIR``, or ``../shared/data``."""

from __future__ import annotations

import os
from pathlib import Path

from hwopt.errors import BenchmarkError


def default_data_dir() -> Path | None:
    """The first existing of ``$HWOPT_DATA_DIR``, ``./../shared/data`` and the checkout's sibling."""
    candidates = []
    if os.environ.get("HWOPT_DATA_DIR"):
        candidates.append(Path(os.environ["HWOPT_DATA_DIR"]))
    candidates.append(Path.cwd() / ".." / "shared" / "data")
    candidates.append(Path(__file__).resolve().parents[3] / ".." / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


def resolve_data_dir(data_dir: str | Path | None, needs: str) -> Path:
    """The data directory to read ``needs`` (a relative path) from, or a one-line error."""
    base = Path(data_dir) if data_dir else default_data_dir()
    if base is None:
        raise BenchmarkError(
            f"no data directory: pass --data-dir (the folder holding {needs}) or set HWOPT_DATA_DIR"
        )
    if not (base / needs).exists():
        raise BenchmarkError(f"{needs} not found under data directory {str(base)!r}")
    return base
