"""gawm.envs.smac_compat.StarCraft2Env played the way pymarl's EpisodeRunner plays SMAC.

The runner below mirrors pymarl's `EpisodeRunner.run` (src/runners/episode_runner.py) line for line where it
touches the env: reset, then per step state/avail/obs, step(actions), `terminated != info.get("episode_limit",
False)` as the stored terminal flag, and per-episode sums of every info key; `get_stats()` at the end.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from gawm.envs import get_map
from gawm.envs.scripted import heuristic_policy
from gawm.envs.smac_compat import SMAC_DEFAULTS, StarCraft2Env

STOP = 1  # SMAC's action index of "stop"


def pymarl_episode(env: StarCraft2Env, choose) -> dict:
    """One episode as pymarl's EpisodeRunner runs it; returns what pymarl would store and log."""
    env.reset()
    info_n = env.get_env_info()
    terminated, t, ret = False, 0, 0.0
    stored_terminal, cur_stats = [], {}
    while not terminated:
        state, avail, obs = env.get_state(), env.get_avail_actions(), env.get_obs()
        assert len(state) == info_n["state_shape"] and len(obs) == info_n["n_agents"]
        assert all(len(o) == info_n["obs_shape"] for o in obs)
        assert np.array(avail).shape == (info_n["n_agents"], info_n["n_actions"])
        actions = torch.as_tensor(choose(obs, avail))  # pymarl hands the env a torch tensor
        reward, terminated, env_info = env.step(actions)
        ret += reward
        stored_terminal.append(terminated != env_info.get("episode_limit", False))
        t += 1
    cur_stats = {k: cur_stats.get(k, 0) + env_info.get(k, 0) for k in set(cur_stats) | set(env_info)}
    return {"length": t, "return": ret, "terminal": stored_terminal, "info": env_info, "stats": cur_stats}


def random_choice(rng):
    return lambda obs, avail: [rng.choice(np.flatnonzero(a)) for a in avail]


def stop_choice(obs, avail):
    """Stand still (no-op once dead): on 2s_vs_1sc the immobile spine crawler never reaches the stalkers."""
    return [STOP if a[STOP] else 0 for a in avail]


def test_pymarl_loop_random_policy_matches_smac_conventions():
    env = StarCraft2Env(map_name="3s_vs_3z", seed=3)
    rng = np.random.default_rng(0)
    games = wins = 0
    for _ in range(5):
        ep = pymarl_episode(env, random_choice(rng))
        games += 1
        wins += int(ep["info"]["battle_won"])
        assert 1 <= ep["length"] <= env.episode_limit
        assert ep["terminal"][-1] is True and not any(ep["terminal"][:-1])
        assert {"battle_won", "dead_allies", "dead_enemies"} <= set(ep["info"])
        assert 0 <= ep["info"]["dead_allies"] <= 3 and 0 <= ep["info"]["dead_enemies"] <= 3
        if not ep["info"]["battle_won"] and ep["length"] < env.episode_limit:
            assert ep["info"]["dead_allies"] == 3  # a lost battle: every agent is dead
    stats = env.get_stats()
    assert stats["battles_game"] == games and stats["battles_won"] == wins
    assert set(stats) == {"battles_won", "battles_game", "battles_draw", "win_rate", "timeouts", "restarts"}
    assert stats["restarts"] == 0


@pytest.mark.parametrize("continuing", [False, True])
def test_timeout_with_and_without_continuing_episode(continuing):
    env = StarCraft2Env(map_name="2s_vs_1sc", seed=0, continuing_episode=continuing)
    ep = pymarl_episode(env, stop_choice)
    assert ep["length"] == env.episode_limit == 300
    assert ep["info"]["battle_won"] is False
    if continuing:  # pymarl stores "not terminal" and bootstraps from the last state
        assert ep["info"]["episode_limit"] is True and ep["terminal"][-1] is False
        assert ep["stats"]["episode_limit"] == 1
    else:  # SMAC's default: the timeout is a terminal, no episode_limit key
        assert "episode_limit" not in ep["info"] and ep["terminal"][-1] is True
    stats = env.get_stats()
    assert stats["timeouts"] == stats["battles_draw"] == stats["battles_game"] == 1 and stats["win_rate"] == 0


def test_step_after_the_end_and_bad_actions_are_clear_errors():
    env = StarCraft2Env("2s_vs_1sc", seed=0)
    with pytest.raises(ValueError, match="reset"):
        env.step([1, 1])
    env.reset()
    with pytest.raises(ValueError, match="expected 2 actions"):
        env.step([1])
    with pytest.raises(ValueError, match="not available"):
        env.step([0, 1])  # no-op is only for the dead


