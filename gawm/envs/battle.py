"""Vectorised SMAC-style battle engine: B independent battles stepped together in numpy.

One `step` is SMAC's environment step: 8 game loops (`step_mul`). Within it, in this order:
1. orders: agents' actions (stop / move 2 units / attack enemy j) and the built-in AI's orders for the
   enemies (attack-move: keep the current target while it is alive and within sight, else acquire the
   closest agent within sight, else walk towards the agents' spawn);
2. movement: movers walk at their speed (walls respected, geodesic path finding on walled maps); a unit
   ordered to attack a target out of weapon range walks towards it, as SC2 does; then overlapping units
   are pushed apart (one relaxation pass; structures do not move, colossi do not collide);
3. attacks: a unit whose target is within weapon range fires every `cooldown` loops; the number of
   volleys inside the 8-loop window is computed in closed form, so no inner loop over game loops;
   shields absorb damage first, armour reduces each hit on health (minimum 0.5 per hit, as in SC2);
4. regeneration (protoss shields after 10 game seconds without damage, zerg life), deaths, reward,
   termination.

Everything is batched over battles and units: the only Python loops are over a handful of constant
feature blocks, never over units or battles.

Reward is SMAC's default dense reward (reward_only_positive): damage dealt to enemy health + shields,
+10 per enemy killed, +200 for a win, scaled by 20 / max_reward. SMAC credits raw health differences, so
there an enemy whose shield regenerates can be "damaged" twice and an episode can return slightly more
than 20; here each enemy's credited damage is the running maximum of its total deficit, which is the
same as SMAC whenever nothing regenerates and keeps the all-kill return at exactly 20.
"""

from __future__ import annotations

import numpy as np

from gawm.envs.maps import MapSpec
from gawm.envs.terrain import Terrain
from gawm.envs.units import (
    SHIELD_REGEN_DELAY_STEPS,
    SHIELD_REGEN_PER_STEP,
    STEP_MUL,
    UNIT_TYPES,
    ZERG_REGEN_PER_STEP,
)

MOVE_AMOUNT = 2.0
SIGHT_RANGE = 9.0
SHOOT_RANGE = 6.0
N_NO_ATTACK_ACTIONS = 6  # no-op, stop, north, south, east, west
MOVE_DIRS = np.array([(0.0, 1.0), (0.0, -1.0), (1.0, 0.0), (-1.0, 0.0)])  # north, south, east, west
REWARD_DEATH = 10.0
REWARD_WIN = 200.0
REWARD_SCALE_RATE = 20.0


