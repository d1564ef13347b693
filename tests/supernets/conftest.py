"""Fixtures of the super-network tests: a tiny demo recipe trained into a private cache."""

from __future__ import annotations

import pytest

#: a recipe that trains in about a second: enough to exercise the code, not to learn digits
TINY_RECIPE = {"full_epochs": 1, "elastic_epochs": 1, "batch_size": 64, "random_subnets": 1, "train_images": 128}


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory):
    """An isolated HWOPT_CACHE_DIR, so tests never read or write the user's cache."""
    return tmp_path_factory.mktemp("hwopt-cache")


@pytest.fixture()
def tiny_demo(demo_cache, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setenv("HWOPT_CACHE_DIR", str(demo_cache))
    from hwopt.supernets.demo import DemoSpace

    return DemoSpace(recipe=TINY_RECIPE)


@pytest.fixture()
def tiny_recipe():
    return dict(TINY_RECIPE)
