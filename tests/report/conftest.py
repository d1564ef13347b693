"""Small real studies for the report tests (built once per session)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from report_toy import make_study  # noqa: E402


@pytest.fixture(scope="session")
def studies(tmp_path_factory):
    """Paths of a 2-objective, a 3-objective and a constrained study (built once per session)."""
    d = tmp_path_factory.mktemp("studies")
    make_study(d / "two.db", ["err:min", "lat:min"])
    make_study(d / "three.db", ["acc:max", "lat:min", "size:min"])
    make_study(d / "cons.db", ["err:min", "lat:min", "size<=3"])
    return {"two": d / "two.db", "three": d / "three.db", "cons": d / "cons.db"}
