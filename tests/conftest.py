"""Shared test fixtures: the smoke-size method configs, tiny methods on fake or real environments, and tiny
training runs (trained once per session and shared by every module that asks for the same one).

Tests that train end to end (a run of hundreds of real steps, a subprocess, a workflow) carry the `slow`
marker (registered in pyproject.toml): `python -m pytest -m "not slow"` is the inner loop, while plain
`python -m pytest` (CI) still runs everything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import torch

from gawm.envs import make_vec_env
from gawm.methods import build_method, load_method_config
from gawm.train import RunSpec, train

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "config" / "smoke" / "methods.yaml"  # the smoke overlay: tiny sizes on top of any method


def smoke_config(name: str, map_name: str = "3s_vs_3z") -> dict[str, Any]:
    """Method `name`'s resolved config with the smoke overlay applied."""
    return load_method_config(name, map_name, SMOKE)


def write_smoke_config(directory: Path, name: str, map_name: str = "3s_vs_3z") -> Path:
    """Method `name`'s resolved smoke config written as one standalone YAML (a full config is a valid
    `--config` overlay: every key exists in the method's own file), for tests that edit config text."""
    import yaml

    path = Path(directory) / f"{name}_smoke.yaml"
    path.write_text(yaml.safe_dump(smoke_config(name, map_name), sort_keys=False))
    return path


def fake_method(name: str, n: int, o: int, a: int, seed: int = 0, cfg: dict[str, Any] | None = None):
    """A smoke-size method for made-up sizes: n agents, obs width o, a actions (no environment needed)."""
    info = {"n_agents": n, "obs_shape": o, "n_actions": a, "state_shape": 11, "episode_limit": 50}
    return build_method(name, cfg or smoke_config(name), info, torch.device("cpu"), seed)


def real_method(name: str, seed: int = 0, n_envs: int = 2, cfg: dict[str, Any] | None = None):
    """A smoke-size method and a 3s_vs_3z vector env of `n_envs` battles it can act in."""
    env = make_vec_env("3s_vs_3z", n_envs, seed=seed)
    return build_method(name, cfg or smoke_config(name), dict(env.env_info), torch.device("cpu"), seed), env


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Callable[..., Path]:
    """`tiny_run(method, steps, map_name="3s_vs_3z", seed=1)` -> the directory of a smoke-config training run,
    trained on first request and shared by every later one (treat it as read-only, except for outputs a
    test writes next to the logs, such as evaluation.json)."""
    cache: dict[tuple, Path] = {}
    root = tmp_path_factory.mktemp("tiny_runs")

    def get(method: str, steps: int, map_name: str = "3s_vs_3z", seed: int = 1) -> Path:
        key = (method, steps, map_name, seed)
        if key not in cache:
            out = root / method / map_name / str(seed) / str(steps)
            train(RunSpec(method, map_name, seed, steps, out, device="cpu", config_path=SMOKE), progress=False)
            cache[key] = out
        return cache[key]

    return get
