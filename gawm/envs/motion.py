"""Movement helpers: steering around allies and collision relaxation, batched over battles.

SC2's pathing sends a melee unit that finds an ally between itself and its target around that ally to a
free contact point, which is how zerglings surround a zealot; a unit that walks straight into its
allies' backs (the v1 simulator) queues behind them instead and a surround never forms. Collision keeps
ground units from overlapping: after every step the footprints are pushed apart until they no longer
overlap (immobile units hold their ground; colossi step over small units and take no part).
"""

from __future__ import annotations

import numpy as np

from gawm.envs.arrays import any_true

MAX_RELAX_PASSES = 6  # passes per step at most; a pass pushes every overlapping pair apart completely
OVERLAP_TOL = 0.02  # overlap (distance units, 5% of a zergling's radius) below which footprints touch


def length(v: np.ndarray) -> np.ndarray:
    """Euclidean length over the last axis of v (..., 2), sqrt(x*x + y*y): the value np.linalg.norm(v,
    axis=-1) and np.sqrt((v * v).sum(-1)) give, bit for bit, at a fraction of their cost on large arrays
    (numpy reduces a 2-long axis slowly: 5x slower on (64, 16, 9, 2), benchmarks/sim_kernels.py)."""
    x, y = v[..., 0], v[..., 1]
    return np.sqrt(x * x + y * y)


