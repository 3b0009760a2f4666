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
            for i in range(U):
                xi, yi = out[b, i, 0], out[b, i, 1]
                for j in range(U):
                    ddx = out[b, j, 0] - xi
                    ddy = out[b, j, 1] - yi
                    dx[i, j], dy[i, j] = ddx, ddy
                    o = radius[i] + radius[j] - np.sqrt(ddx * ddx + ddy * ddy)
                    if o > tol and i != j and solid[b, i] and solid[b, j]:
                        ov[i, j] = o
                        if o > worst:
                            worst = o
                    else:
                        ov[i, j] = -1.0
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
