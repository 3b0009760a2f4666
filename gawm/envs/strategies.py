"""Scripted strategies for the per-map conformance suite: each reads only SMAC observations and masks.

A strategy is what a player (or a learner) could do on a map with what an agent observes: its obs vector
and its action mask, plus memory of its own earlier observations. They run unchanged on the sc2 backend.
They define what "won the way SC2 lets it be won" means for this simulator (docs/simulator.md): the
micro SC2 rewards must win and the naive play SC2 punishes must lose (benchmarks/strategy_conformance.py).

Interface: `make(spec) -> Strategy`; `Strategy.reset(B)`; `Strategy.act(obs, avail, fresh) -> actions`,
with obs (B, N, O), avail (B, N, A) bool, fresh (B,) bool (an episode starts), actions (B, N) int.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from gawm.envs.battle import SIGHT_RANGE
from gawm.envs.maps import MapSpec
from gawm.envs.units import UNIT_TYPES

NORTH, SOUTH, EAST, WEST, STOP = 2, 3, 4, 5, 1


@dataclass
class ObsView:
    """Named slices of SMAC observations, each (B, N, ...) (see features.py for the layout)."""

    attackable: np.ndarray  # (B, N, E) bool
    visible: np.ndarray  # (B, N, E) bool
    dist: np.ndarray  # (B, N, E) distance (0 when unseen)
    dx: np.ndarray  # (B, N, E) enemy x - own x
    dy: np.ndarray
    health: np.ndarray  # (B, N, E) health + shield fractions (0..2)
    ally_visible: np.ndarray  # (B, N, N-1)
    ally_health: np.ndarray  # (B, N, N-1) health + shield fractions
    own_health: np.ndarray  # (B, N) health + shield fractions


def view(spec: MapSpec, obs: np.ndarray) -> ObsView:
    E, N = spec.n_enemies, spec.n_agents
    nf_en = 5 + spec.shield_bits_enemy + spec.unit_type_bits
    nf_al = 5 + spec.shield_bits_ally + spec.unit_type_bits
    en = obs[..., 4:4 + E * nf_en].reshape(obs.shape[:2] + (E, nf_en))
    al = obs[..., 4 + E * nf_en:4 + E * nf_en + (N - 1) * nf_al].reshape(obs.shape[:2] + (N - 1, nf_al))
    own = obs[..., 4 + E * nf_en + (N - 1) * nf_al:]
    health = en[..., 4] + (en[..., 5] if spec.shield_bits_enemy else 0.0)
    ally_health = al[..., 4] + (al[..., 5] if spec.shield_bits_ally else 0.0)
    own_health = own[..., 0] + (own[..., 1] if spec.shield_bits_ally else 0.0)
    return ObsView(en[..., 0] > 0, en[..., 1] > 0, en[..., 1] * SIGHT_RANGE, en[..., 2] * SIGHT_RANGE,
                   en[..., 3] * SIGHT_RANGE, health, al[..., 0] > 0, ally_health, own_health)


def _pick(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.take_along_axis(values, idx[..., None], -1)[..., 0]


def _toward(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """The move action (B, N) along the larger axis of (dx, dy)."""
    return np.where(np.abs(dx) >= np.abs(dy), np.where(dx >= 0, EAST, WEST), np.where(dy >= 0, NORTH, SOUTH))


def _away(dx: np.ndarray, dy: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """The move action away from (dx, dy), or a sideways one when that is blocked."""
    a = _toward(-dx, -dy)
    horiz = np.abs(dx) >= np.abs(dy)
    side = np.where(horiz, np.where(avail[..., NORTH], NORTH, SOUTH), np.where(avail[..., EAST], EAST, WEST))
    return np.where(_pick(avail, a), a, side)


_DIRS = np.array([(0.0, 1.0), (0.0, -1.0), (1.0, 0.0), (-1.0, 0.0)])  # NORTH, SOUTH, EAST, WEST


def _best_move(vx: np.ndarray, vy: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """The available move action (B, N) closest in direction to the vector (vx, vy)."""
    score = vx[..., None] * _DIRS[:, 0] + vy[..., None] * _DIRS[:, 1]  # (B, N, 4)
    score = np.where(avail[..., NORTH:WEST + 1], score, -np.inf)
    return score.argmax(-1) + NORTH


def _legal(act: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """act where available, else stop, else no-op (the dead)."""
    ok = _pick(avail, np.maximum(act, 0))
    return np.where(ok, act, np.where(avail[..., STOP], STOP, 0))


class Strategy:
    """Base: a memoryless rule `rule(v, obs, avail) -> actions`; subclasses add memory."""

    def __init__(self, spec: MapSpec, rule: Callable[[ObsView, np.ndarray, np.ndarray], np.ndarray] | None = None):
        self.spec = spec
        self.rule = rule

    def reset(self, batch: int) -> None:
        pass

    def act(self, obs: np.ndarray, avail: np.ndarray, fresh: np.ndarray) -> np.ndarray:
        return _legal(self.rule(view(self.spec, obs), obs, avail), avail)


def _closest(v: ObsView, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.where(mask, v.dist, np.inf).argmin(-1)
    return idx, mask.any(-1)


def forward(spec: MapSpec) -> int:
    """The move action from the agents' spawn towards the enemies' (the map layout a player knows)."""
    dx = spec.enemy_spawn[0] - spec.ally_spawn[0]
    dy = spec.enemy_spawn[1] - spec.ally_spawn[1]
    return int(_toward(np.array(dx), np.array(dy)))


def _advance(v: ObsView, avail: np.ndarray, spec: MapSpec) -> np.ndarray:
    """Walk towards the closest visible enemy, or towards the enemies' side when none is seen."""
    near, seen = _closest(v, v.visible)
    return np.where(seen, _toward(_pick(v.dx, near), _pick(v.dy, near)), forward(spec))


