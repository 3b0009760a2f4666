"""Compiled (numba) kernels for the battle engine's innermost loops, bit-identical to the numpy they replace.

The engine is vectorised with numpy over battles and units, which is fast for 64 battles but leaves each
env step of one battle paying numpy's per-call overhead dozens of times (docs/simulator.md, Throughput).
A kernel here replaces a loop of many small array operations by one compiled call. Each performs the same
floating-point operations in the same order as the numpy code it replaces, including numpy's pairwise
summation of a row, so results are equal bit for bit (tests/test_kernels.py compares them on random
battles; the golden-trajectory test guards the engine as a whole). Compiled once per machine
(`cache=True` keeps the machine code next to this file).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _numpy_row_sum(a: np.ndarray, n: int) -> float:
    """Sum of a[0:n] in numpy's order for a contiguous row of up to 128 float64 (`pairwise_sum`): sequential
    below 8 elements, else eight running partial sums combined as a tree, then the tail."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
    i = 8
    stop = n - (n % 8)
    while i < stop:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return res


@njit(cache=True, inline="always")
def _yield_share(i: int, j: int, anchored_i: bool, anchored_j: bool, same_team: bool, mobile_i: bool,
                 mobile_j: bool) -> float:
    """Share of pair (i, j)'s overlap that unit i takes (`motion.relax`): allies half each; between
    opponents a walker yields all to one standing its ground (half each when both walk or both stand);
    everybody yields all to an immobile unit, which never moves."""
    if not mobile_i:
        return 0.0
    if not mobile_j:
        return 1.0
    if same_team:
        return 0.5
    if anchored_i == anchored_j:
        return 0.5
    return 1.0 if anchored_j else 0.0


@njit(cache=True)
def relax_passes(pos: np.ndarray, out: np.ndarray, solid: np.ndarray, mobile: np.ndarray, anchored: np.ndarray,
                 same_team: np.ndarray, radius: np.ndarray, max_passes: int, tol: float) -> bool:
    """`motion.relax`'s passes, one battle at a time: positions pos (B, U, 2) -> out (B, U, 2).

    solid (B, U) bool, the units that collide; mobile (U,) bool; anchored (B, U) bool, the units that did
    not walk this step; same_team (U, U) bool; radius (U,). Per battle, as `motion.relax` describes: each
    pass finds the largest overlap between solid units; the battle stops when it is at most `tol`, or from
    the fourth pass on when it no longer shrinks by 10%; otherwise every overlapping pair is pushed apart by
    its overlap (+ tol / 2), shared by `_yield_share`. Units exactly on top of each other separate along x
    in index order. Returns whether any pair overlapped at the start (if not, out is a copy of pos).
    """
    B, U = solid.shape[0], solid.shape[1]
    out[:] = pos
    dx = np.empty((U, U))
    dy = np.empty((U, U))
    ov = np.empty((U, U))  # overlap of each pair that collides and overlaps beyond tol, else -1
    px = np.empty(U)  # one row of push * dx, summed in numpy's order
    py = np.empty(U)
    sx = np.empty(U)
    sy = np.empty(U)
    any_overlap = False
    for b in range(B):
        prev = np.inf
        for k in range(max_passes):
            worst = 0.0
            for i in range(U):  # each pair once: x_i - x_j is exactly -(x_j - x_i), the rest is symmetric
                ov[i, i] = -1.0
                xi, yi = out[b, i, 0], out[b, i, 1]
                for j in range(i + 1, U):
                    ov[i, j] = -1.0
                    ov[j, i] = -1.0
                    if not (solid[b, i] and solid[b, j]):
                        continue
                    ddx = out[b, j, 0] - xi
                    ddy = out[b, j, 1] - yi
                    reach = radius[i] + radius[j]
                    d2 = ddx * ddx + ddy * ddy
                    if d2 >= reach * reach:  # sqrt(d2) >= reach up to an ulp: no overlap beyond tol
                        continue
                    dx[i, j], dy[i, j] = ddx, ddy
                    dx[j, i], dy[j, i] = -ddx, -ddy
                    o = reach - np.sqrt(d2)
                    if o > tol:
                        ov[i, j] = o
                        ov[j, i] = o
                        if o > worst:
                            worst = o
            busy = worst > tol
            if k == 0 and busy:
                any_overlap = True
            if k >= 3:
                busy = busy and worst < 0.9 * prev
            if not busy:
                break
            prev = worst
            for i in range(U):
                for j in range(U):
                    if ov[i, j] > tol:
                        ddx = dx[i, j]
                        dd = np.sqrt(ddx * ddx + dy[i, j] * dy[i, j])
                        if dd <= 1e-9:  # coincident
                            ddx = 1.0 if j > i else -1.0
                            dd = 1.0
                        w = _yield_share(i, j, anchored[b, i], anchored[b, j], same_team[i, j], mobile[i], mobile[j])
                        push = (ov[i, j] + 0.5 * tol) * w / max(dd, 1e-9)
                        px[j] = push * ddx
                        py[j] = push * dy[i, j]
                    else:
                        px[j] = 0.0
                        py[j] = 0.0
                sx[i] = -_numpy_row_sum(px, U)
                sy[i] = -_numpy_row_sum(py, U)
            for i in range(U):
                out[b, i, 0] = out[b, i, 0] + sx[i]
                out[b, i, 1] = out[b, i, 1] + sy[i]
    return any_overlap


