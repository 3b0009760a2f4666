"""The memory table of docs/runs.md from `memory_profile.py` outputs (one directory per map).

    python benchmarks/memory_table.py /tmp/memrun/out --budgets config/config.yaml

Per map: peak RSS over the run (from /usr/bin/time -v), last.pt's size, RSS growth per 1k real steps (a
Theil-Sen line, the median of pairwise slopes, through the lowest RSS sampled at each logged step outside
checkpoint writes, from 2.5k steps on, once the pseudo buffer is full: the resident state without the
updates' temporaries), the largest ratio of RSS during a checkpoint write to RSS in the sample before it,
and the projected peak at the paper's budget: peak + growth x (budget - steps run) / 1k. GiB/MiB.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import yaml


def analyse(d: Path, budget: int) -> dict:
    res = json.loads((d / "memory.json").read_text())
    rows = [(float(t), float(r), int(s), int(w)) for t, r, s, w in
            (list(x.values()) for x in csv.DictReader((d / "memory.csv").open()))]
    a = np.array(rows) if rows else np.zeros((0, 4))
    steps_run = json.loads((d / "memory.json").read_text())["steps"]
    # resident state = the lowest RSS seen at each logged step (the update's temporaries come and go), from
    # 2.5k steps (the pseudo buffer is full by ~2k) to before the end (exit frees memory)
    calm = a[(a[:, 3] == 0) & (a[:, 2] >= 2500) & (a[:, 2] < steps_run)]
    xs = np.unique(calm[:, 2])
    base = np.array([calm[calm[:, 2] == x, 1].min() for x in xs])
    pairs = [(base[j] - base[i]) / (xs[j] - xs[i]) for i in range(len(xs)) for j in range(i + 1, len(xs))]
    slope = float(np.median(pairs)) * 1000 if pairs else float("nan")  # Theil-Sen: one odd sample does not tilt it
    ratios = [a[i, 1] / a[i - 1, 1] for i in range(1, len(a)) if a[i, 3] == 1 and a[i - 1, 3] == 0]
    steps = res["steps"]
    return {"map": res["map"], "steps": steps, "wall_min": res["wall_s"] / 60, "peak_gb": res["peak_rss_mb"] / 1024,
            "last_pt_mb": res["last_pt_mb"], "growth_mb_per_1k": slope,
            "ckpt_ratio": max(ratios) if ratios else float("nan"), "writes_sampled": len(ratios),
            "budget": budget,
            "projected_gb": (res["peak_rss_mb"] + max(slope, 0) * (budget - steps) / 1000) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--budgets", default="config/config.yaml")
    args = ap.parse_args()
    budgets = yaml.safe_load(Path(args.budgets).read_text())["budgets"]["paper"]["steps"]
    print("| map | steps run | wall (min) | peak RSS (GiB) | last.pt (MiB) | growth (MiB / 1k steps) | "
          "max RSS ratio in a checkpoint write | paper budget | projected peak (GiB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for d in sorted(Path(args.root).iterdir()):
        if not (d / "memory.json").exists():
            continue
        r = analyse(d, budgets[d.name])
        print(f"| {r['map']} | {r['steps']} | {r['wall_min']:.1f} | {r['peak_gb']:.2f} | {r['last_pt_mb']:.0f} | "
              f"{r['growth_mb_per_1k']:.1f} | {r['ckpt_ratio']:.2f} ({r['writes_sampled']} sampled) | "
              f"{r['budget']:,} | {r['projected_gb']:.2f} |")


if __name__ == "__main__":
    main()
