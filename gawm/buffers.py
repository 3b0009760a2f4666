"""The two replay buffers of GAWM's double experience replay (paper Sec. 3.1.3, Fig. 2, Algorithm 1).

`RealBuffer` holds real env episodes as Dreamer-style rows (row t = what the agents see at t, the action
that led there, the reward it earned, and the action taken at t) in a flat numpy ring with FIFO eviction
of whole episodes; the world model trains on random windows of it.
`PseudoBuffer` holds the world model's imagined k-step rollouts, so the policy update draws trajectories
from many imagination batches instead of only the latest one, which decorrelates its samples.

Storage is numpy (cheap to grow, checkpoint and index); sampling returns torch tensors.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

import numpy as np
import torch

__all__ = ["RealBuffer", "PseudoBuffer", "PSEUDO_KEYS"]

RewardFn = Callable[[np.ndarray], np.ndarray]


class RealBuffer:
    """Ring buffer of real episodes, one row per observation (an episode of T actions gives T+1 rows).

    Row t of an episode holds: obs_t (N, O), state_t (S,), avail_t (N, A), alive_t (N,),
    prev_action one-hot of actions[t-1] (zeros at t=0), reward = rewards[t-1] (0 at t=0), reward_target
    (the same after the per-episode `reward_fn`, e.g. Eqs. 4-5 smoothing), discount (0 at the last row if
    the episode terminated by win/loss, else 1), is_first (t == 0) and action = actions[t] (-1 at the last
    row, where no action was taken).

    Stored rows are always contiguous in ring order, from the oldest episode's first row up to the write
    position, so a sampled window never spans the seam between newest and stale data.
    """

    _ROW_KEYS = ("obs", "state", "avail", "alive", "prev_action", "action", "reward", "reward_target",
                 "discount", "is_first")
    _REBUILT = ("prev_action",)  # copies of other columns: not checkpointed, rebuilt on load

    def __init__(self, capacity: int, n_agents: int, obs_dim: int, state_dim: int, n_actions: int,
                 reward_fn: RewardFn | None = None):
        if capacity < 2:
            raise ValueError(f"RealBuffer capacity must be >= 2 rows, got {capacity}")
        self.capacity, self.n_agents, self.obs_dim = capacity, n_agents, obs_dim
        self.state_dim, self.n_actions = state_dim, n_actions
        self.reward_fn = reward_fn
        c, n = capacity, n_agents
        self._data: dict[str, np.ndarray] = {
            "obs": np.zeros((c, n, obs_dim), np.float32),
            "state": np.zeros((c, state_dim), np.float32),
            "avail": np.zeros((c, n, n_actions), bool),
            "alive": np.zeros((c, n), bool),
            "prev_action": np.zeros((c, n, n_actions), np.float32),
            "action": np.full((c, n), -1, np.int64),
            "reward": np.zeros(c, np.float32),
            "reward_target": np.zeros(c, np.float32),
            "discount": np.ones(c, np.float32),
            "is_first": np.zeros(c, bool),
        }
        self._episodes: deque[tuple[int, int]] = deque()  # (physical start row, rows), oldest first
        self._start = 0  # physical row of the oldest stored row
        self._size = 0  # rows stored
        self.episodes_seen = 0  # lifetime counters (not reduced by eviction)
        self.steps_seen = 0

    # ------------------------------------------------------------------------------------- sizes

    def __len__(self) -> int:
        return self._size

    @property
    def num_episodes(self) -> int:
        return len(self._episodes)

    @property
    def total_steps(self) -> int:
        """Env steps (actions) of the episodes currently stored: rows minus one per episode."""
        return self._size - len(self._episodes)

    # ---------------------------------------------------------------------------------- writing

    def episode_rows(self, obs: np.ndarray, state: np.ndarray, avail: np.ndarray, actions: np.ndarray,
                     rewards: np.ndarray, terminated: bool, alive: np.ndarray) -> dict[str, np.ndarray]:
        """Convert one episode (obs (T+1, N, O), state (T+1, S), avail (T+1, N, A), actions (T, N),
        rewards (T,), terminated, alive (T+1, N)) into its T+1 rows, validating shapes."""
        actions = np.asarray(actions, np.int64)
        rewards = np.asarray(rewards, np.float32).reshape(-1)
        T = rewards.shape[0]
        n, o, a, s = self.n_agents, self.obs_dim, self.n_actions, self.state_dim
        expect = {"obs": (obs, (T + 1, n, o)), "state": (state, (T + 1, s)), "avail": (avail, (T + 1, n, a)),
                  "actions": (actions, (T, n)), "alive": (alive, (T + 1, n))}
        for name, (arr, shape) in expect.items():
            if np.shape(arr) != shape:
                raise ValueError(f"episode {name} has shape {np.shape(arr)}, expected {shape} (T={T})")
        if T < 1:
            raise ValueError("an episode needs at least one action")
        if actions.min() < 0 or actions.max() >= a:
            raise ValueError(f"actions must lie in [0, {a})")
        target = rewards if self.reward_fn is None else np.asarray(self.reward_fn(rewards.copy()), np.float32)
        if target.shape != rewards.shape:
            raise ValueError(f"reward_fn returned shape {target.shape}, expected {rewards.shape}")
        prev = np.zeros((T + 1, n, a), np.float32)
        prev[1:] = np.eye(a, dtype=np.float32)[actions]  # one-hot of the action that led to row t
        discount = np.ones(T + 1, np.float32)
        discount[-1] = 0.0 if terminated else 1.0
        is_first = np.zeros(T + 1, bool)
        is_first[0] = True
        action = np.full((T + 1, n), -1, np.int64)
        action[:-1] = actions
        return {
            "obs": np.asarray(obs, np.float32), "state": np.asarray(state, np.float32),
            "avail": np.asarray(avail, bool), "alive": np.asarray(alive, bool), "prev_action": prev,
            "action": action, "reward": np.concatenate([[0.0], rewards]).astype(np.float32),
            "reward_target": np.concatenate([[0.0], target]).astype(np.float32),
            "discount": discount, "is_first": is_first,
        }

    def add_episode(self, obs: np.ndarray, state: np.ndarray, avail: np.ndarray, actions: np.ndarray,
                    rewards: np.ndarray, terminated: bool, alive: np.ndarray) -> None:
        """Append one episode (see `episode_rows`), evicting whole oldest episodes until it fits."""
        rows = self.episode_rows(obs, state, avail, actions, rewards, terminated, alive)
        self._write(rows)
        self.episodes_seen += 1
        self.steps_seen += len(rows["reward"]) - 1

    def _write(self, rows: dict[str, np.ndarray]) -> None:
        L = len(rows["reward"])
        if L > self.capacity:
            raise ValueError(f"episode of {L} rows does not fit a buffer of {self.capacity} rows")
        while self.capacity - self._size < L:
            start, length = self._episodes.popleft()
            self._start = (start + length) % self.capacity
            self._size -= length
        if not self._episodes:
            self._start = 0
        pos = (self._start + self._size) % self.capacity
        idx = (pos + np.arange(L)) % self.capacity
        for k in self._ROW_KEYS:
            self._data[k][idx] = rows[k]
        self._episodes.append((pos, L))
        self._size += L

    # --------------------------------------------------------------------------------- reading

    def _rows(self, logical: np.ndarray) -> dict[str, np.ndarray]:
        phys = (self._start + logical) % self.capacity
        return {k: v[phys] for k, v in self._data.items()}

    def sample_sequences(self, batch_size: int, seq_len: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """`batch_size` uniformly random windows of `seq_len` contiguous stored rows -> tensors (B, L, ...).

        Windows may cross episode boundaries (is_first marks where a new episode starts, and prev_action is
        zero there); they never cross the ring's write position.
        """
        if seq_len < 1 or batch_size < 1:
            raise ValueError("batch_size and seq_len must be >= 1")
        if self._size < seq_len:
            raise ValueError(f"buffer holds {self._size} rows, fewer than seq_len={seq_len}")
        starts = rng.integers(0, self._size - seq_len + 1, size=batch_size)
        logical = starts[:, None] + np.arange(seq_len)[None]  # (B, L)
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in self._rows(logical).items()}

    def recent_episodes(self, k: int) -> list[dict[str, np.ndarray]]:
        """The newest k stored episodes (oldest of them first), each as its rows {key: (T+1, ...)}.

        Meant for on-policy MAPPO on real data: row t's `action` and row t+1's `reward`/`discount` form
        the transition taken at t.
        """
        eps = list(self._episodes)[-k:] if k > 0 else []
        out = []
        for start, length in eps:
            phys = (start + np.arange(length)) % self.capacity
            out.append({key: v[phys].copy() for key, v in self._data.items()})
        return out

    # ------------------------------------------------------------------------------- checkpoint

    def state_dict(self) -> dict:
        """Compact snapshot: only the stored rows (in ring order) and episode lengths, not the whole ring.

        The rows are saved as at most two zero-copy tensor views of the ring (the stored block, split where
        it wraps), so `torch.save` streams them to disk without first copying the buffer in memory. Columns
        that are copies of others (`_REBUILT`: prev_action, the one-hot of the previous row's action) are not
        saved; `load_state_dict` rebuilds them.
        Arrays are torch tensors so the snapshot loads with `torch.load(..., weights_only=True)`.
        """
        head = min(self._size, self.capacity - self._start)  # rows before the wrap
        spans = [(self._start, self._start + head)] + ([(0, self._size - head)] if self._size > head else [])
        return {
            "capacity": self.capacity,
            "dims": (self.n_agents, self.obs_dim, self.state_dim, self.n_actions),
            "row_chunks": [{k: torch.from_numpy(v[a:b]) for k, v in self._data.items() if k not in self._REBUILT}
                           for a, b in spans],
            "episode_lengths": torch.tensor([length for _, length in self._episodes], dtype=torch.int64),
            "episodes_seen": self.episodes_seen,
            "steps_seen": self.steps_seen,
        }

    def load_state_dict(self, sd: dict) -> None:
        """Restore from `state_dict` (the reward_fn is not saved; stored reward_target values are).

        Also reads the older layouts: one copied `rows` block, and prev_action saved as a column. A buffer
        that keeps no state (state_dim 0, the world-model methods) reads a snapshot that kept one and drops
        that column."""
        dims = (self.n_agents, self.obs_dim, self.state_dim, self.n_actions)
        saved = tuple(sd["dims"])
        drop_state = self.state_dim == 0 and saved[2] > 0 and saved[:2] + saved[3:] == dims[:2] + dims[3:]
        if (saved != dims and not drop_state) or int(sd["capacity"]) != self.capacity:
            raise ValueError(f"buffer snapshot has dims {saved}/capacity {sd['capacity']}, "
                             f"this buffer {dims}/{self.capacity}")
        lengths = np.asarray(sd["episode_lengths"], np.int64)
        size = int(lengths.sum())
        chunks = sd["row_chunks"] if "row_chunks" in sd else [sd["rows"]]
        stored = [k for k in self._ROW_KEYS if (k not in self._REBUILT or k in chunks[0])
                  and not (k == "state" and drop_state)]  # a 0-wide state column has nothing to fill
        for k in stored:
            got = sum(len(c[k]) for c in chunks)
            if got != size:
                raise ValueError(f"buffer snapshot column {k!r} has {got} rows, expected {size}")
        self._start, self._size = 0, size
        for k in stored:
            at = 0
            for c in chunks:
                n = len(c[k])
                self._data[k][at:at + n] = np.asarray(c[k])
                at += n
        if "prev_action" not in stored:
            self._rebuild_prev_action()
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lengths) else []
        self._episodes = deque((int(s), int(n)) for s, n in zip(starts, lengths))
        self.episodes_seen = int(sd["episodes_seen"])
        self.steps_seen = int(sd["steps_seen"])

    def _rebuild_prev_action(self) -> None:
        """prev_action of rows 0.._size-1 (stored from row 0, as after a load) from `action` and `is_first`:
        the one-hot of the previous row's action, zero where an episode starts (as `episode_rows` writes it)."""
        n = self._size
        prev = self._data["prev_action"][:n]
        prev[:] = 0.0
        cont = ~self._data["is_first"][1:n]  # (n-1,) row t+1 continues row t's episode
        prev[1:][cont] = np.eye(self.n_actions, dtype=np.float32)[self._data["action"][:n - 1][cont]]


#: Keys of one imagination batch added to the PseudoBuffer, with their time-major layout.
PSEUDO_KEYS = {
    "obs": "k+1",  # (k+1, B, N, O) reconstructed observations
    "avail": "k+1",  # (k+1, B, N, A)
    "critic_in": "k+1",  # (k+1, B, N, C)
    "actions": "k",  # (k, B, N)
    "old_log_probs": "k",  # (k, B, N)
    "rewards": "k",  # (k, B) predicted team reward
    "discounts": "k",  # (k, B) predicted continuation
    "actor_h0": "h",  # (B, N, H) actor hidden at the rollout's first step
    "critic_h0": "h",  # (B, N, H)
}


class PseudoBuffer:
    """FIFO store of imagined k-step rollouts, counted in trajectories (paper's pseudo buffer B_p).

    Each `add` is one imagination batch of B trajectories; `sample` draws trajectories uniformly from
    everything stored, i.e. across different imagination batches (Sec. 3.1.3). Layout is fixed by the
    first add (k, N, O, ...); later adds must match. Stored batch-major; returned time-major.
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"PseudoBuffer capacity must be >= 1 trajectory, got {capacity}")
        self.capacity = capacity
        self._data: dict[str, np.ndarray] | None = None
        self._batch_id = np.full(capacity, -1, np.int64)  # which add() each slot came from
        self._pos = 0
        self._size = 0
        self._adds = 0

    def __len__(self) -> int:
        return self._size

    @property
    def num_batches(self) -> int:
        """Distinct imagination batches with at least one trajectory still stored."""
        return len(np.unique(self._batch_id[: self._size])) if self._size else 0

    def narrow_feature(self, key: str, width: int) -> None:
        """Keep only the first `width` features of `key`'s last axis (a column the owner now rebuilds instead
        of storing, read from an older checkpoint that stored it)."""
        if self._data is not None and self._data[key].shape[-1] > width:
            self._data[key] = np.ascontiguousarray(self._data[key][..., :width])

    def clear(self) -> None:
        self._pos = self._size = 0
        self._batch_id[:] = -1

    @staticmethod
    def _to_numpy(x) -> np.ndarray:
        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
        return np.asarray(x)

    def add(self, rollout: dict) -> None:
        """Store one imagination batch: time-major arrays/tensors keyed as in PSEUDO_KEYS."""
        missing = [k for k in PSEUDO_KEYS if k not in rollout]
        if missing:
            raise ValueError(f"pseudo rollout is missing key(s) {missing}")
        arrs = {k: self._to_numpy(rollout[k]) for k in PSEUDO_KEYS}
        k_steps, B = arrs["actions"].shape[:2]
        want = {"k+1": (k_steps + 1, B), "k": (k_steps, B), "h": (B,)}
        for key, kind in PSEUDO_KEYS.items():
            lead = want[kind]
            if arrs[key].shape[: len(lead)] != lead:
                raise ValueError(f"pseudo rollout {key!r} has shape {arrs[key].shape}, leading dims should be {lead}")
        # batch-major: (B, ...) per trajectory
        bm = {key: (a if PSEUDO_KEYS[key] == "h" else np.moveaxis(a, 1, 0)) for key, a in arrs.items()}
        if self._data is None:
            self._data = {key: np.zeros((self.capacity, *a.shape[1:]), a.dtype if a.dtype != np.float64
                                        else np.float32) for key, a in bm.items()}
        for key, a in bm.items():
            if a.shape[1:] != self._data[key].shape[1:]:
                raise ValueError(f"pseudo rollout {key!r} per-trajectory shape {a.shape[1:]} differs from "
                                 f"stored {self._data[key].shape[1:]}")
        if B > self.capacity:  # keep only the newest `capacity` trajectories of an oversized batch
            bm = {key: a[-self.capacity:] for key, a in bm.items()}
            B = self.capacity
        idx = (self._pos + np.arange(B)) % self.capacity
        for key, a in bm.items():
            self._data[key][idx] = a
        self._batch_id[idx] = self._adds
        self._adds += 1
        self._pos = (self._pos + B) % self.capacity
        self._size = min(self._size + B, self.capacity)

    def state_dict(self) -> dict:
        """Everything `load_state_dict` needs, stored slots only, as zero-copy tensor views (streamed by
        torch.save; numpy arrays would be pickled into memory first)."""
        n = self._size
        return {
            "capacity": self.capacity, "pos": self._pos, "size": n, "adds": self._adds,
            "batch_id": torch.from_numpy(self._batch_id[:n]),
            "data": None if self._data is None else {k: torch.from_numpy(v[:n]) for k, v in self._data.items()},
        }

    def load_state_dict(self, sd: dict) -> None:
        """Restore from `state_dict`, or from the older layout (a copy of the buffer's __dict__)."""
        if "_data" in sd:  # checkpoints written before state_dict existed
            self.__dict__.update(sd)
            return
        if int(sd["capacity"]) != self.capacity:
            raise ValueError(f"pseudo buffer snapshot has capacity {sd['capacity']}, this buffer {self.capacity}")
        n = int(sd["size"])
        self._pos, self._size, self._adds = int(sd["pos"]), n, int(sd["adds"])
        self._batch_id = np.full(self.capacity, -1, np.int64)
        self._batch_id[:n] = np.asarray(sd["batch_id"])
        self._data = None
        if sd["data"] is not None:
            self._data = {}
            for k, v in sd["data"].items():
                arr = np.asarray(v)
                self._data[k] = np.zeros((self.capacity, *arr.shape[1:]), arr.dtype)
                self._data[k][:n] = arr

    def sample(self, batch_trajectories: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """Draw trajectories uniformly (without replacement when enough are stored) -> a time-major rollout
        for `ppo_update`: the PSEUDO_KEYS plus resets (k, B) all False (imagined rollouts never restart)."""
        if self._size == 0 or self._data is None:
            raise ValueError("PseudoBuffer is empty")
        replace = batch_trajectories > self._size
        idx = rng.choice(self._size, size=batch_trajectories, replace=replace)
        out: dict[str, torch.Tensor] = {}
        for key, kind in PSEUDO_KEYS.items():
            a = self._data[key][idx]
            out[key] = torch.from_numpy(np.ascontiguousarray(a if kind == "h" else np.moveaxis(a, 0, 1)))
        k_steps = out["actions"].shape[0]
        out["resets"] = torch.zeros(k_steps, batch_trajectories, dtype=torch.bool)
        return out
