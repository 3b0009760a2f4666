"""Distributions of the world model: the categorical latent (DreamerV2 style), KL balancing, and the
negative log-likelihoods of the predictors.

Latent logits everywhere have shape (..., G, C) (G groups of C classes). Heads pass their raw output through
`normalise_logits` once, which applies the optional uniform mix ("unimix", DreamerV3) and returns
log-probabilities, so sampling, entropy and KL all see the same distribution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def normalise_logits(raw: torch.Tensor, unimix: float) -> torch.Tensor:
    """Raw logits (..., G, C) -> log-probs of (1 - unimix) * softmax + unimix / C.

    The mix keeps every class probability >= unimix / C, which bounds the KL and keeps gradients alive.
    """
    if unimix <= 0.0:
        return torch.log_softmax(raw, dim=-1)
    probs = torch.softmax(raw, dim=-1)
    probs = (1.0 - unimix) * probs + unimix / raw.shape[-1]
    return torch.log(probs)


def categorical_sample(log_probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One index per row from normalised log-probs (..., C) -> (...) long, by the Gumbel-max trick.

    argmax(log p + G) with G = -log(-log U), U ~ Uniform(0, 1), is exactly a draw from p (Gumbel 1954; the
    identity `torch.multinomial` also relies on, through exponential noise). Uniform noise is cheaper
    than `torch.multinomial`'s exponential draws on CPU (benchmarks/neutral_kernels.py), and it works on any
    leading shape without a reshape. Classes with log-prob -inf are never drawn; U is kept above the
    smallest normal float so no noise term is infinite.
    """
    u = torch.rand(log_probs.shape, dtype=log_probs.dtype, device=log_probs.device, generator=generator)
    gumbel = -torch.log(-torch.log(u.clamp_(min=torch.finfo(u.dtype).tiny)))
    return (log_probs + gumbel).argmax(-1)


def sample_straight_through(logits: torch.Tensor) -> torch.Tensor:
    """One-hot sample per group with straight-through gradients: (..., G, C) -> (..., G * C).

    Forward value is the exact one-hot sample; the backward pass uses d(probs), as in DreamerV2.
    """
    probs = logits.exp()  # (..., G, C)
    idx = categorical_sample(logits.detach())  # (..., G)
    onehot = F.one_hot(idx, probs.shape[-1]).to(probs.dtype)
    st = onehot + (probs - probs.detach())  # exactly the one-hot forward (x - x == 0)
    return st.flatten(-2)


def mode_onehot(logits: torch.Tensor) -> torch.Tensor:
    """Most likely class of each group as a one-hot: (..., G, C) -> (..., G * C) (no gradient)."""
    return F.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype).flatten(-2)


def categorical_kl(p_logits: torch.Tensor, q_logits: torch.Tensor) -> torch.Tensor:
    """KL(p || q) of independent categoricals summed over groups: (..., G, C) x2 -> (...).

    Both inputs must be normalised log-probs (see `normalise_logits`).
    """
    return (p_logits.exp() * (p_logits - q_logits)).sum(dim=(-2, -1))


def categorical_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy summed over groups: (..., G, C) -> (...)."""
    return -(logits.exp() * logits).sum(dim=(-2, -1))


def balanced_kl(post_logits: torch.Tensor, prior_logits: torch.Tensor, balance: float,
                free_nats: float) -> tuple[torch.Tensor, torch.Tensor]:
    """KL balancing (DreamerV2) with free nats: returns (loss (...), kl value (...)).

    loss = balance * max(free, KL(sg(post) || prior)) + (1 - balance) * max(free, KL(post || sg(prior))):
    the prior is pulled towards the posterior faster than the posterior is regularised towards the prior.
    Free nats clip each element (DreamerV3 style), so elements already below `free_nats` give no gradient.
    """
    kl_prior = categorical_kl(post_logits.detach(), prior_logits)  # trains the prior
    kl_post = categorical_kl(post_logits, prior_logits.detach())  # trains the posterior
    loss = balance * kl_prior.clamp(min=free_nats) + (1.0 - balance) * kl_post.clamp(min=free_nats)
    return loss, kl_prior.detach()


def gaussian_nll(mean: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-log N(target; mean, I) without the constant, summed over the last dim: (..., D) -> (...).

    Unit variance makes this 0.5 * squared error, i.e. the usual MSE reconstruction of Dreamer/MAMBA.
    """
    return 0.5 * (mean - target).pow(2).sum(-1)


def bernoulli_nll(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-log Bernoulli(target; sigmoid(logits)) elementwise (binary cross-entropy), same shape as inputs."""
    return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), reduction="none")


def symlog(x: torch.Tensor) -> torch.Tensor:
    """sign(x) log(1 + |x|): compresses large rewards (e.g. a win bonus) while staying linear near 0."""
    return torch.sign(x) * torch.log1p(x.abs())


def symexp(x: torch.Tensor) -> torch.Tensor:
    """Inverse of `symlog`."""
    return torch.sign(x) * torch.expm1(x.abs())
