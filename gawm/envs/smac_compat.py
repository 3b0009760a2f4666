"""`StarCraft2Env`: oxwhirl SMAC's class, drop-in, over this project's battle simulator.

Why this exists: most SMAC users run pymarl, EPyMARL or their own code written against
`smac.env.StarCraft2Env`. `SimEnv` follows SMAC's interface but not all of its conventions (it flags every
timeout with `info["episode_limit"]`, which the training runner relies on). This class follows SMAC's
conventions exactly where they are observable by such code:

* the constructor's signature and defaults (oxwhirl/smac master); kwargs the simulator cannot honour are
  refused with one ValueError naming them, cosmetic ones (SC2 binary, window, replays, debug logging) are
  accepted with one warning naming them;
* `continuing_episode`: a timeout sets `info["episode_limit"] = True` only when it is True (pymarl then
  bootstraps at the time limit; with the default False a timeout is a terminal like on SMAC);
* `info` holds `battle_won`, `dead_allies` and `dead_enemies` after every step;
* `get_stats()`: battles_won, battles_game, battles_draw (= timeouts, as SMAC counts them), win_rate,
  timeouts, restarts (always 0: the simulator never restarts a game);
* `seed()` returns the constructor's seed (`seed(n)` re-seeds, for EPyMARL's wrapper), `save_replay()` warns
  (no replays exist), `render()` raises NotImplementedError with one line;
* the feature flags that only append or drop whole blocks (obs_instead_of_state, obs_timestep_number,
  state_last_action, state_timestep_number) and the reward flags that only rescale (reward_sparse,
  reward_scale, reward_scale_rate) are honoured by transforming the simulator's SMAC-default vectors.

It is built on `VecSimEnv` (one battle) and SMAC's documented vector layouts, not on the engine's internals.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gawm.envs.maps import get_map
from gawm.envs.sim_env import VecSimEnv
from gawm.envs.units import UNIT_TYPES

# StarCraft2Env.__init__'s keyword arguments after map_name, with SMAC's defaults (oxwhirl/smac master).
SMAC_DEFAULTS: dict[str, Any] = {
    "step_mul": 8, "move_amount": 2, "difficulty": "7", "game_version": None, "seed": None,
    "continuing_episode": False, "obs_all_health": True, "obs_own_health": True, "obs_last_action": False,
    "obs_pathing_grid": False, "obs_terrain_height": False, "obs_instead_of_state": False,
    "obs_timestep_number": False, "state_last_action": True, "state_timestep_number": False,
    "reward_sparse": False, "reward_only_positive": True, "reward_death_value": 10, "reward_win": 200,
    "reward_defeat": 0, "reward_negative_scale": 0.5, "reward_scale": True, "reward_scale_rate": 20,
    "replay_dir": "", "replay_prefix": "", "window_size_x": 1920, "window_size_y": 1200,
    "heuristic_ai": False, "heuristic_rest": False, "debug": False,
}
# Only affect the StarCraft II process, its window, replay files or log verbosity: nothing to simulate.
COSMETIC = ("game_version", "replay_dir", "replay_prefix", "window_size_x", "window_size_y", "debug")


def unsupported_kwargs(kw: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(refused, cosmetic) descriptions of the non-default kwargs this simulator cannot honour.

    A kwarg is refused only when it changes what SMAC would compute and the simulator cannot reproduce it;
    SMAC's own precedence is respected (obs_own_health is ignored under obs_all_health, heuristic_rest
    without heuristic_ai, reward_negative_scale under reward_only_positive, every dense-reward parameter
    under reward_sparse except those entering max_reward).
    """
    refused: list[str] = []

    def need(name: str, ok: bool, why: str) -> None:
        if not ok:
            refused.append(f"{name}={kw[name]!r} ({why})")

    need("step_mul", kw["step_mul"] in (8, None), "the simulator steps 8 game loops")
    need("move_amount", kw["move_amount"] == 2, "moves are 2 units")
    need("difficulty", str(kw["difficulty"]) == "7", "one built-in AI, SMAC's default '7'")
    need("obs_all_health", bool(kw["obs_all_health"]), "observations always carry health")
    need("obs_last_action", not kw["obs_last_action"], "not in the simulator's observation")
    need("obs_pathing_grid", not kw["obs_pathing_grid"], "not in the simulator's observation")
    need("obs_terrain_height", not kw["obs_terrain_height"], "not in the simulator's observation")
    need("heuristic_ai", not kw["heuristic_ai"], "SMAC's heuristic agents are not simulated")
    if not kw["reward_sparse"]:
        dense = "the simulator's dense reward uses SMAC's default"
        need("reward_only_positive", bool(kw["reward_only_positive"]), dense)
        need("reward_death_value", kw["reward_death_value"] == 10, dense)
        need("reward_win", kw["reward_win"] == 200, dense)
        need("reward_defeat", kw["reward_defeat"] == 0, dense)
    cosmetic = [f"{k}={kw[k]!r}" for k in COSMETIC if kw[k] != SMAC_DEFAULTS[k]]
    return refused, cosmetic


