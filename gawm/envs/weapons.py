"""The weapon phase of an env step, game loop by game loop, compiled (numba): wind-ups, cancels, releases,
projectiles, damage (shields, armour, the colossus's line splash) and in-loop re-acquisition.

battle.py describes the mechanics (its module docstring, part 3); this module is their one implementation.
It runs one battle at a time and, within a battle, one unit at a time, with the semantics of the batched
numpy code it replaced (commit 844ed03): in each game loop every unit decides from the state at the
loop's start, and the loop's hits are applied together at its end. It is bit-identical to that code:
benchmarks/sim_exactness.py compares the two over whole episodes on every map, and tests/test_sim_golden.py
pins the traces. Where the numpy code summed, the order of the additions is kept (hits on one victim
in the order of their attackers' indices, as np.bincount adds them).

Damage rules (SC2): a hit goes to shields first (shields ignore armour) and the rest to health, where
armour reduces every hit, down to 0.5 per hit; several hits on one victim in the same game loop are summed
with the per-hit armour applied to the share that reaches health. The colossus's lances hit every enemy
whose footprint touches a thin rectangle through its target, perpendicular to the shot,
2 x splash_half_length wide and 2 x BEAM_HALF_DEPTH deep (SMAClite's LASER_BEAM: 2.8 x 0.3).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from gawm.envs.targeting import PRIORITY_WEIGHT  # a threat at any distance on the map beats a non-threat

BEAM_HALF_DEPTH = 0.15  # [SL] colossus.json: the laser line is 0.3 deep
NEVER = np.inf  # a timer with nothing pending


@njit(cache=True, inline="always")
def _reach_row(path, b, u, tgt_u, reach_eps, okr, tdist):
    """Distance from unit u to its target at each loop of the step, and whether it is in reach (tdist (U, 9)
    and okr (U, 9) rows u; False where u has no target)."""
    tg = max(tgt_u, 0)
    for s in range(path.shape[2]):
        x = path[b, tg, s, 0] - path[b, u, s, 0]
        y = path[b, tg, s, 1] - path[b, u, s, 1]
        d = np.sqrt(x * x + y * y)
        tdist[u, s] = d
        okr[u, s] = d <= reach_eps[u, tg] and tgt_u >= 0


@njit(cache=True, inline="always")
def _best_in_reach(path, b, u, t, alive, reach_eps, same_team, threat):
    """The enemy unit u prefers at loop t among those alive and in reach (threats first, then the closest;
    ties to the lowest index), or -1."""
    U = path.shape[1]
    xu, yu = path[b, u, t, 0], path[b, u, t, 1]
    best, best_key = -1, np.inf
    for v in range(U):
        dx = path[b, v, t, 0] - xu
        dy = path[b, v, t, 1] - yu
        d = np.sqrt(dx * dx + dy * dy)
        if d <= reach_eps[u, v] and alive[v] and not same_team[u, v]:
            key = d - PRIORITY_WEIGHT * threat[v]
            if best < 0 or key < best_key:
                best, best_key = v, key
    return best


@njit(cache=True, inline="always")
def _splash_hits(path, b, t, s_unit, victim, half, radius, enemy_of_s, alive, hit):
    """Units (hit (U,) bool) the lances of splash unit s_unit hit besides its primary victim at loop t."""
    U = path.shape[1]
    sx, sy = path[b, s_unit, t, 0], path[b, s_unit, t, 1]
    vx, vy = path[b, victim, t, 0], path[b, victim, t, 1]
    ax, ay = vx - sx, vy - sy
    n = max(np.sqrt(ax * ax + ay * ay), 1e-9)
    ax, ay = ax / n, ay / n
    for v in range(U):
        rx = path[b, v, t, 0] - vx
        ry = path[b, v, t, 1] - vy
        across = abs(rx * ay - ry * ax)
        along = abs(rx * ax + ry * ay)
        hit[v] = (across <= half + radius[v] and along <= radius[v] + BEAM_HALF_DEPTH and enemy_of_s[v]
                  and alive[v] and v != victim)


@njit(cache=True)
def weapon_loops(path, hold, idle_at, tgt, rel_at, cd_ready, acq_ready, back_until, land_at, proj_tgt, hp, sh,
                 since_damage, reach_eps, damage_point, cooldown, backswing, has_missile, missile_div,
                 hits_per_attack, hit_damage, armor, same_team, threat, retarget, splash_src, splash_half,
                 splash_enemy, radius):
    """Game loops 1..L-1 of one env step for every battle, updating the unit state arrays in place.

    path (B, U, L, 2): each unit's position at loops 0..L-1 (L = 9); hold (B, U) bool: units that keep
    only targets in reach (static defence); idle_at (B, U): the loop at which a holding unit without a
    target sees an enemy come into reach (inf: not idle). State (B, U), timers in loops from the step's
    start: tgt, proj_tgt (int64), rel_at, cd_ready, acq_ready, back_until, land_at, hp, sh, since_damage.
    Per-type tables: reach_eps (U, U), damage_point, cooldown, backswing, has_missile, missile_div,
    hits_per_attack, armor, threat, retarget, radius (U,); hit_damage (U, U); same_team (U, U);
    splash_src (S,), splash_half (S,), splash_enemy (S, U).

    In each loop, in this order: units whose target died, holding units whose target left reach, and
    idle units whose enemy came into reach pick the best target in reach (paying their retarget delay);
    wind-ups whose target is dead or out of reach are cancelled; units whose weapon and retarget delay are
    ready and whose target is in reach begin a wind-up; wind-ups that end release their hit (instant, or a
    projectile that lands after its flight) and start the backswing; then the loop's hits are applied.
    """
    B, U, L = path.shape[0], path.shape[1], path.shape[2]
    S = splash_src.shape[0]
    okr = np.empty((U, L), dtype=np.bool_)
    tdist = np.empty((U, L))
    ready = np.empty(U)
    alive = np.empty(U, dtype=np.bool_)
    hits_now = np.empty(U, dtype=np.bool_)
    instant = np.empty(U, dtype=np.bool_)
    victim = np.empty(U, dtype=np.int64)
    lost = np.empty(U, dtype=np.bool_)
    raw_in = np.empty(U)
    hits_in = np.empty(U)
    splash_raw = np.empty(U)
    splash_n = np.empty(U)
    line = np.empty(U, dtype=np.bool_)
    for b in range(B):
        for u in range(U):
            _reach_row(path, b, u, tgt[b, u], reach_eps, okr, tdist)
            ready[u] = max(cd_ready[b, u], acq_ready[b, u])
        for t in range(1, L):
            ft = float(t)
            for u in range(U):
                alive[u] = hp[b, u] > 0
            # 1. re-acquisition: decided for every unit from the loop's start, then applied
            for u in range(U):
                tg = max(tgt[b, u], 0)
                has = tgt[b, u] >= 0 and alive[u]
                lost[u] = (has and (not alive[tg] or (hold[b, u] and not okr[u, t]))) or (
                    idle_at[b, u] == ft and tgt[b, u] < 0 and alive[u])
            for u in range(U):
                if lost[u]:
                    new = _best_in_reach(path, b, u, t, alive, reach_eps, same_team, threat)
                    if new >= 0:
                        acq_ready[b, u] = max(acq_ready[b, u], ft + retarget[u])
                    rel_at[b, u] = NEVER
                    tgt[b, u] = new
                    _reach_row(path, b, u, new, reach_eps, okr, tdist)
                    ready[u] = max(cd_ready[b, u], acq_ready[b, u])
            # 2. cancels and wind-ups, 3. releases and landings
            any_hit = False
            for u in range(U):
                tg = max(tgt[b, u], 0)
                ok = okr[u, t] and alive[u] and alive[tg]
                if not ok and rel_at[b, u] < NEVER:
                    rel_at[b, u] = NEVER  # target dead or out of reach before the release
                if ok and ready[u] <= ft and rel_at[b, u] == NEVER:
                    rel_at[b, u] = ft + damage_point[u]
                    cd_ready[b, u] = ft + cooldown[u]
                    ready[u] = max(cd_ready[b, u], acq_ready[b, u])
                release = rel_at[b, u] <= ft + 1e-9
                landing = land_at[b, u] <= ft + 1e-9
                victim[u] = tg
                instant[u] = release
                if release:
                    rel_at[b, u] = NEVER
                    back_until[b, u] = ft + backswing[u]
                    if has_missile[u]:
                        instant[u] = False
                        land_at[b, u] = ft + tdist[u, t] / missile_div[u]
                        proj_tgt[b, u] = tg
                if landing:
                    victim[u] = proj_tgt[b, u]
                    land_at[b, u] = NEVER
                hits_now[u] = instant[u] or landing
                any_hit = any_hit or hits_now[u]
            if not any_hit:
                continue
            # 4. damage: the loop's hits on each victim summed in attacker order, splash, then shields/armour
            for v in range(U):
                raw_in[v] = 0.0
                hits_in[v] = 0.0
            for u in range(U):
                v = victim[u]
                if hits_now[u] and alive[v]:
                    h = hits_per_attack[u]
                    raw_in[v] += h * hit_damage[u, v]
                    hits_in[v] += h
            if S > 0:
                for v in range(U):
                    splash_raw[v] = 0.0
                    splash_n[v] = 0.0
                fired = False
                for k in range(S):
                    s_unit = splash_src[k]
                    if hits_now[s_unit] and instant[s_unit] and alive[victim[s_unit]]:
                        fired = True
                        _splash_hits(path, b, t, s_unit, victim[s_unit], splash_half[k], radius,
                                     splash_enemy[k], alive, line)
                        for v in range(U):
                            if line[v]:
                                h = hits_per_attack[s_unit]
                                splash_raw[v] += h * hit_damage[s_unit, v]
                                splash_n[v] += h
                if fired:
                    for v in range(U):
                        raw_in[v] = raw_in[v] + splash_raw[v]
                        hits_in[v] = hits_in[v] + splash_n[v]
            for v in range(U):
                if raw_in[v] > 0:
                    to_shield = min(sh[b, v], raw_in[v])
                    rest = raw_in[v] - to_shield
                    per_hit = raw_in[v] / max(hits_in[v], 1.0)
                    hits_on_hp = np.ceil(rest / max(per_hit, 1e-9) - 1e-9)
                    if rest > 0:
                        hp[b, v] = hp[b, v] - max(0.5 * hits_on_hp, rest - armor[v] * hits_on_hp)
                    sh[b, v] = sh[b, v] - to_shield
                    since_damage[b, v] = -ft


@njit(cache=True)
def end_of_step(hp, sh, tgt, since_damage, cd_ready, acq_ready, rel_at, land_at, back_until, max_hp, max_sh,
                hp_regen, shield_per_loop, shield_delay, step_mul):
    """Regeneration and the timers' shift at the end of an env step, in place on the (B, U) state.

    For units alive after the step: shields regenerate `shield_per_loop` per loop once `shield_delay` loops
    have passed without damage (since_damage holds -t for a unit hit at loop t of this step), health by
    `hp_regen` per loop, both capped; every timer is moved to count from the next step's start. Dead units
    get 0 health and shields, no target, a ready weapon and no wind-up. Returns alive (B, U) bool."""
    B, U = hp.shape
    alive = np.empty((B, U), dtype=np.bool_)
    for b in range(B):
        for u in range(U):
            a = hp[b, u] > 0
            alive[b, u] = a
            since_end = since_damage[b, u] + step_mul
            regen_loops = min(max(since_end - shield_delay, 0.0), step_mul)
            since_damage[b, u] = since_end
            if a:
                sh[b, u] = min(max_sh[u], sh[b, u] + shield_per_loop * regen_loops)
                hp[b, u] = min(max_hp[u], hp[b, u] + hp_regen[u] * step_mul)
                cd_ready[b, u] = cd_ready[b, u] - step_mul
                rel_at[b, u] = rel_at[b, u] - step_mul
            else:
                sh[b, u] = 0.0
                hp[b, u] = 0.0
                tgt[b, u] = -1
                cd_ready[b, u] = 0.0
                rel_at[b, u] = NEVER
            acq_ready[b, u] = acq_ready[b, u] - step_mul
            land_at[b, u] = land_at[b, u] - step_mul
            back_until[b, u] = back_until[b, u] - step_mul
    return alive
