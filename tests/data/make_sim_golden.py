"""Writes tests/data/sim_golden.npz: the simulator's outputs over short seeded rollouts on every map, which
tests/test_sim_golden.py compares the current simulator with.

    PYTHONPATH=. OMP_NUM_THREADS=1 python tests/data/make_sim_golden.py

The golden file pins the behaviour of simulator v3 (regenerated on 26 Nov 2026 by the commit that moved the
unit table to SC2's game data; v2's was written at commit 268c31a), so that changes meant to make the
simulator faster can prove they change nothing. Rerun this script ONLY on a deliberate behaviour
change (and say so in the commit); rerunning it to make a failing golden test pass defeats the test.

Each map is played by two drivers, each for STEPS steps of N_BATTLES battles, finished battles reset as
in training: uniform-random legal actions (seeded), and the map's scripted strategy (the one its
conformance band says wins, gawm/envs/conformance.py). Per step the file holds, for every battle: the
reward, terminated, battle_won and episode_limit flags and the availability masks exactly, and
checksums of the observations (per agent) and the state: the float64 sum of the values and a weighted
sum whose weights differ by position, so that a moved or swapped feature changes it. Full observations
of the eight maps would take several MB; the checksums take a few hundred kB.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from gawm.envs import MAP_NAMES, VecSimEnv  # noqa: E402
from gawm.envs.strategies import STRATEGIES  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "sim_golden.npz"
STEPS = 120  # ours: every map fights (first shots by step ~15), battles die and reset; under 1 MB of golden data
N_BATTLES = 4  # ours: several battles, so per-battle masking (relaxation, re-acquisition rows) is exercised
SEED = 0  # environment seed; the random driver's generator is seeded with SEED + 1
# the winning scripted strategy of each map (its conformance band in gawm/envs/conformance.py)
SCRIPTED = {
    "2s_vs_1sc": "alternation",
    "3s_vs_3z": "kiting",
    "2s3z": "focus_fire_melee_front",
    "3s_vs_4z": "kiting",
    "3s_vs_5z": "kiting",
    "1c3s5z": "focus_fire_melee_front",
    "8m": "focus_fire",
    "corridor": "hold_passage",
}
DRIVERS = ("random", "scripted")


def _weights(n: int) -> np.ndarray:
    """Position weights (n,) in [1, 2) for the weighted checksum; 13 is prime, so no feature block
    (widths 3 to 9) lines up with the pattern."""
    return 1.0 + (np.arange(n) % 13) / 13.0


def checksums(x: np.ndarray) -> np.ndarray:
    """Plain and position-weighted float64 sums over the last axis: (..., F) -> (..., 2)."""
    x = x.astype(np.float64)
    return np.stack([x.sum(-1), x @ _weights(x.shape[-1])], -1)


def rollout(map_name: str, driver: str, env_cls=VecSimEnv) -> dict[str, np.ndarray]:
    """Play STEPS steps of N_BATTLES battles of `map_name` with `driver`; the traces, each (STEPS, B, ...).

    obs_sum (T, B, N, 2), state_sum (T, B, 2): checksums of what the step's policy saw; avail (T, B, N, A)
    bool; reward (T, B) float64; terminated, won, limit (T, B) bool."""
    env = env_cls(map_name, N_BATTLES, seed=SEED)
    if driver == "random":
        rng = np.random.default_rng(SEED + 1)
        act = lambda obs, avail, fresh: (rng.random(avail.shape) * avail).argmax(-1)  # noqa: E731
    else:
        strategy = STRATEGIES[SCRIPTED[map_name]](env.spec)
        strategy.reset(N_BATTLES)
        act = strategy.act
    fresh = np.ones(N_BATTLES, dtype=bool)
    trace: dict[str, list[np.ndarray]] = {k: [] for k in ("obs_sum", "state_sum", "avail", "reward", "terminated",
                                                          "won", "limit")}
    for _ in range(STEPS):
        obs, state, avail = env.get_obs(), env.get_state(), env.get_avail_actions().copy()
        reward, terminated, info = env.step(act(obs, avail, fresh))
        for k, v in (("obs_sum", checksums(obs)), ("state_sum", checksums(state)), ("avail", avail),
                     ("reward", reward), ("terminated", terminated), ("won", info["battle_won"]),
                     ("limit", info["episode_limit"])):
            trace[k].append(np.array(v))
        env.reset(terminated)
        fresh = terminated
    return {k: np.stack(v) for k, v in trace.items()}


def main() -> None:
    arrays = {}
    for m in MAP_NAMES:
        for driver in DRIVERS:
            for k, v in rollout(m, driver).items():
                arrays[f"{m}/{driver}/{k}"] = np.packbits(v, -1) if k == "avail" else v
            print(m, driver, "episodes ended:", int(arrays[f"{m}/{driver}/terminated"].sum()), file=sys.stderr)
    np.savez_compressed(GOLDEN, **arrays)
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
