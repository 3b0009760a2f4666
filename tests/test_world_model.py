"""GAWM world model: shapes, the GAWM/GAWM* difference, masked imagination, learning sanity, config checks."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from gawm.config import ConfigError, from_dict
from gawm.nets import AgentFusion, AgentPool, balanced_kl, normalise_logits, sample_straight_through
from gawm.world_model import WorldModel, WorldModelConfig, predicted_avail

TINY = dict(deter_dim=16, stoch_groups=4, stoch_classes=5, unimix=0.01, hidden_dim=16, mlp_layers=1,
            embed_dim=16, fusion_dim=16, fusion_heads=2, fusion_ff_dim=32, act_fusion_layers=1,
            obs_fusion_layers=1, obs_fusion=True, act="elu", layer_norm=True, reward_loss="symlog_mse", team_heads="pool",
            kl_beta=1.0, kl_balance=0.8, free_nats=0.0, lr=3e-3, adam_eps=1e-6, grad_clip=100.0, reward_weight=1.0)


def make_cfg(n: int, o: int, a: int, **over) -> WorldModelConfig:
    return from_dict(WorldModelConfig, {**TINY, "n_agents": n, "obs_dim": o, "n_actions": a, **over})


def make_batch(B: int, T: int, n: int, o: int, a: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    act = torch.randint(0, a, (B, T, n), generator=g)
    is_first = torch.zeros(B, T, dtype=torch.bool)
    is_first[:, 0] = True
    is_first[0, T // 2] = True  # an episode boundary inside a window
    prev = F.one_hot(act, a).float()
    prev[is_first] = 0.0
    avail = torch.rand(B, T, n, a, generator=g) > 0.3
    avail[..., 0] = True
    return {"obs": torch.randn(B, T, n, o, generator=g), "prev_action": prev, "avail": avail,
            "reward": torch.rand(B, T, generator=g) * is_first.logical_not(),
            "discount": (torch.rand(B, T, generator=g) > 0.1).float(), "is_first": is_first,
            "alive": torch.ones(B, T, n, dtype=torch.bool)}


def uniform_masked_policy(obs: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    """Uniform over the predicted available actions: (B, N, O), (B, N, A) bool -> (B, N) long."""
    return torch.multinomial(avail.float().reshape(-1, avail.shape[-1]), 1).reshape(avail.shape[:-1])


@pytest.mark.parametrize("n,o,a", [(2, 17, 7), (9, 162, 15)])
@pytest.mark.parametrize("fusion", [True, False])
def test_shapes_observe_loss_imagine(n, o, a, fusion):
    torch.manual_seed(0)
    cfg = make_cfg(n, o, a, obs_fusion=fusion)
    wm = WorldModel(cfg)
    B, T, k, H, Z = 3, 5, 4, cfg.deter_dim, cfg.stoch_dim
    batch = make_batch(B, T, n, o, a)
    out = wm.observe(batch)
    assert out["h"].shape == (B, T, n, H) and out["z"].shape == (B, T, n, Z)
    assert out["post_logits"].shape == out["prior_logits"].shape == (B, T, n, cfg.stoch_groups, cfg.stoch_classes)
    zg = out["z"].reshape(B, T, n, cfg.stoch_groups, cfg.stoch_classes)
    assert torch.equal(zg.detach().round(), zg.detach())  # straight-through: forward value is exactly one-hot
    torch.testing.assert_close(zg.sum(-1), torch.ones_like(zg.sum(-1)))  # one class per group

    loss, metrics = wm.loss(batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
    for key in ("wm_loss", "obs_loss", "reward_loss", "discount_loss", "kl"):
        assert isinstance(metrics[key], float)

    h0, z0 = wm.start_states(batch)
    assert h0.shape == (B * T, n, H) and z0.shape == (B * T, n, Z)
    im = wm.imagine(h0[:4], z0[:4], uniform_masked_policy, k)
    assert im["obs"].shape == (k + 1, 4, n, o) and im["avail"].shape == (k + 1, 4, n, a)
    assert im["avail"].dtype == torch.bool and im["actions"].shape == (k, 4, n)
    assert im["actions"].dtype == torch.long
    assert im["reward"].shape == im["discount"].shape == (k, 4)
    assert im["h"].shape == (k + 1, 4, n, H) and im["z"].shape == (k + 1, 4, n, Z)
    assert ((im["discount"] >= 0) & (im["discount"] <= 1)).all()

    pred = wm.one_step_predictions(batch)
    assert pred["obs"].shape == (B, T, n, o) and pred["reward"].shape == pred["discount"].shape == (B, T)


def test_reset_at_is_first_matches_a_fresh_sequence():
    """Rows after an in-window is_first depend only on that episode: same result as starting fresh there."""
    torch.manual_seed(0)
    wm = WorldModel(make_cfg(2, 6, 4, unimix=0.0))
    batch = make_batch(2, 8, 2, 6, 4)
    full = wm.observe(batch)
    tail = wm.observe({k: v[:1, 4:] for k, v in batch.items()})  # row 0 has is_first at T//2 = 4
    # posterior samples differ by RNG, but h at the boundary row depends only on zeros
    torch.testing.assert_close(full["h"][0, 4], tail["h"][0, 0])
    torch.testing.assert_close(full["prior_logits"][0, 4], tail["prior_logits"][0, 0])


def test_obs_fusion_changes_only_the_posterior_input():
    torch.manual_seed(0)
    n, o, a = 3, 10, 5
    gawm = WorldModel(make_cfg(n, o, a, obs_fusion=True))
    star = WorldModel(make_cfg(n, o, a, obs_fusion=False))
    result = star.load_state_dict(gawm.state_dict(), strict=False)
    assert result.missing_keys == []
    assert result.unexpected_keys and all(k.startswith("obs_fusion.fuse.") for k in result.unexpected_keys)

    cfg = gawm.cfg
    h = torch.randn(4, n, cfg.deter_dim)
    z = sample_straight_through(normalise_logits(torch.randn(4, n, cfg.stoch_groups, cfg.stoch_classes), 0.0))
    act = F.one_hot(torch.randint(0, a, (4, n)), a).float()
    obs = torch.randn(4, n, o)
    torch.testing.assert_close(gawm.prior_logits(h), star.prior_logits(h))
    torch.testing.assert_close(gawm.step_deter(h, z, act), star.step_deter(h, z, act))
    for key, val in gawm.heads(h, z).items():
        torch.testing.assert_close(val, star.heads(h, z)[key])
    assert not torch.allclose(gawm.posterior_logits(h, obs), star.posterior_logits(h, obs))

    # GAWM*: agent 0's posterior ignores the other agents' observations; GAWM's does not.
    obs2 = obs.clone()
    obs2[:, 1:] += torch.randn_like(obs2[:, 1:])
    torch.testing.assert_close(star.posterior_logits(h, obs)[:, 0], star.posterior_logits(h, obs2)[:, 0])
    assert not torch.allclose(gawm.posterior_logits(h, obs)[:, 0], gawm.posterior_logits(h, obs2)[:, 0])


def test_fusion_is_permutation_equivariant_and_pool_invariant():
    torch.manual_seed(0)
    fuse, pool = AgentFusion(8, 2, 2, 16), AgentPool(8, 8, 1, "elu", True)
    x = torch.randn(3, 5, 8)
    perm = torch.tensor([3, 0, 4, 1, 2])
    torch.testing.assert_close(fuse(x)[:, perm], fuse(x[:, perm]))
    torch.testing.assert_close(pool(x), pool(x[:, perm]))


def test_imagined_actions_respect_predicted_masks():
    torch.manual_seed(1)
    n, o, a = 4, 8, 9
    wm = WorldModel(make_cfg(n, o, a))
    torch.nn.init.normal_(wm.avail_decoder[-1].bias, std=3.0)  # many actions predicted unavailable
    h0, z0 = wm.start_states(make_batch(4, 3, n, o, a))
    im = wm.imagine(h0, z0, uniform_masked_policy, horizon=6)
    chosen = torch.gather(im["avail"][:-1], -1, im["actions"][..., None]).squeeze(-1)
    assert chosen.all()
    assert im["avail"].any(-1).all()  # at least one available action for every agent and step
    assert not im["avail"].all()  # the test is not vacuous


def test_predicted_avail_falls_back_to_argmax():
    logits = torch.tensor([[-3.0, -1.0, -2.0], [1.0, -1.0, 2.0]])
    assert predicted_avail(logits).tolist() == [[False, True, False], [True, False, True]]


def test_loss_decreases_on_a_fixed_batch():
    torch.manual_seed(0)
    wm = WorldModel(make_cfg(2, 6, 4))
    opt = wm.make_optimizer()
    batch = make_batch(4, 6, 2, 6, 4, seed=3)
    first = wm.update(batch, opt)
    for _ in range(49):
        last = wm.update(batch, opt)
    assert last["wm_loss"] < 0.75 * first["wm_loss"]  # random targets: only partly learnable
    assert last["obs_loss"] < first["obs_loss"] and last["reward_loss"] < first["reward_loss"]
    assert all(torch.isfinite(p).all() for p in wm.parameters())


def test_kl_balancing_weights_the_two_gradients():
    post = torch.randn(5, 2, 3, requires_grad=True)
    prior = torch.randn(5, 2, 3, requires_grad=True)
    lp, lq = normalise_logits(post, 0.0), normalise_logits(prior, 0.0)
    loss, kl = balanced_kl(lp, lq, balance=0.8, free_nats=0.0)
    loss.sum().backward(retain_graph=True)
    g_post, g_prior = post.grad.clone(), prior.grad.clone()
    post.grad = prior.grad = None
    full = (lp.exp() * (lp - lq)).sum((-2, -1))
    torch.testing.assert_close(kl, full.detach())
    full.sum().backward()  # the unbalanced KL gives both gradients at weight 1
    torch.testing.assert_close(g_post, 0.2 * post.grad)
    torch.testing.assert_close(g_prior, 0.8 * prior.grad)
    loss_free, _ = balanced_kl(lp, lq, balance=0.8, free_nats=1e6)
    assert torch.allclose(loss_free, torch.full_like(loss_free, 1e6))


def test_config_rejects_bad_values_and_missing_keys():
    with pytest.raises(ConfigError):
        from_dict(WorldModelConfig, {k: v for k, v in TINY.items() if k != "kl_beta"})
    assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(WorldModelConfig))
    for bad in ({"kl_balance": 1.5}, {"fusion_heads": 3}, {"unimix": 1.0}, {"lr": 0.0}, {"deter_dim": 0},
                {"obs_fusion_layers": 0}):
        with pytest.raises(ValueError):
            make_cfg(2, 3, 4, **bad)
    make_cfg(2, 3, 4, obs_fusion=False, obs_fusion_layers=0)  # GAWM* needs no obs-fusion layers


@pytest.mark.parametrize("team_heads", ["pool", "per_agent"])
def test_team_heads_per_agent_predictions(team_heads):
    """Pooled heads give every agent the same team prediction (GAWM's consistency by construction); per-agent
    heads (MAMBA/MAG) let the agents disagree; the team value is always the agents' mean."""
    torch.manual_seed(0)
    n, o, a = 3, 11, 7
    wm = WorldModel(make_cfg(n, o, a, team_heads=team_heads))
    out = wm.observe(make_batch(2, 4, n, o, a))
    dec = wm.decode(out["h"], out["z"])
    assert dec["reward_agents"].shape == dec["discount_agents"].shape == (2, 4, n)
    torch.testing.assert_close(dec["reward"], dec["reward_agents"].mean(-1))
    torch.testing.assert_close(dec["discount"], dec["discount_agents"].mean(-1))
    spread = (dec["reward_agents"] - dec["reward_agents"][..., :1]).abs().amax()
    assert (spread == 0) if team_heads == "pool" else (spread > 0)
    roll = wm.imagine(out["h"][:, -1], out["z"][:, -1], uniform_masked_policy, 3)
    assert roll["reward_agents"].shape == roll["discount_agents"].shape == (3, 2, n)
    loss, _ = wm.loss(make_batch(2, 4, n, o, a))
    loss.backward()
    assert all(p.grad is not None for p in wm.reward_head.parameters())


def test_team_heads_rejects_unknown():
    with pytest.raises(ValueError, match="team_heads"):
        WorldModel(make_cfg(2, 5, 7, team_heads="vote"))
