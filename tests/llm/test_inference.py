"""Inference estimate: roofline limits, memory and largest batch."""

import pytest

from hwopt.errors import ConfigError
from hwopt.hardware import get_hardware
from hwopt.llm import Efficiency, estimate_inference, get_model, memory_per_gpu, Precision, weight_bytes

EFF = Efficiency(gemm_max=0.8, gemm_half_dim=100.0, mem=0.8, stream=0.8, launch_s=0.0)


def test_batch1_decode_is_weight_read_bound():
    hw = get_hardware("H100 SXM")
    m = get_model("llama-2-7b")
    e = estimate_inference(m, hw, batch=1, input_len=128, output_len=64, efficiency=EFF)
    # every weight except the input embedding (a lookup) is read once per step
    read = weight_bytes(m, Precision()) - 2 * m.embedding_params()
    floor = read / (hw.bandwidth_bytes_per_s * 0.8)
    assert floor < e.tpot_s < 1.15 * floor


def test_prefill_is_compute_bound():
    hw = get_hardware("A100")
    m = get_model("llama-2-7b")
    e = estimate_inference(m, hw, batch=1, input_len=4096, output_len=1, efficiency=EFF)
    flops = 2 * m.non_embedding_params() * 4096
    assert e.ttft_s > flops / 312e12 / 0.8  # never faster than the GEMMs at their efficiency
    assert e.ttft_s < 1.5 * flops / 312e12 / 0.8


def test_quantisation_and_max_batch():
    hw = get_hardware("L4")  # 24 GB: 13B in bf16 (26 GB) does not fit, in int4 it does
    m = get_model("llama-2-13b")
    bf16 = estimate_inference(m, hw, batch=1, input_len=1024, output_len=128)
    int4 = estimate_inference(m, hw, batch=1, input_len=1024, output_len=128, precision="weights=int4")
    assert not bf16.fits and bf16.notes and bf16.notes[0].startswith("OOM by")
    assert int4.fits and int4.tpot_s < bf16.tpot_s
    mb = int4.max_batch
    cap = hw.memory_bytes
    p = Precision.parse("weights=int4")
    assert memory_per_gpu(m, hw, mb, 1152, p)["total"] <= cap < memory_per_gpu(m, hw, mb + 1, 1152, p)["total"]


def test_tensor_parallel_speeds_up_and_errors():
    hw = get_hardware("H100")
    one = estimate_inference("llama-2-70b", hw, batch=8, input_len=512, output_len=64, tp=2)
    four = estimate_inference("llama-2-70b", hw, batch=8, input_len=512, output_len=64, tp=4)
    assert four.tpot_s < one.tpot_s
    assert four.memory["weights"] == pytest.approx(one.memory["weights"] / 2)
    with pytest.raises(ConfigError, match="exceeds 8 GPUs per node"):
        estimate_inference("llama-2-70b", hw, tp=16)
    with pytest.raises(ConfigError, match="fp8"):
        estimate_inference("llama-2-7b", "a100", precision="fp8")


def test_moe_decode_reads_only_touched_experts():
    hw = get_hardware("H100")
    m = get_model("mixtral-8x7b")
    small = estimate_inference(m, hw, batch=1, input_len=128, output_len=32, tp=2)
    big = estimate_inference(m, hw, batch=64, input_len=128, output_len=32, tp=2)
    # batch 1 touches 2 of 8 experts: per-token time well below 64x, and below reading all weights
    all_weights = weight_bytes(m, Precision()) / 2 / (hw.bandwidth_bytes_per_s)
    assert small.tpot_s < all_weights
    assert big.tpot_s > small.tpot_s


def test_pipeline_parallel_does_not_cut_single_sequence_latency():
    hw = get_hardware("A100")
    tp4 = estimate_inference("llama-2-70b", hw, batch=1, input_len=512, output_len=16, tp=4, efficiency=EFF)
    pp2 = estimate_inference("llama-2-70b", hw, batch=1, input_len=512, output_len=16, tp=4, pp=2, efficiency=EFF)
    assert pp2.tpot_s >= tp4.tpot_s  # half the weights per GPU, but the stages run one after another
    assert pp2.memory["weights"] == pytest.approx(tp4.memory["weights"] / 2)
