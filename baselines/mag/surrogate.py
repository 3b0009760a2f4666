"""MAG's supervised surrogate (`mag.objective: surrogate`): MAMBA plus a multi-step prediction objective.

This was the project's MAG before MAG's code was read (issue 17); it is kept so the published MAG
(error_predictor.py, mpc.py) can be compared against it. The world model is trained on

    L = L_one-step (Eq. 3 of GAWM's world model, the ELBO on posterior states)
        + multi_step_weight * L_k,

where L_k rolls the model open-loop from EVERY posterior state (h_t, z_t) of a real sequence for up to k steps
with the prior, fed the REAL actions a_t .. a_{t+j-1}, and scores the predictions at step j against the real
row t + j: the same reconstruction (obs), available-action, reward and discount NLLs as the one-step loss,
averaged over all (start, j) pairs whose target row lies in the sequence and in the same episode (no
`is_first` in rows t+1 .. t+j). Gradients flow through the straight-through prior samples and into the start
states. With k = 1, L_k is the NLL of the one-step PRIOR predictions (decode(h_{t+1}, z^_{t+1}), h_{t+1}
from the posterior past), which the ELBO itself never scores (it decodes the posterior).

How this differs from MAG itself (`objective: published`): MAG treats each agent's local model as a
decision-making agent whose "actions" are its predictions, and optimises the models' multi-step rollouts (which interact through the
communication block) with a centralised, RL-style objective over the rollout's accumulated prediction error.
Its code does so by learning a predictor of each step's model error and choosing, at every imagined step,
the sampled transition whose predicted multi-step error is least. This surrogate instead minimises the
multi-step open-loop errors directly, by backpropagation through the rollout.
"""

from __future__ import annotations

import torch

from gawm.world_model import WorldModel

#: What a surrogate MAG's update reports beyond MAMBA's metrics (the one-step loss is kept beside the total).
SURROGATE_METRICS = ("one_step_loss", "multi_step_loss", "multi_step_pairs", "multi_step_obs", "multi_step_avail",
                     "multi_step_reward", "multi_step_discount")


def multi_step_loss(wm: WorldModel, batch: dict[str, torch.Tensor], post: dict[str, torch.Tensor], k: int,
                    sample: bool = True) -> tuple[torch.Tensor, dict[str, float]]:
    """L_k (see module docstring). batch: real sequences as for `WorldModel.loss` (B, T, ...); post:
    `wm.observe(batch)`. `sample=False` uses the prior's mode instead of straight-through samples (no gradient
    through z; for tests). Returns (scalar, metrics)."""
    B, T = batch["obs"].shape[:2]
    if T < 2:
        return post["h"].sum() * 0.0, {"multi_step_loss": 0.0, "multi_step_pairs": 0.0}
    zero = post["h"].new_zeros(())
    parts = {"obs": zero, "reward": zero, "discount": zero, "avail": zero}
    total, count = zero, zero
    S = T - 1  # start rows t = 0 .. T-2 (row T-1 has no future row in the sequence)
    valid = _valid_pairs(batch["is_first"].bool(), k)  # (B, k, S)
    horizon = int(valid.any(-1).any(0).sum())  # steps with any valid pair (valid shrinks with j: a prefix)
    if horizon > 0:
        rows = _target_rows(T, horizon, valid.device).clamp(max=T - 1)  # (horizon, S); beyond T-1: invalid
        actions = batch["prev_action"][:, rows].float()  # one-hot a_{t+j-1} (B, horizon, S, N, A)
        roll = wm.imagine(post["h"][:, :S].flatten(0, 1), post["z"][:, :S].flatten(0, 1), None, horizon,
                          actions=actions.transpose(0, 1).flatten(1, 2), sample=sample)  # starts (B*S, N, ...)
        for j in range(1, horizon + 1):
            r = rows[j - 1]
            pred = {"obs": roll["obs"][j], **{key: roll[key][j - 1] for key in ("avail_logits", "reward_raw",
                                                                               "discount_logit")}}
            pred = {key: v.reshape(B, S, *v.shape[1:]) for key, v in pred.items()}
            nll = wm.prediction_nll(pred, batch["obs"][:, r], batch["avail"][:, r], batch["reward"][:, r],
                                    batch["discount"][:, r])  # each (B, S, N)
            terms = {"obs": nll["obs"].mean(-1), "avail": nll["avail"].mean(-1),
                     "reward": wm.cfg.reward_weight * nll["reward"].mean(-1), "discount": nll["discount"].mean(-1)}
            w = valid[:, j - 1].to(zero.dtype)  # (B, S)
            for key, v in terms.items():
                parts[key] = parts[key] + (v * w).sum()
                total = total + (v * w).sum()
            count = count + w.sum()
    n = count.clamp(min=1.0)
    loss = total / n
    metrics = {"multi_step_loss": loss.item(), "multi_step_pairs": float(count.detach())}
    metrics.update({f"multi_step_{key}": float(v.detach() / n) for key, v in parts.items()})
    return loss, metrics


def _target_rows(T: int, k: int, device: torch.device) -> torch.Tensor:
    """Row t + j scored by step j = 1..k of the rollout from start row t = 0..T-2: (k, T-1) long."""
    return torch.arange(T - 1, device=device)[None] + torch.arange(1, k + 1, device=device)[:, None]


def _valid_pairs(is_first: torch.Tensor, k: int) -> torch.Tensor:
    """Which (start t, step j) pairs are scored: target row t + j inside the window and no episode start in
    rows t+1 .. t+j. is_first (B, T) bool, T >= 2 -> (B, k, T-1) bool, j = 1..k along dim 1."""
    T = is_first.shape[1]
    rows = _target_rows(T, k, is_first.device)  # (k, S)
    ok = (rows <= T - 1)[None] & ~is_first[:, rows.clamp(max=T - 1)]  # (B, k, S)
    return ok.to(torch.uint8).cumprod(1).bool()  # once a pair is invalid, it stays so for larger j
