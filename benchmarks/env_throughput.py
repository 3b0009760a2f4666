"""Simulator throughput per map: env steps/s for 1 battle and battle-steps/s for 64 battles, on one core.

One "step" is what a training loop does per env step: get_obs, get_state, get_avail_actions, choose a
uniform-random legal action, step, and reset the battles that ended.

    python benchmarks/env_throughput.py [--seconds 2] [--maps 8m corridor]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from gawm.envs import MAP_NAMES, VecSimEnv  # noqa: E402


def measure(map_name: str, n_envs: int, seconds: float) -> float:
    env = VecSimEnv(map_name, n_envs, seed=0)
    rng = np.random.default_rng(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.get_obs()
        env.get_state()
        avail = env.get_avail_actions()
        actions = (rng.random(avail.shape) * avail).argmax(-1)
        _, terminated, _ = env.step(actions)
        if terminated.any():
            env.reset(terminated)
        steps += 1
    return steps * n_envs / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--maps", nargs="*", default=list(MAP_NAMES))
    args = ap.parse_args()
    print(f"{'map':<12}{'1 battle (steps/s)':>20}{'64 battles (battle-steps/s)':>30}")
    for m in args.maps:
        print(f"{m:<12}{measure(m, 1, args.seconds):>20,.0f}{measure(m, 64, args.seconds):>30,.0f}", flush=True)


if __name__ == "__main__":
    main()
