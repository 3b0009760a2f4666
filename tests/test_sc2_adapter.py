"""The `sc2` backend without StarCraft II: a stand-in `smac` package (tests/fake_smac) whose StarCraft2Env plays
the simulator with SMAC's conventions and, like a real game, cannot be pickled. Covers the adapter's import and
SC2PATH checks, the kwargs it passes, SerialVecEnv's batching and info keys (timeouts told from terminals
although SMAC's default `continuing_episode=False` never flags them), checkpointing, and a training run."""

from __future__ import annotations

import csv
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from gawm.envs import make_env, make_vec_env
from gawm.envs.smac_compat import StarCraft2Env as SimStarCraft2Env

FAKE = Path(__file__).parent / "fake_smac"
SMOKE_MAPPO = Path(__file__).parent.parent / "config" / "smoke" / "methods.yaml"  # the smoke overlay


def _forget_smac() -> None:
    for name in [m for m in sys.modules if m == "smac" or m.startswith("smac.")]:
        del sys.modules[name]


@pytest.fixture
def fake_smac(monkeypatch, tmp_path):
    """Puts the stand-in first on sys.path and points SC2PATH at an existing directory."""
    _forget_smac()
    monkeypatch.syspath_prepend(str(FAKE))
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    import smac.env

    smac.env.CREATED.clear()
    yield smac.env
    _forget_smac()


def test_missing_or_wrong_smac_names_the_right_install(monkeypatch, tmp_path):
    _forget_smac()
    smac3 = tmp_path / "smac3" / "smac"  # PyPI's 'smac' is SMAC3: a package without smac.env
    smac3.mkdir(parents=True)
    (smac3 / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(smac3.parent))
    try:
        with pytest.raises(ImportError, match=r"oxwhirl/smac.*NOT PyPI's 'smac'"):
            make_env("3s_vs_3z", backend="sc2")
    finally:
        _forget_smac()


def test_sc2path_must_exist(fake_smac, monkeypatch, tmp_path):
    monkeypatch.setenv("SC2PATH", str(tmp_path / "nope"))
    with pytest.raises(ImportError, match="SC2PATH"):
        make_env("3s_vs_3z", backend="sc2")


def test_make_env_passes_map_seed_and_smac_defaults(fake_smac):
    env = make_env("3s_vs_3z", backend="sc2", seed=4)
    assert fake_smac.CREATED == [{"map_name": "3s_vs_3z", "seed": 4}]  # everything else at SMAC's defaults
    obs, state = env.reset()
    ref_obs, ref_state = SimStarCraft2Env("3s_vs_3z", seed=4).reset()
    assert np.array_equal(state, ref_state) and all(np.array_equal(a, b) for a, b in zip(obs, ref_obs))


def test_serial_vec_env_batches_and_flags_timeouts_without_continuing_episode(fake_smac):
    vec = make_vec_env("2s_vs_1sc", n_envs=3, backend="sc2", seed=10)
    assert [c["seed"] for c in fake_smac.CREATED] == [10, 11, 12]
    assert vec.env_info == {"n_agents": 2, "n_enemies": 1, "n_actions": 7, "obs_shape": 17, "state_shape": 27,
                            "episode_limit": 300}
    refs = [SimStarCraft2Env("2s_vs_1sc", seed=s) for s in (10, 11, 12)]
    for r in refs:
        r.reset()
    vec.reset()
    stop = np.ones((3, 2), dtype=np.int64)  # stand still: the spine crawler never reaches the stalkers
    for t in range(300):
        assert vec.get_obs().shape == (3, 2, 17) and vec.get_avail_actions().dtype == bool
        assert np.array_equal(vec.get_state(), np.stack([r.get_state() for r in refs]))
        assert np.array_equal(vec.get_avail_actions(), np.array([r.get_avail_actions() for r in refs], bool))
        assert vec.alive().all()
        reward, term, info = vec.step(stop)
        for r in refs:
            r.step([1, 1])
        assert set(info) == {"battle_won", "episode_limit"}
        assert term.all() == (t == 299) and not info["battle_won"].any()
    assert info["episode_limit"].all()  # SMAC left the key out; SerialVecEnv knows a timeout from a terminal
    vec.reset(np.array([True, False, True]))


def test_decided_battles_are_terminals(fake_smac):
    vec = make_vec_env("3s_vs_3z", n_envs=2, backend="sc2", seed=0)
    rng = np.random.default_rng(0)
    vec.reset()
    limit = vec.env_info["episode_limit"]
    t = np.zeros(2, dtype=np.int64)
    decided = 0
    for _ in range(400):
        avail = vec.get_avail_actions()
        actions = np.array([[rng.choice(np.flatnonzero(a)) for a in b] for b in avail])
        _, term, info = vec.step(actions)
        t += 1
        if term.any():
            # a battle decided before the limit is a terminal; only one that reached the limit is a timeout
            np.testing.assert_array_equal(info["episode_limit"][term], t[term] >= limit)
            decided += int((t[term] < limit).sum())
            t[term] = 0
            vec.reset(term)
    assert decided >= 2


def test_checkpoint_pickles_factories_and_restarts_the_games(fake_smac):
    vec = make_vec_env("3s_vs_3z", n_envs=2, backend="sc2", seed=1)
    with pytest.raises(TypeError, match="StarCraft II process"):
        pickle.dumps(vec.envs[0])
    vec.reset()
    vec.step(np.ones((2, 3), dtype=np.int64))
    restored = pickle.loads(pickle.dumps(vec))
    assert restored.episodes_restarted and len(fake_smac.CREATED) == 4  # two new games
    assert (restored._t == 0).all() and restored.get_obs().shape == (2, 3, vec.env_info["obs_shape"])
    restored.step(np.ones((2, 3), dtype=np.int64))


def test_training_and_resume_on_the_sc2_backend(fake_smac, tmp_path):
    from gawm.train import RunSpec, train

    spec = RunSpec(method="mappo", map_name="3s_vs_3z", seed=1, steps=600, out=tmp_path / "run", backend="sc2",
                   device="cpu", config_path=SMOKE_MAPPO)
    assert train(spec, progress=False, stop_after_iterations=2)["stopped_early"]
    n_games = len(fake_smac.CREATED)
    summary = train(spec, progress=False)  # resumes from last.pt: new games, the old partial episodes dropped
    assert len(fake_smac.CREATED) > n_games
    assert summary["steps"] == 600 and 0.0 <= summary["final_eval"]["win_rate"] <= 1.0
    with (tmp_path / "run" / "progress.csv").open() as fh:
        steps = [int(r["step"]) for r in csv.DictReader(fh)]
    assert steps == sorted(set(steps)) and steps[-1] == 600
