"""QMIX: mixer monotonicity, TD targets on a hand-made batch, masked acting, checkpoint round trip, a tiny run."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from baselines.qmix.method import QMIXMethod, td_targets
from baselines.qmix.networks import QMixer
from gawm.collector import Episode
from gawm.train import RunSpec, train
from tests.conftest import SMOKE, smoke_config
ENV_INFO = {"n_agents": 3, "n_actions": 9, "obs_shape": 36, "state_shape": 54, "episode_limit": 150}


def _method(seed: int = 0) -> QMIXMethod:
    cfg = smoke_config("qmix")
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


@pytest.mark.slow
def test_tiny_run_learns_step_and_round_trips(tmp_path):
    out = tmp_path / "run"
    summary = train(RunSpec("qmix", "3s_vs_3z", 2, 1600, out, device="cpu", config_path=SMOKE),
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


def test_sequence_unroll_equals_step_by_step_acting():
    """Training Qs (whole-episode GRU unroll) are the Qs the agents act on, step after step."""
    from baselines.qmix.networks import AgentQNet

    torch.manual_seed(0)
    net = AgentQNet(11, 16, 5)
    x = torch.randn(4, 7, 3, 11)  # (B, L, N, in)
    seq = net.sequence(x)
    h = torch.zeros(4, 3, 16)
    for t in range(7):
        q, h = net(x[:, t], h)
        torch.testing.assert_close(seq[:, t], q)


def test_loss_on_a_padded_batch_matches_hand_computation():
    """Two episodes through observe_episode -> _batch -> loss: a terminal end (no bootstrap), a time-limit end
    (bootstrap), an unavailable next action the online net prefers, and a padded step full of NaN."""
    m = _method()
    gamma = m.cfg.gamma
    N, A, O, S = 3, 9, 36, 54

    def episode(actions, rewards, terminated, state0, avail=None):
        T = len(actions)
        state = np.zeros((T + 1, S), np.float32)
        state[:, 0] = state0 + 10.0 * np.arange(T + 1)
        return Episode(obs=np.zeros((T + 1, N, O)), state=state,
                       avail=np.ones((T + 1, N, A), bool) if avail is None else avail,
                       alive=np.ones((T + 1, N), bool), actions=np.asarray(actions),
                       rewards=np.asarray(rewards, np.float64), terminated=terminated, won=terminated)

    avail_a = np.ones((3, N, A), bool)
    avail_a[1, 0, 5] = False  # agent 0 may not take action 5 at row 1
    m.observe_episode(episode([[1, 2, 3], [0, 0, 0]], [1.0, 2.0], True, 10.0, avail_a))  # states 10, 20, 30
    m.observe_episode(episode([[4, 4, 4]], [3.0], False, 40.0))  # time limit; states 40, 50
    batch = m._batch(np.array([0, 1]))
    torch.testing.assert_close(batch["filled"], torch.tensor([[1.0, 1.0], [1.0, 0.0]]))
    torch.testing.assert_close(batch["terminated"], torch.tensor([[0.0, 1.0], [0.0, 0.0]]))

    q_on, q_tg = torch.zeros(2, 3, N, A), torch.zeros(2, 3, N, A)
    q_on[0, 0, [0, 1, 2], [1, 2, 3]] = torch.tensor([0.5, 1.0, 1.5])  # taken at A's step 0: sum 3
    q_on[0, 1, 0, 5], q_on[0, 1, 0, 2] = 9.0, 1.0  # online prefers the unavailable a5, so a2 is chosen
    q_tg[0, 1, 0, 5], q_tg[0, 1, 0, 2] = 100.0, 7.0
    q_on[1, 0, :, 4] = 1.0  # taken at B's step 0: sum 3
    q_tg[1, 1, :, 0] = 1.0  # B's row 1: all online Qs tie at 0 -> action 0 -> target 1 per agent
    q_on[1, 2], q_tg[1, 2] = float("nan"), float("nan")  # padding row of B
    m._unroll = lambda net, b: q_on.clone() if net is m.agent else q_tg.clone()
    m.mixer = m.target_mixer = _SumMixer()
    loss, stats = m.loss(batch)
    y = [1.0 + gamma * (7.0 + 20.0), 2.0, 3.0 + gamma * (3.0 + 50.0)]  # A0, A1 (terminal), B0 (bootstrapped)
    q_tot = [3.0 + 10.0, 0.0 + 20.0, 3.0 + 40.0]
    want = sum((q - t) ** 2 for q, t in zip(q_tot, y)) / 3
    assert loss.item() == pytest.approx(want, rel=1e-6)
    assert stats["target_mean"] == pytest.approx(sum(y) / 3, rel=1e-6)
