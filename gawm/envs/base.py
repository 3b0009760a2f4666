"""The environment interfaces every method trains against.

`MultiAgentEnv` is oxwhirl SMAC's StarCraft2Env interface (one battle, lists per agent), which the sc2
backend provides natively and the simulator reproduces. `VecMultiAgentEnv` is the batched form the
training loop uses: B battles, numpy arrays with a leading battle axis, explicit per-battle resets.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class MultiAgentEnv(Protocol):
    def reset(self) -> tuple[list[np.ndarray], np.ndarray]: ...
    def step(self, actions) -> tuple[float, bool, dict[str, Any]]: ...
    def get_obs(self) -> list[np.ndarray]: ...
    def get_obs_agent(self, agent_id: int) -> np.ndarray: ...
    def get_obs_size(self) -> int: ...
    def get_state(self) -> np.ndarray: ...
    def get_state_size(self) -> int: ...
    def get_avail_actions(self) -> list[list[int]]: ...
    def get_avail_agent_actions(self, agent_id: int) -> list[int]: ...
    def get_total_actions(self) -> int: ...
    def get_env_info(self) -> dict[str, int]: ...
    def close(self) -> None: ...


class VecMultiAgentEnv(Protocol):
    """B battles of one map. Shapes: obs (B, N, O) float32, state (B, S), avail (B, N, A) bool."""

    n_envs: int
    env_info: dict[str, int]

    def reset(self, mask: np.ndarray | None = None) -> None: ...
    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]: ...
    def get_obs(self) -> np.ndarray: ...
    def get_state(self) -> np.ndarray: ...
    def get_avail_actions(self) -> np.ndarray: ...
    def alive(self) -> np.ndarray: ...
    def close(self) -> None: ...


class SerialVecEnv:
    """Batches single `MultiAgentEnv`s (e.g. several StarCraft II instances) behind the vector interface.

    The runner needs to tell a timeout from a terminal state, but SMAC sets `info["episode_limit"]` only with
    `continuing_episode=True` (off by default). So when an env leaves the key out, a terminated battle counts as
    a timeout exactly when SMAC would have counted one: it reached the episode limit without a result (not won,
    neither side wiped out, from SMAC's `dead_allies`/`dead_enemies`). A step that SMAC aborts after a crashed
    game (it returns `0, True, {}`) is treated as a timeout too: the battle was cut, not decided.

    Built `from_factories`, it can be pickled although StarCraft II games cannot: the pickle keeps the
    factories, unpickling starts fresh games, and `episodes_restarted` tells the owner (the Collector in a
    resumed run) that every battle begins a new episode. Built from envs, it pickles its envs as they are.
    """

    def __init__(self, envs: list[MultiAgentEnv], factories: list[Callable[[], MultiAgentEnv]] | None = None):
        if not envs:
            raise ValueError("SerialVecEnv needs at least one env")
        self.envs = envs
        self.factories = factories
        self.episodes_restarted = False
        self.n_envs = len(envs)
        info = envs[0].get_env_info()
        self.env_info = {k: int(info[k]) for k in ("n_agents", "n_actions", "obs_shape", "state_shape",
                                                   "episode_limit")}
        self.env_info["n_enemies"] = int(info.get("n_enemies", info["n_actions"] - 6))  # SMAC: 6 non-attack actions
        self._t = np.zeros(self.n_envs, dtype=np.int64)  # steps into each battle's episode

    @classmethod
    def from_factories(cls, factories: list[Callable[[], MultiAgentEnv]]) -> "SerialVecEnv":
        """One env per factory; the factories (picklable callables) let a checkpoint re-create the games."""
        return cls([f() for f in factories], factories=list(factories))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self.factories is not None:
            state["envs"] = None  # live games do not pickle; __setstate__ starts new ones
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.envs is None:
            self.envs = [f() for f in self.factories]
            self.reset()
            self.episodes_restarted = True

    def reset(self, mask: np.ndarray | None = None) -> None:
        for i, env in enumerate(self.envs):
            if mask is None or mask[i]:
                env.reset()
                self._t[i] = 0

    def step(self, actions: np.ndarray):
        out = [env.step(a) for env, a in zip(self.envs, np.asarray(actions))]
        self._t += 1
        rewards = np.array([o[0] for o in out], dtype=np.float64)
        terminated = np.array([bool(o[1]) for o in out])
        won = np.array([bool(o[2].get("battle_won", False)) for o in out])
        limit = np.array([bool(info["episode_limit"]) if "episode_limit" in info else
                          bool(term) and self._timed_out(i, info) for i, (_, term, info) in enumerate(out)])
        return rewards, terminated, {"battle_won": won, "episode_limit": limit & terminated}

    def _timed_out(self, i: int, info: dict) -> bool:
        if not info:  # SMAC's answer after a crashed game and full restart
            return True
        wiped = (info.get("dead_allies", 0) >= self.env_info["n_agents"]
                 or info.get("dead_enemies", 0) >= self.env_info["n_enemies"])
        return self._t[i] >= self.env_info["episode_limit"] and not info.get("battle_won", False) and not wiped

    def get_obs(self) -> np.ndarray:
        return np.stack([np.stack(env.get_obs()) for env in self.envs]).astype(np.float32)

    def get_state(self) -> np.ndarray:
        return np.stack([env.get_state() for env in self.envs]).astype(np.float32)

    def get_avail_actions(self) -> np.ndarray:
        return np.stack([np.array(env.get_avail_actions()) for env in self.envs]).astype(bool)

    def alive(self) -> np.ndarray:
        # SMAC: a dead agent's only available action is no-op (index 0)
        avail = self.get_avail_actions()
        return ~(avail[..., 0] & ~avail[..., 1:].any(-1))

    def close(self) -> None:
        for env in self.envs:
            env.close()
