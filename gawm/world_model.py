"""The GAWM world model (paper Sec. 3.1, Eqs. 1-3); `obs_fusion=False` gives the GAWM* ablation.

Index convention (Dreamer rows): row t holds o_t, the action a_{t-1} that led to it, and the reward earned on
arriving at t. One step of the model is

    e_{t-1} = f_af(z_{t-1}, a_{t-1})         act-fusion over agents            (1b)
    h_t^i   = GRU(h_{t-1}^i, e_{t-1}^i)      shared GRU, reset to 0 at is_first (1a)
    z^_t^i  ~ p(. | h_t^i)                   prior                              (1e)
    g_t     = f_of(h_t, embed(o_t))          obs-fusion over agents             (1c)
    z_t^i   ~ p(. | g_t^i)                   posterior                          (1d)

and the predictors read (h_t, z_t): observation and available actions per agent (2a), team reward and
discount from all agents through a permutation-invariant pool (2b, 2c) (`team_heads: per_agent` instead lets
each agent predict them from its own (h_i, z_i), as MAMBA/MAG do; the team value is then the agents' mean).

Loss (Eq. 3), averaged over (b, t): per-agent terms are averaged over agents (a per-agent ELBO, so loss scales
do not grow with N) and summed over feature dims; team terms are per step.
  obs      0.5 * ||o^ - o||^2             (unit-variance Gaussian NLL, constant dropped)
  avail    BCE of the avail logits, summed over actions (the policy needs masks in imagination)
  reward   reward_weight * 0.5 * (r^ - r)^2, on symlog(r) when `reward_loss == "symlog_mse"` (predictions are
           symexp'd back); the weight lifts SMAC's rare, small per-step rewards above the other terms
  discount BCE of the continuation logit
  kl       KL balancing (alpha = kl_balance) with free nats, times kl_beta.
Dead agents are not masked: their observations are zeros and only no-op is available, and imagination must
reproduce exactly that, so `alive` is not used by the loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import nn

from gawm.nets import (ActFusion, AgentPool, LatentHead, ObsFusion, RecurrentCell, balanced_kl, bernoulli_nll,
                       categorical_entropy, gaussian_nll, mlp, mode_onehot, sample_straight_through, symexp,
                       symlog)
from gawm.optim import adam

__all__ = ["WorldModelConfig", "WorldModel", "PolicyFn", "TransitionFn"]

Precision = Literal["fp32", "bf16"]
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")
PolicyFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # obs (B,N,O), avail (B,N,A) bool -> (B,N) long
# (h_j, z_j, one-hot a_j) (B,N,H), (B,N,Z), (B,N,A) -> (h_{j+1}, z_{j+1}): who picks an imagined transition
TransitionFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class WorldModelConfig:
    """Every size and coefficient of the world model; values live in YAML (no defaults here).

    n_agents, obs_dim, n_actions come from the environment at run time.
    """

    n_agents: int
    obs_dim: int
    n_actions: int
    deter_dim: int  # GRU state h
    stoch_groups: int  # G categorical variables per agent
    stoch_classes: int  # C classes each
    unimix: float  # uniform mix of latent probs (0 = off)
    hidden_dim: int  # width of every MLP
    mlp_layers: int  # hidden layers of the heads and the obs encoder
    embed_dim: int  # obs embedding size
    fusion_dim: int  # d_model of both Transformers and width of e, g
    fusion_heads: int
    fusion_ff_dim: int
    act_fusion_layers: int
    obs_fusion_layers: int
    obs_fusion: bool  # False = GAWM*: posterior from each agent's own (h, o)
    act: Literal["elu", "relu", "silu", "gelu"]
    layer_norm: bool
    reward_loss: Literal["mse", "symlog_mse"]
    # "pool": team reward/discount read from ALL agents' (h, z) through one permutation-invariant pool
    # (GAWM, Sec. 3.1); "per_agent": each agent predicts the team reward/discount from its own (h_i, z_i)
    # (MAMBA/MAG), and the team value is the agents' mean
    team_heads: Literal["pool", "per_agent"]
    reward_weight: float  # weight of the reward NLL in Eq. (3): SMAC's per-step rewards are rare and small
    kl_beta: float
    kl_balance: float
    free_nats: float
    lr: float
    adam_eps: float
    grad_clip: float

    def validate(self) -> None:
        for name in ("n_agents", "obs_dim", "n_actions", "deter_dim", "stoch_groups", "stoch_classes", "hidden_dim",
                     "embed_dim", "fusion_dim", "fusion_heads", "fusion_ff_dim", "act_fusion_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"WorldModelConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.mlp_layers < 0:
            raise ValueError(f"WorldModelConfig.mlp_layers must be >= 0, got {self.mlp_layers}")
        if self.obs_fusion_layers < (1 if self.obs_fusion else 0):
            raise ValueError(f"WorldModelConfig.obs_fusion_layers must be >= 1 when obs_fusion is on, "
                             f"got {self.obs_fusion_layers}")
        if self.fusion_dim % self.fusion_heads:
            raise ValueError(f"WorldModelConfig.fusion_dim ({self.fusion_dim}) must be divisible by fusion_heads "
                             f"({self.fusion_heads})")
        if not 0.0 <= self.unimix < 1.0:
            raise ValueError(f"WorldModelConfig.unimix must be in [0, 1), got {self.unimix}")
        if not 0.0 <= self.kl_balance <= 1.0:
            raise ValueError(f"WorldModelConfig.kl_balance must be in [0, 1], got {self.kl_balance}")
        for name in ("kl_beta", "free_nats", "reward_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"WorldModelConfig.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("lr", "adam_eps", "grad_clip"):
            if getattr(self, name) <= 0:
                raise ValueError(f"WorldModelConfig.{name} must be > 0, got {getattr(self, name)}")
        if self.act not in ("elu", "relu", "silu", "gelu"):
            raise ValueError(f"WorldModelConfig.act: unknown activation {self.act!r}")
        if self.reward_loss not in ("mse", "symlog_mse"):
            raise ValueError(f"WorldModelConfig.reward_loss must be 'mse' or 'symlog_mse', got {self.reward_loss!r}")
        if self.team_heads not in ("pool", "per_agent"):
            raise ValueError(f"WorldModelConfig.team_heads must be 'pool' or 'per_agent', got {self.team_heads!r}")

    @property
    def stoch_dim(self) -> int:
        return self.stoch_groups * self.stoch_classes


#: What `WorldModel.update` returns (Eq. 3's terms, the KL, the latents' entropies, the gradient norm).
WM_METRICS = ("wm_loss", "obs_loss", "reward_loss", "discount_loss", "avail_loss", "kl", "kl_loss", "prior_entropy",
              "post_entropy", "grad_norm")


class WorldModel(nn.Module):
    """GAWM / GAWM* world model (MAMBA/MAG configure it): `observe` (posterior filtering), `loss` (Eq. 3),
    `update`, `imagine` (the one open-loop rollout)."""

    def __init__(self, cfg: WorldModelConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        H, Z, A, O = cfg.deter_dim, cfg.stoch_dim, cfg.n_actions, cfg.obs_dim
        hid, nl, act, ln = cfg.hidden_dim, cfg.mlp_layers, cfg.act, cfg.layer_norm
        self.act_fusion = ActFusion(Z, A, cfg.fusion_dim, cfg.act_fusion_layers, cfg.fusion_heads,
                                    cfg.fusion_ff_dim, act)
        self.recurrent = RecurrentCell(cfg.fusion_dim, H)
        self.obs_encoder = mlp(O, cfg.embed_dim, hid, nl, act, ln, out_act=True)
        self.obs_fusion = ObsFusion(H, cfg.embed_dim, cfg.fusion_dim, cfg.obs_fusion_layers, cfg.fusion_heads,
                                    cfg.fusion_ff_dim, act, fuse=cfg.obs_fusion)
        self.prior_head = LatentHead(H, cfg.stoch_groups, cfg.stoch_classes, hid, nl, act, ln, cfg.unimix)
        self.post_head = LatentHead(cfg.fusion_dim, cfg.stoch_groups, cfg.stoch_classes, hid, nl, act, ln,
                                    cfg.unimix)
        self.obs_decoder = mlp(H + Z, O, hid, nl, act, ln)
        self.avail_decoder = mlp(H + Z, A, hid, nl, act, ln)
        if cfg.team_heads == "pool":
            self.reward_head = AgentPool(H + Z, hid, nl, act, ln)
            self.discount_head = AgentPool(H + Z, hid, nl, act, ln)
        else:
            self.reward_head = mlp(H + Z, 1, hid, nl, act, ln)
            self.discount_head = mlp(H + Z, 1, hid, nl, act, ln)

    # ----------------------------------------------------------------------------------------- model pieces
    def step_deter(self, h: torch.Tensor, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """h_t from (h_{t-1}, z_{t-1}, a_{t-1}): (..., N, H), (..., N, Z), (..., N, A) one-hot -> (..., N, H)."""
        return self.recurrent(h, self.act_fusion(z, a))

    def prior_logits(self, h: torch.Tensor) -> torch.Tensor:
        """p(z^_t | h_t): (..., N, H) -> log-probs (..., N, G, C)."""
        return self.prior_head(h)

    def posterior_logits(self, h: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """p(z_t | g_t), g_t = f_of(h_t, o_t): (..., N, H), (..., N, O) -> log-probs (..., N, G, C)."""
        return self.post_head(self.obs_fusion(h, self.obs_encoder(obs)))

    def heads(self, h: torch.Tensor, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw predictor outputs from (h, z) (..., N, H), (..., N, Z): obs (..., N, O), avail_logits (..., N, A),
        reward_raw (..., N) (in symlog space if so configured) and discount_logit (..., N), each agent's
        prediction of the team value (all equal under pooled heads)."""
        feat = torch.cat([h, z], dim=-1)  # (..., N, H+Z)
        if self.cfg.team_heads == "pool":
            reward = self.reward_head(feat)[..., None].expand(*feat.shape[:-1])  # (..., N)
            discount = self.discount_head(feat)[..., None].expand(*feat.shape[:-1])
        else:
            reward = self.reward_head(feat).squeeze(-1)  # (..., N)
            discount = self.discount_head(feat).squeeze(-1)
        return {"obs": self.obs_decoder(feat), "avail_logits": self.avail_decoder(feat),
                "reward_raw": reward, "discount_logit": discount}

    def decode(self, h: torch.Tensor, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Predictions in data space: obs (..., N, O), avail (..., N, A) bool (>= 1 per agent), avail_probs,
        reward (...) and discount (...) continuation probability of the team (the agents' mean), and
        reward_agents / discount_agents (..., N), each agent's own prediction (the GCI compares them)."""
        return self.decode_heads(self.heads(h, z))

    def decode_heads(self, out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """`decode` from `heads`' raw outputs (a rollout needs both and computes the heads once)."""
        reward = symexp(out["reward_raw"]) if self.cfg.reward_loss == "symlog_mse" else out["reward_raw"]
        discount = torch.sigmoid(out["discount_logit"])
        return {"obs": out["obs"], "avail": predicted_avail(out["avail_logits"]),
                "avail_probs": torch.sigmoid(out["avail_logits"]), "reward": reward.mean(-1),
                "discount": discount.mean(-1), "reward_agents": reward, "discount_agents": discount}

    def initial_state(self, batch: int, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero (h, z): (B, N, H), (B, N, Z), the state before an episode's first step."""
        c = self.cfg
        return (torch.zeros(batch, c.n_agents, c.deter_dim, device=device),
                torch.zeros(batch, c.n_agents, c.stoch_dim, device=device))

    # ------------------------------------------------------------------------------------------ filtering
    def posterior_step(self, h: torch.Tensor, z: torch.Tensor, prev_action: torch.Tensor, embed: torch.Tensor,
                       is_first: torch.Tensor, sample: bool = True
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One filtering step, shared by `observe` (sequences) and `filter_step` (acting online).

        (h_{t-1}, z_{t-1}) (B, N, H), (B, N, Z), the one-hot a_{t-1} (B, N, A), embed(o_t) (B, N, E), is_first
        (B,) bool -> h_t (B, N, H), z_t (B, N, Z) (straight-through posterior sample, or its mode if not
        `sample`), posterior log-probs (B, N, G, C). State and action are zeroed where is_first (the state
        before an episode's first step)."""
        k = (~is_first.bool()).to(h.dtype)[:, None, None]  # (B, 1, 1)
        h = self.step_deter(h * k, z * k, prev_action.to(h.dtype) * k)  # (B, N, H)
        post = self.post_head(self.obs_fusion(h, embed))  # (B, N, G, C)
        return h, (sample_straight_through(post) if sample else mode_onehot(post)), post

    def observe(self, batch: dict[str, torch.Tensor],
                state: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Posterior filtering over a batch of sequences (loop over T only; agents and batch vectorised).

        `state` is the (h, z) before row 0 (zeros if None; ignored where is_first). Returns
        h (B,T,N,H), z (B,T,N,Z) straight-through posterior samples, post_logits and prior_logits (B,T,N,G,C).
        """
        obs = batch["obs"].float()  # (B, T, N, O)
        prev_a = batch["prev_action"].float()  # (B, T, N, A)
        is_first = batch["is_first"].bool()  # (B, T)
        B, T = obs.shape[:2]
        h, z = state if state is not None else self.initial_state(B, obs.device)
        embed = self.obs_encoder(obs)  # (B, T, N, E), time-parallel
        hs, zs, posts = [], [], []
        for t in range(T):
            h, z, post = self.posterior_step(h, z, prev_a[:, t], embed[:, t], is_first[:, t])
            hs.append(h)
            zs.append(z)
            posts.append(post)
        h_seq = torch.stack(hs, 1)  # (B, T, N, H)
        return {"h": h_seq, "z": torch.stack(zs, 1), "post_logits": torch.stack(posts, 1),
                "prior_logits": self.prior_head(h_seq)}  # prior is time-parallel given h

    # ----------------------------------------------------------------------------------------------- loss
    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """Eq. (3) on a batch (see module docstring for the terms): (scalar loss, metrics of floats)."""
        return self.loss_from_posterior(batch, self.observe(batch))

    def loss_from_posterior(self, batch: dict[str, torch.Tensor], out: dict[str, torch.Tensor]
                            ) -> tuple[torch.Tensor, dict[str, float]]:
        """Eq. (3) given `observe(batch)`'s output (lets a caller add terms on the same posterior states)."""
        c = self.cfg
        nll = self.prediction_nll(self.heads(out["h"], out["z"]), batch["obs"], batch["avail"], batch["reward"],
                                  batch["discount"])  # each (B, T, N)
        obs_loss, avail_loss = nll["obs"].mean(), nll["avail"].mean()
        reward_loss, discount_loss = nll["reward"].mean(), nll["discount"].mean()
        kl_loss, kl = balanced_kl(out["post_logits"], out["prior_logits"], c.kl_balance, c.free_nats)
        kl_loss = kl_loss.mean()
        total = obs_loss + c.reward_weight * reward_loss + discount_loss + avail_loss + c.kl_beta * kl_loss
        metrics = {
            "wm_loss": total.item(), "obs_loss": obs_loss.item(), "reward_loss": reward_loss.item(),
            "discount_loss": discount_loss.item(), "avail_loss": avail_loss.item(), "kl": kl.mean().item(),
            "kl_loss": kl_loss.item(),
            "prior_entropy": categorical_entropy(out["prior_logits"]).mean().item(),
            "post_entropy": categorical_entropy(out["post_logits"]).mean().item(),
        }
        return total, metrics

    def prediction_nll(self, pred: dict[str, torch.Tensor], obs: torch.Tensor, avail: torch.Tensor,
                       reward: torch.Tensor, discount: torch.Tensor) -> dict[str, torch.Tensor]:
        """Eq. (3)'s prediction terms per agent, unweighted and not yet averaged: `heads` outputs for rows
        (...) against their targets obs (..., N, O), avail (..., N, A), team reward and continuation flag (...)
        -> obs, avail, reward, discount NLLs, each (..., N). Eq. (3) averages them; MAG's multi-step loss
        weights them by which (start, step) pairs are valid. Every agent's prediction regresses on the team
        target (identical copies under pooled heads)."""
        target_r = reward.float()
        if self.cfg.reward_loss == "symlog_mse":
            target_r = symlog(target_r)
        return {
            "obs": gaussian_nll(pred["obs"], obs.float()),  # (..., N)
            "avail": bernoulli_nll(pred["avail_logits"], avail).sum(-1),
            "reward": 0.5 * (pred["reward_raw"] - target_r[..., None]).pow(2),
            "discount": bernoulli_nll(pred["discount_logit"], discount.float()[..., None].expand_as(
                pred["discount_logit"])),
        }

    def make_optimizer(self) -> torch.optim.Optimizer:
        """Adam with the configured lr and eps over all world-model parameters."""
        return adam(self.parameters(), lr=self.cfg.lr, eps=self.cfg.adam_eps)

    def update(self, batch: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer,
               loss_fn: Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, dict[str, float]]] | None = None,
               precision: Precision = "fp32") -> dict[str, float]:
        """One gradient step on Eq. (3) (or on `loss_fn(batch)`, e.g. MAG's objective) with global-norm
        clipping; returns the loss metrics and grad_norm.

        precision "bf16" runs the loss's forward pass under bfloat16 autocast (matrix products in bf16,
        parameters, gradients and the optimiser in fp32; the backward pass follows the forward's dtypes, outside
        the autocast region as PyTorch recommends). Whether that leaves learning unchanged is an experiment
        (docs/speed.md), so it is a flag (`imagination.wm_precision`), fp32 by default."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.train()
        device_type = next(self.parameters()).device.type
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss, metrics = (loss_fn or self.loss)(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        metrics["grad_norm"] = float(nn.utils.clip_grad_norm_(self.parameters(), self.cfg.grad_clip))
        optimizer.step()
        return metrics

    # ------------------------------------------------------------------------------------ using the model
    @torch.no_grad()
    def start_states(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior (h, z) of every row, flattened over (B, T): (B*T, N, H), (B*T, N, Z); imagination starts."""
        out = self.observe(batch)
        return out["h"].flatten(0, 1), out["z"].flatten(0, 1)

    @torch.no_grad()
    def one_step_predictions(self, batch: dict[str, torch.Tensor], sample: bool = False) -> dict[str, torch.Tensor]:
        """Prior-based one-step predictions for every (b, t), for GCI/GPE analysis.

        h_t comes from filtering the real past (posterior z_{t-1}, real a_{t-1}) and does not see o_t; z^_t is
        the prior's mode (or a sample if `sample`). Returns obs (B,T,N,O), avail (B,T,N,A) bool, avail_probs,
        reward (B,T), discount (B,T) probability.
        """
        out = self.observe(batch)
        prior = out["prior_logits"]
        z_hat = sample_straight_through(prior) if sample else mode_onehot(prior)
        return self.decode(out["h"], z_hat)

    @torch.no_grad()
    def filter_step(self, h: torch.Tensor, z: torch.Tensor, prev_action: torch.Tensor, obs: torch.Tensor,
                    is_first: torch.Tensor, sample: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """One posterior step of `observe` for acting online: (h_{t-1}, z_{t-1}) (B, N, H), (B, N, Z), the
        one-hot a_{t-1} (B, N, A), o_t (B, N, O), is_first (B,) bool -> (h_t, z_t); see `posterior_step`."""
        h, z, _ = self.posterior_step(h, z, prev_action, self.obs_encoder(obs.to(h.dtype)), is_first, sample)
        return h, z

    def imagine(self, start_h: torch.Tensor, start_z: torch.Tensor, policy_fn: PolicyFn | None, horizon: int,
                policy_input: Literal["obs", "features"] = "obs", actions: torch.Tensor | None = None,
                sample: bool = True, transition_fn: TransitionFn | None = None) -> dict[str, torch.Tensor]:
        """The one open-loop rollout of the prior, `horizon` steps from (h, z) (B, N, H), (B, N, Z).

        Actions come from `policy_fn` (imagination for policy learning) or, with policy_fn None, from the
        fixed one-hot sequence `actions` (k, B, N, A) (MAG's multi-step loss and the GCI/GPE analysis feed the
        real actions). Step j: the policy sees decoded obs_j (GAWM's CTDE actor) or, with
        policy_input="features", the model state [h_j, z_j] (B, N, H+Z) (MAMBA/MAG's actor), and predicted
        avail_j, and picks a_j; then h_{j+1}, z^_{j+1} ~ prior (its mode if not `sample`), and reward_j /
        discount_j are read at j+1 (earned by a_j). `transition_fn(h_j, z_j, a_j) -> (h_{j+1}, z_{j+1})`
        replaces that prior step when given (MAG picks among several prior samples by model-predictive
        control, baselines/mag/mpc.py). Gradients flow through the straight-through samples
        (callers that need none run it under torch.no_grad()).

        Returns obs (k+1,B,N,O), avail (k+1,B,N,A) bool, actions (k,B,N) long, reward (k,B), discount (k,B)
        probabilities, h (k+1,B,N,H), z (k+1,B,N,Z), each agent's own reward/discount predictions
        reward_agents, discount_agents (k,B,N), and the raw `heads` outputs of steps 1..k (avail_logits
        (k,B,N,A), reward_raw and discount_logit (k,B,N); their obs is `obs[1:]`) for `prediction_nll`.
        """
        if horizon < 1:
            raise ValueError(f"imagination horizon must be >= 1, got {horizon}")
        if policy_input not in ("obs", "features"):
            raise ValueError(f"policy_input must be 'obs' or 'features', got {policy_input!r}")
        if (policy_fn is None) == (actions is None):
            raise ValueError("imagine takes either a policy_fn or a fixed action sequence, not both or neither")
        if actions is not None and actions.shape[0] < horizon:
            raise ValueError(f"{actions.shape[0]} fixed actions for a horizon of {horizon}")
        h, z = start_h, start_z
        dec = self.decode(h, z)
        hs, zs, obs, avail = [h], [z], [dec["obs"]], [dec["avail"]]
        steps: dict[str, list[torch.Tensor]] = {k: [] for k in ("actions", "reward", "discount", "reward_agents",
                                                               "discount_agents", "avail_logits", "reward_raw",
                                                               "discount_logit")}
        for j in range(horizon):
            if policy_fn is not None:
                seen = obs[-1] if policy_input == "obs" else torch.cat([h, z], -1)
                a = policy_fn(seen, avail[-1]).long()  # (B, N)
                a_onehot = F.one_hot(a, self.cfg.n_actions).to(h.dtype)  # (B, N, A)
            else:
                a_onehot = actions[j].to(h.dtype)  # (B, N, A)
                a = a_onehot.argmax(-1)
            if transition_fn is None:
                h = self.step_deter(h, z, a_onehot)
                prior = self.prior_head(h)
                z = sample_straight_through(prior) if sample else mode_onehot(prior)
            else:
                h, z = transition_fn(h, z, a_onehot)
            raw = self.heads(h, z)
            dec = self.decode_heads(raw)
            for seq, val in ((hs, h), (zs, z), (obs, dec["obs"]), (avail, dec["avail"])):
                seq.append(val)
            for key, val in (("actions", a), ("reward", dec["reward"]), ("discount", dec["discount"]),
                             ("reward_agents", dec["reward_agents"]), ("discount_agents", dec["discount_agents"]),
                             ("avail_logits", raw["avail_logits"]), ("reward_raw", raw["reward_raw"]),
                             ("discount_logit", raw["discount_logit"])):
                steps[key].append(val)
        return {"obs": torch.stack(obs), "avail": torch.stack(avail), "h": torch.stack(hs), "z": torch.stack(zs),
                **{k: torch.stack(v) for k, v in steps.items()}}


def predicted_avail(logits: torch.Tensor) -> torch.Tensor:
    """Avail mask from logits (..., A): sigmoid > 0.5, and the argmax action forced on where none passes,
    so every agent always has at least one legal action (the policy's masked softmax needs one)."""
    mask = logits > 0.0
    fallback = F.one_hot(logits.argmax(-1), logits.shape[-1]).bool()
    return torch.where(mask.any(-1, keepdim=True), mask, fallback)
