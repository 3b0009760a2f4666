"""Vectorised SMAC-style battle engine (simulator v2's engine; v3 changed only unit data): B independent
battles stepped together, in numpy and in compiled kernels (kernels.py, weapons.py).

One `step` is SMAC's environment step, 8 game loops (`step_mul`) at 22.4 loops per second. Within it:

1. orders (at the step boundary, where SMAC issues them): agents' actions (stop = hold position and
   fire at what is in reach; move 2 units; attack enemy j) and the built-in AI's attack-move (targeting.py:
   threats first, then the closest; keep a target that is in reach; else switch to one in reach; else
   chase the current one within its scan range; else walk to the agents' spawn). A move order or a change of
   target cancels a wind-up in progress; a target picked automatically costs the unit's `retarget` delay.
2. movement for the whole step, computed once: chasers walk until their target is in reach, melee units
   steer around allies in their way (motion.py), walls clip moves, and collision relaxation pushes
   footprints apart until none overlap. Each unit's position during the step is a straight line from its
   start to its end, walked at its speed (it arrives early when it stops early).
3. weapons, game loop by game loop (weapons.py, compiled; every unit decides from the state at the loop's
   start and the loop's hits land together at its end): an attack starts when the weapon is off cooldown,
   the retarget delay has passed and the target is in reach; its hit is released `damage_point` loops later, unless the target died or left
   reach first, which cancels it (the cooldown is not spent); released hits either land at once or fly
   as a projectile at `missile_speed`; the colossus's lances also hit every enemy on a short line across
   the target. Damage is applied loop by loop, so a unit killed in loop 3 does not fire in
   loop 5, and hits aimed at it later are lost. A unit whose target dies, and a unit holding position
   whose target leaves reach, re-acquires in the same loop (in reach only; chasing waits for the next step).
4. regeneration (protoss shields after 160 loops without damage, zerg health), deaths, reward, termination.

Reward is SMAC's default dense reward (reward_only_positive): damage dealt to enemy health + shields,
+10 per enemy killed, +200 for a win, scaled by 20 / max_reward. SMAC credits raw health differences, so
there an enemy whose shield regenerates can be "damaged" twice and an episode can return slightly more
than 20; here each enemy's credited damage is the running maximum of its total deficit, which is the
same as SMAC whenever nothing regenerates and keeps the all-kill return at exactly 20.
"""

from __future__ import annotations

import numpy as np

from gawm.envs import motion, targeting, weapons
from gawm.envs.arrays import any_true
from gawm.envs.maps import MapSpec
from gawm.envs.terrain import Terrain
from gawm.envs.units import SHIELD_REGEN_DELAY_LOOPS, SHIELD_REGEN_PER_LOOP, STEP_MUL, UNIT_TYPES

