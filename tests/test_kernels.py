"""The compiled kernels of gawm/envs/kernels.py give the numpy engine's numbers bit for bit.

The reference here is the numpy code each kernel replaced (kept in this test, not in the package, so the
engine has one implementation); the battles are random and crowded so that every branch runs: many
overlaps, units exactly on top of each other, immobile units, anchored walkers, passes that stop on the
"no longer shrinks" rule.
"""

from __future__ import annotations

import numpy as np
import pytest

from gawm.envs import motion
from gawm.envs.motion import MAX_RELAX_PASSES, OVERLAP_TOL, pairwise


# ------------------------------------------------------------------ the numpy engine up to commit 844ed03
def _yield_share_numpy(B, U, mobile, anchored, same_team):
    fi, fj = anchored[:, :, None], anchored[:, None, :]
    foe = np.where(fi == fj, 0.5, np.where(fj, 1.0, 0.0))
    share = np.where(same_team[None], 0.5, foe)
    share = np.where(mobile[None, None, :], share, 1.0)
    return np.where(mobile[None, :, None], share, 0.0)


def _overlaps_numpy(pos, reach, pair_ok):
    dx, dy, d = pairwise(pos)
    overlap = reach - d
    return dx, dy, d, overlap, (overlap > OVERLAP_TOL) & pair_ok


def _pass_shift_numpy(dx, dy, d, overlap, pair, weight):
    U = d.shape[-1]
    coincident = pair & (d <= 1e-9)
    if coincident.any():
        dx = np.where(coincident, np.sign(np.arange(U)[None, :] - np.arange(U)[:, None]), dx)
        d = np.where(coincident, 1.0, d)
    push = np.where(pair, (overlap + 0.5 * OVERLAP_TOL) * weight / np.maximum(d, 1e-9), 0.0)
    shift = np.empty(d.shape[:2] + (2,))
    shift[..., 0] = -(push * dx).sum(2)
    shift[..., 1] = -(push * dy).sum(2)
    return shift


def relax_numpy(pos, solid, mobile, radius, clip, anchored, same_team):
    """`motion.relax` as numpy code over all battles at once, as it was before the kernel."""
    B, U = solid.shape
    reach = radius[:, None] + radius[None, :]
    pair_ok = solid[:, :, None] & solid[:, None, :] & ~np.eye(U, dtype=bool)
    table = _overlaps_numpy(pos, reach, pair_ok)
    if not table[-1].any():
        return pos
    weight = np.where(pair_ok, _yield_share_numpy(B, U, mobile, anchored, same_team), 0.0)
    start = pos
    idx = None
    prev = np.full(B, np.inf)
    p = pos
    for k in range(MAX_RELAX_PASSES):
        if k > 0:
            p = pos if idx is None else pos[idx]
            table = _overlaps_numpy(p, reach, pair_ok if idx is None else pair_ok[idx])
        worst = np.where(table[-1], table[3], 0.0).max((1, 2))
        busy = worst > OVERLAP_TOL
        if k >= 3:
            busy &= worst < 0.9 * (prev if idx is None else prev[idx])
        if not busy.any():
            break
        if idx is None:
            prev = worst
        else:
            prev[idx] = worst
        shift = _pass_shift_numpy(*table, weight if idx is None else weight[idx])
        moved = p + shift if busy.all() else np.where(busy[:, None, None], p + shift, p)
        if idx is None:
            pos = moved
        else:
            pos[idx] = moved
        if not busy.all():
            idx = np.flatnonzero(busy) if idx is None else idx[busy]
    return clip(start, pos - start)


def _clip(p, delta):
    return np.minimum(np.maximum(p + delta, 0.0), 1e3)


def crowded_battles(seed: int, B: int, U: int):
    """Random battles packed into a small square (most pairs overlap), with some units exactly on top of
    unit 0, immobile units, anchored walkers and two teams."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0.0, np.sqrt(U) * 0.6, (B, U, 2))
    dup = rng.random((B, U)) < 0.1
    pos[dup] = pos[:, :1][np.nonzero(dup)[0]][:, 0]
    radius = rng.choice([0.375, 0.5, 0.625, 0.875, 1.0], U)
    solid = rng.random((B, U)) < 0.9
    mobile = rng.random(U) < 0.85
    anchored = rng.random((B, U)) < 0.3
    team = rng.random(U) < 0.5
    return pos, solid, mobile, radius, anchored, team[:, None] == team[None, :]


@pytest.mark.parametrize("B,U", [(1, 3), (1, 30), (7, 8), (64, 16), (5, 17), (3, 24)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relax_kernel_equals_numpy_bit_for_bit(seed, B, U):
    pos, solid, mobile, radius, anchored, same_team = crowded_battles(seed, B, U)
    want = relax_numpy(pos.copy(), solid, mobile, radius, _clip, anchored, same_team)
    got = motion.relax(pos, solid, mobile, radius, _clip, anchored=anchored, same_team=same_team)
    assert np.array_equal(got, want)
    assert not np.array_equal(got, pos)  # the battles were crowded: the passes did move units


def test_relax_defaults_and_nothing_to_do():
    """Without anchored/same_team (everybody allies, nobody anchored) it matches numpy too; a battle
    with no overlap comes back as the very same array."""
    pos, solid, mobile, radius, _, _ = crowded_battles(4, 6, 12)
    B, U = solid.shape
    want = relax_numpy(pos.copy(), solid, mobile, radius, _clip, np.zeros((B, U), dtype=bool),
                       np.ones((U, U), dtype=bool))
    assert np.array_equal(motion.relax(pos, solid, mobile, radius, _clip), want)
    apart = np.stack([np.arange(U) * 3.0, np.zeros(U)], -1)[None].repeat(2, 0)
    assert motion.relax(apart, np.ones((2, U), dtype=bool), mobile, radius, _clip) is apart


def test_relax_leaves_callers_positions_and_separates_units():
    """`motion.relax` returns new positions (the caller's array is untouched) with overlaps reduced."""
    pos, _, _, radius, _, _ = crowded_battles(3, 4, 10)
    B, U = pos.shape[:2]
    reach = radius[:, None] + radius[None, :]
    before = pos.copy()
    out = motion.relax(pos, np.ones((B, U), dtype=bool), np.ones(U, dtype=bool), radius, _clip)
    assert np.array_equal(pos, before)
    over = lambda q: np.maximum(reach - pairwise(q)[2], 0.0)[:, ~np.eye(U, dtype=bool)].sum()  # noqa: E731
    assert over(out) < 0.5 * over(before)
