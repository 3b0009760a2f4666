"""The learning-neutral speed-ups (issue 15) compute what the code they replaced computed.

- Gumbel-max sampling (`categorical_sample`) draws from the same distribution as `torch.multinomial`;
- one fused `torch.gru` call per reset-free stretch gives GRUCell's step-by-step states and gradients;
- the actor's burn-in memory from one sequence call equals the old per-step loop;
- fused Adam makes the same updates as the default Adam.
"""

from __future__ import annotations

import math

import pytest
import torch

from gawm.nets import categorical_sample, sample_straight_through
from gawm.optim import adam
from gawm.policy import MAPPOPolicy, PolicyConfig, _RecurrentNet
from gawm.rl_math import masked_log_softmax, masked_sample


@pytest.mark.parametrize("probs", [[0.5, 0.3, 0.15, 0.05, 0.0], [0.02, 0.02, 0.9, 0.06, 0.0]])
def test_categorical_sample_has_the_categorical_distribution(probs: list[float]) -> None:
    p = torch.tensor(probs)
    n = 200_000
    log_p = torch.log(p).expand(n, -1)  # (n, 5), class 4 has log-prob -inf
    idx = categorical_sample(log_p, torch.Generator().manual_seed(0))
    freq = torch.bincount(idx, minlength=len(probs)).double() / n
    sigma = torch.sqrt(p.double() * (1 - p.double()) / n)
    assert freq[4] == 0.0  # a zero-probability class is never drawn
    assert torch.all((freq - p.double()).abs() <= 5 * sigma + 1e-12), (freq, p)


def test_categorical_sample_chi_square_over_groups() -> None:
    """Many rows with different distributions at once (the latent's (..., G, C) layout): Pearson's statistic
    of the pooled counts stays within what chance allows."""
    g = torch.Generator().manual_seed(1)
    logits = torch.log_softmax(torch.randn(4, 8, generator=g) * 2, -1)  # 4 groups of 8 classes
    n = 50_000
    idx = categorical_sample(logits.expand(n, 4, 8), g)  # (n, 4)
    counts = torch.stack([torch.bincount(idx[:, k], minlength=8) for k in range(4)]).double()  # (4, 8)
    expected = n * logits.exp().double()
    chi2 = ((counts - expected) ** 2 / expected).sum().item()
    dof = 4 * 7
    assert chi2 < dof + 6 * math.sqrt(2 * dof), chi2  # mean dof, sd sqrt(2 dof)


