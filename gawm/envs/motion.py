"""Movement helpers: steering around allies and collision relaxation, batched over battles.

SC2's pathing sends a melee unit that finds an ally between itself and its target around that ally to a
free contact point, which is how zerglings surround a zealot; a unit that walks straight into its
allies' backs (the v1 simulator) queues behind them instead and a surround never forms. Collision keeps
ground units from overlapping: after every step the footprints are pushed apart until they no longer
overlap (immobile units hold their ground; colossi step over small units and take no part).
"""

from __future__ import annotations

import numpy as np

MAX_RELAX_PASSES = 6  # passes per step at most; a pass pushes every overlapping pair apart completely
OVERLAP_TOL = 0.02  # overlap (distance units, 5% of a zergling's radius) below which footprints touch


def pairwise(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dx[b, i, j] = x_j - x_i, dy likewise, and the distance, each (B, U, U)."""
    x, y = pos[..., 0], pos[..., 1]
    dx = x[:, None, :] - x[:, :, None]
    dy = y[:, None, :] - y[:, :, None]
    return dx, dy, np.sqrt(dx * dx + dy * dy)


N_SLOTS = 8  # contact points around a unit (eight zerglings fit around a zealot)
_SLOT_DIRS = np.stack([np.cos(np.arange(N_SLOTS) * 2 * np.pi / N_SLOTS),
                       np.sin(np.arange(N_SLOTS) * 2 * np.pi / N_SLOTS)], -1)  # (K, 2)


def contact_slots(pos: np.ndarray, radius: np.ndarray, attacker_r: np.ndarray, solid: np.ndarray,
                  pathable) -> tuple[np.ndarray, np.ndarray]:
    """Contact points around every unit and whether each is free: (B, U, K, 2) and (B, U, K) bool.

    radius (U,): unit radii; attacker_r (U,): radius of the melee units that attack unit u (the ring sits
    at radius + attacker_r). A point is taken when it is off the walkable grid or another solid unit's
    footprint covers most of it.
    """
    ring = radius + attacker_r + 0.05
    slots = pos[:, :, None, :] + _SLOT_DIRS * ring[None, :, None, None]  # (B, U, K, 2)
    diff = slots[:, :, :, None, :] - pos[:, None, None, :, :]  # (B, U, K, U', 2)
    d2 = (diff * diff).sum(-1)
    need = (0.8 * attacker_r[:, None] + radius[None, :]) ** 2  # (U, U')
    taken = (solid[:, None, None, :] & (d2 < need[None, :, None, :])).any(-1)
    return slots, ~taken & pathable(slots)


def steer_around(pos: np.ndarray, direction: np.ndarray, look: np.ndarray, steer: np.ndarray,
                 blockers: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Directions (B, U, 2) bent around the nearest blocking ally ahead of each steering unit.

    pos, direction (B, U, 2) (direction unit length); look (B, U) how far ahead to check; steer (B, U)
    bool, the units that steer; blockers (B, U, U) bool, j may block i (alive, solid, same team, j != i).
    """
    dx, dy, _ = pairwise(pos)
    ux, uy = direction[..., 0][..., None], direction[..., 1][..., None]  # (B, U, 1)
    ahead = dx * ux + dy * uy  # (B, U, U) distance of j along i's heading
    lateral = ux * dy - uy * dx  # signed offset of j to the left of i's heading
    clear = radius[:, None] + radius[None, :]
    blocked = blockers & steer[..., None] & (ahead > 0) & (ahead < look[..., None] + clear) & (np.abs(lateral) < clear)
    if not blocked.any():
        return direction
    j = np.where(blocked, ahead, np.inf).argmin(-1)  # (B, U) nearest blocker
    any_b = blocked.any(-1)
    lat = np.take_along_axis(lateral, j[..., None], -1)[..., 0]
    # pass on the side away from the blocker's offset (ties: alternate by unit index so a column splits)
    side = np.where(np.abs(lat) > 1e-6, -np.sign(lat), np.where(np.arange(pos.shape[1]) % 2 == 0, 1.0, -1.0))
    left = np.stack([-direction[..., 1], direction[..., 0]], -1)
    pj = np.take_along_axis(pos, j[..., None].repeat(2, -1), 1)  # (B, U, 2)
    rj = radius[j]
    waypoint = pj + left * (side * (radius[None, :] + rj + 0.05))[..., None]
    new = waypoint - pos
    new /= np.maximum(np.linalg.norm(new, axis=-1, keepdims=True), 1e-9)
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
    reach = radius[:, None] + radius[None, :]
    pair_ok = solid[:, :, None] & solid[:, None, :] & ~np.eye(U, dtype=bool)
    if not ((reach - pairwise(pos)[2] > OVERLAP_TOL) & pair_ok).any():
        return pos  # nothing overlaps: the common case, decided with one distance table
    if anchored is None:
        anchored = np.zeros((B, U), dtype=bool)
    if same_team is None:
        same_team = np.ones((U, U), dtype=bool)
    fi, fj = anchored[:, :, None], anchored[:, None, :]
    foe = np.where(fi == fj, 0.5, np.where(fj, 1.0, 0.0))  # (B, U, U) fraction of the overlap i yields
    share = np.where(same_team[None], 0.5, foe)
    share = np.where(mobile[None, None, :], share, 1.0)  # j immobile: i yields all
    share = np.where(mobile[None, :, None], share, 0.0)  # i immobile: never moves
    weight = np.where(pair_ok, share, 0.0)  # (B, U, U)
    start = pos
    pos = pos.copy()
    idx = np.arange(B)  # battles that may still overlap; each pass works on those only
    prev = np.full(B, np.inf)  # each battle's worst overlap in the previous pass
    for k in range(MAX_RELAX_PASSES):
        p = pos[idx]
        x, y = p[..., 0], p[..., 1]
        dx = x[:, None, :] - x[:, :, None]  # (b, U, U): x_j - x_i
        dy = y[:, None, :] - y[:, :, None]
        d = np.sqrt(dx * dx + dy * dy)
        overlap = reach - d
        pair = (overlap > OVERLAP_TOL) & pair_ok[idx]
        worst = np.where(pair, overlap, 0.0).max((1, 2))
        # a battle is done when nothing overlaps, or when a pass no longer helps (units pinned to a wall)
        busy = (worst > OVERLAP_TOL) & ((k < 3) | (worst < 0.9 * prev[idx]))
        if not busy.any():
            break
        prev[idx] = worst
        if not busy.all():
            idx, p, dx, dy, d, overlap, pair = idx[busy], p[busy], dx[busy], dy[busy], d[busy], overlap[busy], pair[busy]
        coincident = pair & (d <= 1e-9)  # exactly on top of each other: separate along x, in index order
        if coincident.any():
            dx = np.where(coincident, np.sign(np.arange(U)[None, :] - np.arange(U)[:, None]), dx)
            d = np.where(coincident, 1.0, d)
        push = np.where(pair, (overlap + 0.5 * OVERLAP_TOL) * weight[idx] / np.maximum(d, 1e-9), 0.0)  # (b, U, U)
        shift = np.empty_like(p)
        shift[..., 0] = -(push * dx).sum(2)
        shift[..., 1] = -(push * dy).sum(2)
        pos[idx] = p + shift
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
    return (np.where(stuck[..., None], pos0, pos1) if stuck.any() else pos1), stuck
