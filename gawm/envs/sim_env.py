"""The embedded simulator behind SMAC's interface: `SimEnv` (one battle) and `VecSimEnv` (B battles)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gawm.envs.battle import VecBattle
from gawm.envs.features import FeatureBuilder
from gawm.envs.maps import get_map


class VecSimEnv:
    """B simulated battles of one map stepped together; see gawm.envs.base.VecMultiAgentEnv.

    `simulator_version` says which simulator produced the battles (gawm.envs.SIMULATOR_VERSION); it is
    not part of `env_info`, which stays exactly SMAC's."""

    def __init__(self, map_name: str, n_envs: int = 1, seed: int | None = None):
        from gawm.envs import SIMULATOR_VERSION

        self.simulator_version = SIMULATOR_VERSION
        self.spec = get_map(map_name)
        self.map_name = map_name
        self.battle = VecBattle(self.spec, n_envs, seed)
        self.features = FeatureBuilder(self.battle)
        self.n_envs = n_envs
        self.env_info = {
            "n_agents": self.spec.n_agents,
            "n_enemies": self.spec.n_enemies,
            "n_actions": self.spec.n_actions,
            "obs_shape": self.features.obs_dim,
            "state_shape": self.features.state_dim,
            "episode_limit": self.spec.episode_limit,
        }

    def reset(self, mask: np.ndarray | None = None) -> None:
        self.battle.reset(mask)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        reward, terminated, won, limit = self.battle.step(actions)
        return reward, terminated, {"battle_won": won, "episode_limit": limit}

    def get_obs(self) -> np.ndarray:
        return self.features.obs()

    def get_state(self) -> np.ndarray:
        return self.features.state()

    def get_avail_actions(self) -> np.ndarray:
        return self.battle.avail_actions()

    def alive(self) -> np.ndarray:
        return self.battle.alive[:, : self.spec.n_agents]

    def close(self) -> None:
        pass


class SimEnv:
    """One simulated battle with exactly StarCraft2Env's methods and return conventions."""

    def __init__(self, map_name: str, seed: int | None = None):
        self._vec = VecSimEnv(map_name, 1, seed)
        self.simulator_version = self._vec.simulator_version
        self.map_name = map_name
        self.n_agents = self._vec.spec.n_agents
        self.n_enemies = self._vec.spec.n_enemies
        self.n_actions = self._vec.spec.n_actions
        self.episode_limit = self._vec.spec.episode_limit
        self._stats = {"battles_won": 0, "battles_game": 0, "battles_draw": 0, "timeouts": 0}

    def reset(self) -> tuple[list[np.ndarray], np.ndarray]:
        self._vec.reset()
        return self.get_obs(), self.get_state()

    def step(self, actions) -> tuple[float, bool, dict[str, Any]]:
        actions = np.asarray(actions)
        if actions.shape != (self.n_agents,):
            raise ValueError(f"actions must have shape ({self.n_agents},), got {actions.shape}")
        reward, terminated, info = self._vec.step(actions[None])
        out: dict[str, Any] = {"battle_won": bool(info["battle_won"][0])}
        if terminated[0]:
            alive = self._vec.battle.alive[0]
            out["dead_allies"] = int((~alive[: self.n_agents]).sum())
            out["dead_enemies"] = int((~alive[self.n_agents:]).sum())
            self._stats["battles_game"] += 1
            self._stats["battles_won"] += int(out["battle_won"])
            if info["episode_limit"][0]:
                out["episode_limit"] = True
                self._stats["timeouts"] += 1
        return float(reward[0]), bool(terminated[0]), out

    def get_obs(self) -> list[np.ndarray]:
        return list(self._vec.get_obs()[0])

    def get_obs_agent(self, agent_id: int) -> np.ndarray:
        self._check_agent(agent_id)
        return self._vec.get_obs()[0, agent_id]

    def get_obs_size(self) -> int:
        return self._vec.env_info["obs_shape"]

    def get_state(self) -> np.ndarray:
        return self._vec.get_state()[0]

    def get_state_size(self) -> int:
        return self._vec.env_info["state_shape"]

    def get_avail_actions(self) -> list[list[int]]:
        return self._vec.get_avail_actions()[0].astype(int).tolist()

    def get_avail_agent_actions(self, agent_id: int) -> list[int]:
        self._check_agent(agent_id)
        return self._vec.get_avail_actions()[0, agent_id].astype(int).tolist()

    def get_total_actions(self) -> int:
        return self.n_actions

    def get_env_info(self) -> dict[str, int]:
        return dict(self._vec.env_info)

    def get_stats(self) -> dict[str, float]:
        s = dict(self._stats)
        s["win_rate"] = s["battles_won"] / max(s["battles_game"], 1)
        return s

    def close(self) -> None:
        pass

    def _check_agent(self, agent_id: int) -> None:
        if not 0 <= agent_id < self.n_agents:
            raise ValueError(f"agent_id {agent_id} out of range [0, {self.n_agents})")