def test_categorical_sample_is_reproducible_with_a_generator() -> None:
    lp = torch.log_softmax(torch.randn(64, 9), -1)
    a = categorical_sample(lp, torch.Generator().manual_seed(3))
    b = categorical_sample(lp, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_masked_sample_never_draws_an_unavailable_action() -> None:
    avail = torch.rand(2000, 3, 7) > 0.5
    avail[..., 0] = True
    logp = masked_log_softmax(torch.randn(2000, 3, 7), avail)
    a = masked_sample(logp, torch.Generator().manual_seed(0))
    assert avail.gather(-1, a[..., None]).all()


def test_straight_through_sample_is_one_hot_with_prob_gradient() -> None:
    raw = torch.randn(16, 4, 6, requires_grad=True)
    logits = torch.log_softmax(raw, -1)
    st = sample_straight_through(logits)  # (16, 24)
    one_hot = st.detach().view(16, 4, 6)
    assert torch.equal(one_hot.sum(-1), torch.ones(16, 4)) and set(one_hot.unique().tolist()) == {0.0, 1.0}
    w = torch.randn(16, 24)
    (st * w).sum().backward()
    raw2 = raw.detach().clone().requires_grad_(True)
    (torch.softmax(raw2, -1).flatten(-2) * w).sum().backward()
    assert torch.allclose(raw.grad, raw2.grad, atol=1e-6)


def _gru_cell_loop(net: _RecurrentNet, x: torch.Tensor, h0: torch.Tensor, resets: torch.Tensor | None
                   ) -> torch.Tensor:
    """The recurrence as it was written before issue 15: one GRUCell call per step."""
    feats = net.mlp(x)
    h, outs = h0, []
    for t in range(x.shape[0]):
        if resets is not None:
            h = h * (~resets[t]).to(h.dtype).unsqueeze(-1)
        h = net.gru(feats[t], h)
        outs.append(h)
    return torch.stack(outs)


@pytest.mark.parametrize("reset_p", [None, 0.0, 0.1, 0.5])
def test_fused_gru_states_and_gradients_equal_the_cell_loop(reset_p: float | None) -> None:
    torch.manual_seed(0)
    net = _RecurrentNet(11, [16], 12, 5, 0.01, use_rnn=True)
    T, M = 17, 9
    x = torch.randn(T, M, 11)
    h0 = torch.randn(M, 12)
    resets = None if reset_p is None else torch.rand(T, M) < reset_p
    params = [*net.mlp.parameters(), *net.gru.parameters()]  # what the states depend on
    fused = net.states(x, h0, resets)
    grads_fused = torch.autograd.grad((fused * torch.linspace(-1, 1, 12)).sum(), params)
    loop = _gru_cell_loop(net, x, h0, resets)
    grads_loop = torch.autograd.grad((loop * torch.linspace(-1, 1, 12)).sum(), params)
    assert torch.allclose(fused, loop, atol=1e-5)
    for a, b in zip(grads_fused, grads_loop):
        assert torch.allclose(a, b, atol=1e-4)


def _policy() -> MAPPOPolicy:
    cfg = PolicyConfig(actor_hidden=[32], actor_rnn=True, critic_hidden=[32], rnn_hidden=16, use_agent_id=True,
                       critic_input="joint_obs", critic_rnn=False, lr_actor=5e-4, lr_critic=5e-4, adam_eps=1e-5,
                       gamma=0.99, gae_lambda=0.95, clip_eps=0.2, value_clip_eps=0.2, entropy_coef=0.001,
                       max_grad_norm=10.0, ppo_epochs=1, num_minibatches=1, huber_delta=10.0,
                       use_value_norm=False, value_norm_beta=0.99999, normalize_advantages=True)
    return MAPPOPolicy(cfg, n_agents=3, obs_dim=10, n_actions=6)


def test_actor_memory_equals_the_per_step_burn_in() -> None:
    """`actor_memory` (one sequence call) against the burn-in loop it replaced: state before each row."""
    torch.manual_seed(0)
    pol = _policy()
    T, B, N = 20, 5, 3
    obs = torch.randn(T, B, N, 10)
    avail = torch.ones(T, B, N, 6, dtype=torch.bool)
    resets = torch.rand(T, B) < 0.15
    resets[0] = True
    h = pol.init_hidden(B)
    before = []
    with torch.no_grad():
        for t in range(T):
            h = h * (~resets[t]).to(h.dtype)[:, None, None]
            before.append(h)
            _, h = pol.actor_sequence(obs[t:t + 1], avail[t:t + 1], h, None)
        memory = pol.actor_memory(obs, pol.init_hidden(B), resets)
    assert torch.allclose(memory, torch.stack(before), atol=1e-5)


def test_fused_adam_makes_the_default_adams_updates() -> None:
    torch.manual_seed(0)
    nets = [torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ELU(), torch.nn.Linear(32, 4)) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    opts = [adam(nets[0].parameters(), lr=1e-3, eps=1e-5),
            torch.optim.Adam(nets[1].parameters(), lr=1e-3, eps=1e-5, foreach=False)]
    assert opts[0].defaults["fused"]
    for step in range(30):
        x = torch.randn(16, 8, generator=torch.Generator().manual_seed(step))
        for net, opt in zip(nets, opts):
            opt.zero_grad()
            net(x).pow(2).mean().backward()
            opt.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        assert torch.allclose(a, b, atol=1e-6)
