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
from gawm.envs.kernels import relax_passes

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
    anchored = np.zeros((B, U), dtype=bool) if anchored is None else anchored
    same_team = np.ones((U, U), dtype=bool) if same_team is None else same_team
    out = np.empty((B, U, 2))
    if not relax_passes(np.ascontiguousarray(pos, dtype=np.float64), out, np.ascontiguousarray(solid),
                        np.ascontiguousarray(mobile), np.ascontiguousarray(anchored),
                        np.ascontiguousarray(same_team), np.ascontiguousarray(radius, dtype=np.float64),
                        MAX_RELAX_PASSES, OVERLAP_TOL):
        return pos  # nothing overlaps: the common case
    start, pos = pos, out
    return clip(start, pos - start)  # walls: one clip of each unit's total push (passes ignore walls)


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
