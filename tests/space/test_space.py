import json

import numpy as np
import pytest

from hwopt.errors import SpaceError
from hwopt.space import Categorical, Float, Integer, SearchSpace, load_space, space_from_dict


def ofa_like() -> SearchSpace:
    return SearchSpace([
        Categorical("ks", [3, 5, 7], ordered=True, length=8, active_when="i % 4 < d[i // 4]"),
        Categorical("e", [3, 4, 6], ordered=True, length=8, active_when="i % 4 < d[i // 4]"),
        Integer("d", 2, 4, length=2),
        Categorical("r", [160, 192, 224], ordered=True),
        Categorical("act", ["relu", "hswish"]),
        Float("wd", 1e-5, 1e-2, levels=7, log=True),
    ])


def test_encode_decode_round_trip_for_random_configs():
    sp = ofa_like()
    for cfg in sp.sample(200, seed=1):
        x = sp.encode(cfg)
        assert x.shape == (sp.n_var,)
        assert np.all(x >= sp.xl) and np.all(x <= sp.xu)
        assert sp.decode(x) == cfg


def test_decode_clips_and_rounds_out_of_range_vectors():
    sp = ofa_like()
    x = sp.xu.astype(float) + 3.7
    cfg = sp.decode(x)
    assert cfg["r"] == 224 and cfg["d"] == [4, 4]


def test_inactive_values_do_not_change_canonical_form_or_hash():
    sp = ofa_like()
    a = {"ks": [3, 5, 7, 7, 3, 3, 3, 3], "e": [3] * 8, "d": [2, 3], "r": 160, "act": "relu", "wd": 1e-5}
    b = dict(a, ks=[3, 5, 3, 5, 3, 3, 3, 7], e=[3, 3, 6, 4, 3, 3, 3, 6])
    assert sp.canonical(a) == sp.canonical(b)
    assert sp.canonical(a)["ks"] == [3, 5, None, None, 3, 3, 3, None]
    assert sp.hash(a) == sp.hash(b)
    c = dict(a, ks=[3, 7, 7, 7, 3, 3, 3, 3])  # active slot changed
    assert sp.hash(c) != sp.hash(a)


def test_hash_is_stable_across_processes_and_versions():
    sp = SearchSpace([Categorical("ops", ["a", "b"], length=2), Integer("n", 1, 3)])
    # the literal guards against accidental changes of the hashing scheme (stored studies rely on it)
    assert sp.hash({"ops": ["a", "b"], "n": 2}) == sp.hash({"n": 2, "ops": ["a", "b"]})
    assert sp.hash({"ops": ["a", "b"], "n": 2}) == "27fdbb4fa45f47ae"


def test_canonical_matrix_matches_canonical_configs():
    sp = ofa_like()
    configs = sp.sample(50, seed=3)
    M = sp.canonical_matrix(sp.encode_many(configs))
    for row, cfg in zip(M, configs):
        canon = sp.canonical(cfg)
        assert [v == -1 for v in row[:8]] == [v is None for v in canon["ks"]]


def test_memoised_activity_equals_evaluating_each_condition():
    """Activity is memoised per value of what a condition reads; it must not change any canonical form."""
    sp = ofa_like()
    fresh = ofa_like()
    for cfg in sp.sample(300, seed=9):
        fresh._active_cache.clear()
        assert sp.canonical(cfg) == fresh.canonical(cfg)
    # a condition that tells 1 from "1" apart: so must the memo
    flag = SearchSpace([Categorical("a", [1, "1"]), Integer("b", 0, 3, active_when="a == 1")])
    assert flag.canonical({"a": 1, "b": 2})["b"] == 2
    assert flag.canonical({"a": "1", "b": 2})["b"] is None
    assert flag.canonical({"a": 1, "b": 3})["b"] == 3


