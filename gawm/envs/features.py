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
    """Precomputes the constant parts (type one-hots, index maps, the column layout) once per map.

    The vectors are assembled in float64, one column at a time, in preallocated blocks, multiplied once by
    the visibility mask and cast once to float32 (the same operations, value for value, as stacking the
    columns and concatenating the blocks, without the temporaries)."""

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
        self._layout()

    def _layout(self) -> None:
        """The column layout of one agent's observation (move | enemies | allies | own) and index tables.
        Also run on unpickling, so that builders pickled before these existed (older checkpoints) resume."""
        spec, N, E = self.battle.spec, self.battle.N, self.battle.E
        self._nf_en = 5 + spec.shield_bits_enemy + spec.unit_type_bits
        self._nf_al = 5 + spec.shield_bits_ally + spec.unit_type_bits
        self._en_end = 4 + E * self._nf_en
        self._al_end = self._en_end + (N - 1) * self._nf_al
        self._ally_rows = np.arange(N)[:, None]  # (N, 1): pairs (i, ally_ids[i]) index (U, U) tables
        self._ally_id_types = self.ally_types[self.ally_ids]  # (N, N-1, bits)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._layout()

    def obs(self, avail: np.ndarray | None = None) -> np.ndarray:
        """(B, N, obs_dim) float32."""
        bt = self.battle
        B, N = bt.B, bt.N
        dx, dy, dist = bt.pairwise()
        if avail is None:
            avail = bt.avail_actions()
        alive = bt.alive
        a_alive = alive[:, :N]
        hp_frac, sh_frac = self._health_fractions()
        out = np.empty((B, N, self.obs_dim), dtype=np.float32)
        out[..., :4] = avail[..., 2:6]
        enemies = self._enemy_block(avail, dx, dy, dist, alive, hp_frac, sh_frac)  # (B, N, E, nf_en)
        out[..., 4:self._en_end] = enemies.reshape(B, N, -1)
        allies = self._ally_block(dx, dy, dist, a_alive, hp_frac, sh_frac)  # (B, N, N-1, nf_al)
        out[..., self._en_end:self._al_end] = allies.reshape(B, N, -1)
        own = out[..., self._al_end:]
        own[..., 0] = hp_frac[:, :N] * a_alive
        if self.shield_al:
            own[..., 1] = sh_frac[:, :N] * a_alive
        own[..., 1 + self.shield_al:] = self.ally_types * a_alive[..., None]
        return out

    def _health_fractions(self) -> tuple[np.ndarray, np.ndarray]:
        """Health and shield as fractions of their maxima (B, U) (shield 0 for units without one)."""
        bt = self.battle
        return bt.hp / bt.max_hp, np.where(bt.max_sh > 0, bt.sh / np.maximum(bt.max_sh, 1e-9), 0.0)

    def _enemy_block(self, avail, dx, dy, dist, alive, hp_frac, sh_frac) -> np.ndarray:
        """Each agent's features of each enemy, zero where unseen: (B, N, E, nf_en) float64."""
        B, N, E = self.battle.B, self.battle.N, self.battle.E
        d_e = dist[:, :N, N:]  # (B, N, E)
        vis = (d_e < SIGHT_RANGE) & alive[:, None, N:] & alive[:, :N, None]
        f = np.empty((B, N, E, self._nf_en))
        f[..., 0] = avail[..., 6:]
        f[..., 1] = d_e / SIGHT_RANGE
        f[..., 2] = dx[:, :N, N:] / SIGHT_RANGE
        f[..., 3] = dy[:, :N, N:] / SIGHT_RANGE
        f[..., 4] = hp_frac[:, None, N:]
        if self.shield_en:
            f[..., 5] = sh_frac[:, None, N:]
        f[..., 5 + self.shield_en:] = self.enemy_types
        f *= vis[..., None]
        return f

    def _ally_block(self, dx, dy, dist, a_alive, hp_frac, sh_frac) -> np.ndarray:
        """Each agent's features of each other agent (id order), zero where unseen: (B, N, N-1, nf_al)."""
        B, N = self.battle.B, self.battle.N
        ii, ids = self._ally_rows, self.ally_ids
        d_a = dist[:, ii, ids]  # (B, N, N-1)
        vis = (d_a < SIGHT_RANGE) & a_alive[:, ids] & a_alive[..., None]
        f = np.empty((B, N, N - 1, self._nf_al))
        f[..., 0] = 1.0
        f[..., 1] = d_a / SIGHT_RANGE
        f[..., 2] = dx[:, ii, ids] / SIGHT_RANGE
        f[..., 3] = dy[:, ii, ids] / SIGHT_RANGE
        f[..., 4] = hp_frac[:, ids]
        if self.shield_al:
            f[..., 5] = sh_frac[:, ids]
        f[..., 5 + self.shield_al:] = self._ally_id_types
        f *= vis[..., None]
        return f

    def state(self) -> np.ndarray:
        """(B, state_dim) float32."""
        bt = self.battle
        B, N, E = bt.B, bt.N, bt.E
        alive = bt.alive
        pos = (bt.pos - self.center) / self.extent
        hp_frac, sh_frac = self._health_fractions()
        bits = self.ally_types.shape[1]
        ally = np.empty((B, N, 4 + self.shield_al + bits))
        ally[..., 0] = hp_frac[:, :N]
        ally[..., 1] = bt.cd[:, :N] / bt.smac_max_cd[:N]
        ally[..., 2:4] = pos[:, :N]
        if self.shield_al:
            ally[..., 4] = sh_frac[:, :N]
        ally[..., 4 + self.shield_al:] = self.ally_types
        ally *= alive[:, :N, None]
        enemy = np.empty((B, E, 3 + self.shield_en + bits))
        enemy[..., 0] = hp_frac[:, N:]
        enemy[..., 1:3] = pos[:, N:]
        if self.shield_en:
            enemy[..., 3] = sh_frac[:, N:]
        enemy[..., 3 + self.shield_en:] = self.enemy_types
        enemy *= alive[:, N:, None]
        out = np.empty((B, self.state_dim), dtype=np.float32)
        n_al, n_en = ally[0].size, enemy[0].size
        out[:, :n_al] = ally.reshape(B, -1)
        out[:, n_al:n_al + n_en] = enemy.reshape(B, -1)
        out[:, n_al + n_en:] = bt.last_action.reshape(B, -1)
        return out
