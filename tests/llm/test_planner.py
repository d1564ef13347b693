"""Planner: ranked feasible plans and rejection reasons."""

import re

from hwopt.llm import plan


def test_gpt3_175b_on_1024_a100():
    res = plan("gpt3-175b", "A100-80GB", n_gpus=1024, global_batch=1536, seq_len=2048)
    assert res.plans, "expected feasible plans"
    tps = [e.tokens_per_s for e in res.plans]
    assert tps == sorted(tps, reverse=True)
    best = res.best
    assert best.memory["total"] <= 80e9 and best.config.n_gpus == 1024
    assert 0.3 < best.mfu < 0.75
    reasons = [r.reason for r in res.rejected]
    assert any(r == "TP 16 exceeds 8 GPUs per node" for r in reasons)
    assert any(re.match(r"OOM by \d+\.\d GB on GPU \d+", r) for r in reasons)
    assert any("does not divide 96 layers" in r for r in reasons)
    assert res.n_considered == len(res.plans) + res.n_rejected


def test_small_model_cost_objective_and_memory_limit():
    res = plan("llama-2-7b", "h100", n_gpus=8, global_batch=64, seq_len=4096, objective="memory",
               recompute=["full"])
    mems = [e.memory["total"] for e in res.plans]
    assert mems == sorted(mems)
    tight = plan("llama-2-7b", "h100", n_gpus=8, global_batch=64, seq_len=4096, memory_limit_gb=20)
    assert all(e.memory["total"] <= 20e9 for e in tight.plans)
    assert len(tight.plans) < len(plan("llama-2-7b", "h100", n_gpus=8, global_batch=64, seq_len=4096).plans)


def test_large_space_is_searched_reproducibly():
    kw = dict(n_gpus=64, global_batch=512, seq_len=4096, max_plans=300, seed=3)
    a = plan("llama-2-13b", "h100", **kw)
    b = plan("llama-2-13b", "h100", **kw)
    full = plan("llama-2-13b", "h100", n_gpus=64, global_batch=512, seq_len=4096)
    assert a.notes and "searched 300 of them with the 'nsga2' strategy" in a.notes[0]
    assert [e.config for e in a.plans] == [e.config for e in b.plans]
    assert a.plans and a.best.tokens_per_s <= full.best.tokens_per_s
    assert a.best.tokens_per_s > 0.8 * full.best.tokens_per_s  # the search finds a good plan
