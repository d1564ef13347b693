"""The main job's pick: the most accurate completed trial at or under the median latency."""

from __future__ import annotations

from types import SimpleNamespace

from hwopt.report._export import best_under_median_latency


def trial(n, acc, lat, state="COMPLETE"):
    return SimpleNamespace(number=n, state=state, config={}, measurements={
        "accuracy": acc, "latency": {"median": lat, "p10": lat, "p90": lat, "cv": 0.0, "n": 9, "unit": "ms"}})


def test_best_under_median_latency():
    trials = [trial(0, 99.0, 5.0), trial(1, 90.0, 1.0), trial(2, 95.0, 2.0), trial(3, 97.0, 3.0),
              trial(4, 98.0, 4.0), trial(5, 99.9, 0.5, state="FAIL")]
    # median latency of completed trials is 3.0: candidates 1, 2, 3 -> best accuracy is trial 3
    assert best_under_median_latency(trials).number == 3
    assert best_under_median_latency([]) is None
    assert best_under_median_latency([trial(0, 50.0, 1.0)]).number == 0
