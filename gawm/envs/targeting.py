"""Target acquisition as SC2 does it, batched over battles: threats first, then the closest.

SC2 picks an automatic target by priority (a unit that can fire back outranks one that cannot) and then
by distance. Attack-move keeps its current target while it can still hit it, switches to a target it can
hit now when its current one is out of reach, and otherwise chases its current target inside its leash
(here: its scan range, 5 for most units, after SMAClite's minimum scan range). Static defence (the spine crawler) keeps its target while it is in reach and otherwise
takes the best target in reach. A unit on "stop" (hold) behaves like static defence. Every switch made
this way costs the unit's `retarget` delay before its wind-up can start (see battle.py).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

PRIORITY_WEIGHT = 1e4  # a threat at any distance on the map beats a non-threat


def best(d: np.ndarray, allowed: np.ndarray, threat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the preferred allowed victim per attacker and whether one exists.

    d, allowed: (B, A, V); threat: (V,) 1 where the victim can fire back. Returns (B, A) int, (B, A) bool.
    """
    return _best_ranked(d - PRIORITY_WEIGHT * threat, allowed)


def _best_ranked(rank: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`best` for a precomputed rank = d - PRIORITY_WEIGHT * threat (B, A, V): lowest allowed rank."""
    key = np.where(allowed, rank, np.inf)
    return key.argmin(-1), allowed.any(-1)


@lru_cache(maxsize=64)
def _grid(B: int, A: int) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (B, 1) and (1, A) that pick x[b, a, idx[b, a]] from a (B, A, V) array (cached per shape:
    cheaper than np.take_along_axis, which builds them on every call)."""
    return np.arange(B)[:, None], np.arange(A)[None, :]


def acquire(d: np.ndarray, in_reach: np.ndarray, visible: np.ndarray, cur: np.ndarray, chases: np.ndarray,
            threat: np.ndarray) -> np.ndarray:
    """New victim index per attacker (B, A), -1 for none.

    d, in_reach, visible: (B, A, V) (visibility already includes the victim being alive); cur: (B, A)
    current victim or -1; chases: (A,) or (B, A) bool, True for attack-move units that may walk after a
    target, False for static defence and units holding position.
    """
    rank = d - PRIORITY_WEIGHT * threat  # one ranking serves both choices below
    has = cur >= 0
    b, a = _grid(*cur.shape)
    cur0 = np.maximum(cur, 0)
    keep_hit = has & in_reach[b, a, cur0]
    hit_idx, can_hit = _best_ranked(rank, in_reach)
    keep_chase = has & visible[b, a, cur0] & chases
    see_idx, sees = _best_ranked(rank, visible & chases[..., None])
    out = np.where(sees, see_idx, -1)
    out = np.where(keep_chase, cur, out)
    out = np.where(can_hit, hit_idx, out)
    return np.where(keep_hit, cur, out)