class StarCraft2Env:
    """SMAC's StarCraft2Env on the simulator: same constructor, methods, info keys and statistics."""

    def __init__(self, map_name: str = "8m", step_mul: int | None = 8, move_amount: float = 2,
                 difficulty: str = "7", game_version: str | None = None, seed: int | None = None,
                 continuing_episode: bool = False, obs_all_health: bool = True, obs_own_health: bool = True,
                 obs_last_action: bool = False, obs_pathing_grid: bool = False, obs_terrain_height: bool = False,
                 obs_instead_of_state: bool = False, obs_timestep_number: bool = False,
                 state_last_action: bool = True, state_timestep_number: bool = False, reward_sparse: bool = False,
                 reward_only_positive: bool = True, reward_death_value: float = 10, reward_win: float = 200,
                 reward_defeat: float = 0, reward_negative_scale: float = 0.5, reward_scale: bool = True,
                 reward_scale_rate: float = 20, replay_dir: str = "", replay_prefix: str = "",
                 window_size_x: int = 1920, window_size_y: int = 1200, heuristic_ai: bool = False,
                 heuristic_rest: bool = False, debug: bool = False):
        kw = {k: v for k, v in locals().items() if k in SMAC_DEFAULTS}
        spec = get_map(map_name)  # ValueError naming the maps this simulator has
        refused, cosmetic = unsupported_kwargs(kw)
        if refused:
            raise ValueError(f"StarCraft2Env on the simulator cannot honour: {'; '.join(refused)}")
        if cosmetic:
            warnings.warn(f"StarCraft2Env on the simulator ignores (no StarCraft II process): {', '.join(cosmetic)}",
                          stacklevel=2)
        self.map_name = map_name
        self.n_agents = spec.n_agents
        self.n_enemies = spec.n_enemies
        self.n_actions = spec.n_actions
        self.episode_limit = spec.episode_limit
        self.continuing_episode = bool(continuing_episode)
        self.obs_instead_of_state = bool(obs_instead_of_state)
        self.obs_timestep_number = bool(obs_timestep_number)
        self.state_last_action = bool(state_last_action)
        self.state_timestep_number = bool(state_timestep_number)
        self.reward_sparse = bool(reward_sparse)
        self.reward_scale = bool(reward_scale)
        self.reward_scale_rate = float(reward_scale_rate)
        self.replay_dir, self.replay_prefix = replay_dir, replay_prefix
        self._seed = seed
        # SMAC's max_reward: kills and win bonus (with the given values) plus every enemy's health and shield
        self.max_reward = (self.n_enemies * reward_death_value + reward_win
                           + sum(UNIT_TYPES[u].hp + UNIT_TYPES[u].shield for u in spec.enemies))
        self._vec = VecSimEnv(map_name, 1, seed)
        self._raw_state_size = int(self._vec.env_info["state_shape"])
        self._raw_obs_size = int(self._vec.env_info["obs_shape"])
        # SMAC's state layout: per-agent blocks, per-enemy blocks (health first, zero once dead), last actions
        types = [f"type_{b}" for b in range(spec.unit_type_bits)]
        self._ally_attrs = ["health", "energy/cooldown", "rel_x", "rel_y"] + ["shield"] * (spec.a_race == "P") + types
        self._enemy_attrs = ["health", "rel_x", "rel_y"] + ["shield"] * (spec.b_race == "P") + types
        nf_al, nf_en = len(self._ally_attrs), len(self._enemy_attrs)
        if self.n_agents * (nf_al + self.n_actions) + self.n_enemies * nf_en != self._raw_state_size:
            raise RuntimeError(f"the simulator's state size {self._raw_state_size} is not SMAC's layout for "
                               f"{map_name}; gawm.envs.smac_compat needs updating")
        self._enemy_health_cols = self.n_agents * nf_al + nf_en * np.arange(self.n_enemies)
        self._last_action_cols = self.n_agents * self.n_actions
        self._episode_count = 0
        self._episode_steps = 0
        self._total_steps = 0
        self.battles_won = 0
        self.battles_game = 0
        self.timeouts = 0
        self.force_restarts = 0
        self.last_action = np.zeros((self.n_agents, self.n_actions))
        self._finished = False
        self._started = False

    # ------------------------------------------------------------------ episode
    def reset(self) -> tuple[list[np.ndarray], np.ndarray]:
        """Start a new battle; returns (obs list, state) like SMAC."""
        self._vec.reset()
        self._episode_steps = 0
        self.last_action = np.zeros((self.n_agents, self.n_actions))
        self._finished = False
        self._started = True
        return self.get_obs(), self.get_state()

    def step(self, actions) -> tuple[float, bool, dict[str, Any]]:
        """One env step: (reward, terminated, info) with SMAC's reward scaling, info keys and counters."""
        if not self._started:
            raise ValueError("call reset() before step()")
        if self._finished:
            raise ValueError("the episode has terminated; call reset() before step()")
        acts = [int(a) for a in actions]  # lists, numpy arrays and torch tensors alike, as SMAC does
        if len(acts) != self.n_agents:
            raise ValueError(f"expected {self.n_agents} actions, got {len(acts)}")
        raw, term, vinfo = self._vec.step(np.asarray(acts, dtype=np.int64)[None])
        self.last_action = np.eye(self.n_actions)[acts]
        self._episode_steps += 1
        self._total_steps += 1
        terminated, won, limit = bool(term[0]), bool(vinfo["battle_won"][0]), bool(vinfo["episode_limit"][0])
        dead_allies = int((~self._vec.alive()[0]).sum())
        dead_enemies = int((self._vec.get_state()[0, self._enemy_health_cols] <= 0).sum())
        info: dict[str, Any] = {"battle_won": won, "dead_allies": dead_allies, "dead_enemies": dead_enemies}
        if self.reward_sparse:
            lost = terminated and not won and not limit and dead_allies == self.n_agents \
                and dead_enemies < self.n_enemies
            reward = 1.0 if won else (-1.0 if lost else 0.0)
        else:  # the simulator's reward is SMAC's dense reward / (max_reward / 20)
            reward = float(raw[0]) * self.max_reward / 20.0
        if self.reward_scale:
            reward /= self.max_reward / self.reward_scale_rate
        if terminated:
            self.battles_game += 1
            self.battles_won += int(won)
            if limit:
                self.timeouts += 1
                if self.continuing_episode:
                    info["episode_limit"] = True
            self._episode_count += 1
            self._finished = True
        return reward, terminated, info

    # ------------------------------------------------------------------ observations
    def get_obs_agent(self, agent_id: int) -> np.ndarray:
        self._check_agent(agent_id)
        obs = self._vec.get_obs()[0, agent_id]
        if self.obs_timestep_number:
            obs = np.append(obs, np.float32(self._episode_steps / self.episode_limit))
        return obs.astype(np.float32)

    def get_obs(self) -> list[np.ndarray]:
        return [self.get_obs_agent(i) for i in range(self.n_agents)]

    def get_obs_size(self) -> int:
        return self._raw_obs_size + int(self.obs_timestep_number)

    def get_state(self) -> np.ndarray:
        if self.obs_instead_of_state:
            return np.concatenate(self.get_obs()).astype(np.float32)
        state = self._vec.get_state()[0]
        if not self.state_last_action:
            state = state[: self._raw_state_size - self._last_action_cols]
        if self.state_timestep_number:
            state = np.append(state, self._episode_steps / self.episode_limit)
        return state.astype(np.float32)

    def get_state_size(self) -> int:
        if self.obs_instead_of_state:
            return self.get_obs_size() * self.n_agents
        size = self._raw_state_size - (0 if self.state_last_action else self._last_action_cols)
        return size + int(self.state_timestep_number)

    def get_avail_agent_actions(self, agent_id: int) -> list[int]:
        self._check_agent(agent_id)
        return self._vec.get_avail_actions()[0, agent_id].astype(int).tolist()

    def get_avail_actions(self) -> list[list[int]]:
        return self._vec.get_avail_actions()[0].astype(int).tolist()

    def get_total_actions(self) -> int:
        return self.n_actions

    def get_env_info(self) -> dict[str, Any]:
        """SMAC's keys, including the state's per-unit attribute names (agent_features, enemy_features)."""
        return {"state_shape": self.get_state_size(), "obs_shape": self.get_obs_size(),
                "n_actions": self.n_actions, "n_agents": self.n_agents, "episode_limit": self.episode_limit,
                "agent_features": list(self._ally_attrs), "enemy_features": list(self._enemy_attrs)}

    def get_stats(self) -> dict[str, float]:
        """SMAC's statistics; win_rate is 0 before the first battle ends (SMAC divides by zero there)."""
        return {"battles_won": self.battles_won, "battles_game": self.battles_game,
                "battles_draw": self.timeouts, "win_rate": self.battles_won / max(self.battles_game, 1),
                "timeouts": self.timeouts, "restarts": self.force_restarts}

    # ------------------------------------------------------------------ SC2-only features
    def seed(self, seed: int | None = None) -> int | None:
        """SMAC: the seed given to the constructor. Extension: `seed(n)` (EPyMARL's SMACWrapper passes one)
        re-seeds the simulator, so the next reset() starts the battle sequence of seed n; returns the seed."""
        if seed is not None:
            self._seed = seed
            self._vec = VecSimEnv(self.map_name, 1, seed)
            self._started = False
        return self._seed

    def save_replay(self) -> None:
        """SMAC saves an SC2 replay here; the simulator has none, so this warns and writes nothing."""
        warnings.warn("save_replay(): the simulator has no StarCraft II replays; nothing was saved", stacklevel=2)

    def render(self, mode: str = "human"):
        raise NotImplementedError("render(): the simulator has no renderer (SMAC's needs a StarCraft II process)")

    def close(self) -> None:
        self._vec.close()

    def _check_agent(self, agent_id: int) -> None:
        if not 0 <= agent_id < self.n_agents:
            raise ValueError(f"agent_id {agent_id} out of range [0, {self.n_agents})")
