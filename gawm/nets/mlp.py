"""MLP builder shared by every head of the world model.

One builder keeps the heads uniform (same activation, same optional LayerNorm), so a config switch changes
all of them at once and no head silently differs in its non-linearity.
"""

from __future__ import annotations

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"elu": nn.ELU, "relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU}


def activation(name: str) -> nn.Module:
    """A fresh activation module by name; unknown names are a ValueError listing the allowed ones."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; allowed: {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def mlp(in_dim: int, out_dim: int, hidden_dim: int, n_hidden: int, act: str, layer_norm: bool,
        out_act: bool = False) -> nn.Sequential:
    """`n_hidden` blocks Linear -> [LayerNorm] -> act of width `hidden_dim`, then Linear to `out_dim`.

    The output is linear (logits, means) unless `out_act`, which appends [LayerNorm] -> act so the result can
    serve as an embedding. Works on any leading shape (..., in_dim) -> (..., out_dim), as nn.Linear does.
    """
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(n_hidden):
        layers.append(nn.Linear(d, hidden_dim))
        if layer_norm:
            layers.append(nn.LayerNorm(hidden_dim))
        layers.append(activation(act))
        d = hidden_dim
    layers.append(nn.Linear(d, out_dim))
    if out_act:
        if layer_norm:
            layers.append(nn.LayerNorm(out_dim))
        layers.append(activation(act))
    return nn.Sequential(*layers)
