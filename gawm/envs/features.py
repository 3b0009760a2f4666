"""SMAC's observation and state vectors, computed for all battles and agents at once.

The layouts are exactly StarCraft2Env's with its defaults (obs_all_health, obs_own_health on,
obs_last_action off, no pathing/terrain features, state_last_action on):

obs of agent i  = move feats (4: can move N, S, E, W)
                + per enemy   [attackable, dist/9, dx/9, dy/9, health, (shield), (unit type one-hot)]
                + per ally    [visible, dist/9, dx/9, dy/9, health, (shield), (unit type one-hot)]  (others in id order)
                + own         [health, (shield), (unit type one-hot)]
state           = per agent   [health, weapon_cooldown/max_cd, (x-cx)/W, (y-cy)/H, (shield), (type)]
                + per enemy   [health, (x-cx)/W, (y-cy)/H, (shield), (type)]
                + last actions of all agents (one-hot, N x n_actions)

Health and shield are fractions of their maxima; enemies and allies are visible when alive and strictly
within sight range 9; a dead agent's observation is all zeros. Shield columns exist only for protoss
teams, type columns only when the map has unit_type_bits > 0.
"""

from __future__ import annotations

import numpy as np

from gawm.envs.battle import SIGHT_RANGE, VecBattle


def obs_size(spec) -> int:
    nf_en = 4 + 1 + spec.shield_bits_enemy + spec.unit_type_bits
    nf_al = 4 + 1 + spec.shield_bits_ally + spec.unit_type_bits
    own = 1 + spec.shield_bits_ally + spec.unit_type_bits
    return 4 + spec.n_enemies * nf_en + (spec.n_agents - 1) * nf_al + own


def state_size(spec) -> int:
    nf_al = 4 + spec.shield_bits_ally + spec.unit_type_bits
    nf_en = 3 + spec.shield_bits_enemy + spec.unit_type_bits
    return spec.n_agents * nf_al + spec.n_enemies * nf_en + spec.n_agents * spec.n_actions


class FeatureBuilder:
    """Precomputes the constant parts (type one-hots, index maps) once per map."""

    def __init__(self, battle: VecBattle):
        spec = battle.spec
        self.battle = battle
        N, E = battle.N, battle.E
        bits = spec.unit_type_bits
        self.ally_types = np.zeros((N, bits))
        self.enemy_types = np.zeros((E, bits))
        if bits:
            self.ally_types[np.arange(N), [spec.type_id(u, True) for u in spec.allies]] = 1.0
            self.enemy_types[np.arange(E), [spec.type_id(u, False) for u in spec.enemies]] = 1.0
        # ally_ids[i] = the other agents in id order (N, N-1)
        self.ally_ids = np.array([[j for j in range(N) if j != i] for i in range(N)], dtype=np.int64).reshape(N, N - 1)
        self.shield_al = spec.shield_bits_ally > 0
        self.shield_en = spec.shield_bits_enemy > 0
        w, h = spec.size
        self.center = np.array([w / 2.0, h / 2.0])
        self.extent = np.array([float(w), float(h)])
        self.obs_dim = obs_size(spec)
        self.state_dim = state_size(spec)

    def obs(self, avail: np.ndarray | None = None) -> np.ndarray:
        """(B, N, obs_dim) float32."""
        bt = self.battle
        B, N, E = bt.B, bt.N, bt.E
        dx, dy, dist = bt.pairwise()
        if avail is None:
            avail = bt.avail_actions()
        alive = bt.alive
        a_alive = alive[:, :N]
        hp_frac = bt.hp / bt.max_hp
        sh_frac = np.where(bt.max_sh > 0, bt.sh / np.maximum(bt.max_sh, 1e-9), 0.0)

        # enemies seen by each agent: (B, N, E, .)
        d_e = dist[:, :N, N:]
        vis_e = (d_e < SIGHT_RANGE) & alive[:, None, N:] & a_alive[..., None]
        cols = [avail[..., 6:].astype(np.float64), d_e / SIGHT_RANGE, dx[:, :N, N:] / SIGHT_RANGE,
                dy[:, :N, N:] / SIGHT_RANGE, np.broadcast_to(hp_frac[:, None, N:], (B, N, E))]
        if self.shield_en:
            cols.append(np.broadcast_to(sh_frac[:, None, N:], (B, N, E)))
        enemy = np.concatenate([np.stack(cols, -1), np.broadcast_to(self.enemy_types, (B, N) + self.enemy_types.shape)], -1)
        enemy = enemy * vis_e[..., None]

        # allies seen by each agent: (B, N, N-1, .)
        ii = np.arange(N)[:, None]
        d_a = dist[:, ii, self.ally_ids]
        vis_a = (d_a < SIGHT_RANGE) & a_alive[:, self.ally_ids] & a_alive[..., None]
        cols = [np.ones_like(d_a), d_a / SIGHT_RANGE, dx[:, ii, self.ally_ids] / SIGHT_RANGE,
                dy[:, ii, self.ally_ids] / SIGHT_RANGE,
                hp_frac[:, :N][:, self.ally_ids]]
        if self.shield_al:
            cols.append(sh_frac[:, :N][:, self.ally_ids])
        ally = np.concatenate([np.stack(cols, -1), np.broadcast_to(self.ally_types[self.ally_ids], (B, N, N - 1, self.ally_types.shape[1]))], -1)
        ally = ally * vis_a[..., None]

        own_cols = [hp_frac[:, :N, None]]
        if self.shield_al:
            own_cols.append(sh_frac[:, :N, None])
        own_cols.append(np.broadcast_to(self.ally_types, (B, N, self.ally_types.shape[1])))
        own = np.concatenate(own_cols, -1) * a_alive[..., None]

        move = avail[..., 2:6].astype(np.float64)
        out = np.concatenate([move, enemy.reshape(B, N, -1), ally.reshape(B, N, -1), own], -1)
        return out.astype(np.float32)

    def state(self) -> np.ndarray:
        """(B, state_dim) float32."""
        bt = self.battle
        B, N, E = bt.B, bt.N, bt.E
        alive = bt.alive
        pos = (bt.pos - self.center) / self.extent
        hp_frac = bt.hp / bt.max_hp
        sh_frac = np.where(bt.max_sh > 0, bt.sh / np.maximum(bt.max_sh, 1e-9), 0.0)
        cols = [hp_frac[:, :N], bt.cd[:, :N] / bt.smac_max_cd[:N], pos[:, :N, 0], pos[:, :N, 1]]
        if self.shield_al:
            cols.append(sh_frac[:, :N])
        ally = np.concatenate([np.stack(cols, -1), np.broadcast_to(self.ally_types, (B,) + self.ally_types.shape)], -1)
        ally = ally * alive[:, :N, None]
        cols = [hp_frac[:, N:], pos[:, N:, 0], pos[:, N:, 1]]
        if self.shield_en:
            cols.append(sh_frac[:, N:])
        enemy = np.concatenate([np.stack(cols, -1), np.broadcast_to(self.enemy_types, (B,) + self.enemy_types.shape)], -1)
        enemy = enemy * alive[:, N:, None]
        out = np.concatenate([ally.reshape(B, -1), enemy.reshape(B, -1), bt.last_action.reshape(B, -1)], -1)
        return out.astype(np.float32)
