"""Operator graphs with per-operator FLOPs / bytes, from torch modules, ONNX files or analytically."""

from hwopt.hardware.graph._build import GraphBuilder
from hwopt.hardware.graph._ops import OP_CLASSES, Op, OpGraph


def from_torch(module, input_shape, dtype_bytes: int = 4) -> OpGraph:
    """Trace a ``torch.nn.Module`` (imports torch lazily)."""
    from hwopt.hardware.graph._torch import from_torch as _f

    return _f(module, tuple(input_shape), dtype_bytes)


def from_onnx(path, batch_size: int = 1, dtype_bytes: int = 4) -> OpGraph:
    """Read an ONNX file (imports onnx lazily)."""
    from hwopt.hardware.graph._onnx import from_onnx as _f

    return _f(path, batch_size, dtype_bytes)


__all__ = ["GraphBuilder", "OP_CLASSES", "Op", "OpGraph", "from_onnx", "from_torch"]
