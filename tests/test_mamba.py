"""MAMBA and MAG: feature shapes, acting on world-model features (masks, reset, determinism), MAG's
multi-step loss, checkpoint round trips, and the GCI/GPE analysis on a tiny MAMBA run."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from baselines.mag.method import multi_step_loss
from gawm.collector import Collector
from baselines.mamba.method import MAMBAMethod
from gawm.config import ConfigError
from gawm.consistency import analyze_run, load_analysis_config
from gawm.gawm_method import GAWMMethod
from gawm.imagination_method import ImaginationMethod
from gawm.methods import build_method
from gawm.nets import bernoulli_nll, gaussian_nll, mode_onehot, symlog
from tests.conftest import fake_method as _fake
from tests.conftest import real_method as _real
from tests.conftest import smoke_config
from tests.test_world_model import make_batch


def test_baselines_share_the_neutral_loop_not_gawms_class():
    from baselines.mag.method import MAGMethod
    for cls in (MAMBAMethod, MAGMethod, GAWMMethod):
        assert issubclass(cls, ImaginationMethod)
    assert not issubclass(MAMBAMethod, GAWMMethod) and not issubclass(MAGMethod, GAWMMethod)


def _inputs(B: int, n: int, o: int, a: int, seed: int):
    g = np.random.default_rng(seed)
    avail = g.random((B, n, a)) > 0.6
    avail[np.arange(B)[:, None], np.arange(n)[None], g.integers(0, a, (B, n))] = True  # >= 1 legal action
    return g.standard_normal((B, n, o)).astype(np.float32), avail


@pytest.mark.parametrize("name", ["mamba", "mag"])
@pytest.mark.parametrize("n,o,a", [(2, 17, 7), (9, 50, 15)])
def test_feature_shapes_and_legal_actions(name, n, o, a):
    m = _fake(name, n, o, a)
    c = m.wm_cfg
    F_ = c.deter_dim + c.stoch_dim
    assert m.policy.obs_dim == F_ and m.policy.critic_dim == n * F_ and not m.pol_cfg.actor_rnn
    assert not c.obs_fusion and c.team_heads == "per_agent"
    B = 3
    hidden = m.init_hidden(B)
    assert [tuple(x.shape) for x in hidden] == [(B, n, c.deter_dim), (B, n, c.stoch_dim), (B, n, a),
                                                (B, n, m.pol_cfg.rnn_hidden)]
    reset = np.ones(B, bool)
    for t in range(4):
        for det in (False, True):
            obs, avail = _inputs(B, n, o, a, seed=10 * t + det)
            act, new = m.act(obs, avail, None, hidden, reset, deterministic=det)
            assert act.shape == (B, n) and act.dtype == np.int64
            assert avail[np.arange(B)[:, None], np.arange(n)[None], act].all(), "an unavailable action was chosen"
            assert torch.equal(new[2], torch.nn.functional.one_hot(torch.as_tensor(act), a).float())
        hidden, reset = new, np.zeros(B, bool)

    batch = make_batch(2, 5, n, o, a)
    post = m.world_model.observe(batch)
    assert post["h"].shape == (2, 5, n, c.deter_dim) and post["z"].shape == (2, 5, n, c.stoch_dim)
    seen = []

    def policy_fn(feat, avail):
        seen.append(feat.shape)
        return m.policy.act(feat, avail, m.policy.init_hidden(feat.shape[0]))[0]

    roll = m.world_model.imagine(post["h"][:, 0], post["z"][:, 0], policy_fn, 3, policy_input="features")
    assert seen == [torch.Size([2, n, F_])] * 3
    assert roll["reward_agents"].shape == (3, 2, n)


def test_reset_zeroes_the_hidden_state_and_deterministic_acting_is_deterministic():
    m = _fake("mamba", 3, 12, 6)
    B = 2
    hidden, reset = m.init_hidden(B), np.ones(B, bool)
    for t in range(5):  # some history, sampled
        obs, avail = _inputs(B, 3, 12, 6, seed=t)
        _, hidden = m.act(obs, avail, None, hidden, reset, deterministic=False)
        reset = np.zeros(B, bool)
    assert all(x.abs().sum() > 0 for x in hidden[:3])
    obs, avail = _inputs(B, 3, 12, 6, seed=99)
    after_reset = m.act(obs, avail, None, hidden, np.ones(B, bool), deterministic=True)
    fresh = m.act(obs, avail, None, m.init_hidden(B), np.ones(B, bool), deterministic=True)
    assert np.array_equal(after_reset[0], fresh[0])
    assert all(torch.equal(x, y) for x, y in zip(after_reset[1], fresh[1]))
    # reset of env 0 only: env 1 keeps its history
    part = m.act(obs, avail, None, hidden, np.array([True, False]), deterministic=True)
    assert torch.equal(part[1][0][0], fresh[1][0][0]) and not torch.equal(part[1][0][1], fresh[1][0][1])
    # deterministic: same inputs, same outputs, whatever the global RNG
    torch.manual_seed(1)
    a1, h1 = m.act(obs, avail, None, hidden, np.zeros(B, bool), deterministic=True)
    torch.manual_seed(2)
    a2, h2 = m.act(obs, avail, None, hidden, np.zeros(B, bool), deterministic=True)
    assert np.array_equal(a1, a2) and all(torch.equal(x, y) for x, y in zip(h1, h2))


def test_mamba_rejects_obs_fusion():
    cfg = smoke_config("mamba")
    cfg["world_model"].update(obs_fusion=True, obs_fusion_layers=1)
    info = {"n_agents": 2, "obs_shape": 5, "n_actions": 4, "state_shape": 3, "episode_limit": 10}
    with pytest.raises(ConfigError, match="obs_fusion"):
        build_method("mamba", cfg, info, torch.device("cpu"), 0)


def test_multi_step_loss_with_k1_is_the_one_step_prior_nll():
    torch.manual_seed(0)
    m = _fake("mag", 3, 9, 5)
    wm, c = m.world_model, m.wm_cfg
    batch = make_batch(3, 6, 3, 9, 5)
    post = wm.observe(batch)
    got, _ = multi_step_loss(wm, batch, post, k=1, sample=False)
    # law: h_{t+1} of the k=1 rollout is the filter's h_{t+1}; z is the prior's mode there
    h, z = post["h"][:, 1:], mode_onehot(post["prior_logits"][:, 1:])
    pred = wm.heads(h, z)
    tgt = {k: v[:, 1:] for k, v in batch.items()}
    per_row = (gaussian_nll(pred["obs"], tgt["obs"]).mean(-1)
               + bernoulli_nll(pred["avail_logits"], tgt["avail"]).sum(-1).mean(-1)
               + c.reward_weight * (0.5 * (pred["reward_raw"] - symlog(tgt["reward"])[..., None]).pow(2)).mean(-1)
               + bernoulli_nll(pred["discount_logit"], tgt["discount"][..., None].expand(-1, -1, 3)).mean(-1))
    valid = ~tgt["is_first"]
    want = per_row[valid].mean()
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    # the training version (k=3, straight-through samples) is finite, positive and trains the whole model
    loss, metrics = multi_step_loss(wm, batch, post, k=3)
    assert torch.isfinite(loss) and loss.item() > 0 and metrics["multi_step_pairs"] > valid.sum()
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in wm.parameters() if p.grad is not None)
    assert wm.act_fusion.embed[0].weight.grad.abs().sum() > 0


def test_mag_objective_with_zero_weight_is_the_one_step_loss():
    m = _fake("mag", 2, 7, 4)
    batch = make_batch(2, 5, 2, 7, 4)
    m.mag_cfg.objective = "surrogate"
    m.mag_cfg.surrogate.multi_step_weight = 0.0
    torch.manual_seed(3)
    total, metrics = m.wm_objective(batch)
    torch.manual_seed(3)
    one, _ = m.model_loss(batch, m.world_model.observe(batch))  # MAMBA's loss: Eq. (3) + action information
    assert total.item() == one.item() and metrics["multi_step_loss"] > 0


def test_action_information_term_is_masked_trained_and_weighted():
    from baselines.mamba.action_info import action_info_nll
    m = _fake("mamba", 2, 7, 4)
    batch = make_batch(3, 6, 2, 7, 4)
    post = m.world_model.observe(batch)
    ce, mask = action_info_nll(m.world_model, m.action_info, batch, post)
    assert ce.shape == mask.shape == (3, 6, 2)
    assert mask[:, 0].sum() == 0 and mask[0, 3].sum() == 0 and (ce * (1 - mask)).abs().sum() == 0  # episode starts
    torch.manual_seed(4)
    total, metrics = m.wm_objective(batch)
    torch.manual_seed(4)
    eq3, _ = m.world_model.loss(batch)
    torch.testing.assert_close(total - eq3, torch.tensor(metrics["action_info_loss"]) * m.mamba_cfg.action_info_weight)
    assert any(p is q for g in m.wm_opt.param_groups for p in g["params"] for q in m.action_info.parameters())
    total.backward()
    assert m.action_info.q_action.weight.grad.abs().sum() > 0 and m.world_model.obs_decoder[0].weight.grad is not None
    m.mamba_cfg.action_info_weight = 0.0
    assert m.model_loss_per_step(batch, post) is None


@pytest.mark.parametrize("name", ["mamba", "mag"])
def test_update_and_checkpoint_round_trip_same_action_and_loss(name):
    method, env = _real(name, seed=1)
    Collector(env, method).run(method, 300, method.observe_episode)
    metrics = method.update(np.random.default_rng(0))
    for k in method.metric_names:
        assert np.isfinite(metrics[k]), k
    roll = method.pseudo.sample(len(method.pseudo), np.random.default_rng(0))
    taken = roll["avail"][:-1].gather(-1, roll["actions"].unsqueeze(-1)).squeeze(-1)
    assert taken.all(), "an imagined action was not available under the predicted mask"
    clone, _ = _real(name, seed=99)
    clone.load_state_dict(method.state_dict())
    obs, avail, state = env.get_obs(), env.get_avail_actions(), env.get_state()
    reset = np.ones(env.n_envs, dtype=bool)
    a1, h1 = method.act(obs, avail, state, method.init_hidden(env.n_envs), reset, deterministic=True)
    a2, h2 = clone.act(obs, avail, state, clone.init_hidden(env.n_envs), reset, deterministic=True)
    assert np.array_equal(a1, a2) and all(torch.equal(x, y) for x, y in zip(h1, h2))
    batch = method._sample(4, np.random.default_rng(5))
    torch.manual_seed(0)
    l1, _ = method.wm_objective(batch)
    torch.manual_seed(0)
    l2, _ = clone.wm_objective(batch)
    assert l1.item() == l2.item()
    assert len(clone.real) == len(method.real) and len(clone.pseudo) == len(method.pseudo)


@pytest.mark.slow
def test_gci_gpe_analysis_runs_on_a_tiny_mamba_run(tiny_run):
    run = tiny_run("mamba", 400)
    cfg = load_analysis_config(pairs=6, horizon=3, burn_in=2, episodes_per_checkpoint=2, n_envs=2)
    res = analyze_run(run, cfg, progress=False)
    assert res["method"] == "mamba" and res["pairs"] == 6
    for k in ("gci", "gpe", "gci_state", "gci_reward", "gci_discount", "gpe_obs"):
        assert np.isfinite(res[f"{k}_mean"]) and res[f"{k}_mean"] >= 0, k
    assert res["policy_agreement"].startswith("n/a")  # MAMBA's actor reads features in both phases


def test_a_recurrent_actor_is_burnt_in_on_posterior_features():
    cfg = smoke_config("mamba")
    cfg["policy"]["actor_rnn"] = True
    m, env = _real("mamba", cfg=cfg)
    Collector(env, m).run(m, 300, m.observe_episode)
    metrics = m.update(np.random.default_rng(0))
    assert np.isfinite(metrics["policy_loss"])
    h0 = m.pseudo.sample(len(m.pseudo), np.random.default_rng(0))["actor_h0"]
    assert h0.abs().sum() > 0  # memory from the real past, not zeros