def test_nested_condition_inherits_inactivity():
    sp = SearchSpace([
        Categorical("use_se", [False, True]),
        Integer("se_ratio", 2, 8, active_when="use_se"),
        Integer("se_bias", 0, 1, active_when="se_ratio > 4"),
    ])
    c = sp.canonical({"use_se": False, "se_ratio": 6, "se_bias": 1})
    assert c == {"use_se": False, "se_ratio": None, "se_bias": None}
    c = sp.canonical({"use_se": True, "se_ratio": 6, "se_bias": 1})
    assert c == {"use_se": True, "se_ratio": 6, "se_bias": 1}


def test_seeded_sampling_is_reproducible_and_respects_constraints():
    sp = SearchSpace([Integer("a", 0, 9), Integer("b", 0, 9)], constraints=["a + b <= 6"])
    s1, s2 = sp.sample(30, seed=5), sp.sample(30, seed=5)
    assert s1 == s2
    assert all(c["a"] + c["b"] <= 6 for c in s1)
    assert sp.sample(30, seed=6) != s1


@pytest.mark.parametrize("config, match", [
    ({"a": 1}, "missing parameter 'b'"),
    ({"a": 1, "b": 2, "c": 3}, "unknown parameter"),
    ({"a": 11, "b": 2}, "out of range"),
    ({"a": "x", "b": 2}, "must be an integer"),
])
def test_invalid_configs_are_rejected_with_the_parameter_named(config, match):
    sp = SearchSpace([Integer("a", 0, 9), Integer("b", 0, 9)])
    with pytest.raises(SpaceError, match=match):
        sp.canonical(config)


def test_space_file_round_trip(tmp_path):
    sp = ofa_like()
    for suffix in (".yaml", ".json"):
        path = tmp_path / f"space{suffix}"
        from hwopt.space import save_space

        save_space(sp, path)
        assert load_space(path) == sp


BAD = [
    ({"parameters": [{"name": "x", "type": "quantum", "choices": [1]}]}, r"parameters\[0\] \('x'\): unknown type 'quantum'"),
    ({"parameters": [{"name": "x", "type": "categorical", "choices": []}]}, r"parameters\[0\] \('x'\): .*non-empty"),
    ({"parameters": [{"name": "x", "type": "integer", "low": 5, "high": 1}]}, r"parameters\[0\] \('x'\): .*reversed"),
    ({"parameters": [{"name": "x", "type": "float", "low": 1.0, "high": 1.0}]}, r"low < high"),
    ({"parameters": [{"name": "x", "type": "integer", "low": 0, "high": 3, "colour": 1}]}, r"unknown key\(s\) \['colour'\]"),
    ({"parameters": [{"name": "x", "type": "integer", "low": 0, "high": 3}], "extra": 1}, r"unknown key\(s\) \['extra'\]"),
    ({"parameters": []}, r"non-empty list"),
    ({"parameters": [{"name": "x", "type": "integer", "low": 0, "high": 3, "active_when": "y > 1"}]}, r"unknown name\(s\) \['y'\]"),
    ({"parameters": [{"name": "x", "type": "integer", "low": 0, "high": 3, "active_when": "__import__('os')"}]}, r"only calls to"),
    ({"parameters": [{"type": "integer", "low": 0, "high": 3}]}, r"missing key 'name'"),
]


@pytest.mark.parametrize("data, match", BAD)
def test_malformed_space_files_give_one_clear_error(tmp_path, data, match):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SpaceError, match=match) as info:
        load_space(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_unparseable_yaml_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("parameters: [unclosed\n")
    with pytest.raises(SpaceError, match="not valid YAML"):
        load_space(path)


def test_cycles_in_conditions_are_rejected():
    with pytest.raises(SpaceError, match="cycle"):
        space_from_dict({"parameters": [
            {"name": "a", "type": "integer", "low": 0, "high": 1, "active_when": "b > 0"},
            {"name": "b", "type": "integer", "low": 0, "high": 1, "active_when": "a > 0"},
        ]})
