"""Small, policy-agnostic RL maths: GAE, MAPPO's value normaliser and masked categorical helpers.

Kept apart from the networks so the pieces that are easy to get subtly wrong (terminal handling in GAE,
-inf masking of illegal actions, debiased running statistics) can be tested by hand on tiny inputs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gawm.nets.distributions import categorical_sample

__all__ = [
    "gae",
    "ValueNorm",
    "masked_log_softmax",
    "masked_sample",
    "masked_greedy",
    "masked_entropy",
    "masked_mean",
    "huber",
]


# ----------------------------------------------------------------------------------------------- GAE


def gae(
    rewards: Tensor,
    values: Tensor,
    discounts: Tensor,
    gamma: float,
    lam: float,
    valid: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimation, time-major, with per-step continuation flags.

    rewards   (T, B, ...)   reward received after the action at t (a team reward broadcasts over agents)
    values    (T+1, B, ...) V(s_t); values[T] is the bootstrap for the last step
    discounts (T, B, ...)   continuation of the NEXT step: 0 where s_{t+1} is terminal (no bootstrap),
                            1 (or a predicted probability) otherwise. Time-limit ends keep 1 so the
                            value of the last observation is bootstrapped, as the truncation demands.
    valid     (T, B, ...)   optional 0/1 mask; where 0 the step is not a real transition (padding, the last
                            row of an episode inside a window that crosses into the next). Its advantage is
                            set to 0 and the lambda trace is cut there, so nothing leaks across episode seams.
                            Probabilities are refused: a predicted continuation belongs in `discounts` (it
                            already discounts the trace), and a survival weight in the loss, not here.
    Returns (advantages (T, B, ...), returns = advantages + values[:T]).
    Shapes of rewards/discounts/valid may have fewer trailing dims than values; they broadcast.
    """
    T = rewards.shape[0]
    if values.shape[0] != T + 1:
        raise ValueError(f"values must have T+1={T + 1} steps, got {values.shape[0]}")
    values = values.detach()
    if valid is not None and not bool(((valid == 0) | (valid == 1)).all()):
        raise ValueError("gae: `valid` must be a 0/1 mask; pass a continuation probability as `discounts` and a "
                         "survival weight to the loss instead")
    tensors = [rewards, values, discounts] + ([valid] if valid is not None else [])
    nd = max(x.dim() for x in tensors)  # align leading (time, batch) axes, pad trailing ones

    def _pad(x: Tensor) -> Tensor:
        return x.reshape(*x.shape, *([1] * (nd - x.dim())))

    shape = torch.broadcast_shapes(*(_pad(x).shape[1:] for x in tensors))

    def _expand(x: Tensor) -> Tensor:
        x = _pad(x)
        return x.to(values.dtype).expand(x.shape[0], *shape)

    r, d, v = _expand(rewards), _expand(discounts), _expand(values)
    m = _expand(valid) if valid is not None else torch.ones_like(r)
    deltas = r + gamma * d * v[1:] - v[:-1]  # (T, B, ...)
    adv = torch.zeros_like(r)
    running = torch.zeros_like(v[0])
    for t in range(T - 1, -1, -1):  # recursion over time only; vectorised over envs and agents
        running = (deltas[t] + gamma * lam * d[t] * running) * m[t]
        adv[t] = running
    return adv, adv + v[:-1]


# ------------------------------------------------------------------------------- value normalisation


