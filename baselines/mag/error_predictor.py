"""MAG's model-error predictor (`m_r_predictor` in github ZifanWu/MAG, src/agent/learners/DreamerLearner.py).

It learns, from the PRIOR features [h_t, z^_t] of a step (what the model knows before seeing o_t, and all it
has in imagination), how large the world model's loss is at that step for that agent. MAG then prefers
imagined transitions whose predicted error over the next few steps is small (mpc.py): the local models act
as agents that choose reliable multi-step predictions.

The target of step t for agent i is this world model's own Eq. (3) term at that row (unweighted obs, avail and
discount NLLs, reward_weight * reward NLL, kl_beta * the balanced KL), plus the method's extra per-step terms
(MAMBA's action-information term), so without extras `model_error_per_step(...).mean()` is the world-model
loss of the batch. MAG's target is its model loss per step (reconstruction, reward, continuation, available
actions, KL, and the action-information term): the same idea on this model's terms.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from baselines.mag.config import PredictorConfig
from gawm.nets import balanced_kl, mlp, sample_straight_through
from gawm.world_model import WorldModel


class ErrorPredictor(nn.Module):
    """An MLP from one agent's features [h, z] (..., N, H+Z) to its predicted model error (..., N)."""

    def __init__(self, feat_dim: int, cfg: PredictorConfig):
        super().__init__()
        # ELU and no LayerNorm: MAG's DenseModel [mag: src/agent/learners/DreamerLearner.py]
        self.net = mlp(feat_dim, 1, cfg.hidden, cfg.layers, "elu", False)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.net(feat).squeeze(-1)


@torch.no_grad()
def model_error_per_step(wm: WorldModel, batch: dict[str, torch.Tensor], post: dict[str, torch.Tensor],
                         extra: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. (3) split by row and agent, plus `extra` (B, T, N) if given: batch of real sequences (B, T, ...),
    post = wm.observe(batch) -> (B, T, N); without extra its mean is `wm.loss_from_posterior(batch, post)`'s
    total."""
    c = wm.cfg
    nll = wm.prediction_nll(wm.heads(post["h"], post["z"]), batch["obs"], batch["avail"], batch["reward"],
                            batch["discount"])  # each (B, T, N)
    kl_loss, _ = balanced_kl(post["post_logits"], post["prior_logits"], c.kl_balance, c.free_nats)  # (B, T, N)
    total = nll["obs"] + nll["avail"] + c.reward_weight * nll["reward"] + nll["discount"] + c.kl_beta * kl_loss
    return total if extra is None else total + extra


@torch.no_grad()
def prior_features(post: dict[str, torch.Tensor]) -> torch.Tensor:
    """[h_t, z^_t] with z^_t a sample of the prior p(z | h_t) of every row: (B, T, N, H+Z), the predictor's
    input, as MAG feeds its predictor the prior state of each step."""
    return torch.cat([post["h"], sample_straight_through(post["prior_logits"])], -1)


def predictor_loss(predictor: ErrorPredictor, feat: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Smooth-L1 between predicted and actual per-step model errors: feat (..., N, F), target (..., N)."""
    return F.smooth_l1_loss(predictor(feat), target)


ExtraFn = Callable[[dict[str, torch.Tensor], dict[str, torch.Tensor]], "torch.Tensor | None"]


def fit_step(predictor: ErrorPredictor, opt: torch.optim.Optimizer, wm: WorldModel,
             batch: dict[str, torch.Tensor], extra_fn: ExtraFn | None = None) -> float:
    """One predictor update on a batch of real sequences; the world model is only read (no gradient).
    extra_fn(batch, post) -> (B, T, N) or None: the method's per-step terms beyond Eq. (3)."""
    with torch.no_grad():
        post = wm.observe(batch)
        target = model_error_per_step(wm, batch, post, None if extra_fn is None else extra_fn(batch, post))
        feat = prior_features(post)  # (B, T, N, F)
    predictor.train()
    loss = predictor_loss(predictor, feat, target)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()
