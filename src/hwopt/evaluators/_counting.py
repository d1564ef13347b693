"""Exact MAC and parameter counts of a ``torch.nn.Module`` by intercepting ATen operators.

Counting happens at the operator level (a ``TorchDispatchMode``) on meta tensors, so functional
calls (``F.conv2d``, ``x @ w``, attention) count as well as modules, and nothing is computed.

Conventions:

- ``"dynast"`` (default): one MAC per multiply-add of a convolution (grouped and depthwise
  included), matrix product, linear layer or attention product; bias adds, normalisation,
  activations, pooling, ``mean`` and element-wise products (squeeze-excite scaling) are free.
  This is fvcore's count on a network whose BatchNorms were removed first (DyNAS-T calls OFA's
  ``rm_bn_from_net`` before ``FlopCountAnalysis``), the convention of the shared OFA table, of
  OFA's own profiler and of the published MobileNetV3 / ResNet-50 figures.
- ``"fvcore"``: fvcore's default handles on the unmodified network: additionally an eval-mode
  BatchNorm counts 2 per element (1 without affine), LayerNorm / GroupNorm 5 (4 without
  affine), ``nn.AdaptiveAvgPool`` 1 per input element, nearest / bilinear upsampling 1 / 4 per
  output element.
"""

from __future__ import annotations

from math import prod
from typing import Any

from hwopt.errors import ConfigError, require

CONVENTIONS = ("dynast", "fvcore")


def _shape(t) -> tuple[int, ...]:
    return tuple(int(s) for s in t.shape)


def count_params(module: Any) -> int:
    """Number of parameters (each shared tensor once)."""
    seen, total = set(), 0
    for p in module.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return int(total)


def count_macs(module: Any, input_shape: tuple[int, ...], convention: str = "dynast") -> int:
    """MACs of one eval-mode forward pass of ``module`` on an input of ``input_shape`` (batch included)."""
    torch = require("torch")
    from torch.utils._python_dispatch import TorchDispatchMode

    if convention not in CONVENTIONS:
        raise ConfigError(f"unknown MAC convention {convention!r}; valid: {', '.join(CONVENTIONS)}")
    full = convention == "fvcore"
    aten = torch.ops.aten
    total = [0]

    def conv(args, out):
        w = args[1]
        transposed = bool(args[6]) if len(args) > 6 else False
        k = prod(_shape(w)[2:])
        if transposed:  # every input element meets c_out/groups * k weights
            return prod(_shape(args[0])) * _shape(w)[1] * k
        return prod(_shape(out)) * _shape(w)[1] * k

    def mm(args, out):  # (..., m, k) @ (..., k, n)
        return prod(_shape(out)) * _shape(args[-2] if len(args) == 3 else args[0])[-1]

    def addmm(args, out):
        return prod(_shape(out)) * _shape(args[1])[-1]

    def bn(args, out):
        affine = args[1] is not None
        if args[5]:  # training mode: fvcore's norm counter
            return prod(_shape(args[0])) * (5 if affine else 4)
        return prod(_shape(args[0])) * (2 if affine else 1)

    def ln(args, out):
        return prod(_shape(args[0])) * (5 if len(args) > 2 and args[2] is not None else 4)

    def gn(args, out):
        return prod(_shape(args[0])) * (5 if args[1] is not None else 4)

    def sdpa(args, out):  # q @ k^T and attn @ v
        q, k, v = args[0], args[1], args[2]
        lead = prod(_shape(q)[:-2])
        return lead * _shape(q)[-2] * _shape(k)[-2] * (_shape(q)[-1] + _shape(v)[-1])

    handlers = {
        aten.convolution.default: conv,
        aten.mm.default: mm,
        aten.bmm.default: mm,
        aten.addmm.default: addmm,
        aten.baddbmm.default: addmm,
        aten._scaled_dot_product_flash_attention_for_cpu.default: sdpa,
        aten._scaled_dot_product_efficient_attention.default: sdpa,
        aten._scaled_dot_product_flash_attention.default: sdpa,
        aten._scaled_dot_product_attention_math.default: sdpa,
    }
    if full:
        handlers.update({
            aten.native_batch_norm.default: bn,
            aten._native_batch_norm_legit_no_training.default: lambda a, o: bn([*a[:5], False], o),
            aten.native_layer_norm.default: ln,
            aten.native_group_norm.default: gn,
            aten.upsample_nearest2d.default: lambda a, o: prod(_shape(o)),
            aten.upsample_bilinear2d.default: lambda a, o: 4 * prod(_shape(o)),
        })

    class Counter(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            h = handlers.get(func)
            if h is not None:
                total[0] += int(h(args, out[0] if isinstance(out, (tuple, list)) else out))
            return out

    import torch.nn as nn
    from torch.func import functional_call

    meta = {k: torch.empty_like(v, device="meta") for k, v in
            [*module.named_parameters(remove_duplicate=False), *module.named_buffers(remove_duplicate=False)]}
    hooks = []
    if full:  # nn.AdaptiveAvgPool dispatches to mean(); fvcore saw aten::adaptive_avg_pool
        def pool_hook(mod, inp, out):
            total[0] += prod(_shape(inp[0]))

        hooks = [m.register_forward_hook(pool_hook) for m in module.modules()
                 if isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d))]
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), Counter():
            functional_call(module, meta, (torch.zeros(*input_shape, device="meta"),))
    finally:
        module.train(was_training)
        for h in hooks:
            h.remove()
    return int(total[0])
