"""Fixtures of the evaluator tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory):
    """An isolated HWOPT_CACHE_DIR, so tests never read or write the user's cache."""
    return tmp_path_factory.mktemp("hwopt-cache")
