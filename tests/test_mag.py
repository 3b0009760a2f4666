"""MAG as published (baselines/mag): the model-error predictor fits per-step model losses, the MPC step keeps
the candidate with the least summed predicted error, the candidates are genuine prior samples, and the
objective switch (published / surrogate) changes what a training iteration does."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

import baselines.mag.mpc as mpc
from baselines.mag.config import MAGConfig, MPCConfig, PredictorConfig
from baselines.mag.error_predictor import (ErrorPredictor, model_error_per_step, predictor_loss,
                                           prior_features)
from gawm.collector import Collector
from gawm.config import ConfigError, from_dict
from tests.conftest import fake_method, real_method, smoke_config
from tests.test_world_model import make_batch

N, O, A = 3, 9, 5


def _mpc_cfg(**kw) -> MPCConfig:
    base = dict(n_trajs=4, horizon=1, discount=False, gamma=0.9, deterministic_policy=False, epsilon=0.0,
                select="per_start")
    return MPCConfig(**{**base, **kw})


class GroupZeroClass(nn.Module):
    """Hand-made predictor: an agent's 'error' is the class index of its first latent group, so the best
    candidate is known from the candidates themselves."""

    def __init__(self, deter: int, classes: int):
        super().__init__()
        self.deter, self.classes = deter, classes

    def forward(self, feat: torch.Tensor) -> torch.Tensor:  # (..., N, H+Z) -> (..., N)
        return feat[..., self.deter:self.deter + self.classes].argmax(-1).float()


def _uniform_act(feat: torch.Tensor, avail: torch.Tensor, deterministic: bool) -> torch.Tensor:
    return avail.float().reshape(-1, avail.shape[-1]).multinomial(1).reshape(avail.shape[:-1])


def _record_first_sample(monkeypatch) -> list[torch.Tensor]:
    """Make mpc's prior sampler also record what it returns (its first call in a step: the candidates)."""
    seen: list[torch.Tensor] = []
    real = mpc.sample_straight_through

    def recorder(logits: torch.Tensor) -> torch.Tensor:
        out = real(logits)
        seen.append(out.detach().clone())
        return out

    monkeypatch.setattr(mpc, "sample_straight_through", recorder)
    return seen


@pytest.mark.parametrize("select", ["per_start", "batch"])
def test_mpc_step_keeps_the_candidate_with_least_predicted_error(monkeypatch, select):
    torch.manual_seed(0)
    m = fake_method("mag", N, O, A)
    wm, c = m.world_model, m.wm_cfg
    B = 16
    h, z = torch.randn(B, N, c.deter_dim), mpc.sample_straight_through(torch.randn(B, N, c.stoch_groups,
                                                                                  c.stoch_classes).log_softmax(-1))
    a = torch.nn.functional.one_hot(torch.randint(0, A, (B, N)), A).float()
    seen = _record_first_sample(monkeypatch)
    step = mpc.mpc_transition(wm, GroupZeroClass(c.deter_dim, c.stoch_classes), _uniform_act,
                              _mpc_cfg(n_trajs=6, select=select))
    with torch.no_grad():
        h1, z1 = step(h, z, a)
    cands = seen[0]  # (K, B, N, Z)
    errors = cands[..., :c.stoch_classes].argmax(-1).float().mean(-1)  # (K, B), the agents' mean
    want = errors.argmin(0) if select == "per_start" else errors.sum(1).argmin().expand(B)
    assert torch.equal(z1, cands[want, torch.arange(B)])
    assert torch.allclose(h1, wm.step_deter(h, z, a))  # h is deterministic: only z is chosen
    assert len(set(want.tolist())) == 1 if select == "batch" else errors.min(0).values.lt(errors[0]).any()


def test_candidate_errors_sum_over_the_horizon_with_optional_discount():
    m = fake_method("mag", N, O, A)
    wm, c = m.world_model, m.wm_cfg
    K, B = 3, 5
    h, z = torch.randn(K, B, N, c.deter_dim), torch.zeros(K, B, N, c.stoch_dim)

    class Const(nn.Module):
        def forward(self, feat):
            return torch.full(feat.shape[:-1], 2.0)

    plain = mpc.candidate_errors(wm, Const(), _uniform_act, h, z, _mpc_cfg(horizon=4))
    disc = mpc.candidate_errors(wm, Const(), _uniform_act, h, z, _mpc_cfg(horizon=4, discount=True, gamma=0.5))
    assert plain.shape == (K, B) and torch.allclose(plain, torch.full((K, B), 8.0))
    assert torch.allclose(disc, torch.full((K, B), 2.0 * (1 + 0.5 + 0.25 + 0.125)))
    assert torch.equal(mpc.choose(torch.tensor([[1.0, 5.0], [2.0, 0.0]]), "per_start"), torch.tensor([0, 1]))
    assert torch.equal(mpc.choose(torch.tensor([[1.0, 5.0], [2.0, 0.0]]), "batch"), torch.tensor([1, 1]))


