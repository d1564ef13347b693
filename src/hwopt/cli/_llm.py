"""hwopt llm estimate | plan | validate | presets: the LLM cost model and planner (docs/llm.md)."""

from __future__ import annotations

import json
from pathlib import Path

from hwopt.errors import ConfigError


def register(subparsers) -> None:
    p = subparsers.add_parser("llm", help="LLM memory / speed estimates, training planner, validation",
                              description=__doc__)
    sub = p.add_subparsers(dest="llm_command", metavar="SUBCOMMAND", parser_class=type(p))
    sub.required = True

    def model_args(q):
        g = q.add_mutually_exclusive_group(required=True)
        g.add_argument("--model", help="preset name (see `hwopt llm presets`)")
        g.add_argument("--config", help="local Hugging Face config.json (or its directory)")
        q.add_argument("--hardware", required=True, help="catalog name or alias, e.g. a100-80gb, h100")
        q.add_argument("--hardware-file", action="append", default=[], metavar="YAML",
                       help="extra hardware catalog file (repeatable)")
        q.add_argument("--json", action="store_true", help="print JSON instead of tables")

    e = sub.add_parser("estimate", help="memory and time of one inference or training setup")
    model_args(e)
    e.add_argument("--mode", choices=("auto", "infer", "train"), default="auto",
                   help="auto (default): train when --global-batch is given, else infer")
    e.add_argument("--gpus", type=int, help="total GPUs (train: DP = gpus / (TP x PP x CP))")
    e.add_argument("--tp", type=int, default=1)
    e.add_argument("--pp", type=int, default=1)
    e.add_argument("--cp", type=int, default=1, help="context parallel size (train)")
    e.add_argument("--precision", default=None,
                   help="infer: bf16 | fp16 | fp8 | int8 | int4 or weights=int4,kv_cache=fp8,...; "
                        "train: fp32 | bf16 | fp16 | fp8 (default bf16)")
    e.add_argument("--no-flash", action="store_true", help="unfused attention instead of FlashAttention")
    e.add_argument("--batch", type=int, default=1, help="infer: concurrent sequences")
    e.add_argument("--input-len", type=int, default=512, help="infer: prompt tokens")
    e.add_argument("--output-len", type=int, default=128, help="infer: generated tokens")
    e.add_argument("--sweep", metavar="B1,B2,...", help="infer: also tabulate these batch sizes")
    e.add_argument("--sweep-input", metavar="L1,L2,...", help="infer: also tabulate these prompt lengths")
    e.add_argument("--global-batch", type=int, help="train: sequences per step")
    e.add_argument("--micro-batch", type=int, default=1)
    e.add_argument("--seq-len", type=int, help="train: sequence length (default: model's max)")
    e.add_argument("--recompute", choices=("none", "selective", "full"), default="none")
    e.add_argument("--sp", action="store_true", help="train: sequence parallelism")
    e.add_argument("--virtual-stages", type=int, default=1, help="train: interleaved 1F1B chunks per GPU")
    e.add_argument("--zero", type=int, default=0, choices=(0, 1, 2, 3))
    e.add_argument("--offload-optimizer", choices=("none", "cpu", "nvme"), default="none")
    e.add_argument("--offload-params", choices=("none", "cpu", "nvme"), default="none")
    e.add_argument("--tokens", type=float, help="train: also report time and cost to train this many tokens")
    e.set_defaults(func=run_estimate)

    pl = sub.add_parser("plan", help="rank all valid training layouts for a model x cluster x batch")
    model_args(pl)
    pl.add_argument("--gpus", type=int, required=True)
    pl.add_argument("--global-batch", type=int, required=True)
    pl.add_argument("--seq-len", type=int, help="default: model's max")
    pl.add_argument("--objective", choices=("throughput", "cost", "memory"), default="throughput")
    pl.add_argument("--precision", nargs="+", default=["bf16"], help="precisions to consider")
    pl.add_argument("--recompute", nargs="+", default=["none", "selective", "full"])
    pl.add_argument("--no-flash", action="store_true")
    pl.add_argument("--top", type=int, default=10, help="plans to show")
    pl.add_argument("--rejected", type=int, default=5, metavar="N", help="example rejected plans to show")
    pl.add_argument("--tokens", type=float, help="also report time and cost to train this many tokens")
    pl.add_argument("--max-plans", type=int, default=200_000,
                    help="enumerate up to this many layouts; larger spaces are searched (NSGA-II) "
                         "with this many evaluations")
    pl.add_argument("--seed", type=int, default=0, help="seed of the search for large spaces")
    pl.add_argument("--csv", help="write all feasible plans to this CSV file")
    pl.add_argument("--plot", help="write a throughput-vs-memory plot (PNG) of the feasible plans")
    pl.set_defaults(func=run_plan)

    v = sub.add_parser("validate", help="predict a table of published measurements and report errors")
    v.add_argument("--table", required=True, help="CSV in the format of llm/published_measurements.csv")
    v.add_argument("--out", required=True, help="CSV to write (rows + predicted_value, abs_pct_error, skipped_reason)")
    v.add_argument("--hardware-file", action="append", default=[], metavar="YAML")
    v.add_argument("--fit", metavar="HARDWARE",
                   help="refit this hardware type's efficiency set on the table's training rows and print it")
    v.add_argument("--loso", action="store_true",
                   help="also report leave-one-source-out error (fit on the other sources' training rows)")
    v.set_defaults(func=run_validate)

    pr = sub.add_parser("presets", help="list model presets with their parameter counts")
    pr.set_defaults(func=run_presets)


