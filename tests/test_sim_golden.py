"""The simulator's behaviour is pinned: short seeded rollouts on every map reproduce tests/data/sim_golden.npz
(written by tests/data/make_sim_golden.py from simulator v3; v2's golden file was written at commit 268c31a).

Speed work on gawm/envs must keep this test green. Masks, flags and episode ends must match exactly; the
reward and the float32 observation/state checksums to 1e-6 (a reordered float64 sum can move the last
bits of a float32 feature, ~1e-7 each; any discrete divergence, a shot a loop early or a unit a step
late, moves them by orders of magnitude more).
"""

from __future__ import annotations

import numpy as np
import pytest

from gawm.envs import MAP_NAMES, VecSimEnv
from tests.data.make_sim_golden import DRIVERS, GOLDEN, rollout

FLOAT_TOL = 1e-6  # ours: far above float32 rounding of reordered sums, far below any real divergence


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN) as f:
        return dict(f)


def mismatches(golden: dict[str, np.ndarray], map_name: str, driver: str, got: dict[str, np.ndarray]) -> list[str]:
    """One line per trace of `got` that differs from the golden one: which, and the first step it does."""
    out = []
    for k, v in got.items():
        want = golden[f"{map_name}/{driver}/{k}"]
        if k == "avail":
            want = np.unpackbits(want, -1, count=v.shape[-1]).astype(bool)
        if want.shape != v.shape:
            out.append(f"{k}: shape {v.shape}, golden {want.shape}")
            continue
        if v.dtype.kind == "f":
            bad = ~np.isclose(v, want, rtol=0.0, atol=FLOAT_TOL)
        else:
            bad = v != want
        if bad.any():
            t = int(np.argwhere(bad)[0][0])
            out.append(f"{k}: first differs at step {t} ({int(bad.sum())} values)")
    return out


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("map_name", MAP_NAMES)
def test_rollouts_reproduce_the_golden_traces(golden, map_name, driver):
    assert mismatches(golden, map_name, driver, rollout(map_name, driver)) == []


def test_the_golden_comparison_catches_a_one_loop_change():
    """A simulator whose weapons cool down one game loop slower must fail the comparison."""

    def slower_env(map_name, n_envs, seed):
        env = VecSimEnv(map_name, n_envs, seed=seed)
        env.battle.cooldown = env.battle.cooldown + 1.0
        return env

    with np.load(GOLDEN) as f:
        golden = dict(f)
    bad = mismatches(golden, "8m", "scripted", rollout("8m", "scripted", env_cls=slower_env))
    assert any(line.startswith("reward") for line in bad), bad


def test_open_map_pathable_shortcut_matches_the_grid_lookup():
    """Terrain.pathable answers open maps with a bounds test; it must agree with the padded-grid lookup that
    walled maps use, on the boundaries too."""
    from gawm.envs.terrain import Terrain

    terrain = Terrain("open", (32, 32))
    rng = np.random.default_rng(0)
    edges = np.array([-1.0, -1e-12, 0.0, 1e-12, 31.0, 32.0 - 1e-9, 32.0, 33.0])
    pts = np.concatenate([rng.uniform(-3.0, 35.0, (500, 2)), np.stack(np.meshgrid(edges, edges), -1).reshape(-1, 2)])
    terrain.is_open = False  # the general path: floor, clamp into the padded grid, look up
    by_grid = terrain.pathable(pts)
    terrain.is_open = True
    assert np.array_equal(terrain.pathable(pts), by_grid)
    assert by_grid.any() and not by_grid.all()


# attributes the speed work (issue 12) added to the simulator's objects, which checkpoints of runs started
# before it (commit 268c31a) do not hold: unpickling must rebuild them
ADDED_SINCE_268C31A = {
    "battle": ("_agent_idx", "_enemy_full", "_move_offset", "_one_hot", "_reach_eps", "_scan_reach"),
    "features": ("_al_end", "_ally_id_types", "_ally_rows", "_en_end", "_nf_al", "_nf_en"),
    "terrain": ("_size", "_upper"),
}


@pytest.mark.parametrize("map_name", ["2s3z", "corridor"])
def test_battles_pickled_before_the_lookup_tables_existed_resume_identically(map_name):
    """A training checkpoint pickles its VecSimEnv; one written by older code lacks the per-map lookup tables,
    and must resume and play exactly like the battle it was taken from."""
    import copy
    import pickle

    env = VecSimEnv(map_name, 3, seed=0)
    rng = np.random.default_rng(0)

    def play(envs, steps):
        for _ in range(steps):
            avail = envs[0].get_avail_actions()
            actions = (rng.random(avail.shape) * avail).argmax(-1)
            outs = [(e.get_obs(), e.get_state(), e.step(actions)[0]) for e in envs]
            assert all(np.array_equal(a, b) for a, b in zip(outs[0], outs[-1]))
            for e in envs:
                e.reset(e.battle.done)

    play([env], 10)
    old = copy.deepcopy(env)
    for owner, obj in (("battle", old.battle), ("features", old.features), ("terrain", old.battle.terrain)):
        for name in ADDED_SINCE_268C31A[owner]:
            delattr(obj, name)
    resumed = pickle.loads(pickle.dumps(old))
    play([env, resumed], 30)
