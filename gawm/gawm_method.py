"""GAWM and GAWM* (Algorithm 1's inner loop). The runner (gawm.train) collects real episodes; `update` then

1. trains the world model for E_M epochs on sequences from the real buffer B_r, reward targets smoothed by
   Eqs. (4)-(5) when the episode entered the buffer;
2. imagines: from posterior states of freshly sampled real sequences (the actor's GRU memory burnt in on
   the same real observations), rolls the world model k steps with the current policy acting on
   *reconstructed local observations* (CTDE: the actor never sees world-model features) and stores the
   rollouts in the pseudo buffer B_p;
3. trains the MAPPO actor-critic for E_pi epochs on trajectories drawn across B_p (Sec. 3.1.3), the critic
   on the joint reconstructed observations. Imagined steps are weighted by the predicted probability that
   the episode is still running (the product of predicted discounts before them).

`world_model.obs_fusion: false` in the config is GAWM*; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from gawm.acting import PolicyActing
from gawm.buffers import PseudoBuffer, RealBuffer
from gawm.config import ConfigError, from_dict
from gawm.policy import MAPPOPolicy, PolicyConfig, make_optimizers, ppo_update
from gawm.smoothing import smooth_rewards
from gawm.world_model import WorldModel, WorldModelConfig


@dataclass
class GAWMTrainingConfig:
    """Algorithm 1's schedule and buffer sizes (the `gawm:` block)."""

    buffer_capacity: int  # rows of the real buffer B_r
    wm_epochs: int  # E_M world-model updates per iteration
    wm_batch: int  # sequences per world-model batch
    seq_len: int  # rows per sequence
    imag_batch: int  # real sequences whose rows seed imagination, per iteration
    horizon: int  # k imagined steps
    pseudo_capacity: int  # trajectories kept in B_p
    policy_epochs: int  # E_pi: PPO updates per iteration, each on a fresh draw from B_p
    policy_batch: int  # trajectories per PPO update
    smooth_window: int  # H of Eq. (4)
    smooth_sigma: float  # sigma of Eq. (5); 0 disables smoothing

    def validate(self) -> None:
        for k, v in vars(self).items():
            if v < 0 or (v == 0 and k not in ("smooth_window", "smooth_sigma")):
                raise ConfigError(f"gawm.{k} must be positive, got {v}")


