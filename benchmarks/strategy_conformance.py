"""Strategy conformance of the simulator: win rate of every banded (map, strategy) pair of
gawm/envs/conformance.py over N episodes, with its band and whether it holds.

    OMP_NUM_THREADS=1 python benchmarks/strategy_conformance.py [--episodes 200] [--maps 8m corridor]

Prints one Markdown table row per pair (win rate, mean return, mean length, band, held, seconds) and
exits with status 1 if any band fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from gawm.envs import SIMULATOR_VERSION  # noqa: E402
from gawm.envs.conformance import BANDS  # noqa: E402
from gawm.envs.maps import MAP_NAMES  # noqa: E402
from gawm.envs.strategies import win_rate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=200)
    ap.add_argument("--maps", nargs="*", default=list(MAP_NAMES))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"simulator v{SIMULATOR_VERSION}, {args.episodes} episodes per row, seed {args.seed}")
    print("| map | strategy | win | return | length | band | holds | s |")
    print("|---|---|---:|---:|---:|---|---|---:|")
    failed = 0
    for band in BANDS:
        if band.map_name not in args.maps:
            continue
        t0 = time.perf_counter()
        r = win_rate(band.map_name, band.strategy, args.episodes, seed=args.seed)
        ok = band.holds(r["win_rate"])
        failed += not ok
        print(f"| {band.map_name} | {band.strategy} | {r['win_rate']:.1%} | {r['mean_return']:.2f} | "
              f"{r['mean_length']:.1f} | {band.text} | {'yes' if ok else 'NO'} | "
              f"{time.perf_counter() - t0:.1f} |", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