# ------------------------------------------------------------------------------------------ strategies
def stop(spec: MapSpec) -> Strategy:
    """Every agent holds position (SC2: fires at what comes into reach)."""
    return Strategy(spec, lambda v, obs, avail: np.full(avail.shape[:2], STOP))


def attack_closest(spec: MapSpec) -> Strategy:
    """Stand and fight: attack the closest enemy in range, else walk towards the closest one seen."""

    def rule(v, obs, avail):
        near, can = _closest(v, v.attackable)
        return np.where(can, near + 6, _advance(v, avail, spec))

    return Strategy(spec, rule)


def uniform_random(spec: MapSpec, seed: int = 0) -> Strategy:
    rng = np.random.default_rng(seed)

    def rule(v, obs, avail):
        return (rng.random(avail.shape) * avail).argmax(-1)

    return Strategy(spec, rule)


def focus_fire(spec: MapSpec, melee_first: bool = False, hold_at: float = 8.0, strict: bool = True) -> Strategy:
    """All agents shoot the same enemy: the one somebody can attack whose death removes the most damage
    per point of health still to deal (damage per second of its type / its health + shields left; with a
    single unit type, the weakest).

    Before the fight, agents approach the closest enemy seen and hold (stop) once it is within `hold_at`,
    so the enemy walks into their fire; once anybody is hurt, an agent with nothing in range walks to the
    closest enemy. strict: an agent out of range of the focus target walks towards it rather than shooting
    another enemy. melee_first: melee agents (zealots) fight the closest enemy, and ranged agents hold
    until an enemy is in range (zealots in front)."""
    ranged = np.array([UNIT_TYPES[u].range > 1.0 for u in spec.allies])  # (N,)
    etypes = [UNIT_TYPES[u] for u in spec.enemies]
    light_share = np.mean([UNIT_TYPES[u].light for u in spec.allies])
    armored_share = np.mean([UNIT_TYPES[u].armored for u in spec.allies])
    dps = np.array([(t.damage + t.bonus * (light_share if t.bonus_vs == "light" else armored_share if t.bonus_vs
                                           == "armored" else 0.0)) * t.attacks / t.cooldown
                    * (3.0 if t.splash_half_length > 0 else 1.0) for t in etypes])  # (E,) per loop vs our army
    # (a line splash hits about three of our clumped units: the colossus is worth three shooters)
    ehp = np.array([t.hp + t.shield for t in etypes])
    per_frac = np.array([t.hp if spec.shield_bits_enemy == 0 else (t.hp + t.shield) / 2 for t in etypes])

    def rule(v, obs, avail):
        B, N, E = v.attackable.shape
        left = np.minimum(v.health * per_frac, ehp)  # health + shields left (obs gives fractions)
        value = np.where(v.attackable, dps / np.maximum(left, 1.0), -np.inf).max(1)  # (B, E) the team's view
        focus = value.argmax(-1)  # (B,)
        focus_ok = np.take_along_axis(v.attackable, np.broadcast_to(focus[:, None, None], (B, N, 1)), -1)[..., 0]
        near, can = _closest(v, v.attackable)
        nd = _pick(v.dist, _closest(v, v.visible)[0])
        seen = v.visible.any(-1)
        full = 1.0 + spec.shield_bits_enemy
        own_full = 1.0 + spec.shield_bits_ally
        started = ((v.visible & (v.health < full - 1e-6)).any((1, 2)) | (v.own_health < own_full - 1e-6).any(1))
        wait = seen & (nd < hold_at) & ~started[:, None]
        act = np.where(wait, STOP, _advance(v, avail, spec))
        act = np.where(can, near + 6, act)
        act = np.where(focus_ok, focus[:, None] + 6, act)
        if strict:  # out of range of the focus target: walk towards it instead of shooting another enemy
            fidx = np.broadcast_to(focus[:, None], (B, N))
            f_seen = _pick(v.visible, fidx)
            walk = _toward(_pick(v.dx, fidx), _pick(v.dy, fidx))
            act = np.where(np.isfinite(value.max(-1))[:, None] & ~focus_ok & f_seen, walk, act)
        if melee_first:
            melee_act = np.where(can, near + 6, np.where(wait, STOP, _advance(v, avail, spec)))
            act = np.where(ranged[None, :], act, melee_act)
        return act

    return Strategy(spec, rule)


