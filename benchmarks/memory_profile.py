"""Peak and over-time RSS of one `gawm train` run, checkpoints included (issue 14's memory figures).

Runs `/usr/bin/time -v python -m gawm.cli train ...` as a child, samples the training process's VmRSS from
/proc every `--interval` seconds together with the run's logged step and whether a checkpoint write is in
progress (a `.last.pt.*.tmp` file exists), and writes <out>/memory.csv (the samples) and
<out>/memory.json: peak RSS (from time -v), size of last.pt, RSS while writing checkpoints vs just before,
and a least-squares fit of RSS against real steps outside checkpoint writes (the growth per 1k steps).

    python benchmarks/memory_profile.py --map 1c3s5z --steps 5000 --out /tmp/mem/1c3s5z \
        --config gawm_1thread.yaml      # config/methods/gawm.yaml with runner.torch_threads: 1
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def _rss_mb(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(m.group(1)) / 1024 if m else None


def _child_pid(pid: int) -> int | None:
    """The python process under /usr/bin/time."""
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(kids[0]) if kids else None


def _last_step(progress: Path) -> int:
    try:
        lines = progress.read_text().strip().split("\n")
    except OSError:
        return 0
    if len(lines) < 2:
        return 0
    try:
        return int(float(lines[-1].split(",")[0]))
    except ValueError:
        return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--map", required=True)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--method", default="gawm")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=1.0)
    args = ap.parse_args()
    out = Path(args.out)
    run = out / "run"
    out.mkdir(parents=True, exist_ok=True)
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "gawm.cli", "train", "--method", args.method, "--map",
           args.map, "--seed", str(args.seed), "--steps", str(args.steps), "--out", str(run), "--config",
           args.config, "--no-progress", "--device", "cpu"]
    t0 = time.time()
    with (out / "time.txt").open("w") as err, (out / "stdout.txt").open("w") as so:
        proc = subprocess.Popen(cmd, stdout=so, stderr=err)
        samples = []
        while proc.poll() is None:
            child = _child_pid(proc.pid)
            rss = _rss_mb(child) if child else None
            if rss is not None:
                writing = any((run / "checkpoints").glob(".last.pt.*.tmp"))
                samples.append((round(time.time() - t0, 2), round(rss, 1), _last_step(run / "progress.csv"),
                                int(writing)))
            time.sleep(args.interval)
    wall = time.time() - t0
    with (out / "memory.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["t_s", "rss_mb", "step", "checkpoint_writing"])
        w.writerows(samples)
    timing = (out / "time.txt").read_text()
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing).group(1))
    arr = np.array([s[1:] for s in samples], float) if samples else np.zeros((0, 3))
    calm = arr[(arr[:, 2] == 0) & (arr[:, 1] > 0)] if len(arr) else arr
    slope = intercept = None
    if len(calm) >= 2 and np.ptp(calm[:, 1]) > 0:
        slope, intercept = np.polyfit(calm[:, 1], calm[:, 0], 1)
    writing = arr[arr[:, 2] == 1] if len(arr) else arr
    last = run / "checkpoints" / "last.pt"
    res = {"map": args.map, "steps": args.steps, "returncode": proc.returncode, "wall_s": round(wall, 1),
           "peak_rss_mb": round(peak_kb / 1024, 1),
           "last_pt_mb": round(last.stat().st_size / 2**20, 1) if last.exists() else None,
           "rss_growth_mb_per_1k_steps": None if slope is None else round(slope * 1000, 1),
           "rss_fit_intercept_mb": None if intercept is None else round(intercept, 1),
           "max_rss_while_writing_checkpoint_mb": round(float(writing[:, 0].max()), 1) if len(writing) else None,
           "max_rss_outside_checkpoint_writes_mb": round(float(calm[:, 0].max()), 1) if len(calm) else None,
           "samples": len(samples)}
    (out / "memory.json").write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
