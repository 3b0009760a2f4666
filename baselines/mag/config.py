"""The `mag:` block: which MAG objective runs, and the settings of each (values in config/methods/mag.yaml).

`objective: published` is MAG as its public code (github ZifanWu/MAG) trains it: an error predictor plus
model-predictive selection of imagined transitions (error_predictor.py, mpc.py). `objective: surrogate` is
this project's earlier stand-in, a supervised multi-step loss (surrogate.py), kept so the two can be compared.
Both sub-blocks are always present and validated, so switching the objective never meets a missing value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gawm.config import ConfigError


@dataclass
class SurrogateConfig:
    """`mag.surrogate`: the supervised multi-step loss (surrogate.py)."""

    rollout_k: int  # k: open-loop prior steps scored from every posterior state
    multi_step_weight: float  # weight of L_k next to the one-step loss

    def validate(self) -> None:
        if self.rollout_k < 1:
            raise ConfigError(f"mag.surrogate.rollout_k must be >= 1, got {self.rollout_k}")
        if self.multi_step_weight < 0:
            raise ConfigError(f"mag.surrogate.multi_step_weight must be >= 0, got {self.multi_step_weight}")


@dataclass
class PredictorConfig:
    """`mag.predictor`: the model-error predictor (MAG's m_r_predictor) and its own training schedule."""

    hidden: int  # width of its hidden layers
    layers: int  # hidden layers
    lr: float  # Adam learning rate
    epochs: int  # gradient steps per training iteration, each on a fresh batch of real sequences
    batch: int  # sequences per step

    def validate(self) -> None:
        for name in ("hidden", "layers", "epochs", "batch"):
            if getattr(self, name) < 1:
                raise ConfigError(f"mag.predictor.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"mag.predictor.lr must be > 0, got {self.lr}")


@dataclass
class MPCConfig:
    """`mag.mpc`: how each imagined transition is chosen among samples of the prior."""

    n_trajs: int  # candidate next states sampled per imagined step
    horizon: int  # steps over which each candidate's predicted error is summed (the candidate itself first)
    discount: bool  # weight step t's predicted error by gamma**t
    gamma: float
    deterministic_policy: bool  # the look-ahead acts greedily instead of sampling the policy
    epsilon: float  # probability that a step skips the selection and keeps one prior sample
    select: Literal["batch", "per_start"]  # one choice for the whole batch (MAG's code) or one per start state

    def validate(self) -> None:
        if self.n_trajs < 1 or self.horizon < 1:
            raise ConfigError(f"mag.mpc.n_trajs and mag.mpc.horizon must be >= 1, got {self.n_trajs}, "
                              f"{self.horizon}")
        if not 0.0 < self.gamma <= 1.0:
            raise ConfigError(f"mag.mpc.gamma must be in (0, 1], got {self.gamma}")
        if not 0.0 <= self.epsilon <= 1.0:
            raise ConfigError(f"mag.mpc.epsilon must be in [0, 1], got {self.epsilon}")
        if self.select not in ("batch", "per_start"):
            raise ConfigError(f"mag.mpc.select must be 'batch' or 'per_start', got {self.select!r}")


@dataclass
class MAGConfig:
    """The `mag:` block."""

    objective: Literal["published", "surrogate"]
    surrogate: SurrogateConfig
    predictor: PredictorConfig | None  # None only in configs saved before issue 17 (see upgrade_legacy_block)
    mpc: MPCConfig | None

    def validate(self) -> None:
        if self.objective not in ("published", "surrogate"):
            raise ConfigError(f"mag.objective must be 'published' or 'surrogate', got {self.objective!r}")
        if self.objective == "published" and (self.predictor is None or self.mpc is None):
            raise ConfigError("mag.predictor and mag.mpc are required by the published objective")


def upgrade_legacy_block(block: dict[str, Any]) -> dict[str, Any]:
    """A `mag:` block saved before issue 17 ({rollout_k, multi_step_weight}: MAG was the surrogate) -> today's
    form, so those runs' config.json still rebuild their method for `gawm evaluate` / `gawm analyze`."""
    if set(block) == {"rollout_k", "multi_step_weight"}:
        return {"objective": "surrogate", "surrogate": dict(block), "predictor": None, "mpc": None}
    return block