def test_candidates_are_independent_samples_of_the_prior(monkeypatch):
    torch.manual_seed(1)
    m = fake_method("mag", N, O, A)
    wm, c = m.world_model, m.wm_cfg
    B, K = 2, 4000
    h, z = torch.randn(B, N, c.deter_dim), torch.zeros(B, N, c.stoch_dim)
    a = torch.nn.functional.one_hot(torch.zeros(B, N, dtype=torch.long), A).float()
    seen = _record_first_sample(monkeypatch)
    with torch.no_grad():
        mpc.mpc_transition(wm, GroupZeroClass(c.deter_dim, c.stoch_classes), _uniform_act,
                           _mpc_cfg(n_trajs=K))(h, z, a)
        probs = wm.prior_head(wm.step_deter(h, z, a)).exp()  # (B, N, G, C)
    cands = seen[0].view(K, B, N, c.stoch_groups, c.stoch_classes)
    assert torch.equal(cands.sum(-1), torch.ones(K, B, N, c.stoch_groups))  # one-hot per group
    assert not torch.equal(cands[0], cands[1])  # they differ
    torch.testing.assert_close(cands.mean(0), probs, atol=0.04, rtol=0)  # and have the prior's distribution


def test_error_target_is_the_world_model_loss_split_by_step_and_agent():
    torch.manual_seed(2)
    m = fake_method("mag", N, O, A)
    batch = make_batch(4, 6, N, O, A)
    with torch.no_grad():
        post = m.world_model.observe(batch)
        target = model_error_per_step(m.world_model, batch, post)
        total, _ = m.world_model.loss_from_posterior(batch, post)
    assert target.shape == (4, 6, N)
    torch.testing.assert_close(target.mean(), total, rtol=1e-5, atol=1e-5)
    with torch.no_grad():  # MAMBA's action-information term joins the target per step (MAG's loss has it too)
        extra = m.model_loss_per_step(batch, post)
        torch.testing.assert_close(model_error_per_step(m.world_model, batch, post, extra), target + extra)
    assert prior_features(post).shape == (4, 6, N, m.wm_cfg.deter_dim + m.wm_cfg.stoch_dim)


