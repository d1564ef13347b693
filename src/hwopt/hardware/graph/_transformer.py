"""Analytic op graph of an elastic transformer encoder sub-network (``transformer``), without torch.

Mirrors ``hwopt.supernets._transformer_nn.static_subnet`` op by op (a test compares it with the
traced module): token embedding plus learned positions, pre-norm layers (LayerNorm, Q / K / V
projections, scaled attention scores, softmax, weighted values, output projection, residual;
LayerNorm, FFN with GELU, residual), final LayerNorm, mean over tokens, classifier. A chain of
segments (embedding, one per layer, head), so a search counts each distinct layer once.
"""

from __future__ import annotations

from typing import Any

from hwopt.hardware.graph._build import GraphBuilder, Tensor, chain_graph


def transformer_segments(space: Any, config: dict) -> list[tuple]:
    """``("stem", hidden)``, one ``("layer", hidden, heads, ffn, last)`` per active layer, ``("head",)``.
    The last layer holds the final LayerNorm: a runtime fuses it with the residual add before it
    (that add's only consumer), so the boundary between segments must not fall between them."""
    cfg = space.space.validate(config)
    n, e = int(cfg["layers"]), int(cfg["hidden"])
    return ([("stem", e)] + [("layer", e, int(h), int(f), i == n - 1)
                             for i, (h, f) in enumerate(zip(cfg["heads"][:n], cfg["ffn"][:n]))] + [("head",)])


def _segment(space: Any, g: GraphBuilder, x: Tensor, seg: tuple) -> Tensor:
    arch = space.arch
    if seg[0] == "stem":
        x = g.dense(x, seg[1])
        return g.add_parameter(x, arch.tokens * seg[1])
    if seg[0] == "head":
        return g.dense(g.mean(x, 1, keepdim=False), arch.n_classes)
    _, e, heads, ffn, last = seg
    b, t, d = x[1][0], x[1][1], arch.head_dim
    y = g.layer_norm(x)
    q, k, v = (g.view(g.dense(y, heads * d), (b, heads, t, d)) for _ in range(3))
    scores = g.softmax(g.act(g.matmul(q, g.view(k, (b, heads, d, t))), "mul"))
    o = g.view(g.matmul(scores, v), (b, t, heads * d))
    x = g.add(x, g.dense(o, e))
    y = g.dense(g.act(g.dense(g.layer_norm(x), ffn), "gelu"), e)
    x = g.add(x, y)
    return g.layer_norm(x) if last else x


transformer_graph, TRANSFORMER_SEGMENTS = chain_graph(transformer_segments, _segment)