def kiting(spec: MapSpec, kite_distance: float = 3.0, circle: float = 1.0) -> Strategy:
    """Stalkers vs zealots: focus fire; a stalker whose closest zealot is within `kite_distance` steps
    away from it (the zealot must walk after it while the stalker's weapon cools down), then turns and
    fires again. A straight retreat runs into the map's edge within a few volleys, so the step away is
    bent by `circle` (tangent weight, counter-clockwise): the stalkers kite in a loop around the field,
    as players do."""
    ff = focus_fire(spec, hold_at=7.0, strict=False)
    melee_enemy = np.array([UNIT_TYPES[u].range <= 1.0 for u in spec.enemies])

    def rule(v, obs, avail):
        act = ff.rule(v, obs, avail)
        near, seen = _closest(v, v.visible & melee_enemy)
        threatened = seen & (_pick(v.dist, near) < kite_distance)
        ax, ay = -_pick(v.dx, near), -_pick(v.dy, near)  # away from the zealot
        away = _best_move(ax - circle * ay, ay + circle * ax, avail)
        return np.where(threatened, away, act)

    return Strategy(spec, rule)


class Alternation(Strategy):
    """2s_vs_1sc: the stalker the crawler hits steps out of its reach (7 + radii = 8.5 centre to centre
    since simulator v3, 8.625 in v2); the crawler has to switch to the other stalker (and wind up again)
    and keeps that target while it is in reach, so the first stalker walks straight back and fires; when the other one is hit,
    it does the same. Memory: each agent's own last health."""

    def __init__(self, spec: MapSpec, out_of_reach: float = 8.7):
        super().__init__(spec)
        self.out_of_reach = out_of_reach

    def reset(self, batch: int) -> None:
        N = self.spec.n_agents
        self.prev_own = np.full((batch, N), np.inf)
        self.prev_ally = np.full((batch, N, N - 1), np.inf)
        self.retreat = np.zeros((batch, N), dtype=bool)

    def act(self, obs, avail, fresh):
        if not hasattr(self, "retreat") or self.retreat.shape[0] != obs.shape[0]:
            self.reset(obs.shape[0])
        v = view(self.spec, obs)
        self.prev_own[fresh] = v.own_health[fresh]
        self.prev_ally[fresh] = v.ally_health[fresh]
        self.retreat[fresh] = False
        hit = v.own_health < self.prev_own - 1e-6
        d, dx, dy = v.dist[..., 0], v.dx[..., 0], v.dy[..., 0]
        seen = v.visible[..., 0]
        self.retreat = (self.retreat | hit) & seen & (d < self.out_of_reach)
        fight = np.where(v.attackable[..., 0], 6, np.where(seen, _toward(dx, dy), forward(self.spec)))
        back = np.where(seen & (d < self.out_of_reach), _away(dx, dy, avail), STOP)
        act = np.where(self.retreat, back, fight)
        self.prev_own, self.prev_ally = v.own_health.copy(), v.ally_health.copy()
        return _legal(act, avail)


