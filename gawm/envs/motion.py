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
from gawm.envs import kernels
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
                  solid: np.ndarray, terrain) -> tuple[np.ndarray, np.ndarray]:
    """Contact points around units (b, v) and whether each is free: (S, K, 2) and (S, K) bool.

    pos (B, U, 2); b, v: battle and unit index arrays (S,); radius (U,): unit radii; attacker_r (U,): radius
    of the melee units that attack unit u (the ring sits at radius + attacker_r); solid (B, U) bool;
    terrain: the map's Terrain. A point is taken when it is off the walkable grid or another solid unit's
    footprint covers most of it (closer to its centre than its radius + 0.8 x the attacker's radius).
    Compiled: kernels.contact_points.
    """
    w, h = terrain.size
    return kernels.contact_points(pos, np.ascontiguousarray(b, dtype=np.int64), np.ascontiguousarray(v, dtype=np.int64),
                                  radius, attacker_r, solid, _SLOT_DIRS, terrain.padded, w, h)


def steer_around(pos: np.ndarray, direction: np.ndarray, look: np.ndarray, steer: np.ndarray,
                 blockers: np.ndarray, radius: np.ndarray,
                 offsets: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Directions (B, U, 2) bent around the nearest blocking ally ahead of each steering unit.

    pos, direction (B, U, 2) (direction unit length); look (B, U) how far ahead to check; steer (B, U)
    bool, the units that steer; blockers (B, U, U) bool, j may block i (alive, solid, j != i, not i's
    target); offsets: pairwise(pos)'s dx, dy when the caller has them. A blocker is ahead of i (0 < ahead
    < look + both radii) and within both radii of its heading; i heads instead for a point beside the
    nearest one, on the side away from its offset (ties: left for even i, right for odd, so a column
    splits). Compiled: kernels.steer_directions.
    """
    dx, dy = pairwise(pos)[:2] if offsets is None else offsets
    return kernels.steer_directions(pos, np.ascontiguousarray(direction, dtype=np.float64),
                                    np.ascontiguousarray(look, dtype=np.float64), steer, blockers, radius, dx, dy)


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
