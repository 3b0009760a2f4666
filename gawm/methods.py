"""The method interface every algorithm implements, the registry, and method configs from config/methods/.

A method's YAML has one block per component (`runner`, `policy`, and e.g. `world_model`) and an optional
`maps:` block of per-map overrides (deep-merged over the defaults), so every hyperparameter has exactly
one home and per-map tuning (as the baselines' public code does) stays visible.
"""

from __future__ import annotations

import copy
import importlib
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from gawm.config import ConfigError, load_yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config" / "methods"

# name -> (module, class, config file stem, overrides applied on top of that file)
REGISTRY: dict[str, tuple[str, str, str, dict]] = {
    "gawm": ("gawm.gawm_method", "GAWMMethod", "gawm", {}),
    "gawm_star": ("gawm.gawm_method", "GAWMMethod", "gawm", {"world_model": {"obs_fusion": False}}),  # GAWM*
    "mappo": ("baselines.mappo.method", "MAPPOMethod", "mappo", {}),
    "qmix": ("baselines.qmix.method", "QMIXMethod", "qmix", {}),
    "mamba": ("baselines.mamba.method", "MAMBAMethod", "mamba", {}),
    "mag": ("baselines.mag.method", "MAGMethod", "mag", {}),
}


class Method(Protocol):
    """What the shared runner (gawm.train) needs from an algorithm."""

    metric_names: tuple[str, ...]

    def init_hidden(self, batch: int) -> Any: ...
    def act(self, obs: np.ndarray, avail: np.ndarray, state: np.ndarray, hidden: Any, reset: np.ndarray,
            deterministic: bool) -> tuple[np.ndarray, Any]: ...
    def observe_episode(self, episode: dict[str, Any]) -> None: ...
    def update(self, rng: np.random.Generator) -> dict[str, float]: ...
    def state_dict(self, full: bool = True) -> dict[str, Any]: ...  # full=False: networks only
    def load_state_dict(self, sd: dict[str, Any]) -> None: ...


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        elif k not in out:
            raise ConfigError(f"per-map override sets unknown key '{k}'")
        else:
            out[k] = v
    return out


def load_method_config(method: str, map_name: str, path: Path | None = None) -> dict[str, Any]:
    """The method's YAML with its per-map overrides for `map_name` applied."""
    if method not in REGISTRY:
        raise ValueError(f"unknown method '{method}'; known methods: {', '.join(sorted(REGISTRY))}")
    _, _, stem, method_overrides = REGISTRY[method]
    path = Path(path) if path is not None else CONFIG_DIR / f"{stem}.yaml"
    data = load_yaml(path)
    overrides = data.pop("maps", None) or {}
    if map_name in overrides:
        data = _merge(data, overrides[map_name])
    return _merge(data, method_overrides)


def build_method(method: str, cfg: dict[str, Any], env_info: dict[str, int], device: torch.device, seed: int):
    if method not in REGISTRY:
        raise ValueError(f"unknown method '{method}'; known methods: {', '.join(sorted(REGISTRY))}")
    module, cls, _, _ = REGISTRY[method]
    return getattr(importlib.import_module(module), cls)(cfg, env_info, device, seed)
