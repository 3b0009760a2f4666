"""Modules that mix information across the agent axis.

`AgentFusion` is the Transformer of the act-fusion and obs-fusion blocks (paper Eqs. 1b, 1c): self-attention
over the N agents with no positional encoding, so it is permutation-equivariant (agents are a set; their
index carries no meaning to the model). `AgentPool` is the permutation-invariant trunk of the team reward and
discount predictors (Eqs. 2b, 2c), which read all agents' latent states.
"""

from __future__ import annotations

import torch
from torch import nn

from gawm.nets.mlp import activation, mlp


class AgentFusion(nn.Module):
    """Pre-LN Transformer encoder over agents: (..., N, d) -> (..., N, d), permutation-equivariant.

    Dropout is 0 so the world model is deterministic given its latent samples (the RL data is noisy enough).
    """

    def __init__(self, d_model: int, n_layers: int, n_heads: int, ff_dim: int):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model, n_heads, ff_dim, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, norm=nn.LayerNorm(d_model),
                                             enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-2]
        y = self.encoder(x.reshape(-1, *x.shape[-2:]))  # (B*, N, d)
        return y.reshape(*lead, *y.shape[-2:])


class AgentPool(nn.Module):
    """Team-level scalar from all agents: per-agent embed -> concat(mean, max) over agents -> MLP -> (...).

    Mean keeps the magnitude of the whole team, max keeps a single agent's salient event (a kill); both are
    invariant to the agents' order, so the team reward/discount is one consistent value per step.
    """

    def __init__(self, in_dim: int, hidden_dim: int, n_hidden: int, act: str, layer_norm: bool):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(in_dim, hidden_dim), activation(act))
        self.head = mlp(2 * hidden_dim, 1, hidden_dim, n_hidden, act, layer_norm)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        e = self.embed(feat)  # (..., N, hid)
        pooled = torch.cat([e.mean(-2), e.amax(-2)], dim=-1)  # (..., 2 hid)
        return self.head(pooled).squeeze(-1)  # (...)
