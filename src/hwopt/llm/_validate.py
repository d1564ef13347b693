"""Validation against published measurements (the ``llm/published_measurements.csv`` format).

Each row is modelled from its own columns (model dimensions, GPUs, layout, batch, precision);
the ``notes`` column is read for setup details the sources state there (interleaving chunks,
DDP implementation, how TFLOP/s and MFU were counted). Nothing is fitted per row.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwopt.errors import ConfigError, HwoptError
from hwopt.hardware import HardwareTarget, get_hardware
from hwopt.llm._efficiency import Efficiency
from hwopt.llm._inference import estimate_inference
from hwopt.llm._memory import model_state_bytes_per_param
from hwopt.llm._presets import get_model
from hwopt.llm._spec import ModelSpec
from hwopt.llm._training import TrainConfig, estimate_training, megatron_flops, padded_vocab

METRICS = ("tflops_per_gpu", "iter_time_s", "mfu", "tokens_per_s_per_gpu", "out_tokens_per_s_per_gpu",
           "ttft_ms", "peak_mem_gib", "max_params_b")
REQUIRED = ("source", "kind", "model_name", "gpu", "n_gpus", "metric_name", "metric_value")
#: rows without a vocabulary column: the GPT-2 BPE vocabulary the Megatron GPT models use
GPT2_VOCAB = 50257
#: frameworks whose attention was not fused (FlashAttention reached Megatron-LM in 2023)
_UNFUSED_SOURCES = re.compile(r"megatron|korthikanti|narayanan", re.I)


def resolve_gpu(name: str, *extra_files: str | Path) -> HardwareTarget:
    """Catalog entry for a table's ``gpu`` value; a parenthesised suffix ("(Selene)") is ignored."""
    base = re.sub(r"\s*\(.*?\)\s*", " ", str(name)).strip()
    return get_hardware(base or str(name), *extra_files)


def _num(row: dict, key: str, default: Any = None) -> Any:
    v = row.get(key)
    if v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip()):
        return default
    return v


def _int(row: dict, key: str, default: int | None = None) -> int | None:
    v = _num(row, key, default)
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ConfigError(f"column {key!r}: {v!r} is not a number") from None
    if f != int(f):
        raise ConfigError(f"column {key!r}: {v!r} is not an integer")
    return int(f)


def row_model(row: dict) -> ModelSpec:
    """The row's model: a preset of the same name (architecture family) with the row's dimensions."""
    name = str(row["model_name"])
    try:
        base = get_model(name)
    except HwoptError:
        base = get_model("megatron-gpt-1.7b")  # GPT (Megatron) architecture family
        base = base.with_(name=name, vocab=GPT2_VOCAB, source="dimensions from the table row")
    dims = {k: _int(row, col) for k, col in (("layers", "layers"), ("hidden", "hidden"), ("heads", "heads"),
                                             ("kv_heads", "kv_heads"), ("ffn_hidden", "ffn_hidden"),
                                             ("vocab", "vocab"))}
    dims = {k: v for k, v in dims.items() if v is not None}
    if "hidden" in dims or "heads" in dims:
        h, a = dims.get("hidden", base.hidden), dims.get("heads", base.heads)
        dims["head_dim"] = h // a
    seq = _int(row, "seq_len")
    if seq and base.learned_pos:
        dims["max_seq"] = max(seq, base.max_seq)
    return base.with_(name=name, **dims)


def _notes(row: dict) -> str:
    return str(_num(row, "notes", "") or "")


def row_train_config(row: dict, model: ModelSpec) -> TrainConfig:
    notes = _notes(row)
    v = 1
    m = re.search(r"\((\d+) model chunks/GPU\)", notes) or re.search(r"virtual chunks per GPU\)\s*=\s*(\d+)", notes)
    if m and not re.search(r"no pipeline interleaving|non-interleaved", notes):
        v = int(m.group(1))
    cp_sp = str(_num(row, "cp_or_sp", "none")).strip().lower()
    cp = int(cp_sp) if cp_sp.isdigit() else 1
    if cp_sp not in ("none", "sp", "") and not cp_sp.isdigit():
        raise ConfigError(f"column 'cp_or_sp': {cp_sp!r} is not none, sp or a CP size")
    precision = str(_num(row, "precision", "bf16")).lower()
    tp, pp = _int(row, "tp", 1), _int(row, "pp", 1)
    n = _int(row, "n_gpus")
    dp = _int(row, "dp") or n // (tp * pp * cp)
    return TrainConfig(
        global_batch=_int(row, "global_batch"), seq_len=_int(row, "seq_len"), tp=tp, pp=pp, dp=dp, cp=cp,
        micro_batch=_int(row, "micro_batch", 1), virtual_stages=v, sp=cp_sp == "sp",
        recompute=str(_num(row, "recompute", "none")).lower(), zero=_int(row, "zero_stage", 0),
        precision=precision, flash=not _UNFUSED_SOURCES.search(str(row.get("source", ""))),
        dp_overlap="DDP-impl=local" not in notes,
    )


