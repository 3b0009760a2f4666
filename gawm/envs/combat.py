"""Damage resolution: shields, armour per hit, and the colossus's line splash, batched over battles.

SC2 applies a hit to shields first (shields ignore the unit's armour) and the rest to health, where
armour reduces every hit, down to 0.5 per hit. Several hits on one victim in the same game loop are
summed with the per-hit armour applied to the share that reaches health.
"""

from __future__ import annotations

import numpy as np

from gawm.envs.motion import length

BEAM_HALF_DEPTH = 0.15  # [SL] colossus.json: the laser line is 0.3 deep


def line_splash(pos: np.ndarray, src: np.ndarray, victim: np.ndarray, fires: np.ndarray, half_length: np.ndarray,
                radius: np.ndarray, enemy_of: np.ndarray) -> np.ndarray:
    """Which units a colossus's lances hit besides the primary target: (B, U_src, U) bool.

    The lances sweep a thin rectangle through the target, perpendicular to the line from colossus to
    target, `2 * half_length[src]` wide and 2 * BEAM_HALF_DEPTH deep (SMAClite's LASER_BEAM: 2.8 x 0.3);
    a unit is hit when its footprint touches it.
    pos (B, U, 2); src: (S,) indices of splash units; victim (B, S) primary target; fires (B, S) bool;
    half_length (S,); radius (U,); enemy_of (S, U) bool (no friendly fire).
    """
    B = pos.shape[0]
    bidx = np.arange(B)[:, None]
    p_src = pos[:, src]  # (B, S, 2)
    p_vic = pos[bidx, np.maximum(victim, 0)]  # (B, S, 2)
    axis = p_vic - p_src
    axis /= np.maximum(length(axis)[..., None], 1e-9)
    rel = pos[:, None, :, :] - p_vic[:, :, None, :]  # (B, S, U, 2)
    along = np.abs(rel[..., 0] * axis[..., None, 1] - rel[..., 1] * axis[..., None, 0])  # across the shot
    depth = np.abs(rel[..., 0] * axis[:, :, None, 0] + rel[..., 1] * axis[:, :, None, 1])  # along the shot
    hit = (along <= half_length[None, :, None] + radius) & (depth <= radius + BEAM_HALF_DEPTH)
    hit &= enemy_of[None] & fires[..., None]
    hit[bidx, np.arange(len(src))[None, :], np.maximum(victim, 0)] = False  # the primary is counted once
    return hit


def apply_hits(hp: np.ndarray, sh: np.ndarray, armor: np.ndarray, raw_in: np.ndarray,
               hits_in: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """New (hp, shield) after `raw_in` damage in `hits_in` hits per victim, all (B, U)."""
    to_shield = np.minimum(sh, raw_in)
    rest = raw_in - to_shield
    per_hit = raw_in / np.maximum(hits_in, 1.0)
    hits_on_hp = np.ceil(rest / np.maximum(per_hit, 1e-9) - 1e-9)
    hp_damage = np.where(rest > 0, np.maximum(0.5 * hits_on_hp, rest - armor * hits_on_hp), 0.0)
    return hp - hp_damage, sh - to_shield
