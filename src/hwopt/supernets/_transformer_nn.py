"""Torch modules of the elastic transformer encoder (HAT / DynaBERT style).

Elastic: number of layers (the first ones are kept), hidden size (the first channels of every
embedding, LayerNorm and projection), heads per layer (the first heads; head size fixed) and
FFN width per layer (the first hidden units). The static sub-network uses plain ``nn.Linear`` /
``nn.LayerNorm`` and explicit attention matmuls, so it exports to ONNX and counts exactly.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from hwopt.space import Config
from hwopt.supernets._extract import load_static
from hwopt.supernets.transformer import TransformerArch


class Attention(nn.Module):
    def __init__(self, hidden: int, heads: int, head_dim: int):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.q = nn.Linear(hidden, heads * head_dim)
        self.k = nn.Linear(hidden, heads * head_dim)
        self.v = nn.Linear(hidden, heads * head_dim)
        self.out = nn.Linear(heads * head_dim, hidden)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = (p(x).view(b, t, self.heads, self.head_dim).transpose(1, 2) for p in (self.q, self.k, self.v))
        a = (q @ k.transpose(-1, -2) * self.head_dim ** -0.5).softmax(dim=-1)
        return self.out((a @ v).transpose(1, 2).reshape(b, t, self.heads * self.head_dim))


class Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, head_dim: int, ffn: int):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(hidden), Attention(hidden, heads, head_dim)
        self.ln2, self.fc1, self.fc2 = nn.LayerNorm(hidden), nn.Linear(hidden, ffn), nn.Linear(ffn, hidden)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class Encoder(nn.Module):
    """Token embedding + learned positions, pre-norm layers, mean pooling, classifier."""

    def __init__(self, arch: TransformerArch, hidden: int, heads: list[int], ffn: list[int]):
        super().__init__()
        self.embed = nn.Linear(arch.token_dim, hidden)
        self.pos = nn.Parameter(torch.zeros(1, arch.tokens, hidden))
        self.layers = nn.ModuleList(Layer(hidden, h, arch.head_dim, f) for h, f in zip(heads, ffn))
        self.norm = nn.LayerNorm(hidden)
        self.classifier = nn.Linear(hidden, arch.n_classes)

    def forward(self, x):
        x = self.embed(x) + self.pos
        for layer in self.layers:
            x = layer(x)
        return self.classifier(self.norm(x).mean(dim=1))


def _active(arch: TransformerArch, config: Config) -> tuple[int, list[int], list[int]]:
    n = int(config["layers"])
    return int(config["hidden"]), [int(h) for h in config["heads"][:n]], [int(f) for f in config["ffn"][:n]]


def static_subnet(arch: TransformerArch, config: Config) -> Encoder:
    hidden, heads, ffn = _active(arch, config)
    return Encoder(arch, hidden, heads, ffn)


def supernet(arch: TransformerArch) -> "ElasticEncoder":
    return ElasticEncoder(arch)


class ElasticEncoder(Encoder):
    """The super-network: the largest encoder; ``forward(x, config)`` runs a sub-network."""

    def __init__(self, arch: TransformerArch):
        n = max(arch.layers)
        super().__init__(arch, max(arch.hidden), [max(arch.heads)] * n, [max(arch.ffn)] * n)
        self.arch = arch

    def forward(self, x, config: Config):  # type: ignore[override]
        e, heads, ffn = _active(self.arch, config)
        d = self.arch.head_dim
        x = F.linear(x, self.embed.weight[:e], self.embed.bias[:e]) + self.pos[..., :e]
        b, t, _ = x.shape
        for layer, h, f in zip(self.layers, heads, ffn):
            a = layer.attn
            y = F.layer_norm(x, (e,), layer.ln1.weight[:e], layer.ln1.bias[:e], layer.ln1.eps)
            q, k, v = (F.linear(y, p.weight[:h * d, :e], p.bias[:h * d]).view(b, t, h, d).transpose(1, 2)
                       for p in (a.q, a.k, a.v))
            att = (q @ k.transpose(-1, -2) * d ** -0.5).softmax(dim=-1)
            o = (att @ v).transpose(1, 2).reshape(b, t, h * d)
            x = x + F.linear(o, a.out.weight[:e, :h * d], a.out.bias[:e])
            y = F.layer_norm(x, (e,), layer.ln2.weight[:e], layer.ln2.bias[:e], layer.ln2.eps)
            y = F.gelu(F.linear(y, layer.fc1.weight[:f, :e], layer.fc1.bias[:f]))
            x = x + F.linear(y, layer.fc2.weight[:e, :f], layer.fc2.bias[:e])
        x = F.layer_norm(x, (e,), self.norm.weight[:e], self.norm.bias[:e], self.norm.eps).mean(dim=1)
        return F.linear(x, self.classifier.weight[:, :e], self.classifier.bias)


def subnet_tensors(net: ElasticEncoder, config: Config) -> dict[str, Any]:
    """The static sub-network's state dict as slices (views) of the super-network's tensors."""
    e, heads, ffn = _active(net.arch, config)
    d = net.arch.head_dim
    sd: dict[str, Any] = {"embed.weight": net.embed.weight[:e], "embed.bias": net.embed.bias[:e],
                          "pos": net.pos[..., :e]}
    for i, (h, f) in enumerate(zip(heads, ffn)):
        L, p = net.layers[i], f"layers.{i}."
        for ln in ("ln1", "ln2"):
            sd[p + ln + ".weight"], sd[p + ln + ".bias"] = getattr(L, ln).weight[:e], getattr(L, ln).bias[:e]
        for name in ("q", "k", "v"):
            lin = getattr(L.attn, name)
            sd[f"{p}attn.{name}.weight"], sd[f"{p}attn.{name}.bias"] = lin.weight[:h * d, :e], lin.bias[:h * d]
        sd[p + "attn.out.weight"], sd[p + "attn.out.bias"] = L.attn.out.weight[:e, :h * d], L.attn.out.bias[:e]
        sd[p + "fc1.weight"], sd[p + "fc1.bias"] = L.fc1.weight[:f, :e], L.fc1.bias[:f]
        sd[p + "fc2.weight"], sd[p + "fc2.bias"] = L.fc2.weight[:e, :f], L.fc2.bias[:e]
    sd["norm.weight"], sd["norm.bias"] = net.norm.weight[:e], net.norm.bias[:e]
    sd["classifier.weight"], sd["classifier.bias"] = net.classifier.weight[:, :e], net.classifier.bias
    return sd


def extract_subnet(net: ElasticEncoder, config: Config) -> Encoder:
    return load_static(static_subnet(net.arch, config), subnet_tensors(net, config))