# -- helpers ----------------------------------------------------------------------------------

def _model(args):
    from hwopt.llm import get_model, spec_from_hf_config

    return spec_from_hf_config(args.config) if args.config else get_model(args.model)


def _hardware(args):
    from hwopt.llm import resolve_gpu

    return resolve_gpu(args.hardware, *args.hardware_file)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join(lines)


def _gb(x: float) -> str:
    return f"{x / 1e9:.2f}"


def _int_list(flag: str, text: str | None) -> list[int]:
    if not text:
        return []
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"{flag} must be comma-separated integers, got {text!r}") from None
    if any(v < 1 for v in out):
        raise ConfigError(f"{flag} values must be >= 1, got {text!r}")
    return out


def _positive(name: str, v) -> None:
    if v is not None and v < 1:
        raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {v}")


# -- estimate ---------------------------------------------------------------------------------

def run_estimate(args) -> int:
    model, hw = _model(args), _hardware(args)
    for name in ("gpus", "tp", "pp", "cp", "batch", "input_len", "micro_batch", "global_batch", "seq_len",
                 "virtual_stages"):
        _positive(name, getattr(args, name))
    mode = args.mode if args.mode != "auto" else ("train" if args.global_batch else "infer")
    if mode == "infer":
        return _estimate_infer(args, model, hw)
    return _estimate_train(args, model, hw)


def _estimate_infer(args, model, hw) -> int:
    from hwopt.llm import estimate_inference

    if args.gpus is not None and args.gpus != args.tp * args.pp:
        raise ConfigError(f"--gpus {args.gpus} must equal --tp x --pp = {args.tp * args.pp} for inference "
                          f"(give --global-batch to estimate training)")
    batches = [args.batch] + _int_list("--sweep", args.sweep)
    inputs = [args.input_len] + _int_list("--sweep-input", args.sweep_input)
    ests = [estimate_inference(model, hw, batch=b, input_len=n, output_len=args.output_len,
                               tp=args.tp, pp=args.pp, precision=args.precision, flash=not args.no_flash)
            for n in dict.fromkeys(inputs) for b in dict.fromkeys(batches)]
    if args.json:
        print(json.dumps([e.to_dict() for e in ests], indent=2, default=str))
        return 0
    e = ests[0]
    print(f"{model.name} on {e.n_gpus} x {hw.name} (TP {e.tp}, PP {e.pp}); weights {e.precision.weights}, "
          f"activations {e.precision.activations}, KV cache {e.precision.kv_cache}; "
          f"attention {'fused (flash)' if e.flash else 'unfused'}")
    print(f"parameters: {model.total_params() / 1e9:.3f} B total, {model.active_params() / 1e9:.3f} B active; "
          f"KV cache {model.kv_bytes_per_token(e.precision.kv_bytes) / 1e6:.4f} MB per token")
    print()
    print(_table([[k, _gb(v)] for k, v in e.memory.items()] + [["capacity", _gb(hw.memory_bytes)]],
                 ["memory per GPU", "GB"]))
    print()
    rows = [[x.batch, f"{x.input_len}/{x.output_len}", f"{x.ttft_s * 1e3:.1f}", f"{x.tpot_s * 1e3:.2f}",
             f"{x.output_tokens_per_s:.0f}", f"{x.output_tokens_per_s_per_gpu:.0f}", _gb(x.memory["total"]),
             "yes" if x.fits else "NO"] for x in ests]
    print(_table(rows, ["batch", "in/out", "TTFT ms", "TPOT ms", "out tok/s", "out tok/s/GPU", "mem GB", "fits"]))
    print()
    for n in dict.fromkeys(x.input_len for x in ests):
        x = next(x for x in ests if x.input_len == n)
        print(f"largest batch that fits at context {n + x.output_len}: {x.max_batch}")
    j = e.joules_per_output_token(hw.tdp_w)
    if j is not None:
        print(f"energy (all GPUs at TDP, batch {e.batch}): at most {j:.3f} J per output token")
    return 0


