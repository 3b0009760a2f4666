"""The RSSM cell of GAWM, split into the pieces of paper Eq. (1), each acting on all agents at once.

Shapes: N agents, H = deter (GRU) size, Z = G * C (flattened one-hot latent), A actions, E obs embedding,
D fusion width. Every module accepts any leading shape before the agent axis.

- `ActFusion` (Eq. 1b): e_{t-1} = f_af(z_{t-1}, a_{t-1}) over agents.
- `RecurrentCell` (Eq. 1a): h_t^i = GRU(h_{t-1}^i, e_{t-1}^i), one GRU shared by all agents.
- `ObsFusion` (Eq. 1c): g_t = f_of(h_t, embed(o_t)) over agents; with `fuse=False` (GAWM*) the Transformer is
  absent and g_t^i depends only on agent i's own (h_t^i, o_t^i). This flag is the only difference between
  GAWM and GAWM*, so the ablation isolates obs-fusion.
- `LatentHead` (Eqs. 1d, 1e): MLP -> categorical logits (..., G, C), normalised with unimix.
"""

from __future__ import annotations

import torch
from torch import nn

from gawm.nets.distributions import normalise_logits
from gawm.nets.fusion import AgentFusion
from gawm.nets.mlp import activation, mlp


class ActFusion(nn.Module):
    """f_af: per-agent embedding of [z^i, a^i], then a Transformer over agents.

    (..., N, Z), (..., N, A) one-hot -> e (..., N, D).
    """

    def __init__(self, stoch_dim: int, n_actions: int, fusion_dim: int, n_layers: int, n_heads: int, ff_dim: int,
                 act: str):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(stoch_dim + n_actions, fusion_dim), activation(act))
        self.fuse = AgentFusion(fusion_dim, n_layers, n_heads, ff_dim)

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.fuse(self.embed(torch.cat([z, a], dim=-1)))


class RecurrentCell(nn.Module):
    """f_rec: one GRUCell applied to every agent (weights shared): (..., N, H), (..., N, D) -> (..., N, H)."""

    def __init__(self, in_dim: int, deter_dim: int):
        super().__init__()
        self.gru = nn.GRUCell(in_dim, deter_dim)

    def forward(self, h: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        lead = h.shape[:-1]
        out = self.gru(e.reshape(-1, e.shape[-1]), h.reshape(-1, h.shape[-1]))  # (B* N, H)
        return out.reshape(*lead, -1)


class ObsFusion(nn.Module):
    """f_of: per-agent Linear+act on [h^i, embed(o^i)], then (GAWM only) a Transformer over agents.

    (..., N, H), (..., N, E) -> g (..., N, D). With `fuse=False` no Transformer is built, so a GAWM state dict
    loads into GAWM* with strict=False and only the obs-fusion Transformer keys left over.
    """

    def __init__(self, deter_dim: int, embed_dim: int, fusion_dim: int, n_layers: int, n_heads: int, ff_dim: int,
                 act: str, fuse: bool):
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(deter_dim + embed_dim, fusion_dim), activation(act))
        self.fuse = AgentFusion(fusion_dim, n_layers, n_heads, ff_dim) if fuse else None

    def forward(self, h: torch.Tensor, obs_embed: torch.Tensor) -> torch.Tensor:
        g = self.proj(torch.cat([h, obs_embed], dim=-1))  # (..., N, D)
        return self.fuse(g) if self.fuse is not None else g


class LatentHead(nn.Module):
    """MLP -> normalised categorical log-probs (..., G, C); used for both the prior (from h) and posterior (from g)."""

    def __init__(self, in_dim: int, groups: int, classes: int, hidden_dim: int, n_hidden: int, act: str,
                 layer_norm: bool, unimix: float):
        super().__init__()
        self.groups, self.classes, self.unimix = groups, classes, unimix
        self.net = mlp(in_dim, groups * classes, hidden_dim, n_hidden, act, layer_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raw = self.net(x).unflatten(-1, (self.groups, self.classes))
        return normalise_logits(raw, self.unimix)
