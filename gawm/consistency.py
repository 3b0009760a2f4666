"""The paper's offline world-model test (Sec. 4.3): Global Consistency Index (Eq. 7) and Global Prediction
Error (Eq. 8) from pairs of imagined and real trajectory segments.

What is compared (the paper leaves parts of this loose; these are the definitions used for EVERY method):

- A pair: a real episode played by the checkpoint's own (stochastic) policy in the simulator; the world model
  filters its real past with the posterior up to row t0 (at least `burn_in` rows), then imagines `horizon`
  steps open-loop from (h_t0, z_t0) with the prior, fed the REAL actions a_t0 .. a_t0+T-1. Imagined step j is
  compared with real row t0 + j (j = 1..T), the world model never seeing those observations.
- Agent i's predicted global state s^_t^i: a linear probe s^ = W [h_t^i, z_t^i] + b read from agent i's own
  latent, one probe shared by all agents, fitted by ridge regression against the true SMAC global state
  (get_state()) on the posterior latents of half of the checkpoint's episodes; the pairs come from the other
  half. A world model whose agents carry the same global information gets a low ||s^_t^i - s-bar_t||.
- Agent i's predicted reward r^_t^i and discount gamma^_t^i: its own reward/discount head outputs
  (`WorldModel.decode`'s reward_agents / discount_agents). Under GAWM's pooled team heads every agent
  predicts the same values, so those two indicator terms of Eq. 7 vanish by construction; under MAMBA/MAG's
  per-agent heads they need not. gamma is the predicted probability that the episode continues, compared
  with the real continuation flag (0 only at a terminal row).
- r_t is the true environment reward (not GAWM's smoothed training target), o_t^i the true observation.
- Agents: Eqs. 7-8 average over the agents ALIVE at the real row (a dead agent observes nothing and has
  nothing to predict); steps where none is alive are left out of the time average.
- GCI and GPE are computed per pair (time-averaged over the T steps); a run reports their mean and standard
  deviation over its pairs, which are spread evenly over the checkpoints saved through training.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from gawm.buffers import RealBuffer
from gawm.collector import Collector, Episode
from gawm.config import ConfigError, from_dict, load_yaml
from gawm.envs import make_vec_env
from gawm.policy_agreement import KEYS as AGREEMENT_KEYS
from gawm.policy_agreement import applies_to, policy_agreement
from gawm.registry import WORLD_MODEL_METHODS
from gawm.runs import load_run_method, read_run_config

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "analysis.yaml"


@dataclass
class AnalysisConfig:
    """config/analysis.yaml: the offline test's sizes and Eq. 7's thresholds."""

    pairs: int
    burn_in: int
    horizon: int
    episodes_per_checkpoint: int
    n_envs: int
    probe_ridge: float
    eps_r: float
    eps_gamma: float
    seed: int

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "seed":
                continue
            if v < 0 or (v == 0 and f.name not in ("probe_ridge", "eps_r", "eps_gamma")):
                raise ConfigError(f"analysis.{f.name} must be {'>= 0' if f.name.startswith(('probe', 'eps')) else '> 0'}"
                                  f", got {v}")
        if self.episodes_per_checkpoint < 2:
            raise ConfigError("analysis.episodes_per_checkpoint must be >= 2 (half fit the probe, half give pairs)")


def load_analysis_config(path: Path | None = None, **overrides: Any) -> AnalysisConfig:
    data = load_yaml(Path(path) if path is not None else DEFAULT_CONFIG)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return from_dict(AnalysisConfig, data, "analysis")


# --------------------------------------------------------------------------------------------- the metrics
def _alive_mean(per_agent: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
    """Eqs. 7-8's (1/T) sum_t (1/N) sum_i over alive agents: (P, T, N), (P, T, N) bool -> (P,).

    Steps with no agent alive get weight 0; a pair with none at all scores 0."""
    w = alive.to(per_agent.dtype)
    n = w.sum(-1)  # (P, T)
    per_step = (per_agent * w).sum(-1) / n.clamp(min=1)  # (P, T)
    valid = (n > 0).to(per_agent.dtype)
    return (per_step * valid).sum(-1) / valid.sum(-1).clamp(min=1)


def gci(state_pred: torch.Tensor, reward_pred: torch.Tensor, discount_pred: torch.Tensor, alive: torch.Tensor,
        eps_r: float, eps_gamma: float) -> dict[str, torch.Tensor]:
    """Eq. 7 per pair. state_pred (P, T, N, S), reward_pred / discount_pred (P, T, N), alive (P, T, N) bool.

    The means s-bar, r-bar, gamma-bar are over the alive agents. Returns gci (P,) and its three parts
    gci_state, gci_reward, gci_discount (P,) (gci is their sum)."""
    w = alive.to(state_pred.dtype)[..., None]  # (P, T, N, 1)
    n = w.sum(-2, keepdim=True).clamp(min=1)  # (P, T, 1, 1)
    s_bar = (state_pred * w).sum(-2, keepdim=True) / n  # (P, T, 1, S)
    r_bar = (reward_pred * w[..., 0]).sum(-1, keepdim=True) / n[..., 0]  # (P, T, 1)
    g_bar = (discount_pred * w[..., 0]).sum(-1, keepdim=True) / n[..., 0]
    parts = {
        "gci_state": _alive_mean((state_pred - s_bar).norm(dim=-1), alive),
        "gci_reward": _alive_mean(((reward_pred - r_bar).abs() > eps_r).to(state_pred.dtype), alive),
        "gci_discount": _alive_mean(((discount_pred - g_bar).abs() > eps_gamma).to(state_pred.dtype), alive),
    }
    return {"gci": parts["gci_state"] + parts["gci_reward"] + parts["gci_discount"], **parts}


def gpe(obs_pred: torch.Tensor, obs: torch.Tensor, reward_pred: torch.Tensor, reward: torch.Tensor,
        discount_pred: torch.Tensor, discount: torch.Tensor, alive: torch.Tensor) -> dict[str, torch.Tensor]:
    """Eq. 8 per pair. obs_pred / obs (P, T, N, O), reward_pred / discount_pred (P, T, N), reward / discount
    (P, T) true values, alive (P, T, N) bool. Returns gpe (P,) and its parts gpe_obs, gpe_reward, gpe_discount."""
    parts = {
        "gpe_obs": _alive_mean((obs_pred - obs).norm(dim=-1), alive),
        "gpe_reward": _alive_mean((reward_pred - reward[..., None]).abs(), alive),
        "gpe_discount": _alive_mean((discount_pred - discount[..., None]).abs(), alive),
    }
    return {"gpe": parts["gpe_obs"] + parts["gpe_reward"] + parts["gpe_discount"], **parts}


def fit_state_probe(features: torch.Tensor, state: torch.Tensor, ridge: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge regression state ~ features @ W + b (bias unpenalised): (M, F), (M, S) -> W (F, S), b (S,)."""
    x = features.double()
    y = state.double()
    x_mean, y_mean = x.mean(0), y.mean(0)
    xc, yc = x - x_mean, y - y_mean
    gram = xc.T @ xc + ridge * torch.eye(x.shape[1], dtype=x.dtype)
    w = torch.linalg.solve(gram, xc.T @ yc)  # (F, S)
    b = y_mean - x_mean @ w
    return w.to(features.dtype), b.to(features.dtype)


