"""MAPPO policy: masking, recurrence with resets, checkpoint round trip, and a PPO update that learns."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gawm.config import ConfigError, from_dict
from gawm.policy import MAPPOPolicy, PolicyConfig, make_optimizers, ppo_update

N, O, A, S, H = 3, 4, 5, 6, 8

BASE = dict(
    actor_hidden=[16], actor_rnn=True, critic_hidden=[16], rnn_hidden=H, use_agent_id=True,
    critic_input="joint_obs",
    critic_rnn=True, lr_actor=5e-3, lr_critic=5e-3, adam_eps=1e-5, gamma=0.99, gae_lambda=0.95, clip_eps=0.2,
    value_clip_eps=0.2, entropy_coef=0.0, max_grad_norm=10.0, ppo_epochs=4, num_minibatches=2,
    huber_delta=10.0, use_value_norm=True, value_norm_beta=0.99, normalize_advantages=True,
)


def make(**over):
    cfg = from_dict(PolicyConfig, {**BASE, **over})
    return cfg, MAPPOPolicy(cfg, N, O, A, state_dim=S)


def test_config_validation():
    with pytest.raises(ValueError):
        from_dict(PolicyConfig, {**BASE, "gamma": 1.5})
    with pytest.raises(ConfigError):
        from_dict(PolicyConfig, {k: v for k, v in BASE.items() if k != "clip_eps"})
    with pytest.raises(ValueError):
        from_dict(PolicyConfig, {**BASE, "critic_input": "nope"})
    with pytest.raises(ValueError, match="actor_rnn"):
        from_dict(PolicyConfig, {**BASE, "actor_rnn": "yes"})
    with pytest.raises(ConfigError):
        from_dict(PolicyConfig, {k: v for k, v in BASE.items() if k != "actor_rnn"})


def test_mlp_actor_ignores_and_passes_its_hidden_state_through():
    torch.manual_seed(0)
    pol = MAPPOPolicy(from_dict(PolicyConfig, {**BASE, "actor_rnn": False}), N, O, A)
    assert not hasattr(pol.actor, "gru")
    obs, avail = torch.randn(2, N, O), torch.ones(2, N, A, dtype=torch.bool)
    h = torch.randn(2, N, H)
    a1, lp1, h1 = pol.act(obs, avail, h, deterministic=True)
    a2, lp2, _ = pol.act(obs, avail, torch.zeros_like(h), deterministic=True)
    assert torch.equal(h1, h) and torch.equal(a1, a2) and torch.equal(lp1, lp2)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), deterministic=st.booleans())
def test_act_respects_masks(seed, deterministic):
    torch.manual_seed(seed)
    _, pol = make()
    B = 4
    avail = torch.rand(B, N, A) < 0.4
    avail[..., 0] |= ~avail.any(-1)
    a, logp, h = pol.act(torch.randn(B, N, O), avail, pol.init_hidden(B), deterministic=deterministic)
    assert a.shape == (B, N) and logp.shape == (B, N) and h.shape == (B, N, H)
    assert avail.gather(-1, a.unsqueeze(-1)).all()
    assert torch.isfinite(logp).all()
    # a masked action's log-prob is -inf under evaluate_sequence
    illegal = (~avail).float().argmax(-1)  # an illegal index where one exists
    has_illegal = (~avail).any(-1)
    lp, ent = pol.evaluate_sequence(torch.randn(1, B, N, O), avail[None], illegal[None], pol.init_hidden(B),
                                    torch.zeros(1, B, dtype=torch.bool))
    assert torch.all(lp[0][has_illegal] == float("-inf"))
    assert torch.isfinite(ent).all()


def test_evaluate_sequence_matches_stepwise_act_with_resets():
    torch.manual_seed(0)
    _, pol = make()
    T, B = 5, 2
    obs, avail = torch.randn(T, B, N, O), torch.ones(T, B, N, A, dtype=torch.bool)
    resets = torch.zeros(T, B, dtype=torch.bool)
    resets[3, 1] = True
    h0 = torch.randn(B, N, H)
    h, acts, lps = h0, [], []
    for t in range(T):
        a, lp, h = pol.act(obs[t], avail[t], h, resets=resets[t])
        acts.append(a)
        lps.append(lp)
    lp_seq, _ = pol.evaluate_sequence(obs, avail, torch.stack(acts), h0, resets)
    torch.testing.assert_close(lp_seq, torch.stack(lps), atol=1e-5, rtol=1e-5)


def test_critic_inputs_and_values_shapes():
    for over in ({"critic_input": "joint_obs"}, {"critic_input": "state", "critic_rnn": False},
                 {"critic_input": "state_obs"}):
        _, pol = make(**over)
        obs, state = torch.randn(2, N, O), torch.randn(2, S)
        cin = pol.critic_input(obs, state)
        assert cin.shape == (2, N, pol.critic_dim)
        v, h = pol.values(cin, pol.init_hidden(2))
        assert v.shape == (2, N) and h.shape == (2, N, H)


def test_state_obs_critic_input_is_state_then_own_obs():
    """Agent i's critic row is the global state followed by agent i's observation, never another's."""
    _, pol = make(critic_input="state_obs")
    obs, state = torch.randn(3, 2, N, O), torch.randn(3, 2, S)  # (T, B, N, O), (T, B, S)
    cin = pol.critic_input(obs, state)  # (T, B, N, S + O)
    assert cin.shape == (3, 2, N, S + O) and pol.critic_dim == S + O
    for i in range(N):
        assert torch.equal(cin[..., i, :S], state) and torch.equal(cin[..., i, S:], obs[..., i, :])
    with pytest.raises(ValueError, match="no state"):
        pol.critic_input(obs)


