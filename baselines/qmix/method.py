"""QMIX on real rollouts, in the shared runner: epsilon-greedy decentralised acting, an episode replay buffer,
double-Q TD targets through target networks, hard target updates every `target_update_episodes` episodes.

Per collected episode one gradient step on a batch of episodes, as pymarl does with batch_size_run = 1.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from baselines.qmix.networks import AgentQNet, QMixer
from gawm.collector import Episode
from gawm.config import ConfigError, from_dict
from gawm.methods import mean_metrics


@dataclass
class QMIXConfig:
    """The `qmix:` block (pymarl's qmix.yaml + default.yaml values in config/methods/qmix.yaml)."""

    rnn_hidden: int
    mixing_embed: int
    hypernet_hidden: int
    hypernet_layers: int
    lr: float
    optim_alpha: float  # RMSprop alpha
    optim_eps: float
    gamma: float
    grad_clip: float
    buffer_episodes: int
    batch_episodes: int
    target_update_episodes: int
    eps_start: float
    eps_finish: float
    eps_anneal_steps: int
    double_q: bool

    def validate(self) -> None:
        for k in ("rnn_hidden", "mixing_embed", "hypernet_hidden", "buffer_episodes", "batch_episodes",
                  "target_update_episodes"):
            if getattr(self, k) < 1:
                raise ConfigError(f"qmix.{k} must be >= 1, got {getattr(self, k)}")
        if self.hypernet_layers not in (1, 2):
            raise ConfigError(f"qmix.hypernet_layers must be 1 or 2, got {self.hypernet_layers}")
        if not (0.0 <= self.eps_finish <= self.eps_start <= 1.0):
            raise ConfigError("qmix: need 0 <= eps_finish <= eps_start <= 1")
        if not (0.0 < self.gamma <= 1.0) or self.lr <= 0:
            raise ConfigError("qmix: gamma must be in (0, 1] and lr > 0")


def td_targets(q_next_online: Tensor, q_next_target: Tensor, avail_next: Tensor, rewards: Tensor,
               terminated: Tensor, state_next: Tensor, target_mixer, gamma: float, double_q: bool) -> Tensor:
    """y_t = r_t + gamma * (1 - terminated_t) * Q_tot^-(argmax_a Q(o_{t+1}, a), s_{t+1}).

    q_next_online / q_next_target (..., N, A) at t+1, avail_next (..., N, A) bool, rewards / terminated
    (...), state_next (..., S). Unavailable next actions can never be the arg-max. Double Q: the online net
    picks, the target net evaluates (pymarl's double_q); otherwise the target net does both.
    """
    chooser = q_next_online if double_q else q_next_target
    best = chooser.masked_fill(~avail_next, float("-inf")).argmax(-1, keepdim=True)  # (..., N, 1)
    q_best = q_next_target.gather(-1, best).squeeze(-1)  # (..., N)
    return rewards + gamma * (1.0 - terminated) * target_mixer(q_best, state_next)


class QMIXMethod:
    metric_names = ("td_loss", "q_taken", "target_mean", "epsilon", "grad_norm")

    def __init__(self, cfg: dict[str, Any], env_info: dict[str, int], device: torch.device, seed: int):
        self.cfg = from_dict(QMIXConfig, cfg["qmix"], "qmix")
        self.N, self.A = env_info["n_agents"], env_info["n_actions"]
        self.O, self.S = env_info["obs_shape"], env_info["state_shape"]
        self.T_max = env_info["episode_limit"]
        torch.manual_seed(seed)
        self.device = device
        c = self.cfg
        self.agent = AgentQNet(self.O + self.A + self.N, c.rnn_hidden, self.A).to(device)
        self.mixer = QMixer(self.N, self.S, c.mixing_embed, c.hypernet_hidden, c.hypernet_layers).to(device)
        self.target_agent = copy.deepcopy(self.agent)
        self.target_mixer = copy.deepcopy(self.mixer)
        self.params = list(self.agent.parameters()) + list(self.mixer.parameters())
        self.optimizer = torch.optim.RMSprop(self.params, lr=c.lr, alpha=c.optim_alpha, eps=c.optim_eps)
        self.buffer: deque[dict[str, np.ndarray]] = deque(maxlen=c.buffer_episodes)
        self.t_env = 0  # real env steps seen in finished episodes (drives epsilon)
        self.episodes = 0
        self.new_episodes = 0  # since the last update
        self.last_target_update = 0
        self.generator = torch.Generator().manual_seed(seed)  # exploration draws

    # ---------------------------------------------------------------------------------------- acting
    def epsilon(self) -> float:
        c = self.cfg
        frac = min(1.0, self.t_env / max(1, c.eps_anneal_steps))
        return c.eps_start + frac * (c.eps_finish - c.eps_start)

    def _inputs(self, obs: Tensor, last_action: Tensor) -> Tensor:
        """[obs, one-hot last action, one-hot agent id]: (..., N, O), (..., N, A) -> (..., N, O+A+N)."""
        ids = torch.eye(self.N, device=obs.device).expand(*obs.shape[:-1], self.N)
        return torch.cat([obs, last_action, ids], -1)

    def init_hidden(self, batch: int) -> tuple[Tensor, Tensor]:
        return (torch.zeros(batch, self.N, self.cfg.rnn_hidden, device=self.device),
                torch.zeros(batch, self.N, self.A, device=self.device))

    @torch.no_grad()
    def act(self, obs: np.ndarray, avail: np.ndarray, state: np.ndarray, hidden: tuple[Tensor, Tensor],
            reset: np.ndarray, deterministic: bool) -> tuple[np.ndarray, tuple[Tensor, Tensor]]:
        h, last = hidden
        keep = torch.as_tensor(~reset, device=self.device, dtype=torch.float32)[:, None, None]
        h, last = h * keep, last * keep
        o = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        av = torch.as_tensor(avail, dtype=torch.bool, device=self.device)
        q, h = self.agent(self._inputs(o, last), h)  # (B, N, A)
        greedy = q.masked_fill(~av, float("-inf")).argmax(-1)
        if deterministic:
            actions = greedy
        else:
            shape = greedy.shape
            explore = torch.rand(shape, generator=self.generator) < self.epsilon()
            random = torch.multinomial(av.reshape(-1, self.A).float().cpu(), 1, generator=self.generator)
            actions = torch.where(explore.to(self.device), random.reshape(shape).to(self.device), greedy)
        return actions.cpu().numpy(), (h, F.one_hot(actions, self.A).float())

    # ------------------------------------------------------------------------------------- training
    def observe_episode(self, ep: Episode) -> None:
        self.buffer.append({  # pymarl's episode replay, compact dtypes (saved in checkpoints)
            "obs": ep.obs.astype(np.float32), "state": ep.state.astype(np.float32),
            "avail": ep.avail.astype(bool), "actions": ep.actions.astype(np.int64),
            "rewards": ep.rewards.astype(np.float32), "terminated": bool(ep.terminated),
        })
        self.t_env += ep.length
        self.episodes += 1
        self.new_episodes += 1

    def _batch(self, idx: np.ndarray) -> dict[str, Tensor]:
        """Episodes padded to the longest: obs (B, T+1, N, O), state (B, T+1, S), avail (B, T+1, N, A),
        actions (B, T, N), rewards / terminated / filled (B, T)."""
        eps = [self.buffer[i] for i in idx]
        B, T = len(eps), max(len(e["actions"]) for e in eps)
        out = {"obs": np.zeros((B, T + 1, self.N, self.O), np.float32), "state": np.zeros((B, T + 1, self.S), np.float32),
               "avail": np.ones((B, T + 1, self.N, self.A), bool), "actions": np.zeros((B, T, self.N), np.int64),
               "rewards": np.zeros((B, T), np.float32), "terminated": np.zeros((B, T), np.float32),
               "filled": np.zeros((B, T), np.float32)}
        for b, e in enumerate(eps):
            n = len(e["actions"])
            out["obs"][b, : n + 1], out["state"][b, : n + 1], out["avail"][b, : n + 1] = e["obs"], e["state"], e["avail"]
            out["actions"][b, :n], out["rewards"][b, :n], out["filled"][b, :n] = e["actions"], e["rewards"], 1.0
            out["terminated"][b, n - 1] = float(e["terminated"])
        return {k: torch.as_tensor(v, device=self.device) for k, v in out.items()}

    def _unroll(self, net: AgentQNet, batch: dict[str, Tensor]) -> Tensor:
        """Q-values for every row t = 0..T: (B, T+1, N, A), each episode from a zero GRU state."""
        B, L = batch["obs"].shape[:2]
        last = torch.zeros(B, L, self.N, self.A, device=self.device)
        last[:, 1:] = F.one_hot(batch["actions"], self.A).float()  # row t sees the action taken at t-1
        return net.sequence(self._inputs(batch["obs"], last))  # (B, L, N, in) -> (B, L, N, A)

    def update(self, rng: np.random.Generator) -> dict[str, float]:
        c = self.cfg
        if len(self.buffer) < c.batch_episodes:
            self.new_episodes = 0  # pymarl trains only once it can sample: warm-up episodes earn no steps
            return {}
        if self.new_episodes == 0:
            return {}
        metrics = [self._train_step(rng) for _ in range(self.new_episodes)]
        self.new_episodes = 0
        if self.episodes - self.last_target_update >= c.target_update_episodes:
            self.target_agent.load_state_dict(self.agent.state_dict())
            self.target_mixer.load_state_dict(self.mixer.state_dict())
            self.last_target_update = self.episodes
        out = mean_metrics(metrics)
        out["epsilon"] = self.epsilon()
        return out

    def _train_step(self, rng: np.random.Generator) -> dict[str, float]:
        c = self.cfg
        batch = self._batch(rng.choice(len(self.buffer), size=c.batch_episodes, replace=False))
        loss, stats = self.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        stats["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(self.params, c.grad_clip))
        self.optimizer.step()
        return stats

    def loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        """Mean squared TD error over the real steps of a padded batch (see `_batch`), and its statistics.

        Padded steps (filled = 0) contribute nothing, whatever their Q-values; the step that ends an episode
        by win or loss has no bootstrap; a time-limit end bootstraps from the last observation.
        """
        c = self.cfg
        q = self._unroll(self.agent, batch)  # (B, T+1, N, A)
        q_taken = q[:, :-1].gather(-1, batch["actions"][..., None]).squeeze(-1)  # (B, T, N)
        with torch.no_grad():
            q_target = self._unroll(self.target_agent, batch)
            y = td_targets(q[:, 1:].detach(), q_target[:, 1:], batch["avail"][:, 1:], batch["rewards"],
                           batch["terminated"], batch["state"][:, 1:], self.target_mixer, c.gamma, c.double_q)
        q_tot = self.mixer(q_taken, batch["state"][:, :-1])  # (B, T)
        real = batch["filled"] > 0  # (B, T); where() rather than a product, so padding can never leak NaN
        n = real.sum().clamp(min=1)
        zero = torch.zeros_like(q_tot)
        loss = torch.where(real, q_tot - y, zero).pow(2).sum() / n
        return loss, {"td_loss": loss.item(), "q_taken": float(torch.where(real, q_tot.detach(), zero).sum() / n),
                      "target_mean": float(torch.where(real, y, zero).sum() / n)}

    # ------------------------------------------------------------------------------------ persistence
    def snapshot(self) -> dict[str, Any]:
        """The networks that act (step_*.pt, final.pt)."""
        return {"agent": self.agent.state_dict(), "mixer": self.mixer.state_dict()}

    def state_dict(self) -> dict[str, Any]:
        """Everything to resume (last.pt): the snapshot, target networks, optimiser, replay, counters, RNG."""
        return {**self.snapshot(), "target_agent": self.target_agent.state_dict(),
                "target_mixer": self.target_mixer.state_dict(), "optimizer": self.optimizer.state_dict(),
                "buffer": list(self.buffer),
                "counters": (self.t_env, self.episodes, self.new_episodes, self.last_target_update),
                "generator": self.generator.get_state()}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        self.agent.load_state_dict(sd["agent"])
        self.mixer.load_state_dict(sd["mixer"])
        if "target_agent" in sd:
            self.target_agent.load_state_dict(sd["target_agent"])
            self.target_mixer.load_state_dict(sd["target_mixer"])
            self.optimizer.load_state_dict(sd["optimizer"])
            self.buffer = deque(sd["buffer"], maxlen=self.cfg.buffer_episodes)
            self.t_env, self.episodes, self.new_episodes, self.last_target_update = sd["counters"]
            self.generator.set_state(sd["generator"])
