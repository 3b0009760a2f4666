"""MAPPO on real rollouts. All of the network and PPO maths is gawm.policy's; this module only turns the
episodes collected since the last update into a padded, masked rollout and runs PPO on it (on-policy)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gawm.acting import PolicyActing
from gawm.collector import Episode
from gawm.config import from_dict
from gawm.policy import PPO_METRICS, MAPPOPolicy, PolicyConfig, make_optimizers, ppo_update


class MAPPOMethod(PolicyActing):
    metric_names = PPO_METRICS  # every key ppo_update returns

    def __init__(self, cfg: dict[str, Any], env_info: dict[str, int], device: torch.device, seed: int):
        self.cfg = from_dict(PolicyConfig, cfg["policy"], "policy")
        self.n_agents, self.n_actions = env_info["n_agents"], env_info["n_actions"]
        torch.manual_seed(seed)
        self.device = device
        self.policy = MAPPOPolicy(self.cfg, self.n_agents, env_info["obs_shape"], self.n_actions,
                                  state_dim=env_info["state_shape"]).to(device)
        self.optimizers = make_optimizers(self.policy, self.cfg)
        self.pending: list[Episode] = []  # episodes finished since the last update

    def observe_episode(self, episode: Episode) -> None:
        self.pending.append(episode)

    # ------------------------------------------------------------------ training
    def update(self, rng: np.random.Generator) -> dict[str, float]:
        if not self.pending:
            return {}
        rollout = self._rollout(self.pending)
        self.pending = []
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        return ppo_update(self.policy, self.optimizers, rollout, self.cfg, generator=gen)

    def _rollout(self, episodes: list[Episode]) -> dict[str, torch.Tensor]:
        """Pad episodes to a common length, time-major; mask = real step and agent alive."""
        B, N = len(episodes), self.n_agents
        T = max(e.length for e in episodes)
        O, S, A = episodes[0].obs.shape[-1], episodes[0].state.shape[-1], self.n_actions
        obs = np.zeros((T + 1, B, N, O), np.float32)
        state = np.zeros((T + 1, B, S), np.float32)
        avail = np.zeros((T + 1, B, N, A), bool)
        avail[..., 1] = True  # padding rows: any legal-looking mask, they are masked out
        actions = np.zeros((T, B, N), np.int64)
        rewards = np.zeros((T, B), np.float32)
        discounts = np.zeros((T, B), np.float32)
        mask = np.zeros((T, B, N), np.float32)
        for b, e in enumerate(episodes):
            n = e.length
            obs[: n + 1, b], state[: n + 1, b], avail[: n + 1, b] = e.obs, e.state, e.avail
            actions[:n, b], rewards[:n, b] = e.actions, e.rewards
            discounts[:n, b] = 1.0
            if e.terminated:
                discounts[n - 1, b] = 0.0
            mask[:n, b] = e.alive[:n]
        d = self.device
        obs_t = torch.as_tensor(obs, device=d)
        avail_t = torch.as_tensor(avail, device=d)
        actions_t = torch.as_tensor(actions, device=d)
        resets = torch.zeros((T, B), dtype=torch.bool, device=d)
        resets[0] = True
        h0 = self.policy.init_hidden(B).to(d)
        with torch.no_grad():
            old_logp, _ = self.policy.evaluate_sequence(obs_t[:-1], avail_t[:-1], actions_t, h0, resets)
        return {
            "obs": obs_t, "avail": avail_t,
            "critic_in": self.policy.critic_input(obs_t, torch.as_tensor(state, device=d)),
            "actions": actions_t, "old_log_probs": old_logp,
            "rewards": torch.as_tensor(rewards, device=d), "discounts": torch.as_tensor(discounts, device=d),
            "resets": resets, "actor_h0": h0, "critic_h0": h0.clone(),
            "mask": torch.as_tensor(mask, device=d),
        }

    # ------------------------------------------------------------------ persistence
    def snapshot(self) -> dict[str, Any]:
        """The networks only (step_*.pt, final.pt)."""
        return {"policy": self.policy.state_dict()}

    def state_dict(self) -> dict[str, Any]:
        """Everything to resume (last.pt): the snapshot, the optimisers, episodes not yet trained on."""
        return {**self.snapshot(), "optimizers": [o.state_dict() for o in self.optimizers], "pending": self.pending}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        self.policy.load_state_dict(sd["policy"])
        for o, s in zip(self.optimizers, sd.get("optimizers", [])):
            o.load_state_dict(s)
        self.pending = list(sd.get("pending", []))
