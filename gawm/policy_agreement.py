"""Policy agreement between real and reconstructed observations: a direct test of GAWM's CTDE claim.

GAWM's actor is trained in imagination on observations DECODED by the world model, and executed on REAL
observations. The paper's claim that training transfers rests on the two giving the same decisions. This
diagnostic measures it on real episodes of the checkpoint's own policy: the world model filters each
episode with its posterior and decodes every row's observation; the actor then reads the real and the
decoded observation of each decision, and we compare the two action distributions over the available
actions (the real mask for both, so only the observation differs).

Two memories are reported, because the actor is recurrent:
- same memory: at each step both inputs start from the GRU state the actor had at execution (driven by
  the real observations so far); this isolates the effect of one decoded observation;
- own memory: the decoded stream also drives its own GRU state, as in imagination, where the actor never
  sees a real observation; errors can then accumulate along the episode.

Per memory: `agree` = fraction of decisions (alive agents, rows with an action) whose greedy actions are
equal, and `kl` = mean KL(pi(.|real) || pi(.|decoded)) in nats. Methods whose actor reads world-model
features (MAMBA, MAG) act on the same kind of input in both phases, so the diagnostic does not apply.
"""

from __future__ import annotations

import torch

from gawm.policy import MAPPOPolicy

KEYS = ("agree_same_memory", "kl_same_memory", "agree_own_memory", "kl_own_memory", "decisions")


def _kl(logp: torch.Tensor, logq: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    """KL(p || q) over the available actions: (..., A) log-probs, avail (..., A) bool -> (...)."""
    p = logp.exp()
    terms = torch.where(avail & (p > 0), p * (logp - logq), torch.zeros_like(p))
    return terms.sum(-1)


@torch.no_grad()
def policy_agreement(policy: MAPPOPolicy, world_model, batch: dict[str, torch.Tensor]) -> dict[str, float]:
    """Agreement of the actor on real vs posterior-decoded observations over whole episodes.

    `batch`: Dreamer rows of E whole episodes zero-padded to L rows (gawm.consistency._episode_batch):
    obs (E, L, N, O), avail (E, L, N, A), alive (E, L, N), action (E, L, N) (-1: no decision),
    prev_action, is_first (E, L), length (E,). Returns the KEYS above (agreements in [0, 1])."""
    post = world_model.observe(batch)
    decoded = world_model.decode(post["h"], post["z"])["obs"].float()  # (E, L, N, O)
    obs = batch["obs"].float()  # (E, L, N, O)
    E, L, N = obs.shape[:3]
    rows = torch.arange(L, device=obs.device)[None] < batch["length"][:, None]  # (E, L)
    decision = rows[..., None] & batch["alive"].bool() & (batch["action"] >= 0)  # (E, L, N)
    # padded and dead rows may have no available action; give them no-op so the softmax stays finite
    avail = batch["avail"].bool().clone()  # (E, L, N, A)
    avail[..., 0] |= ~avail.any(-1)
    resets = batch["is_first"].bool()  # (E, L)
    h_real = policy.init_hidden(E).to(obs.device)  # (E, N, H): memory at execution
    h_own = h_real.clone()  # memory driven by decoded observations only
    sums = dict.fromkeys(KEYS, 0.0)
    for t in range(L):  # the actor is recurrent: one step at a time, vectorised over episodes and agents
        a_t, r_t = avail[:, t][None], resets[:, t][None]
        logp_real, h_next = policy.actor_sequence(obs[:, t][None], a_t, h_real, r_t)
        logp_same, _ = policy.actor_sequence(decoded[:, t][None], a_t, h_real, r_t)
        logp_own, h_own = policy.actor_sequence(decoded[:, t][None], a_t, h_own, r_t)
        h_real = h_next
        m = decision[:, t]  # (E, N)
        greedy = logp_real[0].argmax(-1)
        for name, logq in (("same_memory", logp_same[0]), ("own_memory", logp_own[0])):
            sums[f"agree_{name}"] += float(((greedy == logq.argmax(-1)) & m).sum())
            sums[f"kl_{name}"] += float(torch.where(m, _kl(logp_real[0], logq, avail[:, t]), 0.0).sum())
        sums["decisions"] += float(m.sum())
    n = max(sums["decisions"], 1.0)
    return {k: (v if k == "decisions" else v / n) for k, v in sums.items()}


def applies_to(method) -> bool:
    """True for methods whose MAPPO actor reads observations (GAWM, GAWM*), not world-model features."""
    return getattr(method, "policy_input", None) == "obs" and isinstance(getattr(method, "policy", None),
                                                                          MAPPOPolicy)