def pairwise(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dx[b, i, j] = x_j - x_i, dy likewise, and the distance, each (B, U, U)."""
    x, y = pos[..., 0], pos[..., 1]
    dx = x[:, None, :] - x[:, :, None]
    dy = y[:, None, :] - y[:, :, None]
    return dx, dy, np.sqrt(dx * dx + dy * dy)


N_SLOTS = 8  # contact points around a unit (eight zerglings fit around a zealot)
_SLOT_DIRS = np.stack([np.cos(np.arange(N_SLOTS) * 2 * np.pi / N_SLOTS),
                       np.sin(np.arange(N_SLOTS) * 2 * np.pi / N_SLOTS)], -1)  # (K, 2)


def contact_slots(pos: np.ndarray, b: np.ndarray, v: np.ndarray, radius: np.ndarray, attacker_r: np.ndarray,
                  solid: np.ndarray, pathable) -> tuple[np.ndarray, np.ndarray]:
    """Contact points around units (b, v) and whether each is free: (S, K, 2) and (S, K) bool.

    pos (B, U, 2); b, v: battle and unit index arrays broadcasting to one shape S (b = arange(B)[:, None],
    v = arange(U)[None, :] for every unit); radius (U,): unit radii; attacker_r (U,): radius of the melee
    units that attack unit u (the ring sits at radius + attacker_r); solid (B, U) bool. A point is taken
    when it is off the walkable grid or another solid unit's footprint covers most of it.
    """
    ring = radius[v] + attacker_r[v] + 0.05  # (S,)
    slots = pos[b, v][..., None, :] + _SLOT_DIRS * ring[..., None, None]  # (S, K, 2)
    others = pos[b][..., None, :, :]  # (S, 1, U', 2)
    gx = slots[..., :, None, 0] - others[..., 0]  # (S, K, U')
    gy = slots[..., :, None, 1] - others[..., 1]
    d2 = gx * gx + gy * gy
    need = (0.8 * attacker_r[v][..., None] + radius) ** 2  # (S, U')
    taken = (solid[b][..., None, :] & (d2 < need[..., None, :])).any(-1)
    return slots, ~taken & pathable(slots)


def steer_around(pos: np.ndarray, direction: np.ndarray, look: np.ndarray, steer: np.ndarray,
                 blockers: np.ndarray, radius: np.ndarray,
                 offsets: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Directions (B, U, 2) bent around the nearest blocking ally ahead of each steering unit.

    pos, direction (B, U, 2) (direction unit length); look (B, U) how far ahead to check; steer (B, U)
    bool, the units that steer; blockers (B, U, U) bool, j may block i (alive, solid, same team, j != i);
    offsets: pairwise(pos)'s dx, dy when the caller has them.
    """
    dx, dy = pairwise(pos)[:2] if offsets is None else offsets
    ux, uy = direction[..., 0][..., None], direction[..., 1][..., None]  # (B, U, 1)
    ahead = dx * ux + dy * uy  # (B, U, U) distance of j along i's heading
    lateral = ux * dy - uy * dx  # signed offset of j to the left of i's heading
    clear = radius[:, None] + radius[None, :]
    blocked = blockers & steer[..., None] & (ahead > 0) & (ahead < look[..., None] + clear) & (np.abs(lateral) < clear)
    if not any_true(blocked):
        return direction
    j = np.where(blocked, ahead, np.inf).argmin(-1)  # (B, U) nearest blocker
    any_b = blocked.any(-1)
    bidx, uidx = np.arange(pos.shape[0])[:, None], np.arange(pos.shape[1])[None, :]
    lat = lateral[bidx, uidx, j]
    # pass on the side away from the blocker's offset (ties: alternate by unit index so a column splits)
    side = np.where(np.abs(lat) > 1e-6, -np.sign(lat), np.where(np.arange(pos.shape[1]) % 2 == 0, 1.0, -1.0))
    left = np.stack([-direction[..., 1], direction[..., 0]], -1)
    pj = pos[bidx, j]  # (B, U, 2)
    rj = radius[j]
    waypoint = pj + left * (side * (radius[None, :] + rj + 0.05))[..., None]
    new = waypoint - pos
    new /= np.maximum(length(new)[..., None], 1e-9)
    return np.where(any_b[..., None], new, direction)


def relax(pos: np.ndarray, solid: np.ndarray, mobile: np.ndarray, radius: np.ndarray, clip,
          anchored: np.ndarray | None = None, same_team: np.ndarray | None = None) -> np.ndarray:
    """Push overlapping solid units apart until none overlap (at most MAX_RELAX_PASSES passes).

    pos (B, U, 2); solid (B, U) bool (alive and colliding); mobile (U,) bool; clip(pos, delta) applies
    walls; anchored (B, U) bool: units that did not walk this step; same_team (U, U) bool.
    As in SC2, units cannot shove enemies: between opponents a walker yields the whole overlap to a unit
    that stands its ground; allies shove each other (half each); everybody yields to structures.
    """
    B, U = solid.shape
    reach = radius[:, None] + radius[None, :]  # (U, U) centre distance at which footprints touch
    pair_ok = solid[:, :, None] & solid[:, None, :] & ~np.eye(U, dtype=bool)  # (B, U, U)
    table = _overlaps(pos, reach, pair_ok)  # pass 0's table doubles as the "anything to do?" check
    if not any_true(table[-1]):
        return pos  # nothing overlaps: the common case, decided with one distance table
    weight = np.where(pair_ok, _yield_share(B, U, mobile, anchored, same_team), 0.0)  # (B, U, U)
    start = pos  # (passes rebind pos to new arrays before writing into it: the caller's stays as it was)
    idx: np.ndarray | None = None  # battles that may still overlap (None: all); each pass works on those only
    prev = np.full(B, np.inf)  # each battle's worst overlap in the previous pass
    p = pos  # (b, U, 2) the positions of the battles in idx
    for k in range(MAX_RELAX_PASSES):
        if k > 0:
            p = pos if idx is None else pos[idx]
            table = _overlaps(p, reach, pair_ok if idx is None else pair_ok[idx])
        worst = np.where(table[-1], table[3], 0.0).max((1, 2))  # (b,) the largest overlap of each battle
        # a battle is done when nothing overlaps, or when a pass no longer helps (units pinned to a wall)
        busy = worst > OVERLAP_TOL
        if k >= 3:
            busy &= worst < 0.9 * (prev if idx is None else prev[idx])
        if not any_true(busy):
            break
        if idx is None:
            prev = worst
        else:
            prev[idx] = worst
        # the pass is computed for every battle in idx (cheaper than copying its tables down to the busy
        # ones); the battles that are done keep their positions and leave idx
        shift = _pass_shift(*table, weight if idx is None else weight[idx])
        moved = p + shift if busy.all() else np.where(busy[:, None, None], p + shift, p)
        if idx is None:
            pos = moved
        else:
            pos[idx] = moved
        if not busy.all():
            idx = np.flatnonzero(busy) if idx is None else idx[busy]
    return clip(start, pos - start)  # walls: one clip of each unit's total push (passes ignore walls)


def _overlaps(pos: np.ndarray, reach: np.ndarray, pair_ok: np.ndarray) -> tuple[np.ndarray, ...]:
    """dx, dy, d (b, U, U) as in `pairwise`, overlap = reach - d, and the pairs that overlap beyond the
    tolerance (b, U, U) bool, for positions pos (b, U, 2) and candidate pairs pair_ok (b, U, U)."""
    dx, dy, d = pairwise(pos)
    overlap = reach - d
    return dx, dy, d, overlap, (overlap > OVERLAP_TOL) & pair_ok


def _yield_share(B: int, U: int, mobile: np.ndarray, anchored: np.ndarray | None,
                 same_team: np.ndarray | None) -> np.ndarray:
    """Fraction (B, U, U) of the overlap of pair (i, j) that unit i takes on itself (see `relax`)."""
    if anchored is None:
        anchored = np.zeros((B, U), dtype=bool)
    if same_team is None:
        same_team = np.ones((U, U), dtype=bool)
    fi, fj = anchored[:, :, None], anchored[:, None, :]
    foe = np.where(fi == fj, 0.5, np.where(fj, 1.0, 0.0))  # (B, U, U) between opponents
    share = np.where(same_team[None], 0.5, foe)
    share = np.where(mobile[None, None, :], share, 1.0)  # j immobile: i yields all
    return np.where(mobile[None, :, None], share, 0.0)  # i immobile: never moves


def _pass_shift(dx: np.ndarray, dy: np.ndarray, d: np.ndarray, overlap: np.ndarray, pair: np.ndarray,
                weight: np.ndarray) -> np.ndarray:
    """Each unit's displacement (b, U, 2) in one relaxation pass: every overlapping pair pushed apart by
    its overlap (plus half the tolerance), shared by `weight` (b, U, U)."""
    U = d.shape[-1]
    coincident = pair & (d <= 1e-9)  # exactly on top of each other: separate along x, in index order
    if any_true(coincident):
        dx = np.where(coincident, np.sign(np.arange(U)[None, :] - np.arange(U)[:, None]), dx)
        d = np.where(coincident, 1.0, d)
    push = np.where(pair, (overlap + 0.5 * OVERLAP_TOL) * weight / np.maximum(d, 1e-9), 0.0)  # (b, U, U)
    shift = np.empty(d.shape[:2] + (2,))
    shift[..., 0] = -(push * dx).sum(2)
    shift[..., 1] = -(push * dy).sum(2)
    return shift


def block_at_anchors(pos0: np.ndarray, pos1: np.ndarray, solid: np.ndarray, anchored: np.ndarray,
                     radius: np.ndarray, foes: np.ndarray, tol: float = 0.05) -> np.ndarray:
    """Walkers that still overlap an enemy standing its ground (relaxation could not push them out, e.g.
    against a wall) stay where they started: a walker cannot walk through a standing enemy.
    foes (U, U) bool: i and j are on different teams, or j is a structure.
    Returns the positions and which walkers were stopped (B, U) bool."""
    d = pairwise(pos1)[2]
    over = (radius[:, None] + radius[None, :] - d > tol) & solid[:, :, None] & solid[:, None, :]
    over &= anchored[:, None, :] & ~anchored[:, :, None] & foes[None]
    stuck = over.any(-1)
    return (np.where(stuck[..., None], pos0, pos1) if any_true(stuck) else pos1), stuck
