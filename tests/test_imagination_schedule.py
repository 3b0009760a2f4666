"""Imagined termination and Algorithm 1's schedule (gawm/imagination_method.py, rl_math.gae, ppo_update):

- a predicted continuation below 1 enters GAE once, as the discount (hand-computed advantages and returns);
  a probability passed as GAE's validity mask is refused;
- the survival probability is at most a loss weight (`survival_weight`), and a weight of ones changes nothing;
- `per_epoch` imagines inside each of the E_pi epochs and draws E_sample times per epoch; `once` imagines once.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from gawm.collector import Collector
from gawm.policy import make_optimizers, ppo_update
from gawm.rl_math import gae
from tests.conftest import real_method, smoke_config
from tests.test_policy import bandit_rollout, make


def test_imagined_rollout_with_continuation_below_one_by_hand():
    """T = 2 imagined steps, predicted continuations 0.5 and 0.25, gamma 0.9, lambda 0.8, one trajectory.

    delta_0 = 1 + 0.9 * 0.5 * 1.0 - 0.5 = 0.95;   delta_1 = 2 + 0.9 * 0.25 * 2.0 - 1.0 = 1.45
    A_1 = 1.45;   A_0 = 0.95 + 0.9 * 0.8 * 0.5 * 1.45 = 1.472;   returns = A + V = [1.972, 2.45]
    (the survival probability [1, 0.5] used as GAE's mask, the old bug, gave A = [1.211, 0.725])."""
    rewards = torch.tensor([[1.0], [2.0]])  # (T, B)
    values = torch.tensor([[0.5], [1.0], [2.0]])  # (T+1, B)
    discounts = torch.tensor([[0.5], [0.25]])
    adv, ret = gae(rewards, values, discounts, gamma=0.9, lam=0.8)
    assert torch.allclose(adv, torch.tensor([[1.472], [1.45]]))
    assert torch.allclose(ret, torch.tensor([[1.972], [2.45]]))
    adv_ones, _ = gae(rewards, values, discounts, 0.9, 0.8, valid=torch.ones(2, 1))
    assert torch.equal(adv, adv_ones)
    with pytest.raises(ValueError, match="0/1 mask"):
        gae(rewards, values, discounts, 0.9, 0.8, valid=torch.tensor([[1.0], [0.5]]))


def test_a_loss_weight_of_ones_changes_nothing_and_zero_weights_freeze_the_actor():
    torch.manual_seed(0)
    cfg, pol = make(use_value_norm=False, critic_rnn=False)
    r = bandit_rollout(pol, B=4)
    pol_w = copy.deepcopy(pol)
    m0 = ppo_update(pol, make_optimizers(pol, cfg), r, cfg, generator=torch.Generator().manual_seed(1))
    m1 = ppo_update(pol_w, make_optimizers(pol_w, cfg), {**r, "weight": torch.ones(2, 4)}, cfg,
                    generator=torch.Generator().manual_seed(1))
    assert m0 == m1
    assert all(torch.equal(a, b) for a, b in zip(pol.parameters(), pol_w.parameters()))
    frozen = copy.deepcopy(pol)
    ppo_update(pol, make_optimizers(pol, cfg), {**r, "weight": torch.zeros(2, 4)}, cfg)
    assert all(torch.equal(a, b) for a, b in zip(pol.actor.parameters(), frozen.actor.parameters()))


def _filled(name: str, **imagination):
    cfg = smoke_config(name)
    cfg["imagination"].update(imagination)
    method, env = real_method(name, cfg=cfg)
    Collector(env, method).run(method, 400, method.observe_episode)
    return method


@pytest.mark.parametrize("schedule, epochs, samples, imaginations, draws",
                         [("per_epoch", 3, 2, 3, 6), ("once", 3, 2, 1, 3)])
def test_schedule_counts_imaginations_and_ppo_draws(schedule, epochs, samples, imaginations, draws):
    method = _filled("gawm", schedule=schedule, policy_epochs=epochs, sample_epochs=samples)
    calls = {"imagine": 0, "ppo": []}
    imagine, step = method._imagine, method._ppo_step

    def spy_imagine(rng):
        calls["imagine"] += 1
        return imagine(rng)

    def spy_ppo(rng, gen):
        calls["ppo"].append(len(method.pseudo))  # B_p size at each draw: it grows with each imagination
        return step(rng, gen)

    method._imagine, method._ppo_step = spy_imagine, spy_ppo
    metrics = method.update(np.random.default_rng(0))
    assert calls["imagine"] == imaginations and len(calls["ppo"]) == draws
    if schedule == "per_epoch":  # fresh rollouts enter B_p before each epoch's draws
        assert calls["ppo"][0] < calls["ppo"][samples] <= method.train_cfg.pseudo_capacity
    assert np.isfinite(metrics["imag_reward"]) and np.isfinite(metrics["policy_loss"])


@pytest.mark.parametrize("survival_weight", [False, True])
def test_imagined_rollouts_reach_ppo_with_an_all_valid_mask_and_survival_only_as_a_weight(
        survival_weight, monkeypatch):
    method = _filled("gawm", survival_weight=survival_weight)
    seen = []
    import gawm.imagination_method as im

    def spy(policy, opts, rollout, cfg, generator=None):
        seen.append(rollout)
        return ppo_update(policy, opts, rollout, cfg, generator=generator)

    monkeypatch.setattr(im, "ppo_update", spy)
    method.update(np.random.default_rng(1))
    assert seen
    for r in seen:
        assert "mask" not in r  # every imagined step is a transition; termination is the discount
        if survival_weight:
            expect = torch.cat([torch.ones_like(r["discounts"][:1]), torch.cumprod(r["discounts"], 0)[:-1]])
            assert torch.allclose(r["weight"], expect) and (r["weight"] < 1).any()
        else:
            assert "weight" not in r


def test_saved_configs_from_before_the_schedule_keys_load_as_what_they_ran():
    from gawm.method_config import upgrade_saved_run_config

    old = {"gawm": {k: v for k, v in smoke_config("gawm")["imagination"].items()
                    if k not in ("schedule", "sample_epochs", "survival_weight")}}
    new = upgrade_saved_run_config(old, "gawm")
    assert new["imagination"]["schedule"] == "once" and new["imagination"]["survival_weight"] is True
    assert new["imagination"]["actor_input"] == "obs"  # saved before the key: the method's own input


def test_checkpoints_keep_no_rebuildable_copies_and_older_ones_still_resume():
    """B_p keeps neither the critic's joint input nor its zero initial memory, B_r neither the env state nor
    prev_action; a checkpoint written before (all four stored in full) loads and trains on."""
    method = _filled("gawm")
    method.update(np.random.default_rng(0))
    sd = method.state_dict()
    data = sd["pseudo"]["data"]
    assert data["critic_in"].shape[-1] == 0 and data["critic_h0"].shape[-1] == 0
    assert sd["real"]["dims"][2] == 0 and all("prev_action" not in c for c in sd["real"]["row_chunks"])
    n, N = data["obs"].shape[0], method.wm_cfg.n_agents
    old = copy.deepcopy(sd)
    old["pseudo"]["data"]["critic_in"] = torch.zeros(n, *data["obs"].shape[1:3], N * data["obs"].shape[-1])
    old["pseudo"]["data"]["critic_h0"] = torch.zeros(n, N, method.pol_cfg.rnn_hidden)
    S = 11
    old["real"]["dims"] = (N, method.wm_cfg.obs_dim, S, method.wm_cfg.n_actions)
    for c in old["real"]["row_chunks"]:
        c["state"] = torch.randn(len(c["obs"]), S)
    resumed = _filled("gawm")
    resumed.load_state_dict(old)
    assert resumed.pseudo.sample(4, np.random.default_rng(1))["critic_h0"].shape[-1] == 0
    b1 = method.real.sample_sequences(4, 10, np.random.default_rng(2))
    b2 = resumed.real.sample_sequences(4, 10, np.random.default_rng(2))
    assert all(torch.equal(b1[k], b2[k]) for k in b1)
    assert np.isfinite(resumed.update(np.random.default_rng(3))["policy_loss"])
