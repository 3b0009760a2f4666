"""Bit-for-bit comparison of the simulator with an older commit's, for changes meant to alter nothing
(speed work): both play the same seeded battles side by side and every output and state array must be
equal, not merely close.

    OMP_NUM_THREADS=1 python benchmarks/sim_exactness.py --before 268c31a [--steps 200] [--battles 4] [--maps 8m]

Each map is played by uniform-random legal actions and by the map's winning scripted strategy (the drivers
of tests/data/make_sim_golden.py), finished battles reset as in training. After every step it compares
obs, state, avail, reward, terminated, battle_won and episode_limit, and the battle's state arrays (positions,
health, shields, targets, weapon timers). It stops at the first difference, prints it and exits with status 1.
The older commit's gawm/envs is extracted with `git archive` as in benchmarks/env_throughput.py.
tests/test_sim_golden.py is the committed guard (a tolerance on checksums); this script is the stronger
check to run on every change to gawm/envs that should keep the behaviour.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from env_throughput import load_old_simulator  # noqa: E402
from gawm.envs import MAP_NAMES, VecSimEnv  # noqa: E402
from gawm.envs.strategies import STRATEGIES  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "data"))
from make_sim_golden import SCRIPTED  # noqa: E402

STATE = ("pos", "hp", "sh", "tgt", "cd_ready", "acq_ready", "rel_at", "land_at", "proj_tgt", "back_until",
         "since_damage", "credited", "t")


def first_difference(old_cls, map_name: str, driver: str, steps: int, battles: int, seed: int) -> str | None:
    """Play both simulators in lockstep; a line naming the first step and array that differ, or None."""
    envs = [old_cls(map_name, battles, seed=seed), VecSimEnv(map_name, battles, seed=seed)]
    if driver == "random":
        rng = np.random.default_rng(seed + 1)
        act = lambda obs, avail, fresh: (rng.random(avail.shape) * avail).argmax(-1)  # noqa: E731
    else:
        strategy = STRATEGIES[SCRIPTED[map_name]](envs[1].spec)
        strategy.reset(battles)
        act = strategy.act
    fresh = np.ones(battles, dtype=bool)
    for t in range(steps):
        seen = [(e.get_obs(), e.get_state(), e.get_avail_actions().copy()) for e in envs]
        for name, a, b in zip(("obs", "state", "avail"), *seen):
            if not np.array_equal(a, b):
                return f"step {t}: {name} differs (largest difference {np.abs(a.astype(float) - b).max():.3g})"
        actions = act(seen[1][0], seen[1][2], fresh)
        (r0, term0, info0), (r1, term1, info1) = [e.step(actions) for e in envs]
        outputs = [("reward", r0, r1), ("terminated", term0, term1)]
        outputs += [(k, info0[k], info1[k]) for k in ("battle_won", "episode_limit")]
        outputs += [(k, getattr(envs[0].battle, k), getattr(envs[1].battle, k)) for k in STATE]
        for name, a, b in outputs:
            if not np.array_equal(a, b):
                return f"step {t}: {name} differs"
        for e in envs:
            e.reset(term1)
        fresh = term1
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, metavar="COMMIT", help="the commit whose simulator is the reference")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--battles", type=int, default=4)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--maps", nargs="*", default=list(MAP_NAMES))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = load_old_simulator(args.before, Path(tmp))
        failed = False
        for m in args.maps:
            for driver in ("random", "scripted"):
                diff = first_difference(old, m, driver, args.steps, args.battles, args.seed)
                print(f"{m:<10} {driver:<9} {'identical' if diff is None else 'DIFFERENT: ' + diff}", flush=True)
                failed |= diff is not None
    print(f"{args.steps} steps x {args.battles} battles per map and driver against {args.before}: "
          f"{'DIFFERENT' if failed else 'bit-identical'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
