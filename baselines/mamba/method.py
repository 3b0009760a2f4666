"""MAMBA (Egorov & Shpilman, AAMAS 2022) on the shared world-model loop (gawm.imagination_method).

What MAMBA is here (config/methods/mamba.yaml):

- World model: gawm.world_model.WorldModel with `obs_fusion: false` (each agent's posterior from its own
  (h_i, o_i)), the act-fusion Transformer over agents in the dynamics (MAMBA's communication block: the
  agents' (z_i, a_i) are mixed before each agent's GRU) and `team_heads: per_agent` (each agent predicts the
  reward and the continuation from its own (h_i, z_i); imagination uses the agents' mean). No reward smoothing.
- Actor: a parameter-shared MLP (`policy.actor_rnn: false`) on world-model FEATURES [h_i, z_i], not on
  observations (`imagination.actor_input: features`, the only input it accepts). In execution
  (gawm.acting.FeatureActing, shared) each agent's observation is filtered through the world model every step;
  because the act-fusion block mixes all agents' (z, a), execution needs the agents' latents and actions of
  the previous step: that exchange is MAMBA's communication (decentralised with communication).
- Critic: an MLP on the concatenated features of all agents (plus agent id), one value per agent.
  Simplification: MAMBA's critic is an attention network over the agents' features; ours is the joint-input
  MLP critic of gawm.policy (the same one GAWM uses on joint reconstructed observations).
- World-model loss: Eq. (3) plus MAMBA's action-information term (`mamba.action_info_weight`,
  baselines/mamba/action_info.py): the decoder's hidden features must recover the action that led to the row.
- Training: the shared loop (gawm.imagination_method.ImaginationMethod): E_M world-model updates on real
  sequences, imagination of `horizon` steps from posterior states of fresh real sequences with the actor on
  imagined features, then PPO (gawm.policy.ppo_update: GAE, value normalisation, Huber value loss) on the
  imagined rollouts, each step weighted by the predicted probability that the episode is still running.
  MAMBA's own learner uses lambda-returns, an MSE value loss and entropy annealing; see docs/methods.md,
  "MAMBA and MAG".
"""

from __future__ import annotations

from typing import Any

import torch

from baselines.mamba.action_info import LEGACY_BLOCK, ActionInfoHead, MAMBAConfig, action_info_nll
from gawm.acting import FeatureActing
from gawm.config import ConfigError, from_dict
from gawm.imagination_method import ImaginationMethod


class MAMBAMethod(FeatureActing, ImaginationMethod):
    metric_names = ImaginationMethod.metric_names + ("action_info_loss",)
    actor_inputs = ("features",)  # the actor reads [h_i, z_i], in imagination and (gawm.acting) at execution

    def __init__(self, cfg: dict[str, Any], env_info: dict[str, int], device: torch.device, seed: int):
        super().__init__(cfg, env_info, device, seed)
        if self.wm_cfg.obs_fusion:
            raise ConfigError(f"world_model.obs_fusion must be false for {type(self).__name__}: MAMBA's posterior "
                              "reads each agent's own observation")
        self.mamba_cfg = from_dict(MAMBAConfig, cfg.get("mamba", LEGACY_BLOCK), "mamba")
        self.action_info = ActionInfoHead(self.wm_cfg.hidden_dim, self.wm_cfg.n_actions).to(device)
        # trained with the world model, by its optimizer (MAMBA's q heads are part of its model)
        self.wm_opt.add_param_group({"params": list(self.action_info.parameters())})

    # ------------------------------------------------------------------------------- world model
    def model_loss(self, batch: dict[str, torch.Tensor], post: dict[str, torch.Tensor]
                   ) -> tuple[torch.Tensor, dict[str, float]]:
        """MAMBA's model loss on `post = world_model.observe(batch)`: Eq. (3) + the action-information term."""
        total, metrics = self.world_model.loss_from_posterior(batch, post)
        w = self.mamba_cfg.action_info_weight
        if w > 0:
            ce, mask = action_info_nll(self.world_model, self.action_info, batch, post)
            info = ce.sum() / mask.sum().clamp(min=1.0)
            total = total + w * info
            metrics["action_info_loss"] = info.item()
            metrics["wm_loss"] = total.item()
        return total, metrics

    def model_loss_per_step(self, batch: dict[str, torch.Tensor], post: dict[str, torch.Tensor]
                            ) -> torch.Tensor | None:
        """The action-information term per row and agent (B, T, N) weighted, or None when off (MAG's error
        predictor adds it to Eq. (3)'s per-step terms)."""
        if self.mamba_cfg.action_info_weight <= 0:
            return None
        return self.mamba_cfg.action_info_weight * action_info_nll(self.world_model, self.action_info, batch, post)[0]

    def wm_objective(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        return self.model_loss(batch, self.world_model.observe(batch))

    def _wm_update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        return self.world_model.update(batch, self.wm_opt, loss_fn=self.wm_objective,
                                       precision=self.train_cfg.wm_precision)

    # ------------------------------------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "action_info": self.action_info.state_dict()}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        super().load_state_dict(sd)
        if "action_info" in sd:  # absent in checkpoints from before the term existed
            self.action_info.load_state_dict(sd["action_info"])
