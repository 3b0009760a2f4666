"""GCI (Eq. 7) and GPE (Eq. 8): laws, a hand-computed example, the state probe, and `gawm analyze` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gawm.cli import main
from gawm.consistency import AnalysisConfig, analyze_run, fit_state_probe, gci, gpe, load_analysis_config


@settings(max_examples=30, deadline=None)
@given(P=st.integers(1, 3), T=st.integers(1, 4), N=st.integers(1, 5), S=st.integers(1, 6), seed=st.integers(0, 999))
def test_gci_is_zero_when_agents_agree(P, T, N, S, seed):
    g = torch.Generator().manual_seed(seed)
    state = torch.randn(P, T, 1, S, generator=g).expand(P, T, N, S)  # every agent predicts the same values
    reward = torch.rand(P, T, 1, generator=g).expand(P, T, N)
    discount = torch.rand(P, T, 1, generator=g).expand(P, T, N)
    alive = torch.rand(P, T, N, generator=g) > 0.3
    out = gci(state, reward, discount, alive, eps_r=1e-6, eps_gamma=1e-6)  # > eps: float means of equal values
    torch.testing.assert_close(out["gci"], torch.zeros(P), atol=1e-6, rtol=0)


@settings(max_examples=30, deadline=None)
@given(P=st.integers(1, 3), T=st.integers(1, 4), N=st.integers(1, 5), O=st.integers(1, 6), seed=st.integers(0, 999))
def test_gpe_is_zero_for_perfect_predictions(P, T, N, O, seed):
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(P, T, N, O, generator=g)
    reward, discount = torch.rand(P, T, generator=g), (torch.rand(P, T, generator=g) > 0.2).float()
    alive = torch.rand(P, T, N, generator=g) > 0.3
    out = gpe(obs, obs, reward[..., None].expand(P, T, N), reward, discount[..., None].expand(P, T, N),
              discount, alive)
    torch.testing.assert_close(out["gpe"], torch.zeros(P), atol=1e-6, rtol=0)


def test_gci_and_gpe_match_a_hand_computed_two_agent_three_step_example():
    # states (T=3, N=2, S=2); agent 1 is dead at t=2 (its predictions there must not count)
    s = torch.tensor([[[0.0, 0.0], [3.0, 4.0]],     # t0: distance to mean 2.5 each
                      [[1.0, 1.0], [1.0, 1.0]],     # t1: agree
                      [[2.0, 0.0], [9.0, 9.0]]])    # t2: only agent 0 alive -> 0
    r = torch.tensor([[0.0, 0.3], [0.5, 0.5], [0.1, 7.0]])  # t0 |dev| 0.15 > 0.1 for both agents
    d = torch.tensor([[1.0, 1.0], [0.9, 0.1], [0.5, 0.0]])  # t1 |dev| 0.4 > 0.2 for both agents
    alive = torch.tensor([[True, True], [True, True], [True, False]])
    out = gci(s[None], r[None], d[None], alive[None], eps_r=0.1, eps_gamma=0.2)
    # per step, mean over alive agents: t0 2.5 + 1 + 0, t1 0 + 0 + 1, t2 0; mean over t
    assert out["gci"].item() == pytest.approx((3.5 + 1.0 + 0.0) / 3)
    assert out["gci_state"].item() == pytest.approx(2.5 / 3)

    o_true = torch.zeros(3, 2, 2)
    o_pred = torch.tensor([[[3.0, 4.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [5.0, 5.0]]])
    r_true = torch.tensor([0.2, 0.5, 0.0])
    d_true = torch.tensor([1.0, 1.0, 0.0])
    out = gpe(o_pred[None], o_true[None], r[None], r_true[None], d[None], d_true[None], alive[None])
    # t0: obs (5 + 0)/2, reward (0.2 + 0.1)/2, discount 0 -> 2.65
    # t1: obs (1 + 0)/2, reward 0, discount (0.1 + 0.9)/2 -> 1.0
    # t2: agent 0 only: obs 0, reward 0.1, discount 0.5 -> 0.6
    assert out["gpe"].item() == pytest.approx((2.65 + 1.0 + 0.6) / 3)
    assert out["gpe_obs"].item() == pytest.approx((2.5 + 0.5 + 0.0) / 3)


def test_steps_without_living_agents_are_left_out():
    s = torch.tensor([[[0.0], [2.0]], [[5.0], [-5.0]]])[None]  # (1, T=2, N=2, 1)
    z = torch.zeros(1, 2, 2)
    alive = torch.tensor([[[True, True], [False, False]]])
    assert gci(s, z, z, alive, 0.1, 0.1)["gci"].item() == pytest.approx(1.0)  # t0 only


def test_state_probe_recovers_a_linear_map():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 6, generator=g)
    w_true, b_true = torch.randn(6, 3, generator=g), torch.randn(3, generator=g)
    w, b = fit_state_probe(x, x @ w_true + b_true, ridge=0.0)
    torch.testing.assert_close(w, w_true, atol=1e-4, rtol=0)
    torch.testing.assert_close(b, b_true, atol=1e-4, rtol=0)


def test_analysis_config_validation():
    with pytest.raises(ValueError, match="analysis.horizon"):
        load_analysis_config(horizon=0)
    with pytest.raises(ValueError, match="episodes_per_checkpoint"):
        load_analysis_config(episodes_per_checkpoint=1).validate()


@pytest.fixture(scope="module")
def tiny_runs(tiny_run) -> dict[str, Path]:
    """400-step GAWM and MAPPO runs (the same ones test_evaluate uses)."""
    return {m: tiny_run(m, 400) for m in ("gawm", "mappo")}


def _small(**over) -> AnalysisConfig:
    cfg = load_analysis_config(pairs=24, horizon=4, burn_in=2, episodes_per_checkpoint=4, n_envs=4)
    for k, v in over.items():
        setattr(cfg, k, v)
    return cfg


@pytest.mark.slow
def test_analyze_run_end_to_end_is_finite_and_reproducible(tiny_runs):
    a = analyze_run(tiny_runs["gawm"], _small(), progress=False)
    b = analyze_run(tiny_runs["gawm"], _small(), progress=False)
    assert a["pairs"] == 24 and a["checkpoints"] == len(list((tiny_runs["gawm"] / "checkpoints").glob("*_*.pt"))) + 1
    assert sum(c["pairs"] for c in a["per_checkpoint"]) == 24
    for k in ("gci", "gpe", "gci_state", "gpe_obs", "gpe_reward", "gpe_discount"):
        assert np.isfinite(a[f"{k}_mean"]) and a[f"{k}_mean"] >= 0 and a[f"{k}_std"] >= 0
    # GAWM's pooled team heads: every agent predicts the same reward and discount
    assert a["gci_reward_mean"] == 0.0 and a["gci_discount_mean"] == 0.0
    assert a["gpe_obs_mean"] > 0  # a 400-step model does not predict observations perfectly
    pa = a["policy_agreement"]  # GAWM's actor reads observations: real vs decoded agreement is measured
    assert pa["decisions"] > 0 and 0 <= pa["agree_same_memory"] <= 1 and 0 <= pa["agree_own_memory"] <= 1
    assert pa["kl_same_memory"] >= -1e-6 and all("policy_agreement" in c for c in a["per_checkpoint"])
    drop = ("wall_s", "per_checkpoint")
    assert {k: v for k, v in a.items() if k not in drop} == {k: v for k, v in b.items() if k not in drop}
    assert [c["gci_mean"] for c in a["per_checkpoint"]] == [c["gci_mean"] for c in b["per_checkpoint"]]


@pytest.mark.slow
def test_analyze_cli_writes_json_and_rejects_model_free_runs(tiny_runs, tmp_path, capsys):
    cfg = tmp_path / "analysis.yaml"
    cfg.write_text("pairs: 8\nburn_in: 2\nhorizon: 3\nepisodes_per_checkpoint: 2\nn_envs: 2\nprobe_ridge: 1.0\n"
                   "eps_r: 0.05\neps_gamma: 0.1\nseed: 3\n")
    out = tmp_path / "a.json"
    assert main(["analyze", "--run", str(tiny_runs["gawm"]), "--config", str(cfg), "--out", str(out),
                 "--device", "cpu", "--no-progress"]) == 0
    data = json.loads(out.read_text())
    assert data["pairs"] == 8 and data["method"] == "gawm" and data["map"] == "3s_vs_3z"
    assert main(["analyze", "--run", str(tiny_runs["mappo"]), "--config", str(cfg), "--out", str(out),
                 "--device", "cpu", "--no-progress"]) == 2
    assert "world-model method" in capsys.readouterr().err
    assert main(["analyze", "--run", str(tmp_path), "--no-progress"]) == 2
    assert "no config.json" in capsys.readouterr().err