# -------------------------------------------------------------------------------------- real data and model
def collect_episodes(method, map_name: str, n_episodes: int, n_envs: int, seed: int, backend: str = "sim"
                     ) -> list[Episode]:
    """Play `n_episodes` whole episodes with the method's own stochastic policy (as in training)."""
    env = make_vec_env(map_name, min(n_envs, n_episodes), backend=backend, seed=seed)
    episodes: list[Episode] = []
    try:
        collector = Collector(env, method)
        while len(episodes) < n_episodes:
            collector.run(method, env.n_envs, episodes.append)
    finally:
        env.close()
    return episodes[:n_episodes]


def _episode_batch(episodes: list[Episode], env_info: dict[str, int]) -> dict[str, torch.Tensor]:
    """Whole episodes as Dreamer rows, zero-padded to the longest: tensors (E, L, ...) plus `length` (E,)."""
    N, O, S, A = env_info["n_agents"], env_info["obs_shape"], env_info["state_shape"], env_info["n_actions"]
    shaper = RealBuffer(2, N, O, S, A)  # only its row layout is used
    rows = [shaper.episode_rows(e.obs, e.state, e.avail, e.actions, e.rewards, e.terminated,
                                e.alive) for e in episodes]
    L = max(len(r["reward"]) for r in rows)
    out = {}
    for k in rows[0]:
        arr = np.zeros((len(rows), L) + rows[0][k].shape[1:], rows[0][k].dtype)
        for i, r in enumerate(rows):
            arr[i, :len(r[k])] = r[k]
        out[k] = torch.from_numpy(arr)
    out["length"] = torch.tensor([len(r["reward"]) for r in rows])
    return out