# ------------------------------------------------------------------------------- walled maps (terrain.py)
@njit(cache=True, inline="always")
def _walkable(padded: np.ndarray, w: int, h: int, x: float, y: float) -> bool:
    """Whether point (x, y) lies on a walkable cell; padded (w + 2, h + 2) is the grid inside a wall ring."""
    cx = min(max(int(np.floor(x)), -1), w) + 1
    cy = min(max(int(np.floor(y)), -1), h) + 1
    return padded[cx, cy]


@njit(cache=True)
def walkable_points(padded: np.ndarray, w: int, h: int, pts: np.ndarray) -> np.ndarray:
    """`Terrain.pathable` on a walled map: pts (P, 2) -> (P,) bool."""
    out = np.empty(pts.shape[0], dtype=np.bool_)
    for p in range(pts.shape[0]):
        out[p] = _walkable(padded, w, h, pts[p, 0], pts[p, 1])
    return out


@njit(cache=True)
def clip_moves(padded: np.ndarray, w: int, h: int, pos: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """`Terrain.clip_move` on a walled map: pos + delta where walkable, else the move along x only, else
    along y only, else no move. pos, delta (P, 2) -> (P, 2)."""
    out = np.empty_like(pos)
    for p in range(pos.shape[0]):
        x, y, dx, dy = pos[p, 0], pos[p, 1], delta[p, 0], delta[p, 1]
        fx, fy = x + dx, y + dy
        xx, xy = x + dx * 1.0, y + dy * 0.0  # as pos + delta * (1, 0)
        yx, yy = x + dx * 0.0, y + dy * 1.0
        if _walkable(padded, w, h, fx, fy):
            out[p, 0], out[p, 1] = fx, fy
        elif _walkable(padded, w, h, xx, xy):
            out[p, 0], out[p, 1] = xx, xy
        elif _walkable(padded, w, h, yx, yy):
            out[p, 0], out[p, 1] = yx, yy
        else:
            out[p, 0], out[p, 1] = x, y
    return out


@njit(cache=True, inline="always")
def _cell_index(cells: np.ndarray, w: int, h: int, cx: int, cy: int) -> int:
    return cells[min(max(cx, 0), w - 1), min(max(cy, 0), h - 1)]


@njit(cache=True)
def geodesic_directions(cells: np.ndarray, dist: np.ndarray, w: int, h: int, neighbours: np.ndarray,
                        neighbour_step: np.ndarray, pos: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """`Terrain.direction` on a walled map: the unit vector (P, 2) from pos towards goal (P, 2), straight
    when nothing is in the way (the cells' geodesic distance is within 1.5 of their straight distance) or
    either point is off the walkable cells, else towards the centre of the neighbour cell with the shortest
    geodesic distance to the goal. cells (w, h): walkable cell index or -1; dist (C, C) float32."""
    out = np.empty_like(pos)
    for p in range(pos.shape[0]):
        sx, sy = goal[p, 0] - pos[p, 0], goal[p, 1] - pos[p, 1]
        cpx, cpy = int(np.floor(pos[p, 0])), int(np.floor(pos[p, 1]))
        cgx, cgy = int(np.floor(goal[p, 0])), int(np.floor(goal[p, 1]))
        ip = _cell_index(cells, w, h, cpx, cpy)
        ig = _cell_index(cells, w, h, cgx, cgy)
        valid = ip >= 0 and ig >= 0
        ipc, igc = (ip, ig) if valid else (0, 0)
        ex, ey = float(cpx - cgx), float(cpy - cgy)
        direct = np.float64(dist[ipc, igc]) <= np.sqrt(ex * ex + ey * ey) + 1.5
        vx, vy = sx, sy
        if not (direct or not valid):
            best, best_cost = 0, np.inf
            for k in range(neighbours.shape[0]):
                nx, ny = cpx + neighbours[k, 0], cpy + neighbours[k, 1]
                inb = _cell_index(cells, w, h, nx, ny)
                cost = np.float64(dist[max(inb, 0), igc]) + neighbour_step[k] if inb >= 0 else np.inf
                if cost < best_cost:
                    best, best_cost = k, cost
            vx = (cpx + neighbours[best, 0]) + 0.5 - pos[p, 0]
            vy = (cpy + neighbours[best, 1]) + 0.5 - pos[p, 1]
        n = np.sqrt(vx * vx + vy * vy)
        if n > 1e-9:
            out[p, 0], out[p, 1] = vx / max(n, 1e-9), vy / max(n, 1e-9)
        else:
            out[p, 0], out[p, 1] = 0.0, 0.0
    return out


# --------------------------------------------------------------------- melee contact points (motion.py)
@njit(cache=True)
def contact_points(pos: np.ndarray, b: np.ndarray, v: np.ndarray, radius: np.ndarray, attacker_r: np.ndarray,
                   solid: np.ndarray, slot_dirs: np.ndarray, padded: np.ndarray, w: int,
                   h: int) -> tuple[np.ndarray, np.ndarray]:
    """`motion.contact_slots` for units (b, v) (P,): their contact points (P, K, 2) and whether each is
    free (P, K): on a walkable cell of `padded`'s grid (on an open map: inside it) and not mostly
    covered by another solid unit's footprint."""
    P, K, U = b.shape[0], slot_dirs.shape[0], pos.shape[1]
    slots = np.empty((P, K, 2))
    free = np.empty((P, K), dtype=np.bool_)
    for p in range(P):
        bb, vv = b[p], v[p]
        ring = radius[vv] + attacker_r[vv] + 0.05
        for k in range(K):
            sx = pos[bb, vv, 0] + slot_dirs[k, 0] * ring
            sy = pos[bb, vv, 1] + slot_dirs[k, 1] * ring
            slots[p, k, 0], slots[p, k, 1] = sx, sy
            taken = False
            for j in range(U):
                if solid[bb, j]:
                    gx = sx - pos[bb, j, 0]
                    gy = sy - pos[bb, j, 1]
                    r = 0.8 * attacker_r[vv] + radius[j]
                    if gx * gx + gy * gy < r * r:
                        taken = True
                        break
            free[p, k] = _walkable(padded, w, h, sx, sy) and not taken
    return slots, free


@njit(cache=True)
def steer_directions(pos: np.ndarray, direction: np.ndarray, look: np.ndarray, steer: np.ndarray,
                     blockers: np.ndarray, radius: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """`motion.steer_around`: each steering unit's direction (B, U, 2) bent around the nearest blocker ahead.

    A blocker j of unit i is ahead of it (0 < ahead < look + both radii) and within both radii of its
    heading; i then heads for a point beside j, on the side away from j's offset (ties: by i's index)."""
    B, U = steer.shape[0], steer.shape[1]
    out = direction.copy()
    for b in range(B):
        for i in range(U):
            if not steer[b, i]:
                continue
            ux, uy = direction[b, i, 0], direction[b, i, 1]
            best, best_ahead, best_lat = -1, np.inf, 0.0
            for j in range(U):
                if not blockers[b, i, j]:
                    continue
                ahead = dx[b, i, j] * ux + dy[b, i, j] * uy
                lateral = ux * dy[b, i, j] - uy * dx[b, i, j]
                clear = radius[i] + radius[j]
                if ahead > 0 and ahead < look[b, i] + clear and abs(lateral) < clear:
                    if best < 0 or ahead < best_ahead:
                        best, best_ahead, best_lat = j, ahead, lateral
            if best < 0:
                continue
            if abs(best_lat) > 1e-6:
                side = -np.sign(best_lat)
            else:
                side = 1.0 if i % 2 == 0 else -1.0
            off = side * (radius[i] + radius[best] + 0.05)
            wx = pos[b, best, 0] + -uy * off
            wy = pos[b, best, 1] + ux * off
            nx, ny = wx - pos[b, i, 0], wy - pos[b, i, 1]
            n = max(np.sqrt(nx * nx + ny * ny), 1e-9)
            out[b, i, 0], out[b, i, 1] = nx / n, ny / n
    return out