class ValueNorm(nn.Module):
    """Running mean/std of value targets with exponential moving averages and bias correction.

    This is MAPPO's ValueNorm ("PopArt-lite": normalise targets, do not rescale the output layer). The
    critic predicts normalised values; `denormalize` maps them back for GAE. Statistics live in buffers so
    they travel with `state_dict`. `beta` close to 1 (MAPPO uses 0.99999) means slowly moving statistics.
    """

    def __init__(self, beta: float, shape: int | tuple[int, ...] = (), eps: float = 1e-5, min_var: float = 1e-2):
        super().__init__()
        if not 0.0 < beta < 1.0:
            raise ValueError(f"ValueNorm beta must lie in (0, 1), got {beta}")
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.beta, self.eps, self.min_var = beta, eps, min_var
        self.register_buffer("running_mean", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("running_mean_sq", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("debiasing_term", torch.zeros((), dtype=torch.float64))

    def mean_var(self) -> tuple[Tensor, Tensor]:
        """Bias-corrected mean and variance (variance floored at min_var so tiny returns do not blow up)."""
        denom = self.debiasing_term.clamp(min=self.eps)
        mean = self.running_mean / denom
        var = (self.running_mean_sq / denom - mean**2).clamp(min=self.min_var)
        return mean, var

    @torch.no_grad()
    def update(self, x: Tensor, mask: Tensor | None = None) -> None:
        """Fold a batch of targets (..., *shape) into the statistics; `mask` (broadcastable) selects entries."""
        x = x.detach().to(torch.float64)
        nd = self.running_mean.dim()
        flat = x.reshape(-1, *x.shape[x.dim() - nd:]) if nd else x.reshape(-1)
        if mask is not None:
            w = torch.broadcast_to(mask.to(torch.float64), x.shape).reshape(flat.shape)
            if float(w.sum()) == 0.0:
                return
            total = w.sum(0).clamp(min=1e-12)
            b_mean, b_sq = (flat * w).sum(0) / total, (flat**2 * w).sum(0) / total
        else:
            b_mean, b_sq = flat.mean(0), (flat**2).mean(0)
        self.running_mean.mul_(self.beta).add_(b_mean * (1.0 - self.beta))
        self.running_mean_sq.mul_(self.beta).add_(b_sq * (1.0 - self.beta))
        self.debiasing_term.mul_(self.beta).add_(1.0 - self.beta)

    def normalize(self, x: Tensor) -> Tensor:
        mean, var = self.mean_var()
        return ((x.to(torch.float64) - mean) / var.sqrt()).to(x.dtype)

    def denormalize(self, x: Tensor) -> Tensor:
        mean, var = self.mean_var()
        return (x.to(torch.float64) * var.sqrt() + mean).to(x.dtype)


# ---------------------------------------------------------------------------- masked categoricals


def _effective_mask(avail: Tensor) -> Tensor:
    """Rows with no available action (padding, dead-agent rows from a model) are left unmasked: a fully
    masked row has no distribution, and -inf everywhere would poison gradients with NaN. Such rows must be
    excluded from losses by the caller's validity mask."""
    avail = avail.bool()
    return avail | ~avail.any(-1, keepdim=True)


def masked_log_softmax(logits: Tensor, avail: Tensor) -> Tensor:
    """Log-probabilities (..., A) with exactly -inf (probability exactly 0) at unavailable actions."""
    masked = logits.masked_fill(~_effective_mask(avail), float("-inf"))
    return torch.log_softmax(masked, dim=-1)


def masked_sample(log_probs: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Sample indices (...) from masked log-probs; zero-probability actions are never drawn."""
    return categorical_sample(log_probs, generator)  # Gumbel-max: -inf entries never win


def masked_greedy(log_probs: Tensor) -> Tensor:
    """Arg-max action (...); -inf entries can only win if every entry is -inf, which _effective_mask prevents."""
    return log_probs.argmax(-1)


def masked_entropy(log_probs: Tensor) -> Tensor:
    """Entropy (...) that treats 0 * log 0 as 0 rather than NaN."""
    p = log_probs.exp()
    # replace -inf before multiplying: where() alone would still back-propagate 0 * -inf = NaN
    safe = torch.where(p > 0, log_probs, torch.zeros_like(log_probs))
    return -(p * safe).sum(-1)


# ------------------------------------------------------------------------------------ loss helpers


def masked_mean(x: Tensor, mask: Tensor | None) -> Tensor:
    """Mean of x over entries where mask is nonzero (mask broadcasts to x); plain mean without a mask."""
    if mask is None:
        return x.mean()
    w = torch.broadcast_to(mask.to(x.dtype), x.shape)
    return (x * w).sum() / w.sum().clamp(min=1.0)


def huber(err: Tensor, delta: float) -> Tensor:
    """Elementwise Huber loss, quadratic within |err| <= delta (MAPPO's value loss)."""
    a = err.abs()
    return torch.where(a <= delta, 0.5 * err**2, delta * (a - 0.5 * delta))