def test_seed_render_save_replay_and_unchanged_episodes_for_a_seed():
    a, b = StarCraft2Env("3s_vs_3z", seed=7), StarCraft2Env("3s_vs_3z", seed=7)
    assert a.seed() == 7 and StarCraft2Env("8m").seed() is None
    oa, sa = a.reset()
    ob, sb = b.reset()
    assert np.array_equal(sa, sb) and all(np.array_equal(x, y) for x, y in zip(oa, ob))
    c = StarCraft2Env("3s_vs_3z", seed=1)
    assert c.seed(7) == 7 and np.array_equal(c.reset()[1], sa)  # EPyMARL's wrapper re-seeds through seed(n)
    with pytest.raises(NotImplementedError, match="renderer"):
        a.render()
    with pytest.warns(UserWarning, match="no StarCraft II replays"):
        a.save_replay()


def test_pymarl_default_env_args_construct_silently():
    # pymarl's src/config/envs/sc2.yaml passes every kwarg at its default (and its seed)
    args = dict(SMAC_DEFAULTS, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = StarCraft2Env(map_name="8m", **args)
    assert env.get_env_info()["obs_shape"] == 80 and env.get_env_info()["state_shape"] == 168  # SMAC's 8m


def test_unhonourable_kwargs_are_refused_in_one_line_and_cosmetic_ones_warned():
    with pytest.raises(ValueError) as exc:
        StarCraft2Env("8m", difficulty="3", obs_last_action=True, reward_win=100, step_mul=4)
    msg = str(exc.value)
    assert "\n" not in msg
    for name in ("difficulty='3'", "obs_last_action=True", "reward_win=100", "step_mul=4"):
        assert name in msg
    with pytest.warns(UserWarning, match=r"game_version='4.10'.*window_size_x=640"):
        StarCraft2Env("8m", game_version="4.10", window_size_x=640)
    with pytest.raises(TypeError):
        StarCraft2Env("8m", not_a_smac_kwarg=1)
    with pytest.raises(ValueError, match="unknown map"):
        StarCraft2Env("3m")
    # SMAC ignores reward_win etc. under reward_sparse except in max_reward: accepted there
    assert StarCraft2Env("8m", reward_sparse=True, reward_win=100).max_reward == 8 * 10 + 100 + 8 * 45


def test_block_flags_change_sizes_like_smac():
    base = StarCraft2Env("3s_vs_3z", seed=0)
    n, a, o, s = base.n_agents, base.n_actions, base.get_obs_size(), base.get_state_size()
    e = StarCraft2Env("3s_vs_3z", seed=0, state_last_action=False, state_timestep_number=True,
                      obs_timestep_number=True)
    assert e.get_obs_size() == o + 1 and e.get_state_size() == s - n * a + 1
    obs, state = e.reset()
    assert len(state) == e.get_state_size() and len(obs[0]) == e.get_obs_size()
    e.step([1] * n)
    assert e.get_obs()[0][-1] == pytest.approx(1 / e.episode_limit)
    assert e.get_state()[-1] == pytest.approx(1 / e.episode_limit)
    f = StarCraft2Env("3s_vs_3z", seed=0, obs_instead_of_state=True)
    obs, state = f.reset()
    assert f.get_state_size() == n * o and np.array_equal(state, np.concatenate(obs))


def test_reward_flags_rescale_exactly():
    """Same seed, same actions: the rewards differ only by SMAC's scaling; a win is worth max_reward unscaled."""
    policy = heuristic_policy(get_map("3s_vs_3z"))
    for seed in range(5, 10):  # the focus-fire heuristic wins 3s_vs_3z nearly always; play until it does
        envs = {"default": StarCraft2Env("3s_vs_3z", seed=seed),
                "rate10": StarCraft2Env("3s_vs_3z", seed=seed, reward_scale_rate=10),
                "unscaled": StarCraft2Env("3s_vs_3z", seed=seed, reward_scale=False),
                "sparse": StarCraft2Env("3s_vs_3z", seed=seed, reward_sparse=True, reward_scale=False)}
        for e in envs.values():
            e.reset()
        lead = envs["default"]
        totals = dict.fromkeys(envs, 0.0)
        done = False
        while not done:
            actions = policy(np.stack(lead.get_obs())[None], np.array(lead.get_avail_actions(), bool)[None])[0]
            for k, e in envs.items():
                r, done, info = e.step(actions)
                totals[k] += r
        assert totals["rate10"] == pytest.approx(totals["default"] / 2)
        assert totals["unscaled"] == pytest.approx(totals["default"] * lead.max_reward / 20)
        if info["battle_won"]:
            break
    assert info["battle_won"] and info["dead_enemies"] == 3
    assert totals["default"] == pytest.approx(20.0) and totals["unscaled"] == pytest.approx(lead.max_reward)
    assert totals["sparse"] == 1.0
