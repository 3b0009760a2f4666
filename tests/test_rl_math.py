"""Hand-checked GAE, value normaliser and masked categorical helpers."""

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gawm.rl_math import ValueNorm, gae, masked_entropy, masked_greedy, masked_log_softmax, masked_sample


def test_gae_matches_hand_computation_with_terminal_in_middle():
    g, lam = 0.9, 0.8
    r = torch.tensor([[1.0], [2.0], [3.0]])  # (T=3, B=1)
    v = torch.tensor([[0.5], [1.0], [1.5], [2.0]])  # (T+1, B)
    d = torch.tensor([[1.0], [0.0], [1.0]])  # s_2 is terminal: no bootstrap from V(s_2) at t=1
    adv, ret = gae(r, v, d, g, lam)
    d2 = 3.0 + g * 2.0 - 1.5
    d1 = 2.0 + 0.0 - 1.0
    d0 = 1.0 + g * 1.0 - 0.5
    a2 = d2
    a1 = d1  # trace cut by the terminal
    a0 = d0 + g * lam * a1
    torch.testing.assert_close(adv[:, 0], torch.tensor([a0, a1, a2]))
    torch.testing.assert_close(ret, adv + v[:3])


def test_gae_broadcasts_team_reward_over_agents_and_valid_cuts_trace():
    r = torch.ones(3, 2)
    v = torch.zeros(4, 2, 5)  # (T+1, B, N)
    adv, _ = gae(r, v, torch.ones(3, 2), 1.0, 1.0)
    assert adv.shape == (3, 2, 5)
    torch.testing.assert_close(adv[:, 0, 0], torch.tensor([3.0, 2.0, 1.0]))
    valid = torch.tensor([[1.0], [0.0], [1.0]]).expand(3, 2)
    adv, _ = gae(r, v, torch.ones(3, 2), 1.0, 1.0, valid)
    torch.testing.assert_close(adv[:, 0, 0], torch.tensor([1.0, 0.0, 1.0]))


def test_value_norm_round_trip_and_convergence():
    torch.manual_seed(0)
    vn = ValueNorm(beta=0.99)
    for _ in range(2000):
        vn.update(torch.randn(256) * 3.0 + 5.0)
    mean, var = vn.mean_var()
    assert abs(float(mean) - 5.0) < 0.1
    assert abs(math.sqrt(float(var)) - 3.0) < 0.1
    x = torch.randn(10) * 7
    torch.testing.assert_close(vn.denormalize(vn.normalize(x)), x, atol=1e-5, rtol=1e-5)
    assert abs(float(vn.normalize(torch.tensor(5.0)))) < 0.05


def test_value_norm_is_debiased_after_one_update():
    vn = ValueNorm(beta=0.99999)
    vn.update(torch.tensor([1.0, 3.0]))
    mean, var = vn.mean_var()
    assert abs(float(mean) - 2.0) < 1e-6 and abs(float(var) - 1.0) < 1e-6


@st.composite
def masks(draw):
    a = draw(st.integers(1, 7))
    rows = draw(st.integers(1, 6))
    bits = [draw(st.lists(st.booleans(), min_size=a, max_size=a)) for _ in range(rows)]
    for row in bits:
        if not any(row):
            row[draw(st.integers(0, a - 1))] = True
    return torch.tensor(bits)


@settings(max_examples=40, deadline=None)
@given(avail=masks(), seed=st.integers(0, 2**31 - 1))
def test_masks_forbid_illegal_actions(avail, seed):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(avail.shape, generator=gen) * 5
    logits[~avail] += 100.0  # even very attractive illegal actions must be impossible
    logp = masked_log_softmax(logits, avail)
    assert torch.all(logp[~avail] == float("-inf"))
    assert torch.all(logp.exp()[~avail] == 0.0)
    torch.testing.assert_close(logp.exp().sum(-1), torch.ones(avail.shape[0]))
    for _ in range(5):
        a = masked_sample(logp, gen)
        assert avail.gather(-1, a[:, None]).all()
    assert avail.gather(-1, masked_greedy(logp)[:, None]).all()
    assert torch.isfinite(masked_entropy(logp)).all()


def test_fully_masked_row_falls_back_to_finite_distribution():
    logp = masked_log_softmax(torch.zeros(2, 3), torch.tensor([[False] * 3, [True, False, False]]))
    assert torch.isfinite(logp[0]).all() and logp[1, 0] == 0.0