def predict_row(row: dict, efficiency: Efficiency | None = None, hw_files: tuple = ()) -> float:
    """The model's value for the row's metric; raises HwoptError when the row cannot be modelled."""
    metric = str(row["metric_name"])
    if metric not in METRICS:
        raise ConfigError(f"metric {metric!r} is not modelled; valid: {', '.join(METRICS)}")
    hw = resolve_gpu(str(row["gpu"]), *hw_files)
    model = row_model(row)
    kind = str(row["kind"]).lower()
    n = _int(row, "n_gpus")
    if kind == "infer":
        return _predict_infer(row, metric, model, hw, efficiency)
    cfg = row_train_config(row, model)
    if cfg.n_gpus != n:
        raise ConfigError(f"tp x pp x dp x cp = {cfg.n_gpus} but n_gpus = {n}")
    if metric == "max_params_b":
        return _max_params(row, hw, cfg, efficiency)
    if kind not in ("train", "memory"):
        raise ConfigError(f"kind {kind!r} unknown; valid: train, infer, memory")
    est = estimate_training(model, hw, cfg, efficiency)
    notes = _notes(row)
    if metric == "iter_time_s":
        return est.iter_time_s
    if metric == "tokens_per_s_per_gpu":
        return est.tokens_per_s_per_gpu
    if metric == "peak_mem_gib":
        return est.memory["total"] / 2**30
    V = padded_vocab(model.vocab, cfg.tp, cfg.vocab_pad)
    if metric == "tflops_per_gpu":
        if "96*B*s*l*h^2" in notes.replace(" ", ""):
            f = megatron_flops(cfg.global_batch, cfg.seq_len, model.layers, model.hidden, V, recompute=True)
            return f / est.iter_time_s / n / 1e12
        return est.tflops_per_gpu
    if metric == "mfu":
        if "megatron mfu formula" in notes.lower():
            f = megatron_flops(cfg.global_batch, cfg.seq_len, model.layers, model.hidden, V, recompute=False)
            return f / est.iter_time_s / (n * hw.peak_flops(est.config.precision))
        return est.mfu
    raise ConfigError(f"metric {metric!r} is not defined for kind {kind!r}")


def _predict_infer(row: dict, metric: str, model: ModelSpec, hw: HardwareTarget, efficiency) -> float:
    tp, pp = _int(row, "tp", 1), _int(row, "pp", 1)
    batch = _int(row, "global_batch", 1)
    inp, out = _int(row, "input_len"), _int(row, "output_len")
    if inp is None or out is None:
        raise ConfigError("inference rows need input_len and output_len")
    prec = str(_num(row, "precision", "fp16")).lower()
    est = estimate_inference(model, hw, batch=batch, input_len=inp, output_len=out, tp=tp, pp=pp,
                             precision=prec, flash=True, efficiency=efficiency)
    if metric == "ttft_ms":
        return est.ttft_s * 1e3
    if metric == "out_tokens_per_s_per_gpu":
        return est.output_tokens_per_s_per_gpu
    if metric == "peak_mem_gib":
        return est.memory["total"] / 2**30
    raise ConfigError(f"metric {metric!r} is not defined for kind 'infer'")


def _max_params(row: dict, hw: HardwareTarget, cfg: TrainConfig, efficiency) -> float:
    """Largest model whose model states fit (ZeRO paper convention: activations not counted)."""
    from hwopt.llm._efficiency import efficiency_for

    eff = efficiency or efficiency_for(hw.name)
    st = model_state_bytes_per_param(cfg.zero, cfg.dp, cfg.offload_optimizer, cfg.offload_params)
    usable = hw.memory_bytes - eff.reserve_gb * 1e9
    return usable / st.total * cfg.tp * cfg.pp / 1e9


@dataclass
class ValidationResult:
    """The table with predictions, and the MAPE summaries."""

    table: Any  # pandas.DataFrame
    by_metric: Any
    by_source: Any

    @property
    def mape(self) -> float:
        return float(self.table["abs_pct_error"].mean())


def short_source(source: str) -> str:
    """'Narayanan et al. 2021', 'Korthikanti et al. 2022', 'NVIDIA/TensorRT-LLM', ... for summaries."""
    m = re.match(r"\s*([A-Z][\w\-]+ et al\. \d{4})", source)
    if m:
        return m.group(1)
    m = re.match(r"\s*([\w\-]+/[\w\-\.]+)", source)
    return m.group(1) if m else source[:40]


def validate_table(path: str | Path, efficiency: Efficiency | None = None, hw_files: tuple = ()) -> ValidationResult:
    """Predict every row; rows that cannot be modelled get ``skipped_reason`` instead."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"table {str(path)!r} does not exist")
    try:
        df = pd.read_csv(path)
    except Exception as exc:  # pandas raises many types for malformed files
        raise ConfigError(f"{path}: cannot read as CSV ({exc})") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ConfigError(f"{path}: missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}")
    return validate_frame(df, efficiency, hw_files)


def validate_frame(df, efficiency: Efficiency | None = None, hw_files: tuple = ()) -> ValidationResult:
    preds, errs, reasons = [], [], []
    for row in df.to_dict("records"):
        try:
            p = float(predict_row(row, efficiency, hw_files))
            meas = float(row["metric_value"])
            preds.append(p)
            errs.append(abs(p - meas) / abs(meas) * 100 if meas else float("nan"))
            reasons.append("")
        except HwoptError as exc:
            preds.append(float("nan"))
            errs.append(float("nan"))
            reasons.append(str(exc))
    out = df.copy()
    out["predicted_value"] = preds
    out["abs_pct_error"] = errs
    out["skipped_reason"] = reasons
    ok = out[out["skipped_reason"] == ""].copy()
    ok["source_short"] = ok["source"].map(short_source)
    by_metric = ok.groupby("metric_name")["abs_pct_error"].agg(["count", "mean", "max"])
    by_source = ok.groupby(["source_short", "metric_name"])["abs_pct_error"].agg(["count", "mean", "max"])
    return ValidationResult(out, by_metric, by_source)
