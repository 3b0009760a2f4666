"""Simulator throughput per map: env steps/s for 1 battle and battle-steps/s for 64 battles, on one core.

Rates are per second of this process's CPU time (time.process_time), so other jobs on a shared machine
distort them less than wall time would. One "step" is what a training loop does per env step: get_obs, get_state, get_avail_actions, choose a
uniform-random legal action, step, and reset the battles that ended.

    OMP_NUM_THREADS=1 python benchmarks/env_throughput.py [--seconds 2] [--maps 8m corridor] [--before 268c31a]
        [--repeats 2]

--before COMMIT (alias --v1, from when it compared with simulator v1 = 67ea894) also measures the simulator
as it was at COMMIT, in the same process and interleaved map by map with the current one, so both see
the same machine load, and prints the ratio now / before: its gawm/envs is extracted with `git archive`
into a temporary package (imports renamed), nothing is installed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from gawm.envs import MAP_NAMES, SIMULATOR_VERSION, VecSimEnv  # noqa: E402


CLOCK = time.process_time  # CPU time of this process: the figure that does not depend on other jobs' load


def measure(env_cls, map_name: str, n_envs: int, seconds: float) -> float:
    env = env_cls(map_name, n_envs, seed=0)
    rng = np.random.default_rng(0)
    steps, start = 0, CLOCK()
    while CLOCK() - start < seconds:
        env.get_obs()
        env.get_state()
        avail = env.get_avail_actions()
        actions = (rng.random(avail.shape) * avail).argmax(-1)
        _, terminated, _ = env.step(actions)
        if terminated.any():
            env.reset(terminated)
        steps += 1
    return steps * n_envs / (CLOCK() - start)


def load_old_simulator(commit: str, workdir: Path):
    """VecSimEnv of gawm/envs at `commit`, importable next to the current one as package `gawm_sim_old`."""
    repo = Path(__file__).resolve().parents[1]
    tar = subprocess.run(["git", "-C", str(repo), "archive", commit, "gawm/envs"], check=True,
                         capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(workdir)], input=tar, check=True)
    pkg = workdir / "gawm_sim_old"
    (workdir / "gawm" / "envs").rename(pkg)
    for f in pkg.glob("*.py"):
        f.write_text(f.read_text().replace("gawm.envs", "gawm_sim_old"))
    sys.path.insert(0, str(workdir))
    return importlib.import_module("gawm_sim_old.sim_env").VecSimEnv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--maps", nargs="*", default=list(MAP_NAMES))
    ap.add_argument("--repeats", type=int, default=1,
                    help="measure each configuration this many times (alternating with --before) and keep the best")
    ap.add_argument("--before", "--v1", dest="before", metavar="COMMIT",
                    help="also measure the simulator at this commit, interleaved, and print the ratios "
                         "(e.g. 268c31a: before the speed work of issue 12; v1: 67ea894)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = load_old_simulator(args.before, Path(tmp)) if args.before else None
        head = f"{'map':<12}{'v%d 1 battle' % SIMULATOR_VERSION:>16}{'v%d 64 battles' % SIMULATOR_VERSION:>18}"
        if old is not None:
            head += f"{'old 1 battle':>16}{'old 64 battles':>18}{'ratio 1':>10}{'ratio 64':>10}"
        print(head + "   (steps/s; battle-steps/s; CPU time)")
        for m in args.maps:
            now, before = [0.0, 0.0], [0.0, 0.0]
            for _ in range(args.repeats):  # alternate the two simulators; the best of each is the least disturbed
                now = [max(r, measure(VecSimEnv, m, n, args.seconds)) for r, n in zip(now, (1, 64))]
                if old is not None:
                    before = [max(r, measure(old, m, n, args.seconds)) for r, n in zip(before, (1, 64))]
            row = f"{m:<12}{now[0]:>16,.0f}{now[1]:>18,.0f}"
            if old is not None:
                row += f"{before[0]:>16,.0f}{before[1]:>18,.0f}{now[0] / before[0]:>10.2f}{now[1] / before[1]:>10.2f}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
