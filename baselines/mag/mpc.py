"""MAG's model-predictive choice of imagined transitions (MPCPredict in github ZifanWu/MAG,
src/networks/dreamer/rnns.py).

At every imagined step, after the policy has picked a_j, the prior is sampled `n_trajs` times for z_{j+1}
(h_{j+1} is deterministic, so the candidates differ only in z). Each candidate is rolled `horizon - 1` more
steps with the current policy, and the error predictor's output is summed over the candidate and those
steps (optionally discounted). The candidate with the least summed predicted error becomes the next
imagined state. All candidates and start states are one batch (n_trajs * B rows); only the look-ahead
steps are a Python loop.

Selection: MAG's code sums the predicted error over the whole batch and keeps ONE candidate index for all
start states (`select: batch`); `select: per_start` picks per start state, which is what the idea implies
(each imagined trajectory keeps its most reliable continuation). With probability `epsilon` a step keeps
the first sample without selection (MAG's use_epsilon_MPC, off in its published config).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from baselines.mag.config import MPCConfig
from baselines.mag.error_predictor import ErrorPredictor
from gawm.nets import sample_straight_through
from gawm.world_model import TransitionFn, WorldModel, predicted_avail

# features [h, z] (M, N, H+Z), avail (M, N, A) bool, deterministic -> actions (M, N) long
ActFn = Callable[[torch.Tensor, torch.Tensor, bool], torch.Tensor]


@torch.no_grad()
def candidate_errors(wm: WorldModel, predictor: ErrorPredictor, act: ActFn, h: torch.Tensor, z: torch.Tensor,
                     cfg: MPCConfig) -> torch.Tensor:
    """Summed predicted error of each candidate over `cfg.horizon` steps, the candidate first.

    h (K, B, N, H) and z (K, B, N, Z): the K candidates of B start states -> (K, B), each step's error the
    agents' mean (MAG averages over agents too)."""
    K, B = h.shape[:2]
    h, z = h.flatten(0, 1), z.flatten(0, 1)  # (K*B, N, ...)
    total = h.new_zeros(K * B)
    for t in range(cfg.horizon):
        feat = torch.cat([h, z], -1)  # (K*B, N, H+Z)
        err = predictor(feat).mean(-1)  # (K*B,)
        total = total + (cfg.gamma ** t if cfg.discount else 1.0) * err
        if t == cfg.horizon - 1:
            break
        avail = predicted_avail(wm.heads(h, z)["avail_logits"])  # (K*B, N, A)
        a = F.one_hot(act(feat, avail, cfg.deterministic_policy), wm.cfg.n_actions).to(h.dtype)
        h = wm.step_deter(h, z, a)
        z = sample_straight_through(wm.prior_head(h))
    return total.view(K, B)


def choose(errors: torch.Tensor, select: str) -> torch.Tensor:
    """Index of the kept candidate per start state: errors (K, B) -> (B,) long; `batch` gives every start
    state the candidate index with the least error summed over the batch (MAG's code)."""
    if select == "batch":
        return errors.sum(1).argmin().expand(errors.shape[1])
    return errors.argmin(0)


def mpc_transition(wm: WorldModel, predictor: ErrorPredictor, act: ActFn, cfg: MPCConfig,
                   log: list[dict[str, float]] | None = None, generator: torch.Generator | None = None
                   ) -> TransitionFn:
    """A `WorldModel.imagine` transition_fn that keeps, per step, the candidate with the least summed
    predicted error. `log`, if given, gets per step the mean summed error of the kept candidates and of a
    random one (candidate 0: the candidates are exchangeable samples), as MAG logs minloss / ranloss."""

    @torch.no_grad()
    def step(h: torch.Tensor, z: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h1 = wm.step_deter(h, z, a)  # (B, N, H): the same for every candidate
        prior = wm.prior_head(h1)  # (B, N, G, C)
        K = cfg.n_trajs
        z_c = sample_straight_through(prior.expand(K, *prior.shape))  # (K, B, N, Z), K independent samples
        if cfg.epsilon > 0 and float(torch.rand((), generator=generator)) < cfg.epsilon:
            return h1, z_c[0]
        errors = candidate_errors(wm, predictor, act, h1.expand(K, *h1.shape), z_c, cfg)  # (K, B)
        idx = choose(errors, cfg.select)  # (B,)
        B = h1.shape[0]
        if log is not None:
            log.append({"mpc_error": float(errors[idx, torch.arange(B)].mean()),
                        "mpc_error_random": float(errors[0].mean())})
        return h1, z_c[idx, torch.arange(B)]

    return step


__all__ = ["ActFn", "candidate_errors", "choose", "mpc_transition"]
