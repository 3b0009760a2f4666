"""Plays the current policy in B battles at once and hands finished episodes to the replay buffer.

The collector owns everything an interrupted run needs to continue mid-episode (the vector env, the
per-battle partial episodes and the policy's recurrent state), so checkpointing it makes resume exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np
from tqdm import tqdm


class ActingMethod(Protocol):
    def init_hidden(self, batch: int) -> Any: ...
    def act(self, obs: np.ndarray, avail: np.ndarray, state: np.ndarray, hidden: Any, reset: np.ndarray,
            deterministic: bool) -> tuple[np.ndarray, Any]: ...


@dataclass(frozen=True)
class Episode:
    """One finished real episode: what every method's `observe_episode` receives (T decisions, T+1 rows; the
    last row is the observation after the final step, with no decision)."""

    obs: np.ndarray  # (T+1, N, O)
    state: np.ndarray  # (T+1, S)
    avail: np.ndarray  # (T+1, N, A) bool
    alive: np.ndarray  # (T+1, N) bool
    actions: np.ndarray  # (T, N) int
    rewards: np.ndarray  # (T,) float64 team reward after each decision
    terminated: bool  # ended by a win or a loss (no bootstrap); False at the time limit (bootstrap)
    won: bool

    @property
    def length(self) -> int:
        return len(self.actions)


@dataclass
class _PartialEpisode:
    """An episode still being played: per-step rows appended as lists (cheap), stacked once it ends."""

    obs: list = field(default_factory=list)  # T+1 x (N, O)
    state: list = field(default_factory=list)
    avail: list = field(default_factory=list)
    alive: list = field(default_factory=list)
    actions: list = field(default_factory=list)  # T x (N,)
    rewards: list = field(default_factory=list)


@dataclass
class EpisodeStats:
    won: bool
    ret: float
    length: int


class Collector:
    """Steps `env` with a method's policy; `run(n)` advances until n more env steps (summed over battles)."""

    def __init__(self, env, method: ActingMethod):
        self.env = env
        self.B = env.n_envs
        env.reset()
        self.hidden = method.init_hidden(self.B)
        self.fresh = np.ones(self.B, dtype=bool)  # the next step starts an episode (hidden reset)
        self.partial = [_PartialEpisode() for _ in range(self.B)]
        self.returns = np.zeros(self.B)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickling (resume): envs that could not be saved mid-episode (StarCraft II games, see
        SerialVecEnv) come back with new episodes, so the partial episodes recorded before the save are dropped."""
        self.__dict__.update(state)
        if getattr(self.env, "episodes_restarted", False):
            self.partial = [_PartialEpisode() for _ in range(self.B)]
            self.fresh[:] = True
            self.returns[:] = 0.0
            self.env.episodes_restarted = False

    def run(self, method: ActingMethod, n_steps: int,
            on_episode: Callable[[Episode], None]) -> tuple[int, list[EpisodeStats]]:
        env, done_stats, steps = self.env, [], 0
        while steps < n_steps:
            obs, state, avail, alive = env.get_obs(), env.get_state(), env.get_avail_actions(), env.alive()
            actions, self.hidden = method.act(obs, avail, state, self.hidden, self.fresh, deterministic=False)
            self.fresh[:] = False
            reward, terminated, info = env.step(actions)
            steps += self.B
            self.returns += reward
            for b in range(self.B):  # bookkeeping per battle: list appends only, no per-agent work
                ep = self.partial[b]
                ep.obs.append(obs[b]); ep.state.append(state[b]); ep.avail.append(avail[b]); ep.alive.append(alive[b])
                ep.actions.append(actions[b]); ep.rewards.append(reward[b])
            if terminated.any():
                fobs, fstate, favail, falive = env.get_obs(), env.get_state(), env.get_avail_actions(), env.alive()
                for b in np.flatnonzero(terminated):
                    ep = self.partial[b]
                    on_episode(Episode(
                        obs=np.stack(ep.obs + [fobs[b]]), state=np.stack(ep.state + [fstate[b]]),
                        avail=np.stack(ep.avail + [favail[b]]), alive=np.stack(ep.alive + [falive[b]]),
                        actions=np.stack(ep.actions), rewards=np.asarray(ep.rewards, dtype=np.float64),
                        terminated=not bool(info["episode_limit"][b]), won=bool(info["battle_won"][b])))
                    done_stats.append(EpisodeStats(bool(info["battle_won"][b]), float(self.returns[b]),
                                                   len(ep.actions)))
                    self.partial[b] = _PartialEpisode()
                self.returns[terminated] = 0.0
                self.fresh |= terminated
                env.reset(terminated)
        return steps, done_stats


def evaluate_policy(env, method: ActingMethod, n_episodes: int, deterministic: bool = True,
                    progress: bool = False) -> dict[str, float]:
    """Greedy test episodes in a separate vector env: win rate, mean return and length over n_episodes.

    progress: a tqdm bar over finished test episodes (for `gawm evaluate`'s long runs)."""
    bar = tqdm(total=n_episodes, unit="ep", desc="evaluate", disable=not progress, dynamic_ncols=True)
    env.reset()
    B = env.n_envs
    hidden = method.init_hidden(B)
    fresh = np.ones(B, dtype=bool)
    returns, lengths = np.zeros(B), np.zeros(B, dtype=np.int64)
    wins, rets, lens = [], [], []
    started = B
    counting = np.ones(B, dtype=bool)  # battles whose current episode is one of the n requested
    while len(wins) < n_episodes:
        obs, state, avail = env.get_obs(), env.get_state(), env.get_avail_actions()
        actions, hidden = method.act(obs, avail, state, hidden, fresh, deterministic=deterministic)
        fresh[:] = False
        reward, terminated, info = env.step(actions)
        returns += reward
        lengths += 1
        for b in np.flatnonzero(terminated & counting):
            wins.append(bool(info["battle_won"][b]))
            rets.append(returns[b])
            lens.append(lengths[b])
        bar.update(int((terminated & counting).sum()))
        if terminated.any():
            counting[terminated] = started + np.cumsum(terminated)[terminated] <= n_episodes
            started += int(terminated.sum())
            returns[terminated] = 0.0
            lengths[terminated] = 0
            fresh |= terminated
            env.reset(terminated)
    bar.close()
    return {"episodes": n_episodes, "win_rate": float(np.mean(wins)), "mean_return": float(np.mean(rets)),
            "std_return": float(np.std(rets)), "mean_length": float(np.mean(lens))}
