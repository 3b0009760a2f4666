"""MAMBA's action-information term (`info_loss` in github jbr-ai-labs/mamba, agent/optim/utils.py and
agent/optim/loss.py; MAG's model loss keeps it).

The observation decoder's last hidden layer of row t must let a small head recover the joint action's
agent part that led to row t. Why: it pushes the model state to carry the action's effect, which the
reconstruction alone may ignore. MAMBA: `q_features` (DenseModel(HIDDEN, PCONT_HIDDEN, 1 layer), ELU), ReLU,
`q_action` (Linear to the actions), cross-entropy against the action, masked where padded; here masked where
there is no previous action (episode starts).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gawm.config import ConfigError
from gawm.nets import mlp
from gawm.world_model import WorldModel


# configs saved before issue 17 have no `mamba:` block: those runs trained without the term
LEGACY_BLOCK = {"action_info_weight": 0.0}


@dataclass
class MAMBAConfig:
    """The `mamba:` block (MAMBA-specific terms; MAG inherits it)."""

    action_info_weight: float  # weight of the action-information term in the model loss (0: off)

    def validate(self) -> None:
        if self.action_info_weight < 0:
            raise ConfigError(f"mamba.action_info_weight must be >= 0, got {self.action_info_weight}")


class ActionInfoHead(nn.Module):
    """Decoder hidden features (..., N, hidden) -> action logits (..., N, A)."""

    def __init__(self, hidden: int, n_actions: int):
        super().__init__()
        self.q_features = mlp(hidden, hidden, hidden, 1, "elu", False)
        self.q_action = nn.Linear(hidden, n_actions)

    def forward(self, dec_hidden: torch.Tensor) -> torch.Tensor:
        return self.q_action(F.relu(self.q_features(dec_hidden)))


def decoder_hidden(wm: WorldModel, h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The observation decoder's last hidden activation for features [h, z]: (..., N, hidden)."""
    return wm.obs_decoder[:-1](torch.cat([h, z], -1))


def action_info_nll(wm: WorldModel, head: ActionInfoHead, batch: dict[str, torch.Tensor],
                    post: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of the action that led to each row (batch["prev_action"], one-hot (B, T, N, A)) from
    the decoder's hidden features of the posterior state: -> (per-row values (B, T, N), zero where masked;
    mask (B, T, N) float: 1 where a previous action exists)."""
    logits = head(decoder_hidden(wm, post["h"], post["z"]))  # (B, T, N, A)
    prev = batch["prev_action"].float()
    mask = ((prev.sum(-1) > 0) & ~batch["is_first"].bool()[..., None]).to(logits.dtype)  # (B, T, N)
    ce = F.cross_entropy(logits.flatten(0, -2), prev.argmax(-1).flatten(), reduction="none").view(mask.shape)
    return ce * mask, mask
