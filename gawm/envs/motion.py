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


def relax(pos: np.ndarray, solid: np.ndarray, mobile: np.ndarray, radius: np.ndarray, clip) -> np.ndarray:
    """Push overlapping solid units apart until none overlap (at most MAX_RELAX_PASSES passes).

    pos (B, U, 2); solid (B, U) bool (alive and colliding); mobile (U,) bool; clip(pos, delta) applies
    walls. A mobile unit yields the whole overlap to an immobile one and half of it to a mobile one.
    """
    mob_i, mob_j = mobile[:, None], mobile[None, :]
    share = np.where(mob_i & mob_j, 0.5, np.where(mob_i, 1.0, 0.0))  # (U, U) fraction of the overlap i yields
    reach = radius[:, None] + radius[None, :]
    pair_ok = solid[:, :, None] & solid[:, None, :] & ~np.eye(pos.shape[1], dtype=bool)
    for _ in range(MAX_RELAX_PASSES):
        dx, dy, d = pairwise(pos)
        overlap = reach - d
        pair = pair_ok & (overlap > OVERLAP_TOL)
        if not pair.any():
            break
        # exactly coincident units: separate along x, in index order
        same = pair & (d <= 1e-9)
        dx = np.where(same, np.sign(np.arange(pos.shape[1])[None, :] - np.arange(pos.shape[1])[:, None]), dx)
        d = np.where(same, 1.0, d)
        push = np.where(pair, (overlap + 0.5 * OVERLAP_TOL) * share / np.maximum(d, 1e-9), 0.0)  # (B, U, U)
        shift = -np.stack([(push * dx).sum(2), (push * dy).sum(2)], -1)
        pos = clip(pos, shift)
    return pos
