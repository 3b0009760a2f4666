"""Micro-benchmarks behind the speed claims in gawm/envs docstrings (issue 12's simulator speed work): each
kernel as the simulator computes it now against the form it replaced, on the array shapes of 1 and of 64
battles of 8m (16 units), with a check that both give the same values bit for bit.

    OMP_NUM_THREADS=1 python benchmarks/sim_kernels.py [--repeats 2000] [--relax-before 844ed03]

Prints microseconds per call (best of 5 rounds of --repeats calls) and the ratio old / new; with
--relax-before, collision relaxation now and at an older commit on the same captured calls (844ed03: the
last numpy relaxation, before the compiled kernel of gawm/envs/kernels.py). The weapon loop's numpy form
(with its look-ahead over quiet game loops) is gone since gawm/envs/weapons.py compiled it;
benchmarks/env_throughput.py --before 844ed03 measures the whole step against it.
"""

from __future__ import annotations

import argparse
import os
import time
import timeit
from typing import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from gawm.envs import motion  # noqa: E402
from gawm.envs.battle import _along  # noqa: E402

U = 16  # 8m: 8 marines a side


def kernels(B: int, rng: np.random.Generator) -> list[tuple[str, Callable, Callable]]:
    """(name, old, new) for the shapes of B battles."""
    pos = rng.uniform(0, 32, (B, U, 2))
    delta = rng.uniform(-1, 1, (B, U, 2))
    frac = rng.uniform(0, 1, (B, U, 9))
    diff = rng.uniform(-5, 5, (B, U, 9, 2))  # unit-to-target offsets along the step (the reach table)
    return [
        ("length of (B, U, 9, 2) offsets", lambda: np.sqrt((diff * diff).sum(-1)), lambda: motion.length(diff)),
        ("paths pos0 + delta * frac (B, U, 9, 2)",
         lambda: pos[:, :, None, :] + delta[:, :, None, :] * frac[..., None], lambda: _along(pos, delta, frac)),
    ]


def captured_relax_calls(map_name: str, n_envs: int, steps: int) -> list[tuple]:
    """The arguments of every motion.relax call in `steps` steps of uniform-random play."""
    from gawm.envs import VecSimEnv

    calls, inner = [], motion.relax

    def recording(pos, solid, mobile, radius, clip, anchored=None, same_team=None):
        calls.append((pos.copy(), solid.copy(), mobile, radius, clip, anchored, same_team))
        return inner(pos, solid, mobile, radius, clip, anchored, same_team)

    motion.relax = recording
    try:
        env = VecSimEnv(map_name, n_envs, seed=0)
        rng = np.random.default_rng(0)
        for _ in range(steps):
            avail = env.get_avail_actions()
            _, terminated, _ = env.step((rng.random(avail.shape) * avail).argmax(-1))
            env.reset(terminated)
    finally:
        motion.relax = inner
    return calls


def motion_at(commit: str):
    """gawm/envs/motion.py as it was at `commit`, as a module (it imports only numpy)."""
    import subprocess
    import types
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(["git", "-C", str(root), "show", f"{commit}:gawm/envs/motion.py"], check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType(f"motion_{commit}")
    exec(compile(source, f"{commit}:gawm/envs/motion.py", "exec"), module.__dict__)
    return module


def compare_relax(commit: str) -> None:
    """Collision relaxation now and at `commit` on the same captured calls, alternating, best of 5."""
    old = motion_at(commit)
    print(f"\ncollision relaxation (motion.relax), us per call, now and at {commit}, on the calls of random play:")
    print(f"{'map':<12}{'battles':>8}{'calls':>7}{'before':>10}{'now':>10}{'ratio':>8}  identical")
    for m, n, steps in (("8m", 1, 1000), ("8m", 64, 100), ("corridor", 64, 20)):
        calls = captured_relax_calls(m, n, steps)
        best, out = {}, {}
        for _ in range(5):
            for name, relax in (("before", old.relax), ("now", motion.relax)):
                t0 = time.process_time()
                out[name] = [relax(*c) for c in calls]
                best[name] = min(best.get(name, np.inf), (time.process_time() - t0) / len(calls) * 1e6)
        same = all(np.array_equal(a, b) for a, b in zip(out["before"], out["now"]))
        print(f"{m:<12}{n:>8}{len(calls):>7}{best['before']:>10.0f}{best['now']:>10.0f}"
              f"{best['before'] / best['now']:>8.2f}  {same}", flush=True)


def _same(a, b) -> bool:
    if isinstance(a, tuple):
        return all(np.array_equal(x, y) for x, y in zip(a, b))
    return np.array_equal(a, b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2000)
    ap.add_argument("--relax-before", metavar="COMMIT",
                    help="also time collision relaxation against motion.py at COMMIT (e.g. 268c31a)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'kernel':<42}{'battles':>8}{'old us':>10}{'new us':>10}{'old/new':>9}  identical")
    for B in (1, 64):
        for name, old, new in kernels(B, rng):
            t_old, t_new = (min(timeit.repeat(f, number=args.repeats, repeat=5)) / args.repeats * 1e6 for f in (old, new))
            print(f"{name:<42}{B:>8}{t_old:>10.1f}{t_new:>10.1f}{t_old / t_new:>9.2f}  {_same(old(), new())}")
    if args.relax_before:
        compare_relax(args.relax_before)


if __name__ == "__main__":
    main()
