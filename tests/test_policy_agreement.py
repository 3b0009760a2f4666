"""Policy agreement between real and decoded observations (gawm/policy_agreement.py): laws on a stand-in
world model whose decoder is known, and its place in `gawm analyze`."""

from __future__ import annotations

import torch
import yaml

from gawm.config import from_dict
from gawm.policy import MAPPOPolicy, PolicyConfig
from gawm.policy_agreement import policy_agreement

E, L, N, O, A = 3, 7, 2, 5, 4


class StandInWorldModel:
    """observe() keeps the observations as the latent; decode() returns them plus a known perturbation."""

    def __init__(self, noise: torch.Tensor):
        self.noise = noise  # (E, L, N, O)

    def observe(self, batch):
        return {"h": batch["obs"].float(), "z": torch.zeros(E, L, N, 1)}

    def decode(self, h, z):
        return {"obs": h + self.noise}


def _policy(seed: int = 0) -> MAPPOPolicy:
    cfg = yaml.safe_load(open("config/methods/mappo.yaml"))["policy"]
    torch.manual_seed(seed)
    pol = MAPPOPolicy(from_dict(PolicyConfig, {**cfg, "actor_hidden": [8], "rnn_hidden": 8}, "policy"), N, O, A,
                      state_dim=3)
    for p in pol.actor.parameters():  # the default init makes near-uniform policies: sharpen them
        p.data.normal_(0, 1.0)
    return pol


def _batch(seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    length = torch.tensor([7, 5, 3])
    rows = torch.arange(L)[None] < length[:, None]  # (E, L)
    alive = rows[..., None].expand(E, L, N).clone()
    alive[0, 4:, 1] = False  # agent 1 of episode 0 dies at row 4
    avail = torch.rand(E, L, N, A, generator=g) > 0.3
    avail[..., 1] = True
    avail[~alive] = False
    avail[..., 0] |= ~alive  # the dead have only no-op, as in SMAC
    action = torch.where(alive, torch.ones(E, L, N, dtype=torch.long), -1)
    action[torch.arange(E), length - 1] = -1  # the last row of an episode has no decision
    return {"obs": torch.randn(E, L, N, O, generator=g) * rows[..., None, None], "avail": avail, "alive": alive,
            "action": action, "is_first": torch.arange(L)[None].expand(E, L) == 0, "length": length,
            "prev_action": torch.zeros(E, L, N, A)}


def test_perfect_reconstruction_agrees_everywhere_with_zero_kl():
    res = policy_agreement(_policy(), StandInWorldModel(torch.zeros(E, L, N, O)), _batch())
    # decisions: alive agents on rows with an action: (6 + 4 + 2) rows x 2 agents, minus agent 1's 2 dead rows of ep 0
    assert res["decisions"] == 22
    assert res["agree_same_memory"] == 1.0 and res["agree_own_memory"] == 1.0
    assert abs(res["kl_same_memory"]) < 1e-6 and abs(res["kl_own_memory"]) < 1e-6


def test_a_corrupted_reconstruction_disagrees_and_has_positive_kl():
    noise = torch.randn(E, L, N, O, generator=torch.Generator().manual_seed(5)) * 3.0
    res = policy_agreement(_policy(), StandInWorldModel(noise), _batch())
    assert 0.0 <= res["agree_same_memory"] < 1.0 and 0.0 <= res["agree_own_memory"] < 1.0
    assert res["kl_same_memory"] > 0.01 and res["kl_own_memory"] > 0.01


def test_same_memory_at_one_step_episodes_equals_own_memory():
    """With one decision per episode there is no memory to differ: both variants coincide."""
    b = _batch()
    b["length"] = torch.tensor([2, 2, 2])
    keep = torch.arange(L)[None, :, None] < 2
    b["alive"] &= keep
    b["action"] = torch.where(torch.arange(L)[None, :, None] == 0, b["action"], -1)
    noise = torch.randn(E, L, N, O, generator=torch.Generator().manual_seed(6))
    res = policy_agreement(_policy(), StandInWorldModel(noise), b)
    assert res["decisions"] == E * N
    assert res["agree_same_memory"] == res["agree_own_memory"]
    assert abs(res["kl_same_memory"] - res["kl_own_memory"]) < 1e-6
