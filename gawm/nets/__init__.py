"""Building blocks of the world models: MLPs, distributions, agent-axis fusion, and the RSSM cell pieces."""

from gawm.nets.distributions import (balanced_kl, bernoulli_nll, categorical_entropy, categorical_kl,
                                     categorical_sample, gaussian_nll, mode_onehot, normalise_logits,
                                     sample_straight_through, symexp, symlog)
from gawm.nets.fusion import AgentFusion, AgentPool
from gawm.nets.mlp import activation, mlp
from gawm.nets.rssm import ActFusion, LatentHead, ObsFusion, RecurrentCell

__all__ = [
    "ActFusion", "AgentFusion", "AgentPool", "LatentHead", "ObsFusion", "RecurrentCell", "activation",
    "balanced_kl", "bernoulli_nll", "categorical_entropy", "categorical_kl", "categorical_sample",
    "gaussian_nll", "mlp", "mode_onehot", "normalise_logits", "sample_straight_through", "symexp", "symlog",
]