def test_state_dict_round_trip_same_action():
    torch.manual_seed(1)
    _, pol = make()
    _, pol2 = make()
    pol2.load_state_dict(pol.state_dict())
    obs, avail = torch.randn(3, N, O), torch.ones(3, N, A, dtype=torch.bool)
    a1, lp1, h1 = pol.act(obs, avail, pol.init_hidden(3), deterministic=True)
    a2, lp2, h2 = pol2.act(obs, avail, pol2.init_hidden(3), deterministic=True)
    assert torch.equal(a1, a2) and torch.equal(lp1, lp2) and torch.equal(h1, h2)
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    assert torch.equal(pol.act(obs, avail, h1, generator=g1)[0], pol2.act(obs, avail, h2, generator=g2)[0])


def bandit_rollout(pol, B=16, T=2):
    """Every step: team reward = fraction of agents choosing action 1; action 4 is never available."""
    obs = torch.ones(T + 1, B, N, O)
    avail = torch.ones(T + 1, B, N, A, dtype=torch.bool)
    avail[..., 4] = False
    h = pol.init_hidden(B)
    acts, lps = [], []
    for t in range(T):
        a, lp, h = pol.act(obs[t], avail[t], h)
        acts.append(a)
        lps.append(lp)
    actions = torch.stack(acts)
    discounts = torch.ones(T, B)
    discounts[-1] = 0.0
    return {
        "obs": obs, "avail": avail, "critic_in": pol.critic_input(obs), "actions": actions,
        "old_log_probs": torch.stack(lps), "rewards": (actions == 1).float().mean(-1), "discounts": discounts,
        "resets": torch.zeros(T, B, dtype=torch.bool), "actor_h0": pol.init_hidden(B),
        "critic_h0": pol.init_hidden(B),
    }


def prob_of_action(pol, action):
    obs, avail = torch.ones(1, 1, N, O), torch.ones(1, 1, N, A, dtype=torch.bool)
    avail[..., 4] = False
    lp, _ = pol.evaluate_sequence(obs, avail, torch.full((1, 1, N), action), pol.init_hidden(1),
                                  torch.zeros(1, 1, dtype=torch.bool))
    return lp.exp().mean().item()


def test_ppo_update_increases_rewarded_action_probability():
    torch.manual_seed(0)
    cfg, pol = make()
    opts = make_optimizers(pol, cfg)
    p0 = prob_of_action(pol, 1)
    gen = torch.Generator().manual_seed(0)
    for _ in range(8):
        metrics = ppo_update(pol, opts, bandit_rollout(pol), cfg, generator=gen)
    p1 = prob_of_action(pol, 1)
    assert p1 > p0 + 0.2, (p0, p1)
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    assert prob_of_action(pol, 4) == 0.0


def test_ppo_update_masked_steps_and_bad_rollouts():
    torch.manual_seed(0)
    cfg, pol = make(use_value_norm=False, critic_rnn=False)
    opts = make_optimizers(pol, cfg)
    r = bandit_rollout(pol, B=4)
    r["old_log_probs"][1, 0] = float("nan")  # garbage at a masked step must not leak
    r["actions"][1, 0] = -1
    r["mask"] = torch.ones(2, 4)
    r["mask"][1, 0] = 0.0
    before = [p.clone() for p in pol.parameters()]
    m = ppo_update(pol, opts, r, cfg)
    assert all(torch.isfinite(torch.tensor(v)) for v in m.values())
    assert all(torch.isfinite(p).all() for p in pol.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, pol.parameters()))
    del r["critic_h0"]
    with pytest.raises(ValueError):
        ppo_update(pol, opts, r, cfg)
