"""QMIX: mixer monotonicity, TD targets on a hand-made batch, masked acting, checkpoint round trip, a tiny run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from baselines.qmix.method import QMIXMethod, td_targets
from baselines.qmix.networks import QMixer
from gawm.methods import load_method_config
from gawm.train import RunSpec, train

CONFIGS = Path(__file__).parent.parent / "config" / "smoke"
ENV_INFO = {"n_agents": 3, "n_actions": 9, "obs_shape": 36, "state_shape": 54, "episode_limit": 150}


def _method(seed: int = 0) -> QMIXMethod:
    cfg = load_method_config("qmix", "3s_vs_3z", CONFIGS / "qmix.yaml")
    return QMIXMethod(cfg, ENV_INFO, torch.device("cpu"), seed)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 10_000), layers=st.sampled_from([1, 2]))
def test_mixer_is_monotone_in_every_agent_q(n, seed, layers):
    torch.manual_seed(seed)
    mixer = QMixer(n, 7, embed=8, hypernet_hidden=16, hypernet_layers=layers)
    q = (torch.randn(5, n) * 5).requires_grad_(True)
    state = torch.randn(5, 7) * 3
    grad, = torch.autograd.grad(mixer(q, state).sum(), q)
    assert (grad >= 0).all()


class _SumMixer(torch.nn.Module):
    """Q_tot = sum of agent Qs + state[0]: makes the hand computation of targets transparent."""

    def forward(self, q, state):
        return q.sum(-1) + state[..., 0]


def test_td_targets_on_a_hand_made_batch():
    # 1 episode, T=2 steps, 2 agents, 3 actions
    q_online = torch.tensor([[[[1.0, 5.0, 2.0], [0.0, 1.0, 3.0]],      # t+1 for step 0
                              [[9.0, 0.0, 0.0], [2.0, 2.5, 1.0]]]])    # t+1 for step 1
    q_target = torch.tensor([[[[10.0, 20.0, 30.0], [1.0, 2.0, 4.0]],
                              [[7.0, 8.0, 9.0], [5.0, 6.0, 7.0]]]])
    avail = torch.tensor([[[[True, False, True], [True, True, True]],  # agent 0 may not pick action 1 (q=5)
                           [[True, True, True], [True, True, False]]]])
    rewards = torch.tensor([[0.5, 2.0]])
    terminated = torch.tensor([[0.0, 1.0]])
    state = torch.tensor([[[100.0], [200.0]]])
    y = td_targets(q_online, q_target, avail, rewards, terminated, state, _SumMixer(), 0.9, double_q=True)
    # step 0: online argmax over available: agent0 -> a2 (2 > 1; a1 masked), agent1 -> a2; target values 30 + 4;
    #         y = 0.5 + 0.9 * (30 + 4 + 100); step 1 is terminal: y = 2.0
    torch.testing.assert_close(y, torch.tensor([[0.5 + 0.9 * 134.0, 2.0]]))
    y_single = td_targets(q_online, q_target, avail, rewards, terminated, state, _SumMixer(), 0.9, double_q=False)
    # without double Q the target net also chooses: agent0 max over {a0, a2} of target = 30, agent1 = 4
    torch.testing.assert_close(y_single, y)
    y_alt = td_targets(q_online, q_target.flip(-1), avail, rewards, terminated, state, _SumMixer(), 0.9,
                       double_q=False)
    # flipped target: agent0 target [30, 20, 10] -> best available 30 (a0); agent1 [4, 2, 1] -> 4
    torch.testing.assert_close(y_alt[:, 0], torch.tensor([0.5 + 0.9 * 134.0]))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), deterministic=st.booleans())
def test_actions_respect_masks(seed, deterministic):
    m = _method(seed)
    m.t_env = 0  # epsilon = 1: every action exploratory
    rng = np.random.default_rng(seed)
    B = 6
    avail = rng.random((B, 3, 9)) < 0.4
    avail[np.arange(B), rng.integers(0, 3, B), :] = False
    avail[..., 1] |= ~avail.any(-1)  # at least one legal action each
    obs = rng.normal(size=(B, 3, 36)).astype(np.float32)
    a, hidden = m.act(obs, avail, np.zeros((B, 54)), m.init_hidden(B), np.ones(B, bool), deterministic)
    assert a.shape == (B, 3)
    assert avail[np.arange(B)[:, None], np.arange(3)[None], a].all()
    assert hidden[1].sum() == B * 3  # last action one-hot carried to the next step


def test_epsilon_anneals_linearly():
    m = _method()
    c = m.cfg
    assert m.epsilon() == c.eps_start
    m.t_env = c.eps_anneal_steps // 2
    assert m.epsilon() == pytest.approx((c.eps_start + c.eps_finish) / 2)
    m.t_env = 10 * c.eps_anneal_steps
    assert m.epsilon() == pytest.approx(c.eps_finish, abs=1e-12)


def test_tiny_run_learns_step_and_round_trips(tmp_path):
    out = tmp_path / "run"
    summary = train(RunSpec("qmix", "3s_vs_3z", 2, 1600, out, device="cpu", config_path=CONFIGS / "qmix.yaml"),
                    progress=False)
    assert summary["steps"] == 1600 and (out / "checkpoints" / "final.pt").exists()
    header = (out / "progress.csv").read_text().splitlines()[0].split(",")
    assert "td_loss" in header and "epsilon" in header
    # a fresh method with the final snapshot acts exactly like a method restored from the full checkpoint
    ck = torch.load(out / "checkpoints" / "last.pt", weights_only=False)
    a, b = _method(5), _method(6)
    a.load_state_dict(ck["method"])
    b.load_state_dict(torch.load(out / "checkpoints" / "final.pt", weights_only=False)["method"])
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(4, 3, 36)).astype(np.float32)
    avail = np.ones((4, 3, 9), bool)
    act_a, _ = a.act(obs, avail, None, a.init_hidden(4), np.ones(4, bool), True)
    act_b, _ = b.act(obs, avail, None, b.init_hidden(4), np.ones(4, bool), True)
    np.testing.assert_array_equal(act_a, act_b)
    assert a.t_env > 0 and len(a.buffer) > 0
