"""QMIX's networks (Rashid et al., ICML 2018 / JMLR 2020): a parameter-shared recurrent agent Q-network and
the monotonic mixing network whose weights come from hypernetworks on the global state.

Monotonicity dQ_tot/dQ_i >= 0 holds because the mixing weights are abs() of the hypernetwork outputs and
ELU is increasing; the biases (and the state value V(s)) are unconstrained.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class AgentQNet(nn.Module):
    """fc -> ReLU -> GRU -> fc: per-agent Q-values from [obs, last action, agent id] (pymarl's RNNAgent).

    The GRU is `nn.GRU` rather than a `GRUCell` stepped in Python: training unrolls whole episodes from a
    zero state, and the fused sequence kernel makes that forward+backward about a third cheaper on CPU. The
    maths is the same cell, so `forward` (one acting step) and `sequence` (training) give identical Qs.
    """

    def __init__(self, in_dim: int, hidden: int, n_actions: int):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden)
        self.rnn = nn.GRU(hidden, hidden)  # time-major
        self.fc2 = nn.Linear(hidden, n_actions)
        self.hidden = hidden

    def forward(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """One step: x (..., in_dim), h (..., hidden) -> q (..., A), h' (..., hidden); agents fold into the batch."""
        lead = x.shape[:-1]
        z = F.relu(self.fc1(x.reshape(1, -1, x.shape[-1])))  # (1, M, hidden)
        out, _ = self.rnn(z, h.reshape(1, -1, self.hidden))  # (1, M, hidden)
        return self.fc2(out[0]).reshape(*lead, -1), out[0].reshape(*lead, self.hidden)

    def sequence(self, x: Tensor) -> Tensor:
        """Whole episodes from a zero state: x (B, L, N, in_dim) -> q (B, L, N, A); time is the only loop."""
        B, L, N, _ = x.shape
        z = F.relu(self.fc1(x.transpose(0, 1).reshape(L, B * N, -1)))  # (L, B*N, hidden)
        out, _ = self.rnn(z)  # (L, B*N, hidden)
        return self.fc2(out).reshape(L, B, N, -1).transpose(0, 1)  # (B, L, N, A)


class QMixer(nn.Module):
    """Q_tot = ELU(q @ |W1(s)| + b1(s)) @ |w2(s)| + V(s): q (..., N), s (..., S) -> (...)."""

    def __init__(self, n_agents: int, state_dim: int, embed: int, hypernet_hidden: int, hypernet_layers: int):
        super().__init__()
        self.n_agents, self.embed = n_agents, embed

        def hyper(out: int) -> nn.Module:
            if hypernet_layers == 1:
                return nn.Linear(state_dim, out)
            return nn.Sequential(nn.Linear(state_dim, hypernet_hidden), nn.ReLU(), nn.Linear(hypernet_hidden, out))

        self.hyper_w1 = hyper(n_agents * embed)
        self.hyper_w2 = hyper(embed)
        self.hyper_b1 = nn.Linear(state_dim, embed)
        self.value = nn.Sequential(nn.Linear(state_dim, embed), nn.ReLU(), nn.Linear(embed, 1))

    def forward(self, q: Tensor, state: Tensor) -> Tensor:
        lead = q.shape[:-1]
        q = q.reshape(-1, 1, self.n_agents)  # (M, 1, N)
        s = state.reshape(-1, state.shape[-1])  # (M, S)
        w1 = self.hyper_w1(s).abs().view(-1, self.n_agents, self.embed)  # (M, N, E)
        b1 = self.hyper_b1(s).view(-1, 1, self.embed)
        hidden = F.elu(torch.bmm(q, w1) + b1)  # (M, 1, E)
        w2 = self.hyper_w2(s).abs().view(-1, self.embed, 1)  # (M, E, 1)
        return (torch.bmm(hidden, w2).view(-1) + self.value(s).view(-1)).reshape(lead)
