"""Win rate, return and length of the scripted heuristic and the uniform-random policy on every map.

    python benchmarks/scripted_win_rates.py [--episodes 200] [--maps 8m 2s3z]
"""

from __future__ import annotations

import argparse
import time

from gawm.envs import MAP_NAMES
from gawm.envs.scripted import scripted_win_rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=200)
    ap.add_argument("--maps", nargs="*", default=list(MAP_NAMES))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"{'map':<11}| {'heuristic win':>13} {'return':>7} {'length':>7} | {'random win':>10} {'return':>7} "
          f"{'length':>7} | seconds")
    for m in args.maps:
        t0 = time.perf_counter()
        r = scripted_win_rates(m, args.episodes, n_envs=50, seed=args.seed)
        h, u = r["heuristic"], r["random"]
        print(f"{m:<11}| {h['win_rate']:>13.1%} {h['mean_return']:>7.2f} {h['mean_length']:>7.1f} | "
              f"{u['win_rate']:>10.1%} {u['mean_return']:>7.2f} {u['mean_length']:>7.1f} | "
              f"{time.perf_counter() - t0:.1f}", flush=True)


if __name__ == "__main__":
    main()