class VecBattle:
    """State and dynamics of `n_envs` battles on one map."""

    def __init__(self, spec: MapSpec, n_envs: int, seed: int | None = None):
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")
        self.spec = spec
        self.B, self.N, self.E = n_envs, spec.n_agents, spec.n_enemies
        self.U = self.N + self.E
        self.A = spec.n_actions
        self.terrain = Terrain(spec.terrain, spec.size)
        self.rng = np.random.default_rng(seed)
        types = [UNIT_TYPES[n] for n in spec.allies + spec.enemies]
        self.types = types
        f = lambda attr: np.array([getattr(t, attr) for t in types], dtype=np.float64)  # noqa: E731
        self.max_hp, self.max_sh, self.armor = f("hp"), f("shield"), f("armor")
        self.cooldown, self.radius, self.sight = f("cooldown"), f("radius"), f("sight")
        self.move_per_step = f("speed") * STEP_MUL
        self.hits_per_volley = f("attacks")
        self.smac_max_cd = f("smac_max_cooldown")
        self.collides = np.array([t.collides for t in types])
        self.mobile = self.move_per_step > 0
        self.zerg = np.array([t.race == "Z" for t in types])
        light = np.array([t.light for t in types])
        armored = np.array([t.armored for t in types])
        # raw damage of one hit of unit a on unit t, bonus included, before armour: (U, U)
        bonus_applies = np.stack([np.where(t.bonus_vs == "light", light, np.where(t.bonus_vs == "armored",
                                                                                  armored, False)) for t in types])
        self.hit_damage = f("damage")[:, None] + f("bonus")[:, None] * bonus_applies
        # centre distance within which a can hit t (SC2 ranges are edge to edge): (U, U)
        self.reach = f("range")[:, None] + self.radius[:, None] + self.radius[None, :]
        self.is_agent = np.arange(self.U) < self.N
        e = slice(self.N, self.U)
        self.max_reward = self.E * REWARD_DEATH + REWARD_WIN + float((self.max_hp[e] + self.max_sh[e]).sum())
        self._spawn_offsets = (_formation(spec.allies, -1.0), _formation(spec.enemies, +1.0))
        self.attack_point = np.array(spec.ally_spawn, dtype=np.float64)
        B, U, N = self.B, self.U, self.N
        self.pos = np.zeros((B, U, 2))
        self.hp = np.zeros((B, U))
        self.sh = np.zeros((B, U))
        self.cd = np.zeros((B, U))  # game loops until the next volley
        self.since_damage = np.zeros((B, U), dtype=np.int64)
        self.enemy_target = -np.ones((B, self.E), dtype=np.int64)  # agent index or -1
        self.t = np.zeros(B, dtype=np.int64)
        self.done = np.ones(B, dtype=bool)
        self.won = np.zeros(B, dtype=bool)
        self.last_action = np.zeros((B, N, self.A))
        self.credited = np.zeros((B, self.E))  # running max of each enemy's hp+shield deficit
        self._pairwise: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._avail: np.ndarray | None = None
        self.reset()

    # ------------------------------------------------------------------ reset
    def reset(self, mask: np.ndarray | None = None) -> None:
        """Start new episodes in the battles selected by `mask` (B,) bool (all when None)."""
        idx = np.arange(self.B) if mask is None else np.flatnonzero(mask)
        if idx.size == 0:
            return
        k = idx.size
        ally_off, enemy_off = self._spawn_offsets
        aj, ej = self.spec.ally_jitter, self.spec.enemy_jitter
        ally = np.array(self.spec.ally_spawn) + ally_off + self.rng.uniform(-aj, aj, (k, self.N, 2))
        enemy = np.array(self.spec.enemy_spawn) + enemy_off + self.rng.uniform(-ej, ej, (k, self.E, 2))
        self.pos[idx] = np.concatenate([ally, enemy], axis=1)
        self.hp[idx] = self.max_hp
        self.sh[idx] = self.max_sh
        self.cd[idx] = 0.0
        self.since_damage[idx] = SHIELD_REGEN_DELAY_STEPS
        self.enemy_target[idx] = -1
        self.t[idx] = 0
        self.done[idx] = False
        self.won[idx] = False
        self.last_action[idx] = 0.0
        self.credited[idx] = 0.0
        self._changed()

    # ------------------------------------------------------------------ queries
    @property
    def alive(self) -> np.ndarray:
        return self.hp > 0  # (B, U)

    def pairwise(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """dx[b, i, j] = x_j - x_i, dy likewise, and the distance, each (B, U, U); cached until units move."""
        if self._pairwise is None:
            self._pairwise = _pairwise(self.pos)
        return self._pairwise

    def _changed(self) -> None:
        """Drop the caches derived from positions and health."""
        self._pairwise = None
        self._avail = None

    def avail_actions(self) -> np.ndarray:
        """SMAC's availability masks (B, N, A) bool, cached until the state changes (treat as read-only)."""
        if self._avail is None:
            self._avail = self._compute_avail()
        return self._avail

    def _compute_avail(self) -> np.ndarray:
        dist = self.pairwise()[2]
        N = self.N
        alive = self.alive
        agent_alive = alive[:, :N]
        avail = np.zeros((self.B, N, self.A), dtype=bool)
        avail[..., 0] = ~agent_alive
        avail[..., 1] = agent_alive
        probe = self.pos[:, :N, None, :] + MOVE_DIRS * (MOVE_AMOUNT / 2)  # (B, N, 4, 2), SMAC's can_move probe
        avail[..., 2:6] = self.terrain.pathable(probe) & agent_alive[..., None]
        avail[..., 6:] = (dist[:, :N, N:] <= SHOOT_RANGE) & alive[:, None, N:] & agent_alive[..., None]
        return avail

    # ------------------------------------------------------------------ step
    def check_actions(self, actions: np.ndarray, avail: np.ndarray) -> np.ndarray:
        """Validate an action array against shape, range and availability; ValueError names the offender."""
        actions = np.asarray(actions)
        if actions.shape != (self.B, self.N):
            raise ValueError(f"actions must have shape ({self.B}, {self.N}), got {actions.shape}")
        if not np.issubdtype(actions.dtype, np.integer):
            if not np.all(np.equal(np.mod(actions, 1), 0)):
                raise ValueError(f"actions must be integers, got dtype {actions.dtype}")
            actions = actions.astype(np.int64)
        bad_range = (actions < 0) | (actions >= self.A)
        if bad_range.any():
            b, i = np.argwhere(bad_range)[0]
            raise ValueError(f"battle {b} agent {i}: action {actions[b, i]} out of range [0, {self.A})")
        ok = np.take_along_axis(avail, actions[..., None], axis=-1)[..., 0]
        if not ok.all():
            b, i = np.argwhere(~ok)[0]
            raise ValueError(f"battle {b} agent {i}: action {actions[b, i]} is not available "
                             f"(available: {np.flatnonzero(avail[b, i]).tolist()})")
        return actions.astype(np.int64)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Advance every battle one env step. Returns reward (B,), terminated, won, episode_limit (B,) bool."""
        if self.done.any():
            raise ValueError(f"battles {np.flatnonzero(self.done).tolist()} have terminated; reset them first")
        B, N, U = self.B, self.N, self.U
        dist = self.pairwise()[2]
        actions = self.check_actions(actions, self.avail_actions())
        alive = self.alive
        bidx = np.arange(B)[:, None]

        # 1. orders -> target (B, U) unit index or -1; goal (B, U, 2) with has_goal
        target = -np.ones((B, U), dtype=np.int64)
        goal = self.pos.copy()
        has_goal = np.zeros((B, U), dtype=bool)
        is_move = (actions >= 2) & (actions <= 5)
        goal[:, :N] = np.where(is_move[..., None],
                               self.pos[:, :N] + MOVE_DIRS[np.clip(actions - 2, 0, 3)] * MOVE_AMOUNT, goal[:, :N])
        has_goal[:, :N] = is_move
        target[:, :N] = np.where(actions >= N_NO_ATTACK_ACTIONS, N + actions - N_NO_ATTACK_ACTIONS, -1)
        self._enemy_orders(dist, alive)
        et = self.enemy_target
        target[:, N:] = np.where(et >= 0, et, -1)
        chase_free = (et < 0) & alive[:, N:]
        goal[:, N:] = np.where(chase_free[..., None], self.attack_point, goal[:, N:])
        has_goal[:, N:] = chase_free

        # 2. movement
        tclip = np.maximum(target, 0)
        tdist = np.take_along_axis(dist, tclip[..., None], axis=-1)[..., 0]  # (B, U)
        treach = self.reach[np.arange(U)[None, :], tclip]
        chasing = (target >= 0) & (tdist > treach)
        goal = np.where(chasing[..., None], self.pos[bidx, tclip], goal)
        travel = np.where(chasing, tdist - 0.95 * treach, np.sqrt(((goal - self.pos) ** 2).sum(-1)))
        moving = (has_goal | chasing) & alive & self.mobile
        step_len = np.where(moving, np.minimum(self.move_per_step, np.maximum(travel, 0.0)), 0.0)
        delta = self.terrain.direction(self.pos, goal) * step_len[..., None]
        new_pos = self.terrain.clip_move(self.pos, delta)
        self.pos = self._separate(new_pos, alive)
        self._changed()

        # 3. attacks, with ranges checked after movement. "stop" holds position, but an SC2 unit still
        # fires at the closest enemy that is (now) within its weapon range
        dist = self.pairwise()[2]
        in_reach = (dist[:, :N, N:] <= self.reach[:N, N:]) & alive[:, None, N:]
        auto = np.where(in_reach, dist[:, :N, N:], np.inf).argmin(-1) + N
        target[:, :N] = np.where((actions == 1) & in_reach.any(-1), auto, target[:, :N])
        tclip = np.maximum(target, 0)
        treach = self.reach[np.arange(U)[None, :], tclip]
        tdist = np.take_along_axis(dist, tclip[..., None], axis=-1)[..., 0]
        fires = (target >= 0) & alive & alive[bidx, tclip] & (tdist <= treach + 1e-6)
        ready = fires & (self.cd < STEP_MUL)
        volleys = np.where(ready, np.ceil((STEP_MUL - self.cd) / self.cooldown), 0.0)
        self.cd = np.where(ready, self.cd + volleys * self.cooldown - STEP_MUL, np.maximum(self.cd - STEP_MUL, 0.0))
        hits = volleys * self.hits_per_volley  # (B, U)
        raw = hits * self.hit_damage[np.arange(U)[None, :], tclip]
        flat = (np.arange(B)[:, None] * U + tclip).ravel()
        raw_in = np.bincount(flat, weights=raw.ravel(), minlength=B * U).reshape(B, U)
        hits_in = np.bincount(flat, weights=hits.ravel(), minlength=B * U).reshape(B, U)
        to_shield = np.minimum(self.sh, raw_in)
        rest = raw_in - to_shield
        hits_on_hp = np.ceil(rest / np.maximum(raw_in / np.maximum(hits_in, 1.0), 1e-9) - 1e-9)
        hp_damage = np.where(rest > 0, np.maximum(0.5 * hits_on_hp, rest - self.armor * hits_on_hp), 0.0)
        self.sh = self.sh - to_shield
        self.hp = self.hp - hp_damage
        damaged = raw_in > 0
        self.since_damage = np.where(damaged, 0, self.since_damage + 1)

        # 4. regeneration, deaths, reward, termination
        now_alive = self.hp > 0
        regen = now_alive & (self.since_damage >= SHIELD_REGEN_DELAY_STEPS)
        self.sh = np.where(regen, np.minimum(self.max_sh, self.sh + SHIELD_REGEN_PER_STEP), self.sh)
        self.hp = np.where(now_alive & self.zerg, np.minimum(self.max_hp, self.hp + ZERG_REGEN_PER_STEP), self.hp)
        self.hp = np.where(now_alive, self.hp, 0.0)
        self.sh = np.where(now_alive, self.sh, 0.0)
        self.cd = np.where(now_alive, self.cd, 0.0)

        e = slice(N, U)
        deficit = (self.max_hp[e] + self.max_sh[e]) - (self.hp[:, e] + self.sh[:, e])
        credit = np.maximum(deficit - self.credited, 0.0).sum(-1)
        self.credited = np.maximum(self.credited, deficit)
        kills = (alive[:, e] & ~now_alive[:, e]).sum(-1)
        n_allies = now_alive[:, :N].sum(-1)
        n_enemies = now_alive[:, e].sum(-1)
        won = (n_allies > 0) & (n_enemies == 0)
        lost = (n_allies == 0) & (n_enemies > 0)
        wiped = (n_allies == 0) & (n_enemies == 0)
        self.t += 1
        limit = (self.t >= self.spec.episode_limit) & ~(won | lost | wiped)
        reward = (credit + REWARD_DEATH * kills + REWARD_WIN * won) * (REWARD_SCALE_RATE / self.max_reward)
        self.last_action = np.eye(self.A)[actions]
        self._avail = None  # health changed; the post-move distances stay valid
        terminated = won | lost | wiped | limit
        self.done = terminated.copy()
        self.won = won
        return reward, terminated, won, limit

    def _enemy_orders(self, dist: np.ndarray, alive: np.ndarray) -> None:
        """The built-in AI: sticky targets within sight, else the closest agent within sight, else none.
        Immobile units (spine crawler) cannot chase, so for them "sight" is their weapon reach: like SC2's
        static defence they drop a target that walks out of range and fire at whatever is in range."""
        N = self.N
        d = dist[:, N:, :N]  # (B, E, N) enemy -> agent
        sight = np.where(self.mobile[N:, None], self.sight[N:, None], self.reach[N:, :N])  # (E, N)
        visible = (d < sight) & alive[:, None, :N] & alive[:, N:, None]
        cur = self.enemy_target
        keep = (cur >= 0) & np.take_along_axis(visible, np.maximum(cur, 0)[..., None], -1)[..., 0]
        closest = np.where(visible, d, np.inf).argmin(-1)
        self.enemy_target = np.where(keep, cur, np.where(visible.any(-1), closest, -1))

    def _separate(self, pos: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """One relaxation pass pushing overlapping colliding units apart (immobile units hold their ground)."""
        solid = alive & self.collides  # (B, U)
        dx, dy, d = _pairwise(pos)  # (B, U, U): j - i
        overlap = self.radius[:, None] + self.radius[None, :] - d
        pair = solid[:, :, None] & solid[:, None, :] & (overlap > 0) & (d > 1e-9)
        if not pair.any():
            return pos
        mob_i, mob_j = self.mobile[:, None], self.mobile[None, :]
        share = np.where(mob_i & mob_j, 0.5, np.where(mob_i, 1.0, 0.0))  # fraction of the overlap i yields
        push = np.where(pair, overlap * share / np.maximum(d, 1e-9), 0.0)  # (B, U, U)
        shift = -np.stack([(push * dx).sum(2), (push * dy).sum(2)], -1)
        return self.terrain.clip_move(pos, shift)


def _pairwise(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = pos[..., 0], pos[..., 1]
    dx = x[:, None, :] - x[:, :, None]  # (B, U, U): x_j - x_i
    dy = y[:, None, :] - y[:, :, None]
    return dx, dy, np.sqrt(dx * dx + dy * dy)


def _formation(units: tuple[str, ...], away: float) -> np.ndarray:
    """Offsets (n, 2) of a compact block of units: columns of 4 along y, stacked away from the enemy."""
    n = len(units)
    spacing = 2 * max(UNIT_TYPES[u].radius for u in units) + 0.3
    rows = min(n, 4)
    k = np.arange(n)
    col, row = k // rows, k % rows
    return np.stack([away * col * spacing, (row - (rows - 1) / 2) * spacing], axis=-1).astype(np.float64)
