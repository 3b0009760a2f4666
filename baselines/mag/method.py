"""MAG (Wu et al., AAAI 2023, "Models as Agents: Optimizing Multi-Step Predictions of Interactive Local
Models in Model-Based Multi-Agent RL") on MAMBA's world model and the shared loop.

MAG is built on MAMBA (its code is a fork of MAMBA's), so everything but what follows is MAMBAMethod's.
`mag.objective` (baselines/mag/config.py) picks what MAG adds:

- `published` (the default; github ZifanWu/MAG): the world model keeps MAMBA's one-step objective. After
  each block of world-model updates an error predictor (error_predictor.py) is fitted for `predictor.epochs`
  steps to the model's per-step, per-agent loss on real sequences, from the prior features. Imagination then
  chooses every transition by model-predictive control (mpc.py): `mpc.n_trajs` prior samples, each rolled
  `mpc.horizon` steps with the current policy, the one with the least summed predicted error kept. The
  policy thus learns from imagined trajectories along which the model's multi-step predictions are most
  reliable.
- `surrogate` (surrogate.py): this project's earlier stand-in, MAMBA plus a supervised multi-step loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from baselines.mag.config import MAGConfig, upgrade_legacy_block
from baselines.mag.error_predictor import ErrorPredictor, fit_step
from baselines.mag.mpc import mpc_transition
from baselines.mag.surrogate import SURROGATE_METRICS, multi_step_loss
from baselines.mamba.method import MAMBAMethod
from gawm.config import ConfigError, from_dict
from gawm.methods import mean_metrics
from gawm.optim import adam

__all__ = ["MAGMethod", "multi_step_loss"]


class MAGMethod(MAMBAMethod):
    # what update() reports: the published objective's (a surrogate instance sets its own in __init__)
    metric_names = MAMBAMethod.metric_names + ("predictor_loss", "mpc_error", "mpc_error_random")

    def __init__(self, cfg: dict[str, Any], env_info: dict[str, int], device: torch.device, seed: int):
        super().__init__(cfg, env_info, device, seed)
        self.mag_cfg = from_dict(MAGConfig, upgrade_legacy_block(cfg["mag"]), "mag")
        if self.mag_cfg.objective == "published" and self.pol_cfg.actor_rnn:
            raise ConfigError("policy.actor_rnn must be false for MAG's published objective: the MPC look-ahead "
                              "acts on model features alone, as MAG's feed-forward actor does")
        if not self.published:
            self.metric_names = MAMBAMethod.metric_names + SURROGATE_METRICS
        # the predictor exists whenever configured (a surrogate run keeps it untrained, so a config can switch
        # objectives and still load its checkpoints); only configs saved before issue 17 have none
        feat_dim = self.wm_cfg.deter_dim + self.wm_cfg.stoch_dim
        pc = self.mag_cfg.predictor
        self.error_predictor = ErrorPredictor(feat_dim, pc).to(device) if pc is not None else None
        self.predictor_opt = adam(self.error_predictor.parameters(), lr=pc.lr) if pc is not None else None
        self._predictor_fitted_at = -1  # wm_epoch at which the predictor was last fitted
        self._mpc_log: list[dict[str, float]] = []  # per imagined step: summed errors of kept / random candidates

    @property
    def published(self) -> bool:
        return self.mag_cfg.objective == "published"

    # ----------------------------------------------------------------------------- model objective
    def wm_objective(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """MAMBA's model loss (published: MAG changes imagination, not the model loss), or for the surrogate
        that loss + multi_step_weight * L_k on the same posterior states."""
        if self.published:
            return super().wm_objective(batch)
        sc = self.mag_cfg.surrogate
        post = self.world_model.observe(batch)
        one, metrics = self.model_loss(batch, post)
        multi, multi_metrics = multi_step_loss(self.world_model, batch, post, sc.rollout_k)
        total = one + sc.multi_step_weight * multi
        metrics.update(multi_metrics)
        metrics["one_step_loss"] = metrics["wm_loss"]
        metrics["wm_loss"] = total.item()
        return total, metrics

    # -------------------------------------------------------------------------- published objective
    def _fit_predictor(self, rng: np.random.Generator) -> dict[str, float]:
        """`predictor.epochs` steps on fresh real batches against the current world model's errors."""
        pc = self.mag_cfg.predictor
        losses = [fit_step(self.error_predictor, self.predictor_opt, self.world_model, self._sample(pc.batch, rng),
                           self.model_loss_per_step) for _ in range(pc.epochs)]
        self.error_predictor.eval()
        return {"predictor_loss": float(np.mean(losses))}

    def _imagine(self, rng: np.random.Generator) -> dict[str, float]:
        """Fit the predictor once per block of world-model updates (MAG: after the model epochs, before the
        policy epochs), then imagine as the shared loop does, through `_imagine_rollout`."""
        metrics: dict[str, float] = {}
        if self.published and self._predictor_fitted_at != self.wm_epoch:
            metrics = self._fit_predictor(rng)
            self._predictor_fitted_at = self.wm_epoch
        self._mpc_log.clear()
        metrics.update(super()._imagine(rng))
        if self._mpc_log:
            metrics.update(mean_metrics(self._mpc_log))
        return metrics

    def _imagine_rollout(self, start_h: torch.Tensor, start_z: torch.Tensor, policy_fn: Any, horizon: int
                         ) -> dict[str, torch.Tensor]:
        if not self.published:
            return super()._imagine_rollout(start_h, start_z, policy_fn, horizon)
        zero_h = self.policy.init_hidden(1).to(self.device)  # (1, N, R): the MLP actor's unused memory

        def act(feat: torch.Tensor, avail: torch.Tensor, deterministic: bool) -> torch.Tensor:
            return self.policy.act(feat, avail, zero_h.expand(feat.shape[0], -1, -1),
                                   deterministic=deterministic)[0]

        step = mpc_transition(self.world_model, self.error_predictor, act, self.mag_cfg.mpc,
                              log=self._mpc_log)
        return self.world_model.imagine(start_h, start_z, policy_fn, horizon, policy_input=self.policy_input,
                                        transition_fn=step)

    # ------------------------------------------------------------------------------------ persistence
    def snapshot(self) -> dict[str, Any]:
        """MAMBA's networks plus the error predictor (the model-error estimate belongs to the model)."""
        sd = super().snapshot()
        if self.error_predictor is not None:
            sd["error_predictor"] = self.error_predictor.state_dict()
        return sd

    def state_dict(self) -> dict[str, Any]:
        sd = {**super().state_dict(), **self.snapshot()}
        if self.error_predictor is not None:
            sd["predictor_opt"] = self.predictor_opt.state_dict()
            sd["predictor_fitted_at"] = self._predictor_fitted_at
        return sd

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        super().load_state_dict(sd)
        if "error_predictor" in sd and self.error_predictor is not None:  # absent before issue 17
            self.error_predictor.load_state_dict(sd["error_predictor"])
        if "predictor_opt" in sd and self.predictor_opt is not None:
            self.predictor_opt.load_state_dict(sd["predictor_opt"])
        self._predictor_fitted_at = int(sd.get("predictor_fitted_at", -1))
