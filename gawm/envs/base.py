"""The environment interfaces every method trains against.

`MultiAgentEnv` is oxwhirl SMAC's StarCraft2Env interface (one battle, lists per agent), which the sc2
backend provides natively and the simulator reproduces. `VecMultiAgentEnv` is the batched form the
training loop uses: B battles, numpy arrays with a leading battle axis, explicit per-battle resets.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

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
    """Batches single `MultiAgentEnv`s (e.g. several StarCraft II instances) behind the vector interface."""

    def __init__(self, envs: list[MultiAgentEnv]):
        if not envs:
            raise ValueError("SerialVecEnv needs at least one env")
        self.envs = envs
        self.n_envs = len(envs)
        self.env_info = envs[0].get_env_info()

    def reset(self, mask: np.ndarray | None = None) -> None:
        for i, env in enumerate(self.envs):
            if mask is None or mask[i]:
                env.reset()

    def step(self, actions: np.ndarray):
        out = [env.step(a) for env, a in zip(self.envs, np.asarray(actions))]
        rewards = np.array([o[0] for o in out], dtype=np.float64)
        terminated = np.array([bool(o[1]) for o in out])
        info = {
            "battle_won": np.array([bool(o[2].get("battle_won", False)) for o in out]),
            "episode_limit": np.array([bool(o[2].get("episode_limit", False)) for o in out]),
        }
        return rewards, terminated, info

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
