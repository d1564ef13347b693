"""LLM cost model and planner: memory, inference latency/throughput and training step time.

One model for inference and training, built from a model spec (Hugging Face config.json or a
preset), a hardware catalog entry and one calibrated efficiency set per hardware type::

    from hwopt import llm
    llm.estimate_inference("llama-2-7b", "a100-80gb", batch=8, input_len=2048, output_len=256)
    llm.estimate_training("gpt3-175b", "a100-80gb", global_batch=1536, seq_len=2048,
                          tp=8, pp=8, dp=16, recompute="selective", sp=True)
    llm.plan("gpt3-175b", "a100-80gb", n_gpus=1024, global_batch=1536, seq_len=2048)

See docs/llm.md.
"""

from hwopt.llm._efficiency import Efficiency, efficiency_for
from hwopt.llm._inference import (
    InferenceEstimate,
    estimate_inference,
    kv_cache_bytes,
    max_batch,
    memory_per_gpu,
    weight_bytes,
)
from hwopt.llm._memory import activation_bytes_per_layer, inflight_microbatches, model_state_bytes_per_param
from hwopt.llm._planner import PlanResult, Rejected, plan
from hwopt.llm._precision import Precision
from hwopt.llm._presets import PRESETS, get_model, preset_names
from hwopt.llm._spec import ModelSpec, spec_from_hf_config
from hwopt.llm._training import (
    TrainConfig,
    TrainingEstimate,
    check_train_config,
    estimate_training,
    megatron_flops,
    model_flops_per_token,
)
from hwopt.llm._validate import ValidationResult, predict_row, resolve_gpu, validate_table

__all__ = [
    "Efficiency",
    "InferenceEstimate",
    "ModelSpec",
    "PRESETS",
    "PlanResult",
    "Precision",
    "Rejected",
    "TrainConfig",
    "TrainingEstimate",
    "ValidationResult",
    "activation_bytes_per_layer",
    "check_train_config",
    "efficiency_for",
    "estimate_inference",
    "estimate_training",
    "get_model",
    "inflight_microbatches",
    "kv_cache_bytes",
    "max_batch",
    "megatron_flops",
    "memory_per_gpu",
    "model_flops_per_token",
    "model_state_bytes_per_param",
    "plan",
    "predict_row",
    "preset_names",
    "resolve_gpu",
    "spec_from_hf_config",
    "validate_table",
    "weight_bytes",
]
