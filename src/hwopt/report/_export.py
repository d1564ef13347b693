"""Export a chosen sub-network: ONNX verified against PyTorch, or a state dict + config that
rebuild the module exactly (:func:`load_exported`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hwopt.errors import ConfigError, EvaluationError, require

FORMATS = ("onnx", "torch")
EXPORT_VERSION = "hwopt-subnet-v1"


def export_model(model_space: Any, config: Any, fmt: str, out: str | Path, *, atol: float = 1e-4,
                 batch_size: int = 2, seed: int = 0) -> dict[str, Any]:
    """Write the sub-network of ``config`` to ``out`` and check it.

    ``onnx``: a model with a dynamic batch axis; its outputs on a random batch are compared with
    PyTorch's (``max_abs_diff``, ``verified`` if within ``atol``). ``torch``: ``out`` holds the
    state dict with the space, its options and the config, and ``out`` with suffix ``.json`` the
    config; the module is rebuilt from them and must give identical tensors and outputs.
    Returns a summary dict (paths, ``max_abs_diff``, ``verified``).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; valid: {', '.join(FORMATS)}")
    torch = require("torch")
    cfg = model_space.parse_config(config) if not isinstance(config, dict) else model_space.space.validate(config)
    out = Path(out).expanduser()
    if out.is_dir():
        example = "model.onnx" if fmt == "onnx" else "model.pt"
        raise ConfigError(f"--out {str(out)!r} is a directory; give a file path (e.g. {example})")
    out.parent.mkdir(parents=True, exist_ok=True)
    model = model_space.build(cfg).eval()
    shape = tuple(model_space.input_shape(cfg, batch_size))
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        ref = model(x)
    summary: dict[str, Any] = {"format": fmt, "path": str(out), "space": model_space.name, "config": cfg,
                               "input_shape": [1, *shape[1:]], "max_abs_output": float(ref.abs().max())}
    if fmt == "onnx":
        summary["max_abs_diff"] = _export_onnx(model, x, out)
    else:
        meta = {"format": EXPORT_VERSION, "space": model_space.name, "space_options": model_space.export_options(),
                "config": cfg, "input_shape": [1, *shape[1:]]}
        torch.save({**meta, "state_dict": model.state_dict()}, out)
        side = out.with_suffix(".json")
        side.write_text(json.dumps(meta, indent=2) + "\n")
        rebuilt, _ = load_exported(out)
        same = _same_state(model.state_dict(), rebuilt.state_dict())
        with torch.no_grad():
            summary["max_abs_diff"] = float((rebuilt(x) - ref).abs().max())
        summary["config_path"] = str(side)
        summary["state_dict_identical"] = same
        if not same:
            raise EvaluationError(f"the state dict saved to {str(out)!r} does not rebuild the module exactly")
    summary["verified"] = bool(summary["max_abs_diff"] <= atol)
    summary["atol"] = atol
    return summary


def _export_onnx(model: Any, x: Any, out: Path) -> float:
    """Write ONNX with a dynamic batch axis; max |ONNX Runtime - PyTorch| on ``x``."""
    import warnings

    torch = require("torch")
    from hwopt.evaluators._latency import ort_session

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model, (x,), str(out), dynamo=False, opset_version=17, input_names=["input"],
                              output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        except Exception as exc:  # noqa: BLE001 - fall back to the torch.export-based exporter
            try:
                batch = torch.export.Dim("batch", min=1)
                prog = torch.onnx.export(model, (x,), None, dynamo=True, input_names=["input"],
                                         output_names=["output"], dynamic_shapes=({0: batch},))
                prog.save(str(out))
            except Exception:  # noqa: BLE001
                raise EvaluationError(f"ONNX export failed: {type(exc).__name__}: {exc}") from exc
    sess = ort_session(out, 1)
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        ref = model(x).numpy()
    return float(abs(got - ref).max())


def _same_state(a: dict[str, Any], b: dict[str, Any]) -> bool:
    import torch

    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def load_exported(path: str | Path):
    """Rebuild a module exported with ``fmt="torch"``; returns (module in eval mode, metadata)."""
    torch = require("torch")
    from hwopt.errors import CheckpointError
    from hwopt.supernets import get_space

    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"exported model {str(path)!r} does not exist")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"{str(path)!r} cannot be read: {type(exc).__name__}") from None
    if not isinstance(blob, dict) or blob.get("format") != EXPORT_VERSION:
        raise CheckpointError(f"{str(path)!r} is not an hwopt export (format {EXPORT_VERSION})")
    space = get_space(blob["space"], **blob.get("space_options", {}))
    module = space.architecture(blob["config"])
    try:
        module.load_state_dict(blob["state_dict"], strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{str(path)!r} does not match its architecture: {str(exc).splitlines()[0]}") from None
    meta = {k: v for k, v in blob.items() if k != "state_dict"}
    return module.eval(), meta


def best_under_median_latency(trials: list[Any], latency: str = "latency", accuracy: str = "accuracy"):
    """The completed trial with the best accuracy among those at most as slow as the median latency."""
    import statistics

    from hwopt.evaluators import scalar

    done = [t for t in trials if t.state == "COMPLETE" and latency in (t.measurements or {})
            and accuracy in (t.measurements or {})]
    if not done:
        return None
    med = statistics.median(scalar(t.measurements[latency]) for t in done)
    fast = [t for t in done if scalar(t.measurements[latency]) <= med]
    return max(fast, key=lambda t: (scalar(t.measurements[accuracy]), -scalar(t.measurements[latency])))


def export_best(study: Any, out_dir: str | Path, fmt: str = "onnx") -> dict[str, Any] | None:
    """Export the best-accuracy trial under the median latency of a model-space study into ``out_dir``
    (``best.onnx`` or ``best.pt``); None when the study has no space or no such trial."""
    from hwopt.supernets import get_space

    space_name = study.settings.get("space")
    trial = best_under_median_latency(study.trials) if space_name else None
    if trial is None:
        return None
    space = get_space(space_name, **study.settings.get("space_options", {}))
    summary = export_model(space, trial.config, fmt, Path(out_dir) / ("best.onnx" if fmt == "onnx" else "best.pt"))
    summary["trial"] = trial.number
    summary["measurements"] = trial.measurements
    return summary