MOVE_AMOUNT = 2.0  # [SMAC] a move action targets a point 2 units away
SIGHT_RANGE = 9.0  # [SMAC] observation range
SHOOT_RANGE = 6.0  # [SMAC] attack actions are available within this centre distance
N_NO_ATTACK_ACTIONS = 6  # no-op, stop, north, south, east, west
MOVE_DIRS = np.array([(0.0, 1.0), (0.0, -1.0), (1.0, 0.0), (-1.0, 0.0)])  # north, south, east, west
REWARD_DEATH = 10.0
REWARD_WIN = 200.0
REWARD_SCALE_RATE = 20.0
_REACH_EPS = 1e-6
_NEVER = weapons.NEVER  # a timer with nothing pending


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
        self.cooldown, self.radius, self.scan = f("cooldown"), f("radius"), f("scan")
        self.damage_point, self.backswing = f("damage_point"), f("backswing")
        self.missile_speed, self.retarget = f("missile_speed"), f("retarget")
        self.speed = f("speed")  # distance per loop
        self.hits_per_attack = f("attacks")
        self.hp_regen = f("hp_regen")
        self.smac_max_cd = f("smac_max_cooldown")
        self.collides = np.array([t.collides for t in types])
        self.mobile = self.speed > 0
        self.melee = f("range") < 1.0
        self.threat = (f("damage") > 0).astype(np.float64)  # can fire back (every unit of the six types)
        self.is_agent = np.arange(self.U) < self.N
        self.team = self.is_agent  # (U,) True for agents
        self.same_team = self.team[:, None] == self.team[None, :]
        self.not_self = ~np.eye(self.U, dtype=bool)
        self._foes = ~self.same_team | ~(f("speed") > 0)[None, :]  # (U, U) j cannot be shoved by i
        self._foes_none = np.zeros((self.U, self.U), dtype=bool)  # treat everyone as a foe: anchors hold
        light = np.array([t.light for t in types])
        armored = np.array([t.armored for t in types])
        # raw damage of one hit of unit a on unit t, bonus included, before armour: (U, U)
        bonus_applies = np.stack([np.where(t.bonus_vs == "light", light, np.where(t.bonus_vs == "armored",
                                                                                  armored, False)) for t in types])
        self.hit_damage = f("damage")[:, None] + f("bonus")[:, None] * bonus_applies
        # centre distance within which a can hit t (SC2 ranges are edge to edge): (U, U)
        self.reach = f("range")[:, None] + self.radius[:, None] + self.radius[None, :]
        # radius of the melee units of the other team: where their contact points around each unit lie (U,)
        melee_r = np.where(self.melee, self.radius, 0.0)
        self._melee_r = np.array([melee_r[~self.same_team[u]].max(initial=0.0) for u in range(self.U)])
        self.splash_src = np.flatnonzero(f("splash_half_length") > 0)  # (S,)
        self.splash_half = f("splash_half_length")[self.splash_src]
        self.splash_enemy = ~self.same_team[self.splash_src]  # (S, U)
        e = slice(self.N, self.U)
        self.max_reward = self.E * REWARD_DEATH + REWARD_WIN + float((self.max_hp[e] + self.max_sh[e]).sum())
        ally_off = (np.array(spec.ally_offsets, dtype=np.float64) if spec.ally_offsets is not None
                    else _formation(spec.allies, spec.ally_facing, spec.ally_rows, spec.ally_spacing))
        self._spawn_offsets = (ally_off, _formation(spec.enemies, spec.enemy_facing, spec.enemy_rows))
        self.attack_point = np.array(spec.attack_point, dtype=np.float64)
        B, U, N = self.B, self.U, self.N
        self.pos = np.zeros((B, U, 2))
        self.hp = np.zeros((B, U))
        self.sh = np.zeros((B, U))
        self.tgt = -np.ones((B, U), dtype=np.int64)  # current target (unit index) or -1
        # weapon timers, in loops from the start of the next step (inf = nothing pending)
        self.cd_ready = np.zeros((B, U))  # the weapon may start its next attack
        self.acq_ready = np.zeros((B, U))  # the retarget delay ends
        self.rel_at = np.full((B, U), _NEVER)  # a wind-up in progress releases its hit
        self.land_at = np.full((B, U), _NEVER)  # a projectile in flight lands
        self.proj_tgt = np.zeros((B, U), dtype=np.int64)
        self.back_until = np.zeros((B, U))  # backswing ends
        self.since_damage = np.zeros((B, U))  # loops since the unit last took damage
        self.t = np.zeros(B, dtype=np.int64)
        self.done = np.ones(B, dtype=bool)
        self.won = np.zeros(B, dtype=bool)
        self.last_action = np.zeros((B, N, self.A))
        self.credited = np.zeros((B, self.E))  # running max of each enemy's hp+shield deficit
        self._pairwise: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._avail: np.ndarray | None = None
        self._bidx = np.arange(B)[:, None]
        self._uidx = np.arange(U)[None, :]
        self._loops = np.arange(STEP_MUL + 1, dtype=np.float64)  # 0..8
        self._moved_at = (self._loops > 0).astype(np.float64)  # units pushed without walking: moved by loop 1
        self._has_missile = self.missile_speed > 0
        self._missile_div = np.where(self._has_missile, self.missile_speed, 1.0)
        self._lookup_tables()
        self.reset()

    def _lookup_tables(self) -> None:
        """Per-map tables the step reads instead of recomputing them, derived from the attributes above.
        Also run on unpickling (`__setstate__`), so that battles pickled before these tables existed (in the
        checkpoints of runs started on older code) resume."""
        e = slice(self.N, self.U)
        self._reach_eps = self.reach + _REACH_EPS  # (U, U) what every in-reach test compares with
        # centre distance within which a acquires t (SMAClite: minimum scan range + the target's radius): (U, U)
        self._scan_reach = self.scan[:, None] + self.radius[None, :]
        self._enemy_full = self.max_hp[e] + self.max_sh[e]  # (E,) each enemy's health + shields when unhurt
        self._agent_idx = np.arange(self.N)[None, :]
        self._one_hot = np.eye(self.A)  # (A, A) rows of the last-action one-hot
        # displacement (A, 2) a move action orders (rows of other actions unused); rows 2..5: north, south, east, west
        self._move_offset = MOVE_DIRS[np.minimum(np.maximum(np.arange(self.A) - 2, 0), 3)] * MOVE_AMOUNT

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lookup_tables()

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
        self.tgt[idx] = -1
        self.cd_ready[idx] = 0.0
        self.acq_ready[idx] = 0.0
        self.rel_at[idx] = _NEVER
        self.land_at[idx] = _NEVER
        self.proj_tgt[idx] = 0
        self.back_until[idx] = 0.0
        self.since_damage[idx] = SHIELD_REGEN_DELAY_LOOPS
        self.t[idx] = 0
        self.done[idx] = False
        self.won[idx] = False
        self.last_action[idx] = 0.0
        self.credited[idx] = 0.0
        self._avail = None
        if self._pairwise is not None and mask is not None:  # the other battles' distances still hold
            for table, fresh in zip(self._pairwise, motion.pairwise(self.pos[idx])):
                table[idx] = fresh
        else:
            self._pairwise = None

    # ------------------------------------------------------------------ queries
    @property
    def alive(self) -> np.ndarray:
        return self.hp > 0  # (B, U)

    @property
    def cd(self) -> np.ndarray:
        """Loops until each unit's weapon is ready (SMAC's `weapon_cooldown`), (B, U)."""
        return np.maximum(self.cd_ready, 0.0)

    def pairwise(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """dx[b, i, j] = x_j - x_i, dy likewise, and the distance, each (B, U, U); cached until units move."""
        if self._pairwise is None:
            self._pairwise = motion.pairwise(self.pos)
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
        if actions.dtype.kind not in "iu":  # not a signed or unsigned integer type
            if not np.all(np.equal(np.mod(actions, 1), 0)):
                raise ValueError(f"actions must be integers, got dtype {actions.dtype}")
            actions = actions.astype(np.int64)
        bad_range = (actions < 0) | (actions >= self.A)
        if any_true(bad_range):
            b, i = np.argwhere(bad_range)[0]
            raise ValueError(f"battle {b} agent {i}: action {actions[b, i]} out of range [0, {self.A})")
        ok = avail[self._bidx, self._agent_idx, actions]
        if not ok.all():
            b, i = np.argwhere(~ok)[0]
            raise ValueError(f"battle {b} agent {i}: action {actions[b, i]} is not available "
                             f"(available: {np.flatnonzero(avail[b, i]).tolist()})")
        return actions.astype(np.int64)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Advance every battle one env step. Returns reward (B,), terminated, won, episode_limit (B,) bool."""
        if any_true(self.done):
            raise ValueError(f"battles {np.flatnonzero(self.done).tolist()} have terminated; reset them first")
        N, U = self.N, self.U
        actions = self.check_actions(actions, self.avail_actions())
        alive0 = self.alive
        is_move = actions_is_move(actions)
        hold = np.zeros((self.B, U), dtype=bool)  # units that fire only at what is in reach this step
        hold[:, N:] = ~self.mobile[N:]  # static defence; agents on "stop" may chase (SC2: stop is not hold)
        stopped = np.zeros((self.B, U), dtype=bool)
        stopped[:, :N] = actions == 1
        moving_order = np.zeros((self.B, U), dtype=bool)
        moving_order[:, :N] = is_move

        self._orders(actions, stopped, moving_order, alive0)
        pos0 = self.pos
        delta, start, dur = self._movement(actions, moving_order, hold, alive0)
        pos1 = pos0 + delta
        end = motion.pairwise(pos1)
        idle = (hold | stopped) & alive0 & (self.tgt < 0)  # (B, U) holding units without a target
        idle_at = self._first_in_reach(end[2], alive0, idle) if any_true(idle) else np.full(idle.shape, np.inf)
        self._weapons(pos0, delta, start, dur, hold, idle_at)
        self.pos = pos1
        self._changed()
        self._pairwise = end  # positions are final; the distances serve the next observation
        return self._finish(actions, alive0)

    def _first_in_reach(self, d1: np.ndarray, alive0: np.ndarray, idle: np.ndarray) -> np.ndarray:
        """The loop (B, U) at which an idle unit acquires: holding units without a target acquire when the
        first enemy comes into reach during the step, found by interpolating each pair's distance between
        the step's start and its end d1 (B, U, U); inf for the units not idle."""
        d0 = self.pairwise()[2]
        gap0 = d0 - self.reach
        closing = (d1 <= self.reach) & ~self.same_team & alive0[:, None, :]
        t_in = np.where(closing, np.ceil(STEP_MUL * np.maximum(gap0, 0.0) / np.maximum(d0 - d1, 1e-9)), np.inf)
        first_in = np.minimum(np.maximum(t_in.min(-1), 1), STEP_MUL)
        return np.where(idle, first_in, np.inf)

    # ..................................................................... 1. orders
    def _orders(self, actions: np.ndarray, stopped: np.ndarray, moving_order: np.ndarray, alive: np.ndarray) -> None:
        """Targets for this step; cancels wind-ups a new order interrupts, charges retarget delays.
        stopped, moving_order, alive: (B, U) bool."""
        N = self.N
        dist = self.pairwise()[2]
        new = self.tgt.copy()
        is_attack = actions >= N_NO_ATTACK_ACTIONS
        ordered = np.where(is_attack, N + actions - N_NO_ATTACK_ACTIONS, -1)
        both_alive = alive[:, None, :] & alive[:, :, None]  # (B, U, U)
        in_reach = (dist <= self._reach_eps) & both_alive
        scan = (dist <= self._scan_reach) & both_alive  # acquisition within the scan range: (B, U, U)
        # agents on "stop" are idle in SC2 terms: they acquire like attack-move without a destination and
        # melee units walk after what they acquire (only Hold Position, which SMAC does not offer, stands)
        auto_a = targeting.acquire(dist[:, :N, N:], in_reach[:, :N, N:], scan[:, :N, N:],
                                   np.where(self.tgt[:, :N] >= N, self.tgt[:, :N] - N, -1),
                                   self.mobile[:N], self.threat[N:])
        new[:, :N] = np.where(is_attack, ordered, np.where(stopped[:, :N] & (auto_a >= 0), auto_a + N, -1))
        # the built-in AI: attack-move (static defence holds)
        visible = scan[:, N:, :N]
        auto_e = targeting.acquire(dist[:, N:, :N], in_reach[:, N:, :N], visible, self.tgt[:, N:],
                                   self.mobile[N:], self.threat[:N])
        new[:, N:] = auto_e
        new = np.where(alive, new, -1)
        switched = new != self.tgt
        auto_pick = switched & (new >= 0)
        auto_pick[:, :N] &= ~is_attack  # an agent's attack order is no automatic pick
        interrupted = switched | moving_order
        self.rel_at = np.where(interrupted, _NEVER, self.rel_at)
        self.acq_ready = np.where(auto_pick, np.maximum(self.acq_ready, self.retarget), self.acq_ready)
        self.tgt = new

    # ..................................................................... 2. movement
    def _movement(self, actions: np.ndarray, moving_order: np.ndarray, hold: np.ndarray,
                  alive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Displacement (B, U, 2) of the step, and when each unit starts moving and for how many loops."""
        N, bidx = self.N, self._bidx
        dist = self.pairwise()[2]
        tg = np.maximum(self.tgt, 0)
        tdist = dist[self._bidx, self._uidx, tg]
        treach = self.reach[self._uidx, tg]
        winding = self.rel_at < _NEVER
        chasing = (self.tgt >= 0) & (tdist > treach) & ~hold & ~winding
        free = np.zeros_like(hold)
        free[:, N:] = (self.tgt[:, N:] < 0)
        goal = self.pos.copy()
        goal[:, :N] = np.where(moving_order[:, :N, None],
                               self.pos[:, :N] + self._move_offset[actions], goal[:, :N])
        goal = np.where(chasing[..., None], self.pos[bidx, tg], goal)
        goal = np.where(free[..., None], self.attack_point, goal)
        moving = (moving_order | chasing | free) & alive & self.mobile
        # a unit in its backswing starts walking when it ends, unless ordered to move
        start = np.where(moving_order, 0.0, np.minimum(np.maximum(self.back_until, 0.0), STEP_MUL))
        travel = np.where(chasing, tdist - 0.95 * treach, motion.length(goal - self.pos))
        step_len = np.where(moving, np.minimum(self.speed * (STEP_MUL - start), np.maximum(travel, 0.0)), 0.0)
        steer = moving & chasing & self.melee
        if any_true(steer):  # melee chasers head for a free contact point of their target, around whoever is in the way
            goal, travel, tg = self._contact_goals(steer, goal, travel, tg, alive, dist)
            step_len = np.where(moving, np.minimum(self.speed * (STEP_MUL - start), np.maximum(travel, 0.0)), 0.0)
        direction = self.terrain.direction(self.pos, goal)
        if any_true(steer):
            solid = alive & self.collides
            blockers = solid[:, None, :] & self.not_self & (self._uidx[:, None, :] != tg[..., None])
            direction = motion.steer_around(self.pos, direction, step_len, steer, blockers, self.radius,
                                            offsets=self.pairwise()[:2])
        new_pos = self.terrain.clip_move(self.pos, direction * step_len[..., None])
        anchored = (step_len <= 0) | ~self.mobile
        new_pos = motion.relax(new_pos, alive & self.collides, self.mobile, self.radius, self.terrain.clip_move,
                               anchored=anchored, same_team=self.same_team)
        new_pos, stuck = motion.block_at_anchors(self.pos, new_pos, alive & self.collides, anchored, self.radius,
                                                 self._foes)
        if any_true(stuck):  # the stopped walkers stand; whoever walked into their old place steps aside
            new_pos = motion.relax(new_pos, alive & self.collides, self.mobile, self.radius, self.terrain.clip_move,
                                   anchored=anchored | stuck, same_team=self._foes_none)
        dur = np.where(self.speed > 0, step_len / np.maximum(self.speed, 1e-9), 0.0)
        return new_pos - self.pos, start, dur

    def _contact_goals(self, steer: np.ndarray, goal: np.ndarray, travel: np.ndarray, tg: np.ndarray,
                       alive: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Goals (B, U, 2) and travel (B, U) of melee chasers: the nearest free contact point of their
        target. An AI melee unit whose target has none switches (paying its retarget delay) to the closest
        enemy within its scan range that still has one, as SC2's pathing sends a blocked zergling to a
        reachable target instead of queueing. Contact points are computed for the chasers' targets only."""
        solid = alive & self.collides
        sb, su = np.nonzero(steer)  # (S,) the chasers
        vb, vu, which = self._targets_of(sb, su, tg)
        slots, free = motion.contact_slots(self.pos, vb, vu, self.radius, self._melee_r, solid, self.terrain)
        crowded = ~(free.any(-1) & alive[vb, vu])[which] & ~self.is_agent[su]  # (S,) target has no free point
        if any_true(crowded):
            self._switch_from_crowded(sb[crowded], su[crowded], solid, alive, dist)
            tg = np.maximum(self.tgt, 0)
            vb, vu, which = self._targets_of(sb, su, tg)
            slots, free = motion.contact_slots(self.pos, vb, vu, self.radius, self._melee_r, solid,
                                               self.terrain)
        tslots, tfree = slots[which], free[which]  # (S, K, 2), (S, K) the contact points of each chaser's target
        gap = tslots - self.pos[sb, su][:, None, :]
        d_slot = np.where(tfree, motion.length(gap), np.inf)  # (S, K)
        k = d_slot.argmin(-1)
        near = d_slot.min(-1)
        use = np.isfinite(near)  # the target has a free contact point; otherwise walk at the target itself
        goal, travel = goal.copy(), travel.copy()
        goal[sb, su] = np.where(use[:, None], tslots[np.arange(len(k)), k], self.pos[sb, tg[sb, su]])
        travel[sb[use], su[use]] = near[use]
        return goal, travel, tg

    def _targets_of(self, sb: np.ndarray, su: np.ndarray, tg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The distinct targets of units (sb, su) (S,): their battle and unit indices (P,), and which of them
        each unit targets (S,) (np.unique's inverse, without its sort)."""
        is_target = np.zeros((self.B, self.U), dtype=bool)
        is_target[sb, tg[sb, su]] = True
        vb, vu = np.nonzero(is_target)
        rank = np.cumsum(is_target.ravel()) - 1  # (B * U,) position of each target among the distinct ones
        return vb, vu, rank[sb * self.U + tg[sb, su]]

    def _switch_from_crowded(self, cb: np.ndarray, cu: np.ndarray, solid: np.ndarray, alive: np.ndarray,
                             dist: np.ndarray) -> None:
        """AI melee units (cb, cu) (L,) whose target has no free contact point switch to the closest enemy
        within their scan range that has one, paying their retarget delay. Contact points are computed for
        those candidate enemies only."""
        near = (dist[cb, cu] <= self._scan_reach[cu]) & ~self.same_team[cu]  # (L, U) enemies in scan range
        l, j = np.nonzero(near)
        is_cand = np.zeros((self.B, self.U), dtype=bool)
        is_cand[cb[l], j] = True
        vb, vu = np.nonzero(is_cand)  # (P,) the candidates, each once
        _, free = motion.contact_slots(self.pos, vb, vu, self.radius, self._melee_r, solid, self.terrain)
        open_v = np.zeros((self.B, self.U), dtype=bool)  # candidates with a free contact point
        open_v[vb, vu] = free.any(-1) & alive[vb, vu]
        alt, ok = targeting.best(dist[cb, cu], near & open_v[cb], self.threat)  # (L,)
        switch = ok & (alt != np.maximum(self.tgt[cb, cu], 0))
        sb, su = cb[switch], cu[switch]
        self.tgt[sb, su] = alt[switch]
        self.acq_ready[sb, su] = np.maximum(self.acq_ready[sb, su], self.retarget[su])

    # ..................................................................... 3. weapons
    def _weapons(self, pos0: np.ndarray, delta: np.ndarray, start: np.ndarray, dur: np.ndarray,
                 hold: np.ndarray, idle_at: np.ndarray) -> None:
        """Game loops 1..8: wind-ups, cancels, releases, projectiles, damage, in-loop re-acquisition
        (gawm/envs/weapons.py, compiled), along each unit's straight path through the step."""
        # fraction of its path each unit has walked at loop t: (B, U, 9)
        frac = np.minimum(np.maximum((self._loops - start[..., None]) / np.maximum(dur[..., None], 1e-9), 0.0), 1.0)
        frac = np.where(dur[..., None] > 0, frac, self._moved_at)
        path = _along(pos0, delta, frac)  # (B, U, 9, 2)
        # the kernel updates the state in place: fresh copies, so arrays handed out earlier (hp, targets)
        # keep the values they had, as they did when each step built new arrays
        for name in ("tgt", "rel_at", "cd_ready", "acq_ready", "back_until", "land_at", "proj_tgt", "hp", "sh",
                     "since_damage"):
            setattr(self, name, getattr(self, name).copy())
        weapons.weapon_loops(path, hold, np.ascontiguousarray(idle_at, dtype=np.float64), self.tgt, self.rel_at,
                             self.cd_ready, self.acq_ready, self.back_until, self.land_at, self.proj_tgt, self.hp,
                             self.sh, self.since_damage, self._reach_eps, self.damage_point, self.cooldown,
                             self.backswing, self._has_missile, self._missile_div, self.hits_per_attack,
                             self.hit_damage, self.armor, self.same_team, self.threat, self.retarget,
                             self.splash_src, self.splash_half, self.splash_enemy, self.radius)

    # ..................................................................... 4. bookkeeping
    def _finish(self, actions: np.ndarray, alive0: np.ndarray):
        N, U = self.N, self.U
        # regeneration, deaths and the timers' shift, in place on the arrays _weapons copied this step
        now_alive = weapons.end_of_step(self.hp, self.sh, self.tgt, self.since_damage, self.cd_ready, self.acq_ready,
                                        self.rel_at, self.land_at, self.back_until, self.max_hp, self.max_sh,
                                        self.hp_regen, SHIELD_REGEN_PER_LOOP, float(SHIELD_REGEN_DELAY_LOOPS),
                                        float(STEP_MUL))

        e = slice(N, U)
        deficit = self._enemy_full - (self.hp[:, e] + self.sh[:, e])
        credit = np.maximum(deficit - self.credited, 0.0).sum(-1)
        self.credited = np.maximum(self.credited, deficit)
        kills = (alive0[:, e] & ~now_alive[:, e]).sum(-1)
        allies_left, enemies_left = now_alive[:, :N].any(-1), now_alive[:, e].any(-1)
        won = allies_left & ~enemies_left
        ended = ~(allies_left & enemies_left)  # won, lost or both sides wiped out
        self.t += 1
        limit = (self.t >= self.spec.episode_limit) & ~ended
        reward = (credit + REWARD_DEATH * kills + REWARD_WIN * won) * (REWARD_SCALE_RATE / self.max_reward)
        self.last_action = self._one_hot[actions]
        terminated = ended | limit
        self.done = terminated.copy()
        self.won = won
        return reward, terminated, won, limit


def _along(pos0: np.ndarray, delta: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Points pos0 + delta * frac (B, U, 9, 2) for pos0, delta (B, U, 2) and frac (B, U, 9), one coordinate at
    a time: the same values as broadcasting over the 2-long coordinate axis, 2-3x faster on 64 battles and
    about 3 us slower on one (benchmarks/sim_kernels.py)."""
    out = np.empty(frac.shape + (2,))
    out[..., 0] = delta[:, :, None, 0] * frac + pos0[:, :, None, 0]
    out[..., 1] = delta[:, :, None, 1] * frac + pos0[:, :, None, 1]
    return out


def actions_is_move(actions: np.ndarray) -> np.ndarray:
    """(B, N) True where the action is one of the four moves."""
    return (actions >= 2) & (actions < N_NO_ATTACK_ACTIONS)


def _formation(units: tuple[str, ...], facing: float, rows: int = 4, spacing: float | None = None) -> np.ndarray:
    """Offsets (n, 2) of a compact block of units: `rows` side by side across the facing, stacked away from the enemy.

    facing: the angle (radians) from the block towards the enemy; melee units stand in front."""
    n = len(units)
    if spacing is None:
        spacing = 2 * max(UNIT_TYPES[u].radius for u in units) + 0.3
    rows = min(n, rows)
    order = np.argsort([UNIT_TYPES[u].range for u in units], kind="stable")  # shortest range in front
    k = np.empty(n, dtype=np.int64)
    k[order] = np.arange(n)
    col, row = k // rows, k % rows
    back = -col * spacing
    across = (row - (rows - 1) / 2) * spacing
    fx, fy = np.cos(facing), np.sin(facing)
    return np.stack([back * fx - across * fy, back * fy + across * fx], axis=-1).astype(np.float64)
