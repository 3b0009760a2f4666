"""Decentralised execution shared by every method whose actor is gawm.policy's MAPPO actor (GAWM, GAWM*,
MAPPO): each agent acts on its own real observation and its GRU memory, masked by its available actions."""

from __future__ import annotations

import numpy as np
import torch

from gawm.policy import MAPPOPolicy


class PolicyActing:
    """Mixin: needs `self.policy` (MAPPOPolicy) and `self.device`."""

    policy: MAPPOPolicy
    device: torch.device

    def init_hidden(self, batch: int) -> torch.Tensor:
        return self.policy.init_hidden(batch).to(self.device)  # (B, N, H)

    def act(self, obs: np.ndarray, avail: np.ndarray, state: np.ndarray, hidden: torch.Tensor, reset: np.ndarray,
            deterministic: bool) -> tuple[np.ndarray, torch.Tensor]:
        d = self.device
        actions, _, hidden = self.policy.act(torch.as_tensor(obs, dtype=torch.float32, device=d),
                                             torch.as_tensor(avail, dtype=torch.bool, device=d), hidden,
                                             deterministic=deterministic,
                                             resets=torch.as_tensor(reset, dtype=torch.bool, device=d))
        return actions.cpu().numpy(), hidden
