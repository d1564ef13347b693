"""Shared fixtures: the benchmark data directory (skip with a reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def find_data_dir() -> Path | None:
    env = os.environ.get("HWOPT_DATA_DIR")
    for cand in ([Path(env)] if env else []) + [REPO / ".." / "shared" / "data"]:
        if cand.is_dir():
            return cand.resolve()
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = find_data_dir()
    if d is None:
        pytest.skip("benchmark data not found: put ../shared/data beside the checkout or set HWOPT_DATA_DIR")
    return d