def _estimate_train(args, model, hw) -> int:
    from hwopt.llm import TrainConfig, estimate_training

    gpus = args.gpus or args.tp * args.pp * args.cp
    if gpus % (args.tp * args.pp * args.cp):
        raise ConfigError(f"--gpus {gpus} is not divisible by TP x PP x CP = {args.tp * args.pp * args.cp}")
    dp = gpus // (args.tp * args.pp * args.cp)
    if args.global_batch is None:
        raise ConfigError("--global-batch is required with --mode train")
    cfg = TrainConfig(
        global_batch=args.global_batch, seq_len=args.seq_len or model.max_seq, tp=args.tp, pp=args.pp, dp=dp,
        cp=args.cp, micro_batch=args.micro_batch, virtual_stages=args.virtual_stages, sp=args.sp,
        recompute=args.recompute, zero=args.zero, offload_optimizer=args.offload_optimizer,
        offload_params=args.offload_params, precision=args.precision or "bf16", flash=not args.no_flash,
    )
    est = estimate_training(model, hw, cfg)
    if args.json:
        d = est.to_dict()
        if args.tokens:
            d.update(tokens=args.tokens, time_to_train_s=est.time_to_train_s(args.tokens),
                     cost_to_train_usd=est.cost_to_train_usd(args.tokens))
        print(json.dumps(d, indent=2, default=str))
        return 0
    c = est.config
    print(f"{model.name} on {c.n_gpus} x {hw.name}: TP {c.tp}, PP {c.pp} (x{c.virtual_stages} virtual), DP {c.dp}, "
          f"CP {c.cp}, SP {'on' if c.sp else 'off'}; global batch {c.global_batch} x {c.seq_len} tokens, "
          f"micro-batch {c.micro_batch} ({c.n_micro} per step); recompute {c.recompute}; ZeRO {c.zero}; "
          f"offload optimizer {c.offload_optimizer}, params {c.offload_params}; {c.precision}")
    print()
    print(_table([
        ["iteration time", f"{est.iter_time_s:.3f} s"],
        ["tokens / s", f"{est.tokens_per_s:,.0f} ({est.tokens_per_s_per_gpu:,.0f} per GPU)"],
        ["model TFLOP/s per GPU", f"{est.tflops_per_gpu:.1f}"],
        ["MFU / HFU", f"{est.mfu:.3f} / {est.hfu:.3f}"],
    ], ["throughput", "value"]))
    print()
    print(_table([[k, f"{v:.3f}", f"{v / est.iter_time_s * 100:.1f}"] for k, v in est.time.items()],
                 ["time per iteration", "s", "%"]))
    print()
    mem_rows = [[k, _gb(v)] for k, v in est.memory.items()] + [["capacity", _gb(hw.memory_bytes)]]
    print(_table(mem_rows, [f"memory on {est.memory_gpu}", "GB"]))
    if est.memory["total"] > hw.memory_bytes:
        print(f"\nOOM by {(est.memory['total'] - hw.memory_bytes) / 1e9:.1f} GB on {est.memory_gpu}")
    if args.tokens:
        _print_train_cost(est, args.tokens, hw.tdp_w)
    return 0


