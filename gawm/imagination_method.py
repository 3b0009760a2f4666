"""The model-based loop that GAWM, GAWM*, MAMBA and MAG share (Algorithm 1's inner loop, method-neutral).

The runner (gawm.train) collects real episodes; `update` then

1. trains the world model for E_M epochs on sequences from the real buffer B_r (reward targets optionally
   smoothed when the episode entered the buffer: GAWM's Eqs. 4-5, off for MAMBA/MAG);
2. imagines: from posterior states of freshly sampled real sequences (the actor's GRU memory burnt in on the
   same real rows), rolls the world model k steps with the current policy and stores the rollouts in the
   pseudo buffer B_p;
3. trains the MAPPO actor-critic (gawm.policy) on trajectories drawn across B_p.

The schedule of 2-3 is `imagination.schedule`:
- `per_epoch` (Algorithm 1 as written, lines 9-18): each of the E_pi epochs imagines k steps from fresh
  real start states into B_p, then runs E_sample PPO updates, each on a fresh draw across B_p;
- `once` (the schedule before 2026-11-26, kept for the ablation): one imagination per iteration, then E_pi
  PPO updates on draws from B_p (E_sample is not used).

Termination in imagination: the predicted continuation enters GAE as the discount of each step, which is
the only place it belongs; every imagined step is a valid transition (GAE's 0/1 mask is all ones). With
`survival_weight`, each step's policy and value loss is also weighted by the predicted probability that
the episode is still running (the product of predicted discounts before it, DreamerV2's weighting);
MAMBA's public code does not weight, and neither do we by default.

What a subclass decides: `actor_inputs`, what its actor may read, its own first: reconstructed local
observations (GAWM's CTDE actor) or the world-model features [h_i, z_i] (MAMBA's); `imagination.actor_input`
picks one of them (null: the method's own) and sets `policy_input`. Also how it acts in the real environment
(`act`, `init_hidden`, gawm.acting), and the hooks below (the world-model objective, what B_p stores for the critic). This class
names no method: no baseline derives from the method under test, and a change to one method's class moves
no other method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from gawm.buffers import PseudoBuffer, RealBuffer
from gawm.collector import Episode
from gawm.config import ConfigError, from_dict
from gawm.methods import mean_metrics
from gawm.policy import PPO_METRICS, MAPPOPolicy, PolicyConfig, make_optimizers, ppo_update
from gawm.smoothing import smooth_rewards
from gawm.world_model import PRECISIONS, WM_METRICS, Precision, WorldModel, WorldModelConfig

PolicyInput = Literal["obs", "features"]


@dataclass
class ImaginationConfig:
    """The loop's schedule and buffer sizes (the `imagination:` block; `gawm:` in configs saved before)."""

    buffer_capacity: int  # rows of the real buffer B_r
    wm_epochs: int  # E_M world-model updates per iteration
    wm_batch: int  # sequences per world-model batch
    seq_len: int  # rows per sequence
    imag_batch: int  # real sequences whose rows seed imagination, per iteration
    horizon: int  # k imagined steps
    pseudo_capacity: int  # trajectories kept in B_p
    policy_epochs: int  # E_pi: policy epochs per iteration (see `schedule`)
    policy_batch: int  # trajectories per PPO update
    smooth_window: int  # H of GAWM's Eq. (4); 0 disables reward smoothing
    smooth_sigma: float  # sigma of Eq. (5); 0 disables smoothing
    schedule: Literal["per_epoch", "once"]  # per_epoch: Algorithm 1 (imagine inside each E_pi epoch)
    sample_epochs: int  # E_sample: PPO updates per E_pi epoch under `per_epoch` (Algorithm 1, line 15)
    survival_weight: bool  # weight each imagined step's losses by its predicted survival probability
    wm_precision: Precision  # "bf16": the world-model loss's forward under bfloat16 autocast (WorldModel.update)
    actor_input: PolicyInput | None = None  # what the actor reads; None: the method's own (configs saved before)

    def validate(self) -> None:
        for k, v in vars(self).items():
            if k in ("schedule", "survival_weight", "wm_precision", "actor_input"):
                continue
            if v < 0 or (v == 0 and k not in ("smooth_window", "smooth_sigma")):
                raise ConfigError(f"imagination.{k} must be positive, got {v}")
        if self.schedule not in ("per_epoch", "once"):
            raise ConfigError(f"imagination.schedule must be 'per_epoch' or 'once', got {self.schedule!r}")
        if self.wm_precision not in PRECISIONS:
            raise ConfigError(f"imagination.wm_precision must be one of {PRECISIONS}, got {self.wm_precision!r}")


