"""The simulator against SMAC: sizes, feature layouts, masks, rewards, termination, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gawm.envs import MAP_NAMES, SIMULATOR_VERSION, SimEnv, VecSimEnv, make_env, make_vec_env
from gawm.envs.conformance import BANDS
from gawm.envs.strategies import STRATEGIES, win_rate
from gawm.envs.battle import SHOOT_RANGE, SIGHT_RANGE
from gawm.envs.scripted import heuristic_policy, random_policy, run_episodes

# StarCraft2Env(map_name).get_env_info() with SMAC's defaults, for each paper map
SMAC_ENV_INFO = {
    #             n_agents n_enemies n_actions obs state limit
    "2s_vs_1sc": (2, 1, 7, 17, 27, 300),
    "3s_vs_3z": (3, 3, 9, 36, 54, 150),
    "2s3z": (5, 5, 11, 80, 120, 120),
    "3s_vs_4z": (3, 4, 10, 42, 61, 200),
    "3s_vs_5z": (3, 5, 11, 48, 68, 250),
    "1c3s5z": (9, 9, 15, 162, 270, 180),
    "8m": (8, 8, 14, 80, 168, 120),
    "corridor": (6, 24, 30, 156, 282, 400),
}


@pytest.mark.parametrize("map_name", MAP_NAMES)
def test_env_info_matches_smac(map_name):
    env = make_env(map_name, seed=0)
    info = env.get_env_info()
    n_agents, n_enemies, n_actions, obs, state, limit = SMAC_ENV_INFO[map_name]
    assert info == {"n_agents": n_agents, "n_enemies": n_enemies, "n_actions": n_actions,
                    "obs_shape": obs, "state_shape": state, "episode_limit": limit}
    o, s = env.reset()
    assert len(o) == n_agents and all(x.shape == (obs,) for x in o)
    assert s.shape == (state,)
    assert np.array(env.get_avail_actions()).shape == (n_agents, n_actions)


# --------------------------------------------------------------------------- a slow SMAC-style reference
def reference_obs_agent(env: VecSimEnv, b: int, i: int) -> np.ndarray:
    """StarCraft2Env.get_obs_agent written with plain loops over units, as SMAC does."""
    bt, spec = env.battle, env.spec
    N, E = bt.N, bt.E
    if bt.hp[b, i] <= 0:
        return np.zeros(env.env_info["obs_shape"], dtype=np.float32)
    avail = bt.avail_actions()[b, i]
    x, y = bt.pos[b, i]
    out = list(avail[2:6].astype(float))
    for e in range(E):
        u = N + e
        ex, ey = bt.pos[b, u]
        dist = np.hypot(ex - x, ey - y)
        feats = [0.0] * (5 + spec.shield_bits_enemy + spec.unit_type_bits)
        if dist < SIGHT_RANGE and bt.hp[b, u] > 0:
            feats[:5] = [float(avail[6 + e]), dist / SIGHT_RANGE, (ex - x) / SIGHT_RANGE, (ey - y) / SIGHT_RANGE,
                         bt.hp[b, u] / bt.max_hp[u]]
            k = 5
            if spec.shield_bits_enemy:
                feats[k] = bt.sh[b, u] / bt.max_sh[u]
                k += 1
            if spec.unit_type_bits:
                feats[k + spec.type_id(spec.enemies[e], False)] = 1.0
        out += feats
    for j in [j for j in range(N) if j != i]:
        ax, ay = bt.pos[b, j]
        dist = np.hypot(ax - x, ay - y)
        feats = [0.0] * (5 + spec.shield_bits_ally + spec.unit_type_bits)
        if dist < SIGHT_RANGE and bt.hp[b, j] > 0:
            feats[:5] = [1.0, dist / SIGHT_RANGE, (ax - x) / SIGHT_RANGE, (ay - y) / SIGHT_RANGE,
                         bt.hp[b, j] / bt.max_hp[j]]
            k = 5
            if spec.shield_bits_ally:
                feats[k] = bt.sh[b, j] / bt.max_sh[j]
                k += 1
            if spec.unit_type_bits:
                feats[k + spec.type_id(spec.allies[j], True)] = 1.0
        out += feats
    own = [bt.hp[b, i] / bt.max_hp[i]]
    if spec.shield_bits_ally:
        own.append(bt.sh[b, i] / bt.max_sh[i])
    if spec.unit_type_bits:
        t = [0.0] * spec.unit_type_bits
        t[spec.type_id(spec.allies[i], True)] = 1.0
        own += t
    return np.array(out + own, dtype=np.float32)


def reference_state(env: VecSimEnv, b: int) -> np.ndarray:
    """StarCraft2Env.get_state with plain loops."""
    bt, spec = env.battle, env.spec
    w, h = spec.size
    out = []
    for i in range(bt.N):
        f = [0.0] * (4 + spec.shield_bits_ally + spec.unit_type_bits)
        if bt.hp[b, i] > 0:
            f[:4] = [bt.hp[b, i] / bt.max_hp[i], bt.cd[b, i] / bt.smac_max_cd[i],
                     (bt.pos[b, i, 0] - w / 2) / w, (bt.pos[b, i, 1] - h / 2) / h]
            k = 4
            if spec.shield_bits_ally:
                f[k] = bt.sh[b, i] / bt.max_sh[i]
                k += 1
            if spec.unit_type_bits:
                f[k + spec.type_id(spec.allies[i], True)] = 1.0
        out += f
    for e in range(bt.E):
        u = bt.N + e
        f = [0.0] * (3 + spec.shield_bits_enemy + spec.unit_type_bits)
        if bt.hp[b, u] > 0:
            f[:3] = [bt.hp[b, u] / bt.max_hp[u], (bt.pos[b, u, 0] - w / 2) / w, (bt.pos[b, u, 1] - h / 2) / h]
            k = 3
            if spec.shield_bits_enemy:
                f[k] = bt.sh[b, u] / bt.max_sh[u]
                k += 1
            if spec.unit_type_bits:
                f[k + spec.type_id(spec.enemies[e], False)] = 1.0
        out += f
    return np.concatenate([np.array(out), bt.last_action[b].ravel()]).astype(np.float32)


def reference_avail(env: VecSimEnv, b: int, i: int) -> np.ndarray:
    bt = env.battle
    avail = np.zeros(bt.A, dtype=bool)
    if bt.hp[b, i] <= 0:
        avail[0] = True
        return avail
    avail[1] = True
    x, y = bt.pos[b, i]
    for k, (dx, dy) in enumerate([(0, 1), (0, -1), (1, 0), (-1, 0)]):
        avail[2 + k] = bool(bt.terrain.pathable(np.array([x + dx, y + dy]))[()])
    for e in range(bt.E):
        u = bt.N + e
        avail[6 + e] = bt.hp[b, u] > 0 and np.hypot(*(bt.pos[b, u] - bt.pos[b, i])) <= SHOOT_RANGE
    return avail


@pytest.mark.parametrize("map_name", MAP_NAMES)
def test_features_equal_loop_reference_through_play(map_name):
    """Vectorised obs/state/avail equal the unit-by-unit reference in mid-battle states (deaths included)."""
    env = VecSimEnv(map_name, 3, seed=1)
    pol = random_policy(np.random.default_rng(1))  # random play loses agents, so dead ones get checked too
    checked_dead = False
    for t in range(60):
        obs, state, avail = env.get_obs(), env.get_state(), env.get_avail_actions()
        if t % 6 == 0:
            for b in range(env.n_envs):
                np.testing.assert_allclose(state[b], reference_state(env, b), atol=1e-6)
                for i in range(env.battle.N):
                    np.testing.assert_allclose(obs[b, i], reference_obs_agent(env, b, i), atol=1e-6)
                    assert (avail[b, i] == reference_avail(env, b, i)).all()
                    checked_dead |= env.battle.hp[b, i] <= 0
        _, terminated, _ = env.step(pol(obs, avail))
        env.reset(terminated)
    if map_name in ("3s_vs_3z", "8m"):
        assert checked_dead, "the comparison should have covered a dead agent"


# --------------------------------------------------------------------------- laws
@settings(max_examples=15, deadline=None)
@given(map_name=st.sampled_from(MAP_NAMES), seed=st.integers(0, 10_000))
def test_rewards_nonnegative_and_masks_hold_under_random_play(map_name, seed):
    env = VecSimEnv(map_name, 2, seed=seed)
    pol = random_policy(np.random.default_rng(seed))
    for _ in range(40):
        obs, avail = env.get_obs(), env.get_avail_actions()
        alive = env.alive()
        # dead agents: only no-op; alive agents: never no-op, always stop
        assert (avail[~alive] == np.eye(avail.shape[-1], dtype=bool)[0]).all()
        assert (~avail[alive][:, 0]).all() and avail[alive][:, 1].all()
        assert (obs[~alive] == 0).all()
        reward, terminated, _ = env.step(pol(obs, avail))
        assert (reward >= 0).all()
        env.reset(terminated)


def test_attack_available_exactly_when_target_alive_and_in_shoot_range():
    env = VecSimEnv("2s3z", 8, seed=3)
    pol = random_policy(np.random.default_rng(0))
    bt = env.battle
    for _ in range(50):
        avail = env.get_avail_actions()
        d = np.hypot(*(bt.pos[:, None, bt.N:, :] - bt.pos[:, :bt.N, None, :]).transpose(3, 0, 1, 2))
        expected = (d <= SHOOT_RANGE) & bt.alive[:, None, bt.N:] & bt.alive[:, :bt.N, None]
        assert (avail[..., 6:] == expected).all()
        _, terminated, _ = env.step(pol(env.get_obs(), avail))
        env.reset(terminated)


def test_all_kill_episode_returns_twenty():
    """3 stalkers kiting 3 zealots win; the return of a won episode is exactly 20 (SMAC's scaling)."""
    env = VecSimEnv("3s_vs_3z", 8, seed=0)
    strat = STRATEGIES["kiting"](env.spec)
    strat.reset(8)
    returns = np.zeros(8)
    won_returns = []
    fresh = np.ones(8, dtype=bool)
    for _ in range(150):
        actions = strat.act(env.get_obs(), env.get_avail_actions(), fresh)
        reward, terminated, info = env.step(actions)
        fresh = terminated
        returns += reward
        won_returns += list(returns[info["battle_won"]])
        returns[terminated] = 0.0
        env.reset(terminated)
    assert len(won_returns) >= 4
    np.testing.assert_allclose(won_returns, 20.0, atol=1e-6)


def test_episode_ends_at_limit():
    """Stalkers that never leave spawn stay out of the spine crawler's range: a timeout at exactly 300."""
    env = make_env("2s_vs_1sc", seed=0)
    env.reset()
    for t in range(1, 301):
        reward, terminated, info = env.step([1, 1])
        if terminated:
            break
    assert t == 300 and terminated
    assert info["episode_limit"] is True and info["battle_won"] is False
    with pytest.raises(ValueError, match="terminated"):
        env.step([1, 1])


def test_same_seed_identical_trajectories():
    def rollout(seed):
        env = VecSimEnv("1c3s5z", 4, seed=seed)
        pol = random_policy(np.random.default_rng(7))
        trace = []
        for _ in range(80):
            obs, avail = env.get_obs(), env.get_avail_actions()
            reward, terminated, _ = env.step(pol(obs, avail))
            trace += [obs.copy(), env.get_state(), reward]
            env.reset(terminated)
        return trace

    a, b, c = rollout(5), rollout(5), rollout(6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_corridor_walls_mask_moves():
    env = VecSimEnv("corridor", 1, seed=0)
    bt = env.battle
    bt.pos[0, 0] = (13.5, 10.0)  # one cell from the west wall of the open field
    bt._changed()
    avail = env.get_avail_actions()[0, 0]
    assert avail[2] and avail[3] and avail[4] and not avail[5]  # west is a wall
    bt.pos[0, 0] = (9.0, 17.5)  # inside the passage, against its north wall
    bt._changed()
    avail = env.get_avail_actions()[0, 0]
    assert not avail[2] and avail[3] and avail[4] and avail[5]


# --------------------------------------------------------------------------- scripted sanity
def test_heuristic_beats_random_on_an_easy_map():
    heur = run_episodes(VecSimEnv("3s_vs_3z", 20, seed=0), heuristic_policy(make_env("3s_vs_3z")._vec.spec), 40)
    rand = run_episodes(VecSimEnv("3s_vs_3z", 20, seed=0), random_policy(np.random.default_rng(0)), 40)
    assert rand["win_rate"] <= 0.1
    assert heur["mean_return"] > rand["mean_return"]


# --------------------------------------------------------------------------- simulator v2 mechanics
def _place(env: VecSimEnv, positions: dict[int, tuple[float, float]]) -> None:
    for u, p in positions.items():
        env.battle.pos[0, u] = p
    env.battle._changed()


def test_simulator_version_is_exposed():
    assert SIMULATOR_VERSION == 3
    assert make_env("8m").simulator_version == 3 and make_vec_env("8m", 2).simulator_version == 3
    assert "simulator_version" not in make_env("8m").get_env_info()  # SMAC's env_info is unchanged


def test_crawler_wind_up_is_cancelled_when_its_target_walks_out_of_reach():
    """A stalker that leaves the crawler's reach during the wind-up takes no damage; one that stays is hit
    once the damage point has passed, and not before."""
    env = VecSimEnv("2s_vs_1sc", 1, seed=0)
    bt = env.battle
    _place(env, {0: (13.92, 20.04 - 8.4), 1: (3.0, 3.0)})  # stalker 0 inside reach 8.5, stalker 1 far away
    env.step(np.array([[1, 1]]))  # the crawler acquires stalker 0 and starts its retarget delay + wind-up
    assert bt.tgt[0, 2] == 0 and bt.hp[0, 0] + bt.sh[0, 0] == 160
    env.step(np.array([[1, 1]]))
    env.step(np.array([[1, 1]]))
    assert bt.rel_at[0, 2] < np.inf and bt.hp[0, 0] + bt.sh[0, 0] == 160  # winding up, nothing landed yet
    env.step(np.array([[3, 1]]))  # stalker 0 walks south, out of reach: the wind-up is cancelled
    assert bt.hp[0, 0] + bt.sh[0, 0] == 160 and bt.rel_at[0, 2] == np.inf
    env2 = VecSimEnv("2s_vs_1sc", 1, seed=0)
    _place(env2, {0: (13.92, 20.04 - 8.4), 1: (3.0, 3.0)})
    for _ in range(5):
        env2.step(np.array([[1, 1]]))
    assert env2.battle.hp[0, 0] + env2.battle.sh[0, 0] < 160  # standing still, the hit lands


def test_a_crawler_strike_released_in_reach_lands_though_its_target_walks_out():
    """Simulator v3 (SC2's ImpalerTentacle: a 5.3-loop damage point, then a missile): once released, the strike
    is committed. A stalker 8.1 from the crawler that walks away in the step the wind-up ends is still in reach
    (8.5) at the release and out of it when the missile lands: it is hit. From 8.2 it leaves reach before the
    release, so the wind-up is cancelled and it is not."""
    for start, hit in ((8.1, True), (8.2, False)):
        env = VecSimEnv("2s_vs_1sc", 1, seed=0)
        bt = env.battle
        _place(env, {0: (13.92, 20.04 - start), 1: (3.0, 3.0)})
        for _ in range(3):  # acquire, retarget delay, wind-up begins
            env.step(np.array([[1, 1]]))
        assert bt.rel_at[0, 2] < np.inf and bt.hp[0, 0] + bt.sh[0, 0] == 160
        env.step(np.array([[3, 1]]))  # stalker 0 walks south
        assert np.hypot(*(bt.pos[0, 0] - bt.pos[0, 2])) > bt.reach[2, 0] == 8.5  # out of the crawler's reach at the end
        assert (bt.hp[0, 0] + bt.sh[0, 0] < 160) == hit, start


def test_crawler_keeps_its_target_and_pays_to_switch():
    env = VecSimEnv("2s_vs_1sc", 1, seed=0)
    bt = env.battle
    _place(env, {0: (13.92, 20.04 - 8.0), 1: (13.92 + 6.0, 20.04 - 5.0)})  # 8.0 and 7.8 from the crawler
    env.step(np.array([[1, 1]]))
    first = bt.tgt[0, 2]
    assert first == 1  # the closest in reach
    _place(env, {0: (13.92, 20.04 - 7.0)})  # stalker 0 is now closer, but the crawler keeps its target
    env.step(np.array([[1, 1]]))
    assert bt.tgt[0, 2] == first
    _place(env, {1: (28.0, 3.0)})  # its target leaves reach: it switches and pays its retarget delay
    env.step(np.array([[1, 1]]))
    assert bt.tgt[0, 2] == 0 and bt.acq_ready[0, 2] > 0


def test_no_overlap_after_a_step_and_surrounds_form():
    """Zerglings attacking a standing zealot block spread around it to free contact points."""
    env = VecSimEnv("corridor", 4, seed=0)
    strat = STRATEGIES["stop"](env.spec)
    strat.reset(4)
    bt = env.battle
    worst, most = 0.0, 0
    for _ in range(14):
        env.step(strat.act(env.get_obs(), env.get_avail_actions(), np.zeros(4, dtype=bool)))
        d = bt.pairwise()[2]
        solid = bt.alive & bt.collides
        both = solid[:, :, None] & solid[:, None, :] & ~np.eye(bt.U, dtype=bool)
        worst = max(worst, float(np.where(both, bt.radius[:, None] + bt.radius[None, :] - d, 0).max()))
        reach = (d[:, bt.N:, :bt.N] <= bt.reach[bt.N:, :bt.N] + 1e-6) & bt.alive[:, bt.N:, None]
        most = max(most, int(reach.any(-1).sum(-1).max()))
    assert worst < 0.45  # crowds settle within 8 passes to less than half a zergling of overlap (see docs)
    assert most >= 12  # at least half of the 24 zerglings reach a zealot at once


def test_colossus_lances_hit_a_line_of_zealots():
    env = VecSimEnv("1c3s5z", 1, seed=0)
    bt = env.battle
    N = bt.N
    far = {u: (2.0 + 0.9 * (u % 9), 30.0 - 1.5 * (u // 9)) for u in range(bt.U)}
    _place(env, far)
    zealots = [N + i for i, u in enumerate(env.spec.enemies) if u == "zealot"][:3]
    _place(env, {0: (11.0, 10.0), zealots[0]: (16.5, 9.0), zealots[1]: (16.5, 10.0), zealots[2]: (16.5, 11.0)})
    before = bt.hp[0, zealots] + bt.sh[0, zealots]
    for _ in range(2):
        actions = np.ones((1, N), dtype=np.int64)
        actions[0, 0] = 6 + (zealots[1] - N)
        env.step(actions)
    after = bt.hp[0, zealots] + bt.sh[0, zealots]
    assert (after < before).all()  # the target and both neighbours on the line are hit


def test_stalker_projectile_lands_after_its_flight():
    env = VecSimEnv("3s_vs_3z", 1, seed=0)
    bt = env.battle
    _place(env, {1: (2.0, 2.0), 2: (2.0, 4.0), 4: (30.0, 30.0), 5: (30.0, 28.0), 0: (10.0, 16.0), 3: (15.8, 16.0)})
    env.step(np.array([[6, 1, 1]]))
    assert bt.land_at[0, 0] < np.inf or bt.sh[0, 3] < 50  # the disruptor is in flight (or has just landed)
    env.step(np.array([[6, 1, 1]]))
    assert bt.sh[0, 3] < 50


# --------------------------------------------------------------------------- conformance (docs/simulator.md)
# CI re-checks every band of gawm/envs/conformance.py with fewer episodes than the 200 of
# benchmarks/strategy_conformance.py; the margin is about two standard errors at that sample size.
_CI_EPISODES = {"corridor": 20, "1c3s5z": 30}


@pytest.mark.parametrize("band", BANDS, ids=lambda b: f"{b.map_name}-{b.strategy}")
def test_strategy_conformance(band):
    n = _CI_EPISODES.get(band.map_name, 40)
    if band.strategy == "uniform_random":
        n = 10 if band.map_name in ("corridor", "2s_vs_1sc") else 20
    r = win_rate(band.map_name, band.strategy, n, n_envs=n, seed=1)
    margin = 2.0 * np.sqrt(0.25 / n) if band.at_least is not None else 0.1
    assert band.holds(r["win_rate"], margin), (band, r)


# --------------------------------------------------------------------------- bad input
def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="unknown map '9m'"):
        make_env("9m")
    with pytest.raises(ValueError, match="unknown backend 'sc3'"):
        make_env("8m", backend="sc3")
    env = SimEnv("8m", seed=0)
    env.reset()
    with pytest.raises(ValueError, match="shape"):
        env.step([1, 1])
    with pytest.raises(ValueError, match="out of range"):
        env.step([99] * 8)
    with pytest.raises(ValueError, match="not available"):
        env.step([0] * 8)  # no-op is only for the dead
    with pytest.raises(ValueError, match="agent_id"):
        env.get_obs_agent(8)
    vec = make_vec_env("8m", 2, seed=0)
    with pytest.raises(ValueError, match=r"shape \(2, 8\)"):
        vec.step(np.ones((3, 8), dtype=int))


def test_sc2_backend_without_install_names_what_to_install(monkeypatch):
    monkeypatch.delenv("SC2PATH", raising=False)
    with pytest.raises(ImportError, match="oxwhirl"):
        make_env("8m", backend="sc2")
