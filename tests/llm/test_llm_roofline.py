"""Operator roofline and collective times against hand-computed values."""

import pytest

from hwopt.hardware import get_hardware
from hwopt.llm import Efficiency
from hwopt.llm._roofline import collective_time, device, gemm_time, mem_time

EFF = Efficiency(gemm_max=0.8, gemm_half_dim=100.0, mem=0.5, stream=0.85, intra_link=0.5, inter_link=0.8,
                 launch_s=0.0, comm_latency_s=0.0)


@pytest.fixture()
def a100():
    return device(get_hardware("A100-SXM4-80GB"), EFF)


def test_gemm_compute_bound(a100):
    m = n = k = 4096
    t = gemm_time(a100, m, n, k, 312e12, 2, 2)
    eff = 0.8 * 4096 / (4096 + 100)
    assert t == pytest.approx(2 * m * n * k / (312e12 * eff))


def test_gemm_memory_bound_decode(a100):
    # batch-1 GEMV: bytes = 2*(k + k*n + n) at the streaming bandwidth 2039e9 * 0.85
    t = gemm_time(a100, 1, 8192, 8192, 312e12, 2, 2)
    assert t == pytest.approx(2 * (8192 + 8192 * 8192 + 8192) / (2039e9 * 0.85))


def test_mem_time(a100):
    assert mem_time(a100, 1e9) == pytest.approx(1e9 / (2039e9 * 0.5))


def test_collectives(a100):
    # intra-node ring all-reduce over 8 GPUs: 2*(7/8)*S / (300 GB/s * 0.5)
    assert collective_time(a100, "all_reduce", 1e9, 8, 8) == pytest.approx(2 * 7 / 8 * 1e9 / 150e9)
    # across nodes with one rank per node: bounded by one 25 GB/s NIC at 0.8
    assert collective_time(a100, "all_gather", 1e9, 16, 1) == pytest.approx(15 / 16 * 1e9 / 20e9)
    # 8 ranks per node share 8 NICs: min(150, 8 * 20) GB/s
    assert collective_time(a100, "reduce_scatter", 1e9, 64, 8) == pytest.approx(63 / 64 * 1e9 / 150e9)
    assert collective_time(a100, "all_reduce", 1e9, 1, 1) == 0.0
