"""Micro-benchmarks behind the speed claims in gawm/envs docstrings (issue 12's simulator speed work): each
kernel as the simulator computes it now against the form it replaced, on the array shapes of 1 and of 64
battles of 8m (16 units), with a check that both give the same values bit for bit.

    OMP_NUM_THREADS=1 python benchmarks/sim_kernels.py [--repeats 2000]

Prints microseconds per call (best of 5 rounds of --repeats calls) and the ratio old / new.
"""

from __future__ import annotations

import argparse
import os
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


def _same(a, b) -> bool:
    if isinstance(a, tuple):
        return all(np.array_equal(x, y) for x, y in zip(a, b))
    return np.array_equal(a, b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'kernel':<42}{'battles':>8}{'old us':>10}{'new us':>10}{'old/new':>9}  identical")
    for B in (1, 64):
        for name, old, new in kernels(B, rng):
            t_old, t_new = (min(timeit.repeat(f, number=args.repeats, repeat=5)) / args.repeats * 1e6 for f in (old, new))
            print(f"{name:<42}{B:>8}{t_old:>10.1f}{t_new:>10.1f}{t_old / t_new:>9.2f}  {_same(old(), new())}")


if __name__ == "__main__":
    main()
