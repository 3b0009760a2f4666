"""MAPPO actor-critic (recurrent, parameter-shared) and its PPO update (paper Sec. 3.1.2).

The actor sees only each agent's local observation (+ optional one-hot agent id), so execution is
decentralised (CTDE); during GAWM training those observations are the world model's reconstructions.
The critic is centralised: it sees either the concatenation of all agents' observations ("joint_obs", the
only choice on imagined data, where no env state exists) or the env's global state ("state"), plus the
agent id, and outputs one value per agent. Both are MLP -> GRU -> head as in recurrent MAPPO; either GRU
can be switched off (`actor_rnn: false`, `critic_rnn: false`; MAMBA/MAG's actor is an MLP on world-model
features), in which case its hidden state is passed through unchanged so callers never need to
special-case it.

Everything is time-major and vectorised over envs (B) and agents (N): agents are folded into the batch
axis, and the only Python loop is over time inside the GRU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Mapping, get_args

import torch
from torch import Tensor, nn

from gawm.optim import adam
from gawm.rl_math import (
    ValueNorm,
    gae,
    huber,
    masked_entropy,
    masked_greedy,
    masked_log_softmax,
    masked_mean,
    masked_sample,
)

__all__ = ["PolicyConfig", "MAPPOPolicy", "make_optimizers", "ppo_update", "ROLLOUT_KEYS"]

#: Keys a rollout passed to `ppo_update` must have (plus optional "mask").
ROLLOUT_KEYS = (
    "obs", "avail", "critic_in", "actions", "old_log_probs", "rewards", "discounts", "resets",
    "actor_h0", "critic_h0",
)


# What the critic sees (MAPPOPolicy.critic_input); state_obs: the state followed by the agent's own obs.
CriticInput = Literal["joint_obs", "state", "state_obs"]
CRITIC_INPUTS: tuple[str, ...] = get_args(CriticInput)


@dataclass
class PolicyConfig:
    """MAPPO hyperparameters; values come from YAML via `gawm.config.from_dict`."""

    actor_hidden: list[int]  # MLP widths before the actor GRU
    actor_rnn: bool  # recurrent actor (MAPPO/GAWM) or MLP only (MAMBA/MAG act on world-model features)
    critic_hidden: list[int]  # MLP widths before the critic GRU
    rnn_hidden: int  # GRU width H (actor and critic)
    use_agent_id: bool  # append one-hot agent id to actor and critic inputs
    critic_input: CriticInput
    critic_rnn: bool  # recurrent critic (MAPPO default) or MLP only
    lr_actor: float
    lr_critic: float
    adam_eps: float
    gamma: float
    gae_lambda: float
    clip_eps: float  # PPO ratio clip
    value_clip_eps: float  # clip of the value change (in normalised units when use_value_norm)
    entropy_coef: float
    max_grad_norm: float
    ppo_epochs: int
    num_minibatches: int  # split along the trajectory axis B
    huber_delta: float
    use_value_norm: bool
    value_norm_beta: float  # EMA factor of ValueNorm (MAPPO: 0.99999)
    normalize_advantages: bool

    def validate(self) -> None:
        for name in ("actor_rnn", "critic_rnn", "use_agent_id", "use_value_norm", "normalize_advantages"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if not self.actor_hidden or not self.critic_hidden:
            raise ValueError("actor_hidden and critic_hidden need at least one layer")
        if any(h <= 0 for h in [*self.actor_hidden, *self.critic_hidden, self.rnn_hidden]):
            raise ValueError("hidden sizes must be positive")
        if self.critic_input not in CRITIC_INPUTS:
            raise ValueError(f"critic_input must be one of {CRITIC_INPUTS}, got {self.critic_input!r}")
        for name in ("lr_actor", "lr_critic", "adam_eps", "clip_eps", "max_grad_norm", "huber_delta"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("gamma", "gae_lambda"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.value_clip_eps < 0 or self.entropy_coef < 0:
            raise ValueError("value_clip_eps and entropy_coef must be >= 0")
        if self.ppo_epochs < 1 or self.num_minibatches < 1:
            raise ValueError("ppo_epochs and num_minibatches must be >= 1")
        if not 0.0 < self.value_norm_beta < 1.0:
            raise ValueError(f"value_norm_beta must lie in (0, 1), got {self.value_norm_beta}")


# --------------------------------------------------------------------------------------- networks


class _RecurrentNet(nn.Module):
    """LayerNorm(input) -> [Linear, ReLU, LayerNorm]* -> GRUCell -> LayerNorm -> Linear head.

    Input LayerNorm is MAPPO's feature normalisation (obs features have very different scales);
    orthogonal init with a small head gain keeps the initial policy near uniform.
    """

    def __init__(self, in_dim: int, hidden: list[int], rnn_hidden: int, out_dim: int, out_gain: float,
                 use_rnn: bool):
        super().__init__()
        layers: list[nn.Module] = [nn.LayerNorm(in_dim)]
        d = in_dim
        for h in hidden:
            lin = nn.Linear(d, h)
            nn.init.orthogonal_(lin.weight, gain=math.sqrt(2))
            nn.init.zeros_(lin.bias)
            layers += [lin, nn.ReLU(), nn.LayerNorm(h)]
            d = h
        self.mlp = nn.Sequential(*layers)
        self.use_rnn = use_rnn
        self.rnn_hidden = rnn_hidden
        if use_rnn:
            self.gru = nn.GRUCell(d, rnn_hidden)
            for name, p in self.gru.named_parameters():
                if "weight" in name:
                    nn.init.orthogonal_(p)
                else:
                    nn.init.zeros_(p)
            self.rnn_norm = nn.LayerNorm(rnn_hidden)
            d = rnn_hidden
        self.head = nn.Linear(d, out_dim)
        nn.init.orthogonal_(self.head.weight, gain=out_gain)
        nn.init.zeros_(self.head.bias)

    def states(self, x: Tensor, h0: Tensor, resets: Tensor | None) -> Tensor:
        """The GRU's hidden state after each step: x (T, M, D), h0 (M, H), resets (T, M) bool or None ->
        (T, M, H), the state zeroed *before* step t wherever resets[t] (a new episode starts at t).

        Runs one fused `torch.gru` call per stretch of steps with no reset (one call for a whole imagined
        rollout), not one GRUCell call per step: the same recurrence with the same weights (PyTorch's GRU and
        GRUCell share their gate equations; tests/test_speed_neutral.py compares them), with fewer kernel
        launches in the forward and backward pass.
        """
        feats = self.mlp(x)  # (T, M, d): the MLP runs on all steps at once
        T = x.shape[0]
        cuts = [0, T] if resets is None else \
            [0, *(resets[1:].any(-1).nonzero().flatten() + 1).tolist(), T]  # stretch starts (+ end)
        weights = [self.gru.weight_ih, self.gru.weight_hh, self.gru.bias_ih, self.gru.bias_hh]
        h, outs = h0, []
        for a, b in zip(cuts[:-1], cuts[1:]):
            if resets is not None:
                h = h * (~resets[a]).to(h.dtype).unsqueeze(-1)
            out, h_n = torch.gru(feats[a:b], h[None], weights, True, 1, 0.0, self.training, False, False)
            outs.append(out)  # (b - a, M, H)
            h = h_n[0]
        return torch.cat(outs) if len(outs) > 1 else outs[0]

    def sequence(self, x: Tensor, h0: Tensor, resets: Tensor | None) -> tuple[Tensor, Tensor]:
        """x (T, M, D), h0 (M, H), resets (T, M) bool or None -> (out (T, M, out_dim), h_T (M, H)).

        The hidden state is zeroed *before* step t wherever resets[t] (a new episode starts at t).
        """
        if not self.use_rnn:
            return self.head(self.mlp(x)), h0
        hs = self.states(x, h0, resets)  # (T, M, H)
        return self.head(self.rnn_norm(hs)), hs[-1]


class MAPPOPolicy(nn.Module):
    """Parameter-shared recurrent actor on local observations + centralised critic (one value per agent).

    Shapes: N agents, O obs features, A actions, C critic features (N*O for joint_obs, S for state),
    H = cfg.rnn_hidden. Values returned by `values` are on the return scale (denormalised); the critic
    network itself predicts normalised values when `use_value_norm`.
    """

    def __init__(self, cfg: PolicyConfig, n_agents: int, obs_dim: int, n_actions: int,
                 state_dim: int | None = None):
        super().__init__()
        cfg.validate()
        if cfg.critic_input in ("state", "state_obs") and not state_dim:
            raise ValueError(f"critic_input={cfg.critic_input!r} needs state_dim")
        self.cfg = cfg
        self.n_agents, self.obs_dim, self.n_actions = n_agents, obs_dim, n_actions
        self.critic_dim = {"joint_obs": n_agents * obs_dim, "state": int(state_dim or 0),
                           "state_obs": int(state_dim or 0) + obs_dim}[cfg.critic_input]
        id_dim = n_agents if cfg.use_agent_id else 0
        self.actor = _RecurrentNet(obs_dim + id_dim, cfg.actor_hidden, cfg.rnn_hidden, n_actions, 0.01,
                                   cfg.actor_rnn)
        self.critic = _RecurrentNet(self.critic_dim + id_dim, cfg.critic_hidden, cfg.rnn_hidden, 1, 1.0,
                                    cfg.critic_rnn)
        self.value_norm = ValueNorm(cfg.value_norm_beta) if cfg.use_value_norm else None
        self.register_buffer("agent_ids", torch.eye(n_agents), persistent=False)

    # ---------------------------------------------------------------------------------- helpers

    def init_hidden(self, batch: int) -> Tensor:
        """Zero hidden state (B, N, H); the same shape serves the actor and the critic."""
        return torch.zeros(batch, self.n_agents, self.cfg.rnn_hidden, device=self.agent_ids.device)

    def critic_input(self, obs: Tensor, state: Tensor | None = None) -> Tensor:
        """Build the critic's features (..., N, C) from obs (..., N, O) and/or state (..., S), per cfg.

        joint_obs: every agent's observation, the same for all agents (what a world model can imagine);
        state: the environment's global state, the same for all agents (SMAC's "EP" input);
        state_obs: the global state followed by the agent's own observation, so the critic sees the
        battle from that agent's position (MAPPO's "CL" input, the state+local-obs concatenation its
        paper compares with the agent-specific state that its public SMAC code uses by default).
        """
        if self.cfg.critic_input == "joint_obs":
            src = obs.reshape(*obs.shape[:-2], self.n_agents * self.obs_dim)  # (..., N*O)
            return src.unsqueeze(-2).expand(*src.shape[:-1], self.n_agents, src.shape[-1])
        if state is None:
            raise ValueError(f"critic_input={self.cfg.critic_input!r} but no state given")
        per_agent = state.unsqueeze(-2).expand(*state.shape[:-1], self.n_agents, state.shape[-1])  # (..., N, S)
        if self.cfg.critic_input == "state":
            return per_agent
        return torch.cat([per_agent, obs], dim=-1)  # (..., N, S + O)

    def _with_id(self, x: Tensor) -> Tensor:
        if not self.cfg.use_agent_id:
            return x
        ids = self.agent_ids.expand(*x.shape[:-1], self.n_agents)  # (..., N, N)
        return torch.cat([x, ids], dim=-1)

    @staticmethod
    def _fold(x: Tensor, lead: int) -> Tensor:
        """(*lead dims, B, N, F) -> (*lead, B*N, F): agents join the batch axis."""
        return x.reshape(*x.shape[:lead], -1, *x.shape[lead + 2:])

    # ------------------------------------------------------------------------------------ actor

    def actor_sequence(self, obs: Tensor, avail: Tensor, actor_h0: Tensor, resets: Tensor | None
                       ) -> tuple[Tensor, Tensor]:
        """obs (T, B, N, O), avail (T, B, N, A), h0 (B, N, H), resets (T, B) -> (log-probs (T, B, N, A), h_T)."""
        T, B, N = obs.shape[:3]
        x = self._fold(self._with_id(obs), 1)  # (T, B*N, O+id)
        r = resets.unsqueeze(-1).expand(T, B, N).reshape(T, B * N) if resets is not None else None
        logits, h = self.actor.sequence(x, actor_h0.reshape(B * N, -1), r)
        logp = masked_log_softmax(logits.reshape(T, B, N, -1), avail)
        return logp, h.reshape(B, N, -1)

    def actor_memory(self, obs: Tensor, actor_h0: Tensor, resets: Tensor) -> Tensor:
        """The actor's GRU state *before* each step of a sequence (what it remembers when it acts there):
        obs (T, B, N, O), h0 (B, N, H), resets (T, B) bool -> (T, B, N, H), zero where resets[t]."""
        T, B, N = obs.shape[:3]
        x = self._fold(self._with_id(obs), 1)  # (T, B*N, O+id)
        r = resets.unsqueeze(-1).expand(T, B, N).reshape(T, B * N)
        h0 = actor_h0.reshape(B * N, -1)
        after = self.actor.states(x, h0, r)  # (T, B*N, H), the state after each step
        before = torch.cat([h0[None], after[:-1]]) * (~r).to(after.dtype).unsqueeze(-1)
        return before.reshape(T, B, N, -1)

    @torch.no_grad()
    def act(self, obs: Tensor, avail: Tensor, actor_h: Tensor, deterministic: bool = False,
            resets: Tensor | None = None, generator: torch.Generator | None = None
            ) -> tuple[Tensor, Tensor, Tensor]:
        """One decision step. obs (B, N, O), avail (B, N, A) bool, actor_h (B, N, H), resets (B,) optional.

        Returns actions (B, N) long, their log-probs (B, N) and the new hidden (B, N, H).
        Unavailable actions have probability exactly 0, so they are never sampled nor chosen greedily.
        """
        logp, h = self.actor_sequence(obs[None], avail[None], actor_h, None if resets is None else resets[None])
        logp = logp[0]  # (B, N, A)
        actions = masked_greedy(logp) if deterministic else masked_sample(logp, generator)
        return actions, logp.gather(-1, actions.unsqueeze(-1)).squeeze(-1), h

    def evaluate_sequence(self, obs: Tensor, avail: Tensor, actions: Tensor, actor_h0: Tensor, resets: Tensor
                          ) -> tuple[Tensor, Tensor]:
        """Re-run the actor over a sequence: obs (T, B, N, O), avail (T, B, N, A), actions (T, B, N),
        actor_h0 (B, N, H), resets (T, B) bool -> (log_probs (T, B, N), entropy (T, B, N)).

        Negative action indices (the "no action" of an episode's last row) are evaluated as action 0;
        such steps must be masked out of any loss by the caller.
        """
        logp, _ = self.actor_sequence(obs, avail, actor_h0, resets)
        taken = logp.gather(-1, actions.long().clamp(min=0).unsqueeze(-1)).squeeze(-1)
        return taken, masked_entropy(logp)

    # ----------------------------------------------------------------------------------- critic

    def values_sequence(self, critic_in: Tensor, critic_h0: Tensor, resets: Tensor | None
                        ) -> tuple[Tensor, Tensor]:
        """critic_in (T, B, N, C), h0 (B, N, H), resets (T, B) -> (raw critic output (T, B, N), h_T).

        "Raw" = normalised units when use_value_norm, otherwise the return scale.
        """
        T, B, N = critic_in.shape[:3]
        x = self._fold(self._with_id(critic_in), 1)
        r = resets.unsqueeze(-1).expand(T, B, N).reshape(T, B * N) if resets is not None else None
        v, h = self.critic.sequence(x, critic_h0.reshape(B * N, -1), r)
        return v.reshape(T, B, N), h.reshape(B, N, -1)

    def denormalize(self, v: Tensor) -> Tensor:
        return self.value_norm.denormalize(v) if self.value_norm is not None else v

    def values(self, critic_in: Tensor, critic_h: Tensor, resets: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One step: critic_in (B, N, C), critic_h (B, N, H) -> (values (B, N) on the return scale, new h)."""
        v, h = self.values_sequence(critic_in[None], critic_h, None if resets is None else resets[None])
        return self.denormalize(v[0]), h


# ------------------------------------------------------------------------------------ PPO update


def make_optimizers(policy: MAPPOPolicy, cfg: PolicyConfig) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Separate Adam optimisers for actor and critic, as in MAPPO (different learning rates)."""
    return (
        adam(policy.actor.parameters(), lr=cfg.lr_actor, eps=cfg.adam_eps),
        adam(policy.critic.parameters(), lr=cfg.lr_critic, eps=cfg.adam_eps),
    )


def _check_rollout(r: Mapping[str, Tensor], n_agents: int) -> tuple[int, int]:
    missing = [k for k in ROLLOUT_KEYS if k not in r]
    if missing:
        raise ValueError(f"rollout is missing key(s) {missing}")
    T, B = r["actions"].shape[:2]
    expect = {
        "obs": (T + 1, B, n_agents), "avail": (T + 1, B, n_agents), "critic_in": (T + 1, B, n_agents),
        "actions": (T, B, n_agents), "old_log_probs": (T, B, n_agents), "rewards": (T, B),
        "discounts": (T, B), "actor_h0": (B, n_agents), "critic_h0": (B, n_agents),
    }
    for k, lead in expect.items():
        if tuple(r[k].shape[: len(lead)]) != lead:
            raise ValueError(f"rollout[{k!r}] has shape {tuple(r[k].shape)}, expected leading dims {lead}")
    if tuple(r["resets"].shape) not in ((T, B), (T + 1, B)):
        raise ValueError(f"rollout['resets'] must be (T, B) or (T+1, B), got {tuple(r['resets'].shape)}")
    return T, B


#: What `ppo_update` returns: means over its minibatches, then statistics of the whole batch.
PPO_MINIBATCH_METRICS = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_frac", "actor_grad_norm",
                         "critic_grad_norm")
PPO_METRICS = PPO_MINIBATCH_METRICS + ("advantage_mean", "return_mean", "value_mean")


def ppo_update(policy: MAPPOPolicy, optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
               rollout: Mapping[str, Tensor], cfg: PolicyConfig, generator: torch.Generator | None = None
               ) -> dict[str, float]:
    """MAPPO update on a batch of time-major trajectories; returns mean metrics over all minibatches.

    rollout: obs (T+1, B, N, O), avail (T+1, B, N, A), critic_in (T+1, B, N, C), actions (T, B, N),
    old_log_probs (T, B, N), rewards (T, B) team reward, discounts (T, B) continuation of step t+1,
    resets (T, B) or (T+1, B) (a new episode starts at t), actor_h0 / critic_h0 (B, N, H), and optionally
    mask (T, B) or (T, B, N), 0/1: 0 excludes a step (padding, episode seams, dead agents) from every loss and
    cuts the GAE trace there; and weight (T, B) or (T, B, N) >= 0: a per-step loss weight (e.g. the predicted
    probability that an imagined episode is still running, DreamerV2's cumulative-discount weight) applied
    to the policy, entropy and value losses and to the advantage-normalisation statistics, never to GAE.

    Advantages/returns use critic values computed once at the start (under the critic as it is now); the
    value clip is relative to those. Minibatches split the B axis so each GRU sequence stays whole.
    With resets of shape (T, B), the bootstrap value at step T runs without a reset; that only matters
    when step T starts an episode, in which case step T-1 is an episode's last row and must be masked.
    """
    actor_opt, critic_opt = optimizers
    T, B = _check_rollout(rollout, policy.n_agents)
    if cfg.num_minibatches > B:
        raise ValueError(f"num_minibatches={cfg.num_minibatches} > number of trajectories B={B}")
    obs, avail, cin = rollout["obs"].float(), rollout["avail"].bool(), rollout["critic_in"].float()
    actions, old_logp = rollout["actions"].long(), rollout["old_log_probs"].float()
    resets = rollout["resets"].bool()
    resets_v = resets if resets.shape[0] == T + 1 else torch.cat([resets, torch.zeros_like(resets[:1])])
    resets_a = resets_v[:T]
    mask = rollout.get("mask")
    N = policy.n_agents
    valid = (torch.ones(T, B, N) if mask is None else
             torch.broadcast_to(mask.float() if mask.dim() == 3 else mask.float().unsqueeze(-1), (T, B, N)))
    valid = valid.to(obs.device).contiguous()  # 0/1: GAE's trace cut
    weight = rollout.get("weight")
    if weight is not None:
        weight = weight.float().to(obs.device)
        weight = torch.broadcast_to(weight if weight.dim() == 3 else weight.unsqueeze(-1), (T, B, N))
        loss_w = (valid * weight).contiguous()  # (T, B, N) weights of the losses
    else:
        loss_w = valid
    actor_h0, critic_h0 = rollout["actor_h0"].float(), rollout["critic_h0"].float()

    # ---- targets: values of the critic as it is now, GAE on the return scale
    with torch.no_grad():
        old_v_raw, _ = policy.values_sequence(cin, critic_h0, resets_v)  # (T+1, B, N)
        v_ret = policy.denormalize(old_v_raw)
        adv, returns = gae(rollout["rewards"].float(), v_ret, rollout["discounts"].float(),
                           cfg.gamma, cfg.gae_lambda, valid)  # (T, B, N)
        if cfg.normalize_advantages:
            mu = masked_mean(adv, loss_w)
            sd = masked_mean((adv - mu) ** 2, loss_w).sqrt()
            adv = (adv - mu) / (sd + 1e-5)
    old_v_raw = old_v_raw[:T]

    stats: dict[str, list[float]] = {k: [] for k in PPO_MINIBATCH_METRICS}
    for _ in range(cfg.ppo_epochs):
        perm = torch.randperm(B, generator=generator).to(obs.device)
        for idx in perm.chunk(cfg.num_minibatches):
            m = loss_w[:, idx]  # (T, b, N)
            ok = valid[:, idx] > 0
            # ---- actor
            logp, ent = policy.evaluate_sequence(obs[:T, idx], avail[:T, idx], actions[:, idx],
                                                 actor_h0[idx], resets_a[:, idx])
            log_ratio = torch.where(ok, logp - old_logp[:, idx], torch.zeros_like(logp))
            ratio = log_ratio.exp()
            a = adv[:, idx]
            surr = torch.minimum(ratio * a, ratio.clamp(1 - cfg.clip_eps, 1 + cfg.clip_eps) * a)
            ent = torch.where(ok, ent, torch.zeros_like(ent))
            policy_loss = -masked_mean(surr, m)
            entropy = masked_mean(ent, m)
            actor_opt.zero_grad(set_to_none=True)
            (policy_loss - cfg.entropy_coef * entropy).backward()
            a_gn = nn.utils.clip_grad_norm_(policy.actor.parameters(), cfg.max_grad_norm)
            actor_opt.step()

            # ---- critic (clipped Huber loss in normalised units, as MAPPO)
            ret = returns[:, idx]
            if policy.value_norm is not None:
                policy.value_norm.update(ret, m)
                ret = policy.value_norm.normalize(ret)
            v, _ = policy.values_sequence(cin[:T, idx], critic_h0[idx], resets_a[:, idx])
            v_old = old_v_raw[:, idx]
            v_clip = v_old + (v - v_old).clamp(-cfg.value_clip_eps, cfg.value_clip_eps)
            v_loss = masked_mean(torch.maximum(huber(ret - v, cfg.huber_delta),
                                               huber(ret - v_clip, cfg.huber_delta)), m)
            critic_opt.zero_grad(set_to_none=True)
            v_loss.backward()
            c_gn = nn.utils.clip_grad_norm_(policy.critic.parameters(), cfg.max_grad_norm)
            critic_opt.step()

            with torch.no_grad():
                stats["policy_loss"].append(float(policy_loss))
                stats["value_loss"].append(float(v_loss))
                stats["entropy"].append(float(entropy))
                stats["approx_kl"].append(float(masked_mean((ratio - 1) - log_ratio, m)))
                stats["clip_frac"].append(float(masked_mean(((ratio - 1).abs() > cfg.clip_eps).float(), m)))
                stats["actor_grad_norm"].append(float(a_gn))
                stats["critic_grad_norm"].append(float(c_gn))
    out = {k: sum(v) / len(v) for k, v in stats.items()}
    out["advantage_mean"] = float(masked_mean(adv, valid))
    out["return_mean"] = float(masked_mean(returns, valid))
    out["value_mean"] = float(masked_mean(v_ret[:T], valid))
    return out