class GAWMMethod(PolicyActing):
    policy_input: Literal["obs", "features"] = "obs"  # what the actor reads (WorldModel.imagine's option)
    metric_names = ("wm_loss", "obs_loss", "reward_loss", "discount_loss", "avail_loss", "kl",
                    "policy_loss", "value_loss", "entropy", "approx_kl", "imag_reward", "imag_continue")

    def __init__(self, cfg: dict[str, Any], env_info: dict[str, int], device: torch.device, seed: int):
        N, O, A = env_info["n_agents"], env_info["obs_shape"], env_info["n_actions"]
        self.train_cfg = from_dict(GAWMTrainingConfig, cfg["gawm"], "gawm")
        self.wm_cfg = from_dict(WorldModelConfig, {**cfg["world_model"], "n_agents": N, "obs_dim": O,
                                                   "n_actions": A}, "world_model")
        self.pol_cfg = from_dict(PolicyConfig, cfg["policy"], "policy")
        if self.pol_cfg.critic_input != "joint_obs":
            raise ConfigError("policy.critic_input must be 'joint_obs' for GAWM: imagined rollouts have no state")
        torch.manual_seed(seed)
        self.device = device
        self.world_model = WorldModel(self.wm_cfg).to(device)
        self.wm_opt = self.world_model.make_optimizer()
        self.policy = MAPPOPolicy(self.pol_cfg, N, self._actor_input_dim(), A).to(device)
        self.pol_opts = make_optimizers(self.policy, self.pol_cfg)
        tc = self.train_cfg
        smooth = (lambda r: smooth_rewards(r, tc.smooth_window, tc.smooth_sigma)) \
            if tc.smooth_window > 0 and tc.smooth_sigma > 0 else None
        self.real = RealBuffer(tc.buffer_capacity, N, O, env_info["state_shape"], A, reward_fn=smooth)
        self.pseudo = PseudoBuffer(tc.pseudo_capacity)
        self.wm_epoch = 0  # world-model updates so far (the x axis of Fig. 4)

    # ------------------------------------------------------------- hooks (MAMBA/MAG override them)
    def _actor_input_dim(self) -> int:
        """Width of what the actor reads (`policy_input`): local observations, or the features [h, z]."""
        return self.wm_cfg.obs_dim if self.policy_input == "obs" else self.wm_cfg.deter_dim + self.wm_cfg.stoch_dim

    def _wm_update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One world-model gradient step (Eq. 3)."""
        return self.world_model.update(batch, self.wm_opt)

    def _policy_rollout(self, rollout: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A pseudo-buffer draw -> the rollout `ppo_update` gets: the critic's joint input rebuilt from the
        stored observations (see `_stored_critic_in`)."""
        rollout["critic_in"] = self.policy.critic_input(rollout["obs"])  # (k+1, B, N, N*D)
        return rollout

    # ---------------------------------------------------------------------------------- data in
    def observe_episode(self, ep: dict[str, Any]) -> None:
        self.real.add_episode(ep["obs"], ep["state"], ep["avail"], ep["actions"], ep["rewards"], ep["terminated"],
                              ep["alive"])

    def _sample(self, n: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        batch = self.real.sample_sequences(n, self.train_cfg.seq_len, rng)
        batch["reward"] = batch["reward_target"]  # the reward head learns the smoothed trend (Eqs. 4-5)
        return {k: v.to(self.device) for k, v in batch.items()}

    # ---------------------------------------------------------------------------------- Algorithm 1
    def update(self, rng: np.random.Generator) -> dict[str, float]:
        tc = self.train_cfg
        if len(self.real) < tc.seq_len:
            return {}
        wm_metrics = [self._wm_update(self._sample(tc.wm_batch, rng)) for _ in range(tc.wm_epochs)]
        self.wm_epoch += tc.wm_epochs
        imag = self._imagine(rng)
        gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
        pol_metrics = []
        for _ in range(tc.policy_epochs):
            rollout = self._policy_rollout({k: v.to(self.device)
                                            for k, v in self.pseudo.sample(tc.policy_batch, rng).items()})
            rollout["mask"] = _survival(rollout["discounts"])  # (k, B)
            pol_metrics.append(ppo_update(self.policy, self.pol_opts, rollout, self.pol_cfg, generator=gen))
        out = {k: float(np.mean([m[k] for m in wm_metrics])) for k in wm_metrics[0]}
        out.update({k: float(np.mean([m[k] for m in pol_metrics])) for k in pol_metrics[0]})
        out.update(imag)
        return out

    def _actor_view(self, h: torch.Tensor, z: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """What the actor reads, given model states and (real or reconstructed) observations of the same rows:
        GAWM's CTDE actor reads the observations; MAMBA/MAG's reads the features [h, z]."""
        return obs if self.policy_input == "obs" else torch.cat([h, z], -1)

    def _stored_critic_in(self, seen: torch.Tensor) -> torch.Tensor:
        """critic_in kept in B_p for imagined actor inputs `seen` (k+1, B', N, D): nothing. The joint input is
        N copies of all N agents' inputs, N times B_p's observations (1.7 GB of a 1.9 GB B_p on 1c3s5z);
        `_policy_rollout` rebuilds it exactly from the stored observations."""
        return seen.new_zeros(*seen.shape[:3], 0)  # (k+1, B', N, 0)

    def _burn_in(self, seen: torch.Tensor, avail: torch.Tensor, is_first: torch.Tensor) -> torch.Tensor:
        """The actor's memory before acting at each row of real sequences (B, L, ...): its GRU run over the
        same rows, reset at episode starts. -> (B*L, N, H); zeros for an MLP actor (nothing to remember)."""
        B, L = is_first.shape
        if not self.pol_cfg.actor_rnn:
            return self.policy.init_hidden(B * L).to(self.device)
        seen_tm, avail_tm, resets = seen.transpose(0, 1), avail.transpose(0, 1), is_first.transpose(0, 1)
        h = self.policy.init_hidden(B).to(self.device)
        before = []
        for t in range(L):
            h = h * (~resets[t]).to(h.dtype)[:, None, None]
            before.append(h)
            _, h = self.policy.actor_sequence(seen_tm[t:t + 1], avail_tm[t:t + 1], h, None)
        return torch.stack(before, 1).flatten(0, 1)  # (B*L, N, H)

    @torch.no_grad()
    def _imagine(self, rng: np.random.Generator) -> dict[str, float]:
        """Seed imagination at every non-terminal row of fresh real sequences; push the rollouts into B_p."""
        tc = self.train_cfg
        batch = self._sample(tc.imag_batch, rng)
        post = self.world_model.observe(batch)
        actor_h = self._burn_in(self._actor_view(post["h"], post["z"], batch["obs"]), batch["avail"],
                                batch["is_first"])
        keep = batch["discount"].flatten() > 0.5  # imagining past a real terminal state is meaningless
        start_h = post["h"].flatten(0, 1)[keep]
        start_z = post["z"].flatten(0, 1)[keep]
        actor_h = actor_h[keep]
        logps, hidden = [], [actor_h]

        def policy_fn(seen: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
            a, logp, h_new = self.policy.act(seen, avail, hidden[-1])
            logps.append(logp)
            hidden.append(h_new)
            return a

        roll = self.world_model.imagine(start_h, start_z, policy_fn, tc.horizon, policy_input=self.policy_input)
        seen = self._actor_view(roll["h"], roll["z"], roll["obs"])  # (k+1, B', N, D)
        self.pseudo.add({
            "obs": seen, "avail": roll["avail"], "critic_in": self._stored_critic_in(seen),
            "actions": roll["actions"], "old_log_probs": torch.stack(logps), "rewards": roll["reward"],
            "discounts": roll["discount"], "actor_h0": actor_h, "critic_h0": torch.zeros_like(actor_h),
        })
        return {"imag_reward": float(roll["reward"].sum(0).mean()),
                "imag_continue": float(roll["discount"].mean())}

    # ---------------------------------------------------------------------------------- persistence
    def state_dict(self, full: bool = True) -> dict[str, Any]:
        """full: everything to resume training; else the networks only (snapshots for analysis/evaluation)."""
        sd = {"world_model": self.world_model.state_dict(), "policy": self.policy.state_dict(),
              "wm_epoch": self.wm_epoch}
        if full:
            sd.update({"wm_opt": self.wm_opt.state_dict(), "pol_opts": [o.state_dict() for o in self.pol_opts],
                       "real": self.real.state_dict(), "pseudo": self.pseudo.state_dict()})
        return sd

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        self.world_model.load_state_dict(sd["world_model"])
        self.policy.load_state_dict(sd["policy"])
        if "wm_opt" in sd:
            self.wm_opt.load_state_dict(sd["wm_opt"])
            for o, s in zip(self.pol_opts, sd["pol_opts"]):
                o.load_state_dict(s)
        if "real" in sd:
            self.real.load_state_dict(sd["real"])
        if "pseudo" in sd:
            self.pseudo.load_state_dict(sd["pseudo"])
        self.wm_epoch = int(sd.get("wm_epoch", 0))


def _survival(discounts: torch.Tensor) -> torch.Tensor:
    """Weight of imagined step t: probability that no predicted termination happened before it. (k, B)."""
    alive = torch.cumprod(discounts, 0)
    return torch.cat([torch.ones_like(alive[:1]), alive[:-1]], 0)