def _print_train_cost(est, tokens: float, tdp_w: float | None = None) -> None:
    days = est.time_to_train_s(tokens) / 86400
    cost = est.cost_to_train_usd(tokens)
    money = f"${cost:,.0f}" if cost is not None else "n/a (no price in the catalog)"
    kwh = est.energy_to_train_kwh(tokens, tdp_w)
    energy = f", at most {kwh / 1e3:,.0f} MWh of GPU energy (TDP bound)" if kwh is not None else ""
    print(f"\n{tokens:.3g} tokens: {days:.1f} days on {est.n_gpus} GPUs, {money}{energy}")


# -- plan ---------------------------------------------------------------------------------------

def run_plan(args) -> int:
    from hwopt.llm import plan

    model, hw = _model(args), _hardware(args)
    for name in ("gpus", "global_batch", "seq_len", "top", "max_plans"):
        _positive(name, getattr(args, name))
    res = plan(model, hw, args.gpus, args.global_batch, args.seq_len or model.max_seq, objective=args.objective,
               precisions=args.precision, recompute=args.recompute, flash=not args.no_flash,
               max_plans=args.max_plans, seed=args.seed)
    if args.csv:
        _plans_csv(res, args.csv)
    if args.plot:
        _plans_plot(res, args.plot)
    if args.json:
        print(json.dumps({"plans": [e.to_dict() for e in res.plans[: args.top]],
                          "n_feasible": len(res.plans), "n_considered": res.n_considered,
                          "rejections": res.rejection_summary(),
                          "rejected_examples": [{"config": r.config.to_dict(), "reason": r.reason}
                                                for r in res.rejected[: args.rejected]]},
                         indent=2, default=str))
        return 0
    print(f"{model.name} on {args.gpus} x {hw.name}, global batch {args.global_batch} x "
          f"{args.seq_len or model.max_seq} tokens: {res.n_considered} plans considered, "
          f"{len(res.plans)} feasible, {res.n_rejected} rejected; ranked by {res.objective}")
    for n in res.notes:
        print(f"note: {n}")
    print()
    rows = []
    for i, e in enumerate(res.plans[: args.top], 1):
        c = e.config
        cost = e.n_gpus * (e.price_per_gpu_hour or float("nan")) / e.tokens_per_s / 3600 * 1e6
        rows.append([i, c.tp, c.pp, c.virtual_stages, c.dp, c.micro_batch, c.recompute, c.zero,
                     f"{c.offload_optimizer}/{c.offload_params}", c.precision, f"{e.iter_time_s:.2f}",
                     f"{e.tokens_per_s:,.0f}", f"{e.mfu:.3f}", _gb(e.memory["total"]), f"{cost:.3f}"])
    if rows:
        print(_table(rows, ["#", "TP", "PP", "v", "DP", "mb", "recompute", "ZeRO", "offload opt/par", "prec",
                            "iter s", "tokens/s", "MFU", "mem GB", "$/M tok"]))
    else:
        print("no feasible plan")
    print("\nrejections by reason:")
    for reason, n in res.rejection_summary().items():
        print(f"  {n:6d}  {reason}")
    oom = res.closest_oom(args.rejected)
    if oom:
        print("\nrejected plans that came closest to fitting:")
        for r in oom:
            c = r.config
            print(f"  TP {c.tp} PP {c.pp} v {c.virtual_stages} DP {c.dp} mb {c.micro_batch} recompute {c.recompute} "
                  f"ZeRO {c.zero} offload {c.offload_optimizer}/{c.offload_params}: "
                  f"{r.reason}")
    if args.tokens and res.best:
        _print_train_cost(res.best, args.tokens, hw.tdp_w)
    return 0


def _plans_csv(res, path: str) -> None:
    import pandas as pd

    rows = []
    for e in res.plans:
        d = e.config.to_dict()
        d.update(iter_time_s=e.iter_time_s, tokens_per_s=e.tokens_per_s, mfu=e.mfu,
                 mem_gb=e.memory["total"] / 1e9)
        rows.append(d)
    pd.DataFrame(rows).to_csv(path, index=False)


