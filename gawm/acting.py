"""Execution in the real environment, shared by the methods whose actor is gawm.policy's MAPPO actor.

Two ways to act, by what the actor reads (the model-based loop's `policy_input`, gawm.imagination_method):
- `PolicyActing` ("obs"; GAWM, GAWM*, MAPPO): each agent acts on its own real observation and its GRU memory,
  masked by its available actions. Fully decentralised.
- `FeatureActing` ("features"; MAMBA, MAG, and GAWM under `imagination.actor_input: features`): each agent's
  observation is filtered through the world model every step and the actor reads the features [h_i, z_i].
  The recurrent "hidden" is (h, z, previous one-hot action, actor GRU state), zeroed at an episode start as
  `WorldModel.observe` treats `is_first`. Acting greedily (`deterministic`) uses the posterior mode and the
  most likely action; otherwise a posterior sample and a sampled action. The world model's act-fusion block
  mixes all agents' (z, a), so execution needs the agents' previous latents and actions: decentralised with
  communication (MAMBA's setting), not fully decentralised.
`ConfiguredActing` picks one of the two by the method's `policy_input` (GAWM's ablation of its actor).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gawm.policy import MAPPOPolicy
from gawm.world_model import WorldModel, WorldModelConfig

FeatureHidden = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # wm h, wm z, prev action, actor h


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


class FeatureActing:
    """Mixin: needs `self.world_model` (gawm.world_model.WorldModel), `self.wm_cfg`, `self.policy`, `self.device`."""

    policy: MAPPOPolicy
    device: torch.device
    world_model: WorldModel
    wm_cfg: WorldModelConfig

    def init_hidden(self, batch: int) -> FeatureHidden:
        h, z = self.world_model.initial_state(batch, self.device)  # (B, N, H), (B, N, Z)
        prev_a = torch.zeros(batch, self.wm_cfg.n_agents, self.wm_cfg.n_actions, device=self.device)
        return h, z, prev_a, self.policy.init_hidden(batch).to(self.device)

    @torch.no_grad()
    def act(self, obs: np.ndarray, avail: np.ndarray, state: np.ndarray, hidden: FeatureHidden, reset: np.ndarray,
            deterministic: bool) -> tuple[np.ndarray, FeatureHidden]:
        d = self.device
        h, z, prev_a, actor_h = hidden
        first = torch.as_tensor(reset, dtype=torch.bool, device=d)
        h, z = self.world_model.filter_step(h, z, prev_a, torch.as_tensor(obs, dtype=torch.float32, device=d),
                                            first, sample=not deterministic)
        actions, _, actor_h = self.policy.act(torch.cat([h, z], -1), torch.as_tensor(avail, dtype=torch.bool,
                                                                                    device=d),
                                              actor_h, deterministic=deterministic, resets=first)
        prev_a = F.one_hot(actions, self.wm_cfg.n_actions).to(h.dtype)
        return actions.cpu().numpy(), (h, z, prev_a, actor_h)


class ConfiguredActing(PolicyActing, FeatureActing):
    """Mixin: acts as `PolicyActing` or `FeatureActing` according to `self.policy_input` ("obs"/"features")."""

    policy_input: str

    @property
    def _acting(self) -> type:
        return FeatureActing if self.policy_input == "features" else PolicyActing

    def init_hidden(self, batch: int) -> torch.Tensor | FeatureHidden:
        return self._acting.init_hidden(self, batch)

    def act(self, obs: np.ndarray, avail: np.ndarray, state: np.ndarray, hidden: Any, reset: np.ndarray,
            deterministic: bool) -> tuple[np.ndarray, Any]:
        return self._acting.act(self, obs, avail, state, hidden, reset, deterministic)