class HoldPassage(Strategy):
    """Corridor: walk back (away from the zerglings' side) into the passage behind the zealots for
    `walk_steps` steps (the map's layout, as a player knows it), then hold position there, so the
    zerglings can only reach the front zealots, which strike whatever comes into reach."""

    def __init__(self, spec: MapSpec, walk_steps: int = 7, strike: float = 1.0, idle: int = STOP):
        super().__init__(spec)
        self.walk_steps, self.strike, self.idle = walk_steps, strike, idle

    def reset(self, batch: int) -> None:
        self.t = np.zeros(batch, dtype=np.int64)

    def act(self, obs, avail, fresh):
        if not hasattr(self, "t") or self.t.shape[0] != obs.shape[0]:
            self.reset(obs.shape[0])
        self.t[fresh] = 0
        v = view(self.spec, obs)
        walking = np.broadcast_to((self.t < self.walk_steps)[:, None], avail.shape[:2])
        back = {NORTH: SOUTH, SOUTH: NORTH, EAST: WEST, WEST: EAST}[forward(self.spec)]
        near, can = _closest(v, v.attackable & (v.dist <= self.strike))
        # holding: strike a zergling in reach; with none in reach, give ground one step rather than "stop",
        # which in SC2 lets an idle zealot walk out after the nearest zergling
        act = np.where(walking, back, np.where(can, near + 6, np.where(v.visible.any(-1), self.idle, STOP)))
        self.t += 1
        return _legal(act, avail)


def alternation(spec: MapSpec) -> Strategy:
    return Alternation(spec)


def hold_passage(spec: MapSpec) -> Strategy:
    return HoldPassage(spec)


STRATEGIES: dict[str, Callable[[MapSpec], Strategy]] = {
    "alternation": alternation,
    "attack_closest": attack_closest,
    "focus_fire": focus_fire,
    "focus_fire_melee_front": lambda spec: focus_fire(spec, melee_first=True, hold_at=9.0, strict=False),
    "hold_passage": hold_passage,
    "kiting": kiting,
    "stop": stop,
    "uniform_random": uniform_random,
}


class StrategyActing:
    """Adapts a Strategy to the acting interface of gawm.collector.evaluate_policy."""

    def __init__(self, strategy: Strategy):
        self.strategy = strategy

    def init_hidden(self, batch: int) -> None:
        self.strategy.reset(batch)
        return None

    def act(self, obs, avail, state, hidden, reset, deterministic):
        return self.strategy.act(obs, avail, np.asarray(reset, dtype=bool)), None


def win_rate(map_name: str, strategy: str, episodes: int, n_envs: int = 50, seed: int = 0) -> dict[str, float]:
    """Win rate, mean return and length of one strategy over `episodes` episodes of the simulator."""
    from gawm.collector import evaluate_policy
    from gawm.envs.maps import get_map
    from gawm.envs.sim_env import VecSimEnv

    spec = get_map(map_name)
    env = VecSimEnv(map_name, min(n_envs, episodes), seed=seed)
    return evaluate_policy(env, StrategyActing(STRATEGIES[strategy](spec)), episodes)
