"""The method interface every algorithm implements, and building a method by its registry name.

Which methods exist is gawm.registry's job; how their configs are resolved is gawm.method_config's
(`load_method_config` is re-exported here: the runner imports it from this module).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch

from gawm.collector import Episode
from gawm.method_config import load_method_config
from gawm.registry import get_spec

__all__ = ["Method", "build_method", "load_method_config", "mean_metrics"]


class Method(Protocol):
    """What the shared runner (gawm.train) needs from an algorithm."""

    metric_names: tuple[str, ...]

    def init_hidden(self, batch: int) -> Any: ...
    def act(self, obs: np.ndarray, avail: np.ndarray, state: np.ndarray, hidden: Any, reset: np.ndarray,
            deterministic: bool) -> tuple[np.ndarray, Any]: ...
    def observe_episode(self, episode: Episode) -> None: ...
    def update(self, rng: np.random.Generator) -> dict[str, float]: ...
    def snapshot(self) -> dict[str, Any]: ...  # the networks only: evaluation and analysis load these
    def state_dict(self) -> dict[str, Any]: ...  # everything to resume training (a superset of snapshot)
    def load_state_dict(self, sd: dict[str, Any]) -> None: ...


def build_method(method: str, cfg: dict[str, Any], env_info: dict[str, int], device: torch.device,
                 seed: int) -> Method:
    """Instantiate registered method `method` from its resolved config and the environment's sizes."""
    return get_spec(method).load_class()(cfg, env_info, device, seed)


def mean_metrics(records: list[dict[str, float]]) -> dict[str, float]:
    """Per-key mean of the metric dicts of several updates: what one training iteration logs when it ran
    several world-model, PPO or TD steps. Each key is averaged over the records that carry it, since not every
    step reports every metric (MAG fits its error predictor in the first imagination of an iteration only)."""
    keys = dict.fromkeys(k for m in records for k in m)  # first-seen order
    return {k: float(np.mean([m[k] for m in records if k in m])) for k in keys}