def test_error_predictor_fits_the_per_step_losses_of_a_fixed_batch():
    torch.manual_seed(3)
    m = fake_method("mag", N, O, A)
    batch = make_batch(6, 8, N, O, A, seed=4)
    with torch.no_grad():
        post = m.world_model.observe(batch)
        target, feat = model_error_per_step(m.world_model, batch, post), prior_features(post)
    assert target.std() > 0.1 * target.mean().abs()  # per-step errors differ: there is something to fit
    pred = ErrorPredictor(feat.shape[-1], PredictorConfig(hidden=128, layers=2, lr=1e-2, epochs=1, batch=1))
    opt = torch.optim.Adam(pred.parameters(), lr=1e-2)
    mean_only = torch.nn.functional.smooth_l1_loss(torch.full_like(target, target.mean().item()), target)
    for _ in range(600):
        loss = predictor_loss(pred, feat, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    # a tenth of what the best constant achieves (a few rows share features but not targets: no exact fit)
    assert predictor_loss(pred, feat, target).item() < 0.1 * mean_only.item()


def test_published_iteration_fits_the_predictor_and_selects_transitions():
    m, env = real_method("mag", seed=2)
    assert m.mag_cfg.objective == "published"
    Collector(env, m).run(m, 300, m.observe_episode)
    before = copy.deepcopy(m.error_predictor.state_dict())
    metrics = m.update(np.random.default_rng(0))
    for k in m.metric_names:
        assert np.isfinite(metrics[k]), k
    assert "multi_step_loss" not in metrics
    assert any(not torch.equal(before[k], v) for k, v in m.error_predictor.state_dict().items())
    assert metrics["mpc_error"] <= metrics["mpc_error_random"] + 1e-6  # `batch` select: never worse than one
    clone, _ = real_method("mag", seed=9)
    clone.load_state_dict(m.state_dict())
    assert all(torch.equal(v, clone.error_predictor.state_dict()[k]) for k, v in m.error_predictor.state_dict().items())


def test_published_iteration_with_several_policy_epochs_fits_the_predictor_once(monkeypatch):
    """MAG's published schedule (E_pi 4, imagining afresh each epoch) fits the predictor in the first
    imagination of an iteration only; the iteration's metrics still carry its loss (the smoke config has
    E_pi 1, which once hid a KeyError here that stopped every published-config MAG run at its first update)."""
    cfg = smoke_config("mag")
    cfg["imagination"].update(policy_epochs=3, schedule="per_epoch")
    m, env = real_method("mag", seed=4, cfg=cfg)
    Collector(env, m).run(m, 300, m.observe_episode)
    fits = []
    real_fit = m._fit_predictor
    monkeypatch.setattr(m, "_fit_predictor", lambda rng: fits.append(1) or real_fit(rng))
    metrics = m.update(np.random.default_rng(0))
    assert len(fits) == 1
    for k in m.metric_names:
        assert np.isfinite(metrics[k]), k


def test_surrogate_objective_is_still_selectable():
    cfg = smoke_config("mag")
    cfg["mag"]["objective"] = "surrogate"
    m, env = real_method("mag", seed=3, cfg=cfg)
    Collector(env, m).run(m, 300, m.observe_episode)
    metrics = m.update(np.random.default_rng(0))
    assert "multi_step_loss" in m.metric_names and np.isfinite(metrics["multi_step_loss"])
    assert "mpc_error" not in metrics and "predictor_loss" not in metrics


@pytest.mark.parametrize("path,value", [(("objective",), "rl"), (("mpc", "select"), "each"),
                                        (("mpc", "n_trajs"), 0), (("predictor", "lr"), 0.0)])
def test_bad_mag_block_is_rejected(path, value):
    block = copy.deepcopy(smoke_config("mag")["mag"])
    d = block
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value
    with pytest.raises(ConfigError):
        from_dict(MAGConfig, block, "mag")


def test_cpu_overlay_shrinks_mamba_and_mag_alike_and_keeps_the_published_objective():
    from gawm.method_config import load_method_config
    from tests.conftest import REPO
    cpu = REPO / "config" / "cpu" / "mamba_mag.yaml"
    for name in ("mamba", "mag"):
        pub, small = load_method_config(name, "3s_vs_3z"), load_method_config(name, "3s_vs_3z", cpu)
        assert pub["world_model"]["deter_dim"] == 256 and pub["imagination"]["wm_epochs"] == 60
        assert small["world_model"]["deter_dim"] == 128 and small["imagination"]["wm_epochs"] == 20
        assert small["policy"]["ppo_epochs"] == pub["policy"]["ppo_epochs"]  # only what it lists changes
    assert load_method_config("mag", "3s_vs_3z", cpu)["mag"]["objective"] == "published"
    variant = load_method_config("mag", "3s_vs_3z", REPO / "config" / "variants" / "mag_surrogate.yaml")
    assert variant.pop("mag")["objective"] == "surrogate"
    published = load_method_config("mag", "3s_vs_3z")
    assert published.pop("mag") and variant == published  # nothing else changes


def test_configs_saved_before_issue_17_still_build_their_method():
    """Old run directories (MAG = the surrogate with a flat `mag:` block, no `mamba:` block) must still
    rebuild for `gawm evaluate` / `gawm analyze`, as what they were."""
    cfg = smoke_config("mag")
    cfg["mag"] = {"rollout_k": 3, "multi_step_weight": 1.0}
    del cfg["mamba"]
    m = fake_method("mag", N, O, A, cfg=cfg)
    assert m.mag_cfg.objective == "surrogate" and m.mag_cfg.surrogate.rollout_k == 3
    assert m.mamba_cfg.action_info_weight == 0.0 and m.error_predictor is None
    m.load_state_dict(fake_method("mag", N, O, A, cfg=cfg).state_dict())
    cfg["mag"]["objective"] = "published"  # a new-style block still needs everything
    with pytest.raises(ConfigError):
        fake_method("mag", N, O, A, cfg=cfg)
