"""Wall time of one training iteration (`method.update`) of model-based methods under given configs, in ONE
process, so the configurations are compared on the same machine under the same load.

Why: issue 17 made MAMBA's tuned SMAC settings and MAG's published objective the defaults; this measures
what they cost against the smaller CPU settings (config/cpu/mamba_mag.yaml) and the pre-issue-17 versions
(benchmarks/configs/pre17.yaml), and projects the wall time of a training run from it.

Each entry is (method, overlay, --set overrides). All entries get the SAME real episodes (3s_vs_3z by
default, played by a uniform-random policy over the available actions) in their real buffer, then
`--warmup` untimed and `--repeats` timed `update()` calls (per method if given per method: the published
sizes take minutes per call); the time of each update is split into
world-model epochs, imagination (for MAG's published objective this includes fitting the error predictor)
and the rest (PPO). Acting cost: `--act-steps` real steps collected with the method's own policy.
Projection for `--steps` real steps: iterations = ceil((steps - warmup_steps) / train_every) with the
entry's runner settings, times (median update + acting time per train_every steps); evaluations and
checkpoints are NOT included. One torch thread (as the runner's torch_threads 1 on this CPU); `--device cuda`
puts the method on a GPU (benchmarks/gpu_check.sh).
Peak RSS is the process's high-water mark after each entry (monotone: entries are best run small to large).

Run:
  OMP_NUM_THREADS=1 python benchmarks/iteration_cost.py \
      --methods mamba mamba mag mag --configs benchmarks/configs/pre17.yaml none benchmarks/configs/pre17.yaml none
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from gawm.collector import Collector
from gawm.envs import make_vec_env
from gawm.methods import build_method
from gawm.method_config import load_method_config
from gawm.provenance import peak_rss_mb
from update_timing import RandomPolicy, time_updates


def set_path(cfg: dict[str, Any], dotted: str, value: str) -> None:
    """cfg[a][b][c] = yaml(value) for `a.b.c=value`; the key must exist (no silent typos)."""
    *parents, last = dotted.split(".")
    d = cfg
    for k in parents:
        d = d[k]
    if last not in d:
        raise KeyError(f"--set {dotted}: no such key")
    d[last] = yaml.safe_load(value)


def measure(method_name: str, cfg: dict[str, Any], env_info: dict[str, int], episodes: list[dict[str, Any]],
            env, args: argparse.Namespace, warmup: int, repeats: int) -> dict[str, Any]:
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    method = build_method(method_name, cfg, env_info, device, args.seed)
    for ep in episodes:
        method.observe_episode(ep)
    rows = time_updates(method, np.random.default_rng(args.seed), warmup, repeats, sync)
    sync()
    t = time.perf_counter()
    Collector(env, method).run(method, args.act_steps, lambda ep: None)
    sync()
    act_per_step = (time.perf_counter() - t) / args.act_steps
    runner = cfg["runner"]
    iters = math.ceil(max(args.steps - runner["warmup_steps"], 0) / runner["train_every"])
    med = float(np.median([r["total"] for r in rows]))
    return {
        "update_s": [round(r["total"], 3) for r in rows], "median_s": round(med, 3),
        "spread_s": round(float(max(r["total"] for r in rows) - min(r["total"] for r in rows)), 3),
        "median_phases_s": {k: round(float(np.median([r[k] for r in rows])), 3) for k in ("wm", "imagine",
                                                                                            "ppo_and_rest")},
        "act_s_per_step": round(act_per_step, 5), "iterations": iters,
        "projected_hours": round(iters * (med + act_per_step * runner["train_every"]) / 3600, 2),
        "wm_params": sum(p.numel() for p in method.world_model.parameters()),
        "peak_rss_mb_so_far": round(peak_rss_mb(), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", required=True)
    ap.add_argument("--configs", nargs="+", help="overlay per method ('none' for the method's own config)")
    ap.add_argument("--set", nargs="+", dest="sets", help="per method: comma-separated a.b=value, or '-'")
    ap.add_argument("--labels", nargs="+")
    ap.add_argument("--map", default="3s_vs_3z")
    ap.add_argument("--fill-steps", type=int, default=2000, help="real steps of random-policy episodes")
    ap.add_argument("--warmup", type=int, nargs="+", default=[1], help="one value, or one per method")
    ap.add_argument("--repeats", type=int, nargs="+", default=[3], help="one value, or one per method")
    ap.add_argument("--act-steps", type=int, default=200)
    ap.add_argument("--steps", type=int, default=50000, help="run length for the projection")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="also write the results as JSON here")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (phases timed with synchronisation)")
    args = ap.parse_args()
    n = len(args.methods)
    configs = args.configs or ["none"] * n
    sets = args.sets or ["-"] * n
    labels = args.labels or [f"{m}@{Path(c).stem if c != 'none' else 'default'}" for m, c in zip(args.methods,
                                                                                                  configs)]
    warmups = args.warmup * n if len(args.warmup) == 1 else args.warmup
    repeats = args.repeats * n if len(args.repeats) == 1 else args.repeats
    if not len(configs) == len(sets) == len(labels) == len(warmups) == len(repeats) == n:
        ap.error("--configs, --set, --labels, --warmup and --repeats need one entry per method (or one value)")
    torch.set_num_threads(1)
    env = make_vec_env(args.map, 4, seed=args.seed)
    env_info = dict(env.env_info)
    episodes: list[dict[str, Any]] = []
    Collector(env, RandomPolicy(args.seed)).run(RandomPolicy(args.seed), args.fill_steps, episodes.append)
    print(f"torch {torch.__version__}, {args.device}, {torch.get_num_threads()} thread, {args.map}, {len(episodes)} random "
          f"episodes ({args.fill_steps} steps) in each buffer, warm-up {warmups} + timed {repeats} updates, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    results = {}
    for name, over, st, label, w, r_ in zip(args.methods, configs, sets, labels, warmups, repeats):
        cfg = load_method_config(name, args.map, None if over == "none" else Path(over))
        if st != "-":
            for item in st.split(","):
                key, value = item.split("=", 1)
                set_path(cfg, key, value)
        r = measure(name, cfg, env_info, episodes, env, args, w, r_)
        results[label] = {"method": name, "config": over, "set": st, "warmup": w, "repeats": r_,
                          "load_average_1min": round(os.getloadavg()[0], 1), **r}
        print(f"{label:<26} median {r['median_s']:8.2f} s (spread {r['spread_s']:.2f}; {r['update_s']}) "
              f"phases {r['median_phases_s']} act {r['act_s_per_step'] * 1e3:.1f} ms/step -> "
              f"{r['iterations']} iterations ~ {r['projected_hours']} h for {args.steps} steps; "
              f"peak RSS {r['peak_rss_mb_so_far']} MiB", flush=True)
        if args.out:  # after every entry, so a long run that is stopped keeps what it measured
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"argv": vars(args) | {"out": str(args.out)}, "results": results},
                                           indent=1, default=str))


if __name__ == "__main__":
    main()
