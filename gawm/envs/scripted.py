"""Scripted reference policies on SMAC observations, and a batched episode runner for them.

They anchor every learning curve: the uniform-random policy is the floor a learner must beat, the
heuristic (focus fire on the weakest enemy in range, otherwise advance) shows a map is winnable with plain
coordination. Both read only what an agent observes (its obs vector and action mask), so they run
unchanged on the sc2 backend.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from gawm.envs.battle import SIGHT_RANGE
from gawm.envs.maps import MapSpec, get_map
from gawm.envs.units import UNIT_TYPES

Policy = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (obs (B,N,O), avail (B,N,A) bool) -> actions (B,N)


def random_policy(rng: np.random.Generator) -> Policy:
    """Uniform over each agent's available actions."""

    def act(obs: np.ndarray, avail: np.ndarray) -> np.ndarray:
        scores = rng.random(avail.shape) * avail  # available actions get a uniform score, others 0
        return np.where(avail.any(-1), scores.argmax(-1), 0)

    return act


def heuristic_policy(spec: MapSpec, kite_distance: float = 2.5, hold_distance: float = 7.5) -> Policy:
    """Focus fire with two SC2 habits a player would use.

    - attack the weakest (health + shield) enemy in shoot range;
    - a ranged agent (e.g. a stalker) whose closest visible enemy is a melee unit nearer than
      `kite_distance` steps away from it instead (kiting: with SC2's stats, stalkers that stand still
      lose to as many zealots, so a focus-fire-only script cannot win the stalker-vs-zealot maps);
    - enemies visible but none in range: walk towards the closest one until it is nearer than
      `hold_distance`, then hold position: SC2's attack-move AI fires the moment it arrives in range,
      while a unit under a move order does not, so walking into range hands the enemy the first volley;
    - nothing visible: advance east, towards the enemy's side of every map.
    """
    E = spec.n_enemies
    nf_en = 5 + spec.shield_bits_enemy + spec.unit_type_bits
    base = 4 + np.arange(E) * nf_en  # start of each enemy's block in the obs vector
    ranged_agent = np.array([UNIT_TYPES[u].range > 1.0 for u in spec.allies])  # (N,)
    melee_enemy = np.array([UNIT_TYPES[u].range <= 1.0 for u in spec.enemies])  # (E,)

    def act(obs: np.ndarray, avail: np.ndarray) -> np.ndarray:
        health = obs[..., base + 4]  # (B, N, E)
        if spec.shield_bits_enemy:
            health = health + obs[..., base + 5]
        dx, dy, dist = obs[..., base + 2], obs[..., base + 3], obs[..., base + 1] * SIGHT_RANGE
        attackable = avail[..., 6:]
        weakest = np.where(attackable, health + 0.01 * dist, np.inf).argmin(-1) + 6  # ties: the closest
        visible = dist > 0
        near = np.where(visible, dist, np.inf).argmin(-1)[..., None]
        ndx = np.take_along_axis(dx, near, -1)[..., 0]
        ndy = np.take_along_axis(dy, near, -1)[..., 0]
        ndist = np.take_along_axis(dist, near, -1)[..., 0]
        threatened = (visible.any(-1) & ranged_agent & melee_enemy[near[..., 0]] & (ndist < kite_distance))
        horiz = np.abs(ndx) >= np.abs(ndy)
        away = np.where(horiz, np.where(ndx >= 0, 5, 4), np.where(ndy >= 0, 3, 2))
        side = np.where(horiz, np.where(avail[..., 2], 2, 3), np.where(avail[..., 4], 4, 5))
        away = np.where(np.take_along_axis(avail, away[..., None], -1)[..., 0], away, side)
        east = np.where(avail[..., 4], 4, np.where(avail[..., 2], 2, np.where(avail[..., 3], 3, 1)))
        toward = np.where(horiz, np.where(ndx >= 0, 4, 5), np.where(ndy >= 0, 2, 3))
        act = np.where(visible.any(-1), toward, east)  # advance on the closest enemy seen ...
        act = np.where(visible.any(-1) & (ndist < hold_distance), 1, act)  # ... until it is about to engage
        act = np.where(attackable.any(-1), weakest, act)
        act = np.where(threatened, away, act)
        ok = np.take_along_axis(avail, act[..., None], -1)[..., 0]
        return np.where(ok, act, np.where(avail[..., 1], 1, 0))  # dead agents: no-op

    return act


class _Stateless:
    """Adapts a memoryless scripted policy to the acting interface the episode runner expects."""

    def __init__(self, policy: Policy):
        self.policy = policy

    def init_hidden(self, batch: int) -> None:
        return None

    def act(self, obs, avail, state, hidden, reset, deterministic):
        return self.policy(obs, avail), None


def run_episodes(env, policy: Policy, n_episodes: int) -> dict[str, float]:
    """Win rate, mean return and length over the first `n_episodes` started in a vectorised env."""
    from gawm.collector import evaluate_policy  # the one batched episode runner of the harness

    return evaluate_policy(env, _Stateless(policy), n_episodes)


def scripted_win_rates(map_name: str, episodes: int, n_envs: int, seed: int) -> dict[str, dict[str, float]]:
    """Heuristic and random policy statistics on one map of the simulator."""
    from gawm.envs.sim_env import VecSimEnv

    spec = get_map(map_name)
    out = {}
    for name, pol in (("heuristic", heuristic_policy(spec)), ("random", random_policy(np.random.default_rng(seed)))):
        env = VecSimEnv(map_name, min(n_envs, episodes), seed=seed)
        out[name] = run_episodes(env, pol, episodes)
    return out