def _plans_plot(res, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter([e.memory["total"] / 1e9 for e in res.plans], [e.tokens_per_s for e in res.plans], s=8)
    if res.best:
        ax.scatter([res.best.memory["total"] / 1e9], [res.best.tokens_per_s], color="red", label="best")
        ax.legend()
    ax.set_xlabel("memory per GPU (GB)")
    ax.set_ylabel("tokens / s")
    ax.set_title("feasible training plans")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- validate -------------------------------------------------------------------------------------

def run_validate(args) -> int:
    import pandas as pd

    from hwopt.llm import validate_table
    from hwopt.llm._validate import short_source

    efficiency = None
    if args.fit:
        from hwopt.llm import resolve_gpu
        from hwopt.llm._efficiency import Efficiency
        from hwopt.llm._fit import fit_efficiency

        target = resolve_gpu(args.fit, *args.hardware_file)
        df = pd.read_csv(args.table)
        rows = [r for r in df.to_dict("records") if str(r.get("kind")) == "train"
                and _same_hw(r, target, args.hardware_file)]
        if not rows:
            raise ConfigError(f"no training rows on {target.name} in {args.table}")
        efficiency = fit_efficiency(rows, Efficiency())
        print(f"fitted on {len(rows)} training rows of {target.name}:")
        for k in ("gemm_max", "gemm_half_dim", "mem"):
            print(f"  {k}: {getattr(efficiency, k)}")
        print()
    res = validate_table(args.table, efficiency, tuple(args.hardware_file))
    out = Path(args.out)
    res.table.to_csv(out, index=False)
    ok = res.table[res.table["skipped_reason"] == ""]
    print(f"{len(ok)} of {len(res.table)} rows predicted; written to {out}")
    print()
    rows = []
    for r in ok.to_dict("records"):
        rows.append([r["model_name"], r["metric_name"], f"{r['metric_value']:.4g}", f"{r['predicted_value']:.4g}",
                     f"{r['abs_pct_error']:.1f}"])
    print(_table(rows, ["model", "metric", "measured", "predicted", "err %"]))
    print()
    print(_table([[m, int(g["count"]), f"{g['mean']:.2f}", f"{g['max']:.2f}"] for m, g in res.by_metric.iterrows()],
                 ["metric", "rows", "MAPE %", "max %"]))
    print()
    print(_table([[s, m, int(g["count"]), f"{g['mean']:.2f}", f"{g['max']:.2f}"]
                  for (s, m), g in res.by_source.iterrows()], ["source", "metric", "rows", "MAPE %", "max %"]))
    skipped = res.table[res.table["skipped_reason"] != ""]
    for r in skipped.to_dict("records"):
        print(f"skipped: {r['model_name']} {r['metric_name']}: {r['skipped_reason']}")
    if args.loso:
        from hwopt.llm._efficiency import Efficiency
        from hwopt.llm._fit import leave_one_source_out

        df = pd.read_csv(args.table)
        lo = leave_one_source_out(df, Efficiency())
        lo = lo[lo["skipped_reason"] == ""]
        lo["source_short"] = lo["source"].map(short_source)
        g = lo.groupby(["source_short", "metric_name", "fit_on"])["abs_pct_error"].agg(["count", "mean", "max"])
        print("\nleave-one-source-out (efficiencies fitted on the other sources' training rows):")
        print(_table([[s, m, f, int(x["count"]), f"{x['mean']:.2f}", f"{x['max']:.2f}"]
                      for (s, m, f), x in g.iterrows()], ["held-out source", "metric", "fitted on", "rows",
                                                          "MAPE %", "max %"]))
        tr = lo[lo["kind"] == "train"]
        print(f"held-out training MAPE: {tr['abs_pct_error'].mean():.2f} % over {len(tr)} rows")
    return 0


def _same_hw(row: dict, target, files) -> bool:
    from hwopt.errors import HwoptError
    from hwopt.llm import resolve_gpu

    try:
        return resolve_gpu(str(row["gpu"]), *files).name == target.name
    except HwoptError:
        return False


# -- presets ---------------------------------------------------------------------------------------

def run_presets(args) -> int:
    from hwopt.llm import PRESETS, get_model

    rows = []
    for name in sorted(PRESETS):
        m = get_model(name)
        rows.append([name, f"{m.total_params() / 1e9:.3f}", f"{m.active_params() / 1e9:.3f}", m.layers, m.hidden,
                     f"{m.heads}/{m.kv_heads}", m.vocab, m.source])
    print(_table(rows, ["preset", "params B", "active B", "layers", "hidden", "heads/kv", "vocab", "source"]))
    return 0

