"""GAWM / GAWM* inside the runner: Algorithm 1 iterations, legal imagined actions, checkpoint round trip."""

from __future__ import annotations

import numpy as np
import torch

from gawm.collector import Collector
from tests.conftest import real_method, smoke_config


def _method(name: str, seed: int = 0):
    cfg = smoke_config(name)
    return *real_method(name, seed, cfg=cfg), cfg


def _fill(method, env, steps: int = 400):
    Collector(env, method).run(method, steps, method.observe_episode)


def test_gawm_star_is_gawm_without_obs_fusion():
    gawm, _, cfg = _method("gawm")
    star, _, cfg_star = _method("gawm_star")
    assert cfg["world_model"]["obs_fusion"] is True and cfg_star["world_model"]["obs_fusion"] is False
    assert {k: v for k, v in cfg.items() if k != "world_model"} == {k: v for k, v in cfg_star.items()
                                                                      if k != "world_model"}
    extra = set(gawm.world_model.state_dict()) - set(star.world_model.state_dict())
    assert extra and all(k.startswith("obs_fusion.fuse") for k in extra)


def test_update_runs_algorithm_1_and_imagined_actions_are_legal():
    method, env, _ = _method("gawm")
    _fill(method, env)
    rng = np.random.default_rng(0)
    metrics = method.update(rng)
    for k in ("wm_loss", "kl", "policy_loss", "value_loss", "imag_reward"):
        assert np.isfinite(metrics[k]), k
    assert method.wm_epoch == method.train_cfg.wm_epochs
    roll = method.pseudo.sample(len(method.pseudo), rng)
    taken = roll["avail"][:-1].gather(-1, roll["actions"].unsqueeze(-1)).squeeze(-1)  # (k, B, N)
    assert taken.all(), "an imagined action was not available under the predicted mask"
    assert roll["obs"].shape[0] == method.train_cfg.horizon + 1


def test_checkpoint_round_trip_same_action_and_loss():
    method, env, _ = _method("gawm", seed=1)
    _fill(method, env)
    method.update(np.random.default_rng(0))
    clone, _, _ = _method("gawm", seed=99)  # different init, then load
    clone.load_state_dict(method.state_dict())
    obs, avail, state = env.get_obs(), env.get_avail_actions(), env.get_state()
    reset = np.ones(env.n_envs, dtype=bool)
    a1, h1 = method.act(obs, avail, state, method.init_hidden(env.n_envs), reset, deterministic=True)
    a2, h2 = clone.act(obs, avail, state, clone.init_hidden(env.n_envs), reset, deterministic=True)
    assert np.array_equal(a1, a2) and torch.equal(h1, h2)
    batch = method._sample(4, np.random.default_rng(5))
    torch.manual_seed(0)
    l1, _ = method.world_model.loss(batch)
    torch.manual_seed(0)
    l2, _ = clone.world_model.loss(batch)
    assert l1.item() == l2.item()
    assert len(clone.real) == len(method.real) and len(clone.pseudo) == len(method.pseudo)


def test_actor_input_features_is_gawm_acting_on_world_model_features_as_mamba_does():
    """The issue-16 ablation overlay (config/variants/gawm_actor_features.yaml) on GAWM: the actor reads
    [h_i, z_i] (width H+Z) in imagination and at execution, where each observation goes through the world
    model's filter (the hidden is MAMBA's 4-tuple, reset at episode starts); Algorithm 1's update still runs and
    its imagined actions stay legal. MAMBA, whose actor can read only features, refuses `obs`."""
    import pytest
    import yaml

    from gawm.config import ConfigError
    from gawm.method_config import merge
    from gawm.methods import build_method
    from tests.conftest import SMOKE

    overlay = yaml.safe_load((SMOKE.parent.parent / "variants" / "gawm_actor_features.yaml").read_text())
    cfg = merge(smoke_config("gawm"), overlay, "gawm_actor_features.yaml")
    method, env = real_method("gawm", 0, cfg=cfg)
    wm = method.wm_cfg
    assert method.policy_input == "features" and not method.pol_cfg.actor_rnn
    assert method.policy.actor.mlp[0].normalized_shape[0] == wm.deter_dim + wm.stoch_dim + wm.n_agents  # + agent id
    _fill(method, env)
    rng = np.random.default_rng(0)
    metrics = method.update(rng)
    assert np.isfinite(metrics["policy_loss"]) and np.isfinite(metrics["wm_loss"])
    roll = method.pseudo.sample(len(method.pseudo), rng)
    assert roll["obs"].shape[-1] == wm.deter_dim + wm.stoch_dim  # B_p holds features
    taken = roll["avail"][:-1].gather(-1, roll["actions"].unsqueeze(-1)).squeeze(-1)
    assert taken.all()
    obs, avail, state = env.get_obs(), env.get_avail_actions(), env.get_state()
    reset = np.ones(env.n_envs, dtype=bool)
    a, hidden = method.act(obs, avail, state, method.init_hidden(env.n_envs), reset, deterministic=True)
    assert isinstance(hidden, tuple) and len(hidden) == 4 and hidden[0].shape[-1] == wm.deter_dim
    assert avail[np.arange(env.n_envs)[:, None], np.arange(wm.n_agents)[None], a].all()
    h_ref, _ = method.world_model.filter_step(*method.init_hidden(env.n_envs)[:3],
                                              torch.as_tensor(obs, dtype=torch.float32),
                                              torch.ones(env.n_envs, dtype=torch.bool), sample=False)
    assert torch.allclose(hidden[0], h_ref)  # execution filters the real observation through the world model
    mamba_cfg = smoke_config("mamba")
    mamba_cfg["imagination"]["actor_input"] = "obs"
    with pytest.raises(ConfigError, match="actor_input"):
        build_method("mamba", mamba_cfg, dict(env.env_info), torch.device("cpu"), 0)
