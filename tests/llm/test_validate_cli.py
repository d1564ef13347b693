"""Validation table and the `hwopt llm` command line (output and one-line errors)."""

import json

import pandas as pd
import pytest

from hwopt.cli import main
from hwopt.llm import resolve_gpu, validate_table


@pytest.mark.parametrize("name, entry", [
    ("A100-80GB-SXM (Selene)", "A100-SXM4-80GB"), ("A100-80GB-SXM", "A100-SXM4-80GB"),
    ("H100-80GB-SXM", "H100-SXM5-80GB"), ("H100 SXM", "H100-SXM5-80GB"), ("a100 (variant not stated)", "A100-SXM4-80GB"),
    ("MI300X", "MI300X"), ("h100 nvl", "H100-NVL-94GB"),
])
def test_resolve_gpu(name, entry):
    assert resolve_gpu(name).name == entry


def test_validate_published_table(table, tmp_path, capsys):
    out = tmp_path / "res.csv"
    assert main(["llm", "validate", "--table", str(table), "--out", str(out)]) == 0
    res = pd.read_csv(out, keep_default_na=False)
    assert {"predicted_value", "abs_pct_error", "skipped_reason"} <= set(res.columns)
    assert len(res) == 26 and (res["skipped_reason"] == "").all()
    train = res[res["kind"] == "train"]
    assert pd.to_numeric(train["abs_pct_error"]).mean() <= 5.0
    infer = res[res["kind"] == "infer"]
    assert pd.to_numeric(infer["abs_pct_error"]).mean() <= 10.0
    text = capsys.readouterr().out
    assert "MAPE" in text and "tflops_per_gpu" in text and "Narayanan et al. 2021" in text


def test_validate_skips_unmodellable_rows(table, tmp_path):
    df = pd.read_csv(table).head(2).copy()
    df.loc[0, "gpu"] = "TPU v9"
    df.loc[1, "metric_name"] = "joules"
    src = tmp_path / "t.csv"
    df.to_csv(src, index=False)
    res = validate_table(src).table
    assert "unknown hardware 'TPU v9'" in res.loc[0, "skipped_reason"]
    assert "metric 'joules'" in res.loc[1, "skipped_reason"]


def test_estimate_and_plan_output(capsys):
    assert main(["llm", "estimate", "--model", "llama-2-70b", "--hardware", "h100", "--tp", "4",
                 "--batch", "8", "--sweep", "1,32"]) == 0
    out = capsys.readouterr().out
    assert "TTFT ms" in out and "kv_cache" in out and "largest batch" in out
    assert main(["llm", "estimate", "--mode", "train", "--model", "llama-2-7b", "--hardware", "a100",
                 "--gpus", "8", "--global-batch", "64", "--seq-len", "4096", "--zero", "3", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["config"]["dp"] == 8 and d["iter_time_s"] > 0
    assert main(["llm", "plan", "--model", "llama-2-7b", "--hardware", "h100", "--gpus", "16",
                 "--global-batch", "256", "--seq-len", "4096", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "tokens/s" in out and "rejections by reason" in out and "TP 16 exceeds 8 GPUs per node" in out


@pytest.mark.parametrize("argv, needle", [
    (["llm", "estimate", "--model", "nope", "--hardware", "h100"], "unknown model preset"),
    (["llm", "estimate", "--model", "llama-2-7b", "--hardware", "tpu9"], "unknown hardware"),
    (["llm", "estimate", "--model", "llama-2-70b", "--hardware", "h100", "--tp", "16"], "exceeds 8 GPUs"),
    (["llm", "estimate", "--mode", "train", "--model", "llama-2-7b", "--hardware", "h100"], "--global-batch"),
    (["llm", "estimate", "--model", "llama-2-7b", "--hardware", "h100", "--batch", "0"], "--batch"),
    (["llm", "validate", "--table", "/nonexistent.csv", "--out", "x.csv"], "does not exist"),
])
def test_cli_errors_are_one_line(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and needle in err[0]


def test_cli_usage_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["llm", "plan", "--model", "llama-2-7b", "--hardware", "h100", "--gpus", "8"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "--global-batch" in err[0]


def test_bad_config_json(tmp_path, capsys):
    p = tmp_path / "config.json"
    p.write_text(json.dumps({"model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32}))
    assert main(["llm", "estimate", "--config", str(p), "--hardware", "h100"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(p) in err[0] and "num_hidden_layers" in err[0]



def test_flop_conventions_follow_the_notes(table):
    from hwopt.llm import megatron_flops, predict_row
    from hwopt.llm._validate import row_model, row_train_config

    df = pd.read_csv(table)
    row = df[df["metric_name"] == "tflops_per_gpu"].iloc[0].to_dict()
    it = dict(row, metric_name="iter_time_s")
    t = predict_row(it)
    m, cfg = row_model(row), row_train_config(row, row_model(row))
    flops = megatron_flops(cfg.global_batch, cfg.seq_len, m.layers, m.hidden, 51200, recompute=True)
    assert predict_row(row) == pytest.approx(flops / t / row["n_gpus"] / 1e12)
    interleaved = df[df["notes"].str.contains("model chunks/GPU", na=False)].iloc[0].to_dict()
    assert row_train_config(interleaved, row_model(interleaved)).virtual_stages > 1


def test_fit_and_loso_commands(table, tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert main(["llm", "validate", "--table", str(table), "--out", str(out), "--fit", "A100-80GB-SXM",
                 "--loso"]) == 0
    text = capsys.readouterr().out
    assert "fitted on 22 training rows" in text and "held-out training MAPE" in text


def test_plan_csv_plot_and_presets(tmp_path, capsys):
    csv, png = tmp_path / "plans.csv", tmp_path / "plans.png"
    assert main(["llm", "plan", "--model", "llama-2-7b", "--hardware", "a100-40gb", "--gpus", "8",
                 "--global-batch", "32", "--seq-len", "2048", "--csv", str(csv), "--plot", str(png)]) == 0
    plans = pd.read_csv(csv)
    assert len(plans) > 0 and (plans["mem_gb"] <= 40).all()
    assert png.stat().st_size > 1000
    capsys.readouterr()
    assert main(["llm", "presets"]) == 0
    assert "mixtral-8x7b" in capsys.readouterr().out