class ImaginationMethod:
    """World model + imagination + PPO on imagined rollouts; see the module docstring for what subclasses add."""

    actor_inputs: tuple[PolicyInput, ...]  # what the actor may read, the method's own first; set by every subclass
    policy_input: PolicyInput  # what it reads in this run (WorldModel.imagine's option), from imagination.actor_input
    metric_names = WM_METRICS + PPO_METRICS + ("imag_reward", "imag_continue")  # every key `update` returns

    def __init__(self, cfg: dict[str, Any], env_info: dict[str, int], device: torch.device, seed: int):
        allowed = getattr(self, "actor_inputs", ())
        if not allowed or any(a not in ("obs", "features") for a in allowed):
            raise TypeError(f"{type(self).__name__}.actor_inputs must name 'obs' and/or 'features'")
        N, O, A = env_info["n_agents"], env_info["obs_shape"], env_info["n_actions"]
        self.train_cfg = from_dict(ImaginationConfig, cfg["imagination"], "imagination")
        self.policy_input = self.train_cfg.actor_input or allowed[0]
        if self.policy_input not in allowed:
            raise ConfigError(f"imagination.actor_input {self.policy_input!r} is not an input {type(self).__name__}'s "
                              f"actor can read: {list(allowed)}")
        self.wm_cfg = from_dict(WorldModelConfig, {**cfg["world_model"], "n_agents": N, "obs_dim": O,
                                                   "n_actions": A}, "world_model")
        self.pol_cfg = from_dict(PolicyConfig, cfg["policy"], "policy")
        if self.pol_cfg.critic_input != "joint_obs":
            raise ConfigError(f"policy.critic_input must be 'joint_obs' for {type(self).__name__}: imagined "
                              "rollouts have no state")
        torch.manual_seed(seed)
        self.device = device
        self.world_model = WorldModel(self.wm_cfg).to(device)
        self.wm_opt = self.world_model.make_optimizer()
        self.policy = MAPPOPolicy(self.pol_cfg, N, self._actor_input_dim(), A).to(device)
        self.pol_opts = make_optimizers(self.policy, self.pol_cfg)
        tc = self.train_cfg
        smooth = (lambda r: smooth_rewards(r, tc.smooth_window, tc.smooth_sigma)) \
            if tc.smooth_window > 0 and tc.smooth_sigma > 0 else None
        # no env state in B_r: the world model and imagination never read it (MAPPO's critic does, on its own data)
        self.real = RealBuffer(tc.buffer_capacity, N, O, 0, A, reward_fn=smooth)
        self.pseudo = PseudoBuffer(tc.pseudo_capacity)
        self.wm_epoch = 0  # world-model updates so far (the x axis of Fig. 4)

    # ------------------------------------------------------------------------------ hooks (subclasses)
    def _actor_input_dim(self) -> int:
        """Width of what the actor reads (`policy_input`): local observations, or the features [h, z]."""
        return self.wm_cfg.obs_dim if self.policy_input == "obs" else self.wm_cfg.deter_dim + self.wm_cfg.stoch_dim

    def _wm_update(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One world-model gradient step (Eq. 3; MAG's surrogate adds its multi-step term)."""
        return self.world_model.update(batch, self.wm_opt, precision=self.train_cfg.wm_precision)

    def _stored_critic_in(self, seen: torch.Tensor) -> torch.Tensor:
        """critic_in kept in B_p for imagined actor inputs `seen` (k+1, B', N, D): nothing. The joint input is
        N copies of all N agents' inputs, N times B_p's observations (1.7 GB of a 1.9 GB B_p on 1c3s5z);
        `_policy_rollout` rebuilds it exactly from the stored observations."""
        return seen.new_zeros(*seen.shape[:3], 0)  # (k+1, B', N, 0)

    def _imagine_rollout(self, start_h: torch.Tensor, start_z: torch.Tensor, policy_fn: Any, horizon: int
                         ) -> dict[str, torch.Tensor]:
        """The rollout that fills B_p from start states (B', N, H), (B', N, Z): by default the prior's own
        samples (MAG overrides it to choose each imagined transition by model-predictive control)."""
        return self.world_model.imagine(start_h, start_z, policy_fn, horizon, policy_input=self.policy_input)

    def _policy_rollout(self, rollout: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A pseudo-buffer draw -> the rollout `ppo_update` gets: the critic's joint input rebuilt from the
        stored actor inputs (see `_stored_critic_in`), and the critic's initial memory, zero for every imagined
        rollout (B_p stores neither)."""
        rollout["critic_in"] = self.policy.critic_input(rollout["obs"])  # (k+1, B, N, N*D)
        rollout["critic_h0"] = self.policy.init_hidden(rollout["obs"].shape[1])  # (B, N, H)
        return rollout

    # ---------------------------------------------------------------------------------------- data in
    def observe_episode(self, ep: Episode) -> None:
        self.real.add_episode(ep.obs, ep.state[:, :0], ep.avail, ep.actions, ep.rewards, ep.terminated, ep.alive)

    def _sample(self, n: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        batch = self.real.sample_sequences(n, self.train_cfg.seq_len, rng)
        batch["reward"] = batch["reward_target"]  # the reward head learns the (possibly smoothed) target
        return {k: v.to(self.device) for k, v in batch.items()}

    # ----------------------------------------------------------------------------------------- the loop
    def update(self, rng: np.random.Generator) -> dict[str, float]:
        tc = self.train_cfg
        if len(self.real) < tc.seq_len:
            return {}
        wm_metrics = [self._wm_update(self._sample(tc.wm_batch, rng)) for _ in range(tc.wm_epochs)]
        self.wm_epoch += tc.wm_epochs
        # per_epoch: E_pi x (imagine, E_sample draws); once: imagine, then E_pi draws
        rounds, draws = (tc.policy_epochs, tc.sample_epochs) if tc.schedule == "per_epoch" else (1, tc.policy_epochs)
        imag_metrics, pol_metrics = [], []
        gen = None
        for _ in range(rounds):
            imag_metrics.append(self._imagine(rng))
            if gen is None:  # seeded after the first imagination, as the `once` schedule always did
                gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
            for _ in range(draws):
                pol_metrics.append(self._ppo_step(rng, gen))
        return {**mean_metrics(wm_metrics), **mean_metrics(pol_metrics), **mean_metrics(imag_metrics)}

    def _ppo_step(self, rng: np.random.Generator, gen: torch.Generator) -> dict[str, float]:
        """One PPO update on a fresh draw of trajectories across B_p."""
        tc = self.train_cfg
        rollout = self._policy_rollout({k: v.to(self.device)
                                        for k, v in self.pseudo.sample(tc.policy_batch, rng).items()})
        if tc.survival_weight:  # a loss weight only: the continuation is already GAE's discount
            rollout["weight"] = survival(rollout["discounts"])  # (k, B)
        return ppo_update(self.policy, self.pol_opts, rollout, self.pol_cfg, generator=gen)

    def _actor_view(self, h: torch.Tensor, z: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """What the actor reads, given model states and (real or reconstructed) observations of the same rows:
        the observations (policy_input "obs") or the features [h, z] ("features")."""
        return obs if self.policy_input == "obs" else torch.cat([h, z], -1)

    def _burn_in(self, seen: torch.Tensor, is_first: torch.Tensor) -> torch.Tensor:
        """The actor's memory before acting at each row of real sequences (B, L, ...): its GRU run over the
        same rows, reset at episode starts. -> (B*L, N, H); zeros for an MLP actor (nothing to remember)."""
        B, L = is_first.shape
        if not self.pol_cfg.actor_rnn:
            return self.policy.init_hidden(B * L).to(self.device)
        memory = self.policy.actor_memory(seen.transpose(0, 1), self.policy.init_hidden(B).to(self.device),
                                          is_first.transpose(0, 1).bool())  # (L, B, N, H)
        return memory.transpose(0, 1).flatten(0, 1)  # (B*L, N, H)

    @torch.no_grad()
    def _imagine(self, rng: np.random.Generator) -> dict[str, float]:
        """Seed imagination at every non-terminal row of fresh real sequences; push the rollouts into B_p."""
        tc = self.train_cfg
        batch = self._sample(tc.imag_batch, rng)
        post = self.world_model.observe(batch)
        actor_h = self._burn_in(self._actor_view(post["h"], post["z"], batch["obs"]), batch["is_first"])
        keep = batch["discount"].flatten() > 0.5  # imagining past a real terminal state is meaningless
        start_h = post["h"].flatten(0, 1)[keep]  # (B', N, H)
        start_z = post["z"].flatten(0, 1)[keep]  # (B', N, Z)
        actor_h = actor_h[keep]
        logps, hidden = [], [actor_h]

        def policy_fn(seen: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
            a, logp, h_new = self.policy.act(seen, avail, hidden[-1])
            logps.append(logp)
            hidden.append(h_new)
            return a

        roll = self._imagine_rollout(start_h, start_z, policy_fn, tc.horizon)
        seen = self._actor_view(roll["h"], roll["z"], roll["obs"])  # (k+1, B', N, D)
        self.pseudo.add({
            "obs": seen, "avail": roll["avail"], "critic_in": self._stored_critic_in(seen),
            "actions": roll["actions"], "old_log_probs": torch.stack(logps), "rewards": roll["reward"],
            "discounts": roll["discount"], "actor_h0": actor_h, "critic_h0": actor_h[..., :0],
        })
        return {"imag_reward": float(roll["reward"].sum(0).mean()),
                "imag_continue": float(roll["discount"].mean())}

    # ------------------------------------------------------------------------------------ persistence
    def snapshot(self) -> dict[str, Any]:
        """The networks only: what evaluation and the GCI/GPE analysis load (step_*.pt, final.pt)."""
        return {"world_model": self.world_model.state_dict(), "policy": self.policy.state_dict(),
                "wm_epoch": self.wm_epoch}

    def state_dict(self) -> dict[str, Any]:
        """Everything to resume training (last.pt): the snapshot plus optimisers and both buffers."""
        return {**self.snapshot(), "wm_opt": self.wm_opt.state_dict(),
                "pol_opts": [o.state_dict() for o in self.pol_opts], "real": self.real.state_dict(),
                "pseudo": self.pseudo.state_dict()}

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
            for key in ("critic_in", "critic_h0"):  # stored in full by checkpoints before they were rebuilt
                self.pseudo.narrow_feature(key, 0)
        self.wm_epoch = int(sd.get("wm_epoch", 0))


def survival(discounts: torch.Tensor) -> torch.Tensor:
    """Weight of imagined step t: probability that no predicted termination happened before it. (k, B)."""
    alive = torch.cumprod(discounts, 0)
    return torch.cat([torch.ones_like(alive[:1]), alive[:-1]], 0)
