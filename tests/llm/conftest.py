import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_dir() -> Path:
    env = os.environ.get("HWOPT_DATA_DIR")
    d = Path(env) if env else Path(__file__).parents[2] / ".." / "shared" / "data"
    if not (d / "llm" / "published_measurements.csv").is_file():
        pytest.skip(f"shared data not found at {d} (set HWOPT_DATA_DIR)")
    return d


@pytest.fixture(scope="session")
def table(data_dir) -> Path:
    return data_dir / "llm" / "published_measurements.csv"