@torch.no_grad()
def analyze_checkpoint(world_model, episodes: list[Episode], env_info: dict[str, int], n_pairs: int,
                       cfg: AnalysisConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """GCI/GPE parts for `n_pairs` segments of `episodes` (first half fit the probe): {name: (n_pairs,)}."""
    world_model.eval()
    device = next(world_model.parameters()).device
    batch = {k: v.to(device) for k, v in _episode_batch(episodes, env_info).items()}
    post = world_model.observe(batch)  # h (E, L, N, H), z (E, L, N, Z)
    feat = torch.cat([post["h"], post["z"]], -1)  # (E, L, N, F)
    E, L, N = feat.shape[:3]
    valid = torch.arange(L, device=device)[None] < batch["length"][:, None]  # (E, L)
    half = E // 2
    fit_rows = valid[:half, :, None] & batch["alive"][:half]  # (half, L, N)
    state_rows = batch["state"][:half, :, None].expand(-1, -1, N, -1)
    w, b = fit_state_probe(feat[:half][fit_rows], state_rows[fit_rows], cfg.probe_ridge)

    T, k0 = cfg.horizon, cfg.burn_in - 1  # imagination starts at row t0 >= burn_in - 1
    lengths = batch["length"][half:].cpu().numpy()
    last_start = lengths - 1 - T  # t0 + T must be a real row
    eligible = np.flatnonzero(last_start >= k0)
    if eligible.size == 0:
        raise ValueError(f"no analysis episode has burn_in + horizon = {cfg.burn_in} + {T} rows; lower them in "
                         "config/analysis.yaml")
    ep = half + rng.choice(eligible, size=n_pairs)  # (P,)
    t0 = np.array([rng.integers(k0, last_start[e - half] + 1) for e in ep])
    ep_t, t0_t = torch.as_tensor(ep, device=device), torch.as_tensor(t0, device=device)
    steps = t0_t[:, None] + torch.arange(1, T + 1, device=device)[None]  # (P, T) compared real rows
    real = {k: batch[k][ep_t[:, None], steps] for k in ("obs", "reward", "discount", "alive")}
    teacher = batch["action"][ep_t[:, None], steps - 1].clamp(min=0)  # (P, T, N) real a_t0 .. a_t0+T-1
    teacher = F.one_hot(teacher.transpose(0, 1), world_model.cfg.n_actions)  # (T, P, N, A)

    def tm(x: torch.Tensor) -> torch.Tensor:  # (T, P, ...) -> (P, T, ...)
        return x.transpose(0, 1)

    roll = world_model.imagine(post["h"][ep_t, t0_t], post["z"][ep_t, t0_t], None, T, actions=teacher)
    state_pred = torch.cat([tm(roll["h"][1:]), tm(roll["z"][1:])], -1) @ w + b  # (P, T, N, S)
    alive = real["alive"].bool()
    out = gci(state_pred, tm(roll["reward_agents"]), tm(roll["discount_agents"]), alive, cfg.eps_r, cfg.eps_gamma)
    out.update(gpe(tm(roll["obs"][1:]), real["obs"], tm(roll["reward_agents"]), real["reward"],
                   tm(roll["discount_agents"]), real["discount"], alive))
    return {k: v.cpu().numpy() for k, v in out.items()}


def _checkpoints(run_dir: Path) -> list[Path]:
    """Snapshots saved through training (step_*.pt), then final.pt (the trained model; when it repeats the
    last snapshot's step it is still analysed, on its own episodes)."""
    ck = sorted((run_dir / "checkpoints").glob("step_*.pt"))
    final = run_dir / "checkpoints" / "final.pt"
    if final.exists():
        ck.append(final)
    if not ck:
        raise FileNotFoundError(f"{run_dir}/checkpoints holds no step_*.pt or final.pt to analyse")
    return ck


def analyze_run(run_dir: Path, cfg: AnalysisConfig, device: torch.device | None = None,
                progress: bool = True) -> dict[str, Any]:
    """GCI and GPE of a run: `cfg.pairs` pairs spread evenly over its checkpoints -> the analysis.json dict."""
    cfg.validate()
    run_dir = Path(run_dir)
    device = device or torch.device("cpu")
    run = read_run_config(run_dir)
    if run["method"] not in WORLD_MODEL_METHODS:
        raise ValueError(f"analyze needs a world-model method ({', '.join(WORLD_MODEL_METHODS)}); "
                         f"{run_dir} is a {run['method']} run")
    ckpts = _checkpoints(run_dir)
    counts = np.full(len(ckpts), cfg.pairs // len(ckpts))
    counts[: cfg.pairs % len(ckpts)] += 1
    t_start = time.perf_counter()
    parts: list[dict[str, np.ndarray]] = []
    per_ckpt = []
    for i, (path, n) in enumerate(tqdm(list(zip(ckpts, counts)), desc=f"analyze {run_dir}", disable=not progress,
                                       unit="ckpt")):
        if n == 0:
            continue
        method, run, step = load_run_method(run_dir, path, device)
        torch.manual_seed(cfg.seed * 1_000_003 + i)
        episodes = collect_episodes(method, run["map"], cfg.episodes_per_checkpoint, cfg.n_envs,
                                    seed=cfg.seed * 1_000_003 + int(run["seed"]) * 1_009 + i,
                                    backend=run.get("backend", "sim"))
        res = analyze_checkpoint(method.world_model, episodes, run["env_info"], int(n), cfg,
                                 np.random.default_rng([cfg.seed, i]))
        parts.append(res)
        per_ckpt.append({"checkpoint": path.name, "step": step, "pairs": int(n),
                         **{f"{k}_mean": float(v.mean()) for k, v in res.items()}})
        if applies_to(method):  # real vs decoded observations, on the same episodes (gawm/policy_agreement.py)
            batch = {k: v.to(device) for k, v in _episode_batch(episodes, run["env_info"]).items()}
            per_ckpt[-1]["policy_agreement"] = policy_agreement(method.policy, method.world_model, batch)
    allv = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    summary: dict[str, Any] = {"method": run["method"], "map": run["map"], "seed": int(run["seed"]),
                               "pairs": int(sum(len(p["gci"]) for p in parts)), "horizon": cfg.horizon,
                               "checkpoints": len(per_ckpt)}
    for k, v in allv.items():
        summary[f"{k}_mean"] = float(v.mean())
        summary[f"{k}_std"] = float(v.std())
    agreement = [c["policy_agreement"] for c in per_ckpt if "policy_agreement" in c]
    if agreement:  # decision-weighted over checkpoints
        n = sum(a["decisions"] for a in agreement)
        summary["policy_agreement"] = {k: (n if k == "decisions" else
                                           sum(a[k] * a["decisions"] for a in agreement) / max(n, 1))
                                       for k in AGREEMENT_KEYS}
    else:
        summary["policy_agreement"] = "n/a: the actor reads world-model features in imagination and at execution"
    summary.update({"config": dataclasses.asdict(cfg), "per_checkpoint": per_ckpt,
                    "wall_s": time.perf_counter() - t_start})
    return summary
