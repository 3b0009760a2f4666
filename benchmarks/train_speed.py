"""Training speed of the world-model methods, before and after a code change, measured in ONE run.

Why: issue 15 asks for world-model methods >= 2x faster per 1000 real steps with learning unchanged, shown
before/after on the same machine under the same load. This script checks the `--before` commit out into a
temporary git worktree and measures the same things with the old and the current code, alternating between
the two trees (before, after, before, after, ...) so both see the same machine load:

1. seconds per 1000 real steps of each world-model method on each map, split into phases: world-model
   epochs (`_wm_update`), imagination (`_imagine`), PPO and the rest of `update`, and acting in the real
   environment. Per 1000 steps = median update time x 1000 / runner.train_every + acting time of 1000 steps.
   Every measurement gets the same real episodes (uniform-random play, `--fill-steps`) in its buffer.
   Evaluation and checkpoints are not included (1.8% and < 1% of a run, issue 15's profile).
2. one GAWM world-model update (observe + Eq. 3 + backward + Adam) at MAMBA's SMAC sizes (deter 256, 32 x 32
   latents, 3-layer Transformers; benchmarks/wm_update.py) on the map's shapes, batch 40 x 20: before, after,
   and after with `imagination.wm_precision: bf16` (the forward pass under bfloat16 autocast).

MAMBA and MAG are measured with `--mamba-config` (default config/cpu/mamba_mag.yaml, GAWM's sizes): at their
published sizes one update takes minutes on a CPU (benchmarks/iteration_cost.py). One torch thread per
measurement, as the runner's torch_threads 1. Each measurement is a fresh subprocess whose `gawm` package
comes from its tree (PYTHONPATH), so imports cannot leak between before and after.

Run (about 20 min on 2 idle cores for the defaults):
  python benchmarks/train_speed.py --before c9cbf06 [--maps 3s_vs_3z 8m] [--methods gawm gawm_star mamba mag]
      [--repeats 3] [--out benchmarks/results/train_speed.json] [--after-config config/variants/X.yaml]
      [--skip-wm-update]
`--after-config` adds a schedule variant on the after side only (a code change and a schedule change
together, e.g. the issue-15 candidates gawm_policy_schedule_cpu.yaml and gawm_wm_batches_5x64.yaml).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ab import ROOT, checkout, head_commit, remove_checkout, report, run_in_tree
from update_timing import RandomPolicy, time_updates

WM_METHODS = ("gawm", "gawm_star", "mamba", "mag")


# ------------------------------------------------------------------------------------- the worker side
def _random_episodes(env: Any, steps: int, seed: int) -> list[Any]:
    """Uniform-random play over the available actions: the same real data for every measurement."""
    from gawm.collector import Collector

    episodes: list[Any] = []
    pol = RandomPolicy(seed)
    Collector(env, pol).run(pol, steps, episodes.append)
    return episodes


def measure_training(method_name: str, map_name: str, overlay: str | None, fill_steps: int, repeats: int,
                     act_steps: int, seed: int, extra: list[str] | None = None) -> dict[str, Any]:
    """Median update time split into phases, and acting time per step, for one method on one map; `extra` are
    overlays merged on top in order (schedule variants, config/variants/*.yaml)."""
    import torch
    import yaml

    from gawm.collector import Collector
    from gawm.envs import make_vec_env
    from gawm.method_config import load_method_config, merge
    from gawm.methods import build_method

    torch.set_num_threads(1)
    cfg = load_method_config(method_name, map_name, Path(overlay) if overlay else None)
    for path in extra or []:
        cfg = merge(cfg, yaml.safe_load(Path(path).read_text()), path)
    env = make_vec_env(map_name, cfg["runner"]["n_envs"], seed=seed)
    method = build_method(method_name, cfg, dict(env.env_info), torch.device("cpu"), seed)
    for ep in _random_episodes(env, fill_steps, seed):
        method.observe_episode(ep)
    rows = time_updates(method, np.random.default_rng(seed), 1, repeats)  # 1 warm-up (allocator, first calls)
    t = time.perf_counter()
    Collector(env, method).run(method, act_steps, lambda ep: None)
    act = (time.perf_counter() - t) / act_steps
    med = {k: float(np.median([r[k] for r in rows])) for k in rows[0]}
    per_1k_iters = 1000 / cfg["runner"]["train_every"]
    return {"update_s": [round(r["total"], 3) for r in rows],
            "per_1k_s": {"wm": med["wm"] * per_1k_iters, "imagine": med["imagine"] * per_1k_iters,
                         "ppo_and_rest": med["ppo_and_rest"] * per_1k_iters, "act": act * 1000,
                         "total": med["total"] * per_1k_iters + act * 1000}}


def measure_wm_update(map_name: str, repeats: int, seed: int, precision: str) -> dict[str, Any]:
    """One GAWM world-model update at MAMBA's sizes on the map's shapes (median of `repeats`); precision
    "bf16" = `WorldModel.update(..., precision="bf16")` (code before issue 15 has only fp32)."""
    import torch

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from wm_update import PAPER_SIZES, synthetic_batch  # noqa: E402 (this tree's benchmark: same in both)

    from gawm.config import from_dict
    from gawm.envs import make_vec_env
    from gawm.world_model import WorldModel, WorldModelConfig

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    info = make_vec_env(map_name, 1, seed=seed).env_info
    n, o, a = info["n_agents"], info["obs_shape"], info["n_actions"]
    wm = WorldModel(from_dict(WorldModelConfig, {**PAPER_SIZES, "n_agents": n, "obs_dim": o, "n_actions": a,
                                                 "obs_fusion": True}))
    opt = wm.make_optimizer()
    batch = synthetic_batch(40, 20, n, o, a)
    kw = {} if precision == "fp32" else {"precision": precision}
    wm.update(batch, opt, **kw)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        wm.update(batch, opt, **kw)
        times.append(time.perf_counter() - t)
    return {"update_s": [round(x, 3) for x in times], "median_s": float(np.median(times))}


def worker(args: argparse.Namespace) -> None:
    job = json.loads(args.worker)
    if job["kind"] == "train":
        out = measure_training(job["method"], job["map"], job["overlay"], job["fill_steps"], job["repeats"],
                               job["act_steps"], job["seed"], job.get("extra"))
    else:
        out = measure_wm_update(job["map"], job["repeats"], job["seed"], job["precision"])
    report(out)


# ----------------------------------------------------------------------------------- the driver side
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="c9cbf06", help="git ref of the code before the change")
    ap.add_argument("--maps", nargs="+", default=["3s_vs_3z", "8m"])
    ap.add_argument("--methods", nargs="+", default=list(WM_METHODS), choices=WM_METHODS)
    ap.add_argument("--mamba-config", default="config/cpu/mamba_mag.yaml",
                    help="overlay for MAMBA and MAG ('none' = their published sizes: minutes per update)")
    ap.add_argument("--repeats", type=int, default=3, help="timed updates per measurement (after 1 warm-up)")
    ap.add_argument("--wm-repeats", type=int, default=3)
    ap.add_argument("--fill-steps", type=int, default=2000)
    ap.add_argument("--act-steps", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="also write every figure as JSON here")
    ap.add_argument("--after-config", type=Path, nargs="+",
                    help="variant overlays (e.g. config/variants/gawm_policy_schedule_cpu.yaml) applied to the "
                         "after side only: the cost of a schedule change on top of the code change")
    ap.add_argument("--skip-wm-update", action="store_true", help="measure only training, not the update at "
                    "MAMBA's sizes")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    commit = head_commit()
    if args.after_config:
        commit += " + " + " + ".join(str(p) for p in args.after_config)
    print(f"before = {args.before}, after = working tree at {commit}; 1 torch thread per measurement; "
          f"load average {os.getloadavg()[0]:.1f} at start", flush=True)
    results: dict[str, Any] = {"before": args.before, "after": commit, "training": {}, "wm_update_mamba_sizes": {}}
    with tempfile.TemporaryDirectory(prefix="train_speed_") as tmp:
        before = checkout(args.before, Path(tmp))
        trees = {"before": before, "after": ROOT}
        try:
            for map_name in args.maps:
                for m in args.methods:
                    overlay = None
                    if m in ("mamba", "mag") and args.mamba_config != "none":
                        overlay = str((ROOT / args.mamba_config).resolve())
                    job = {"kind": "train", "method": m, "map": map_name, "overlay": overlay, "seed": args.seed,
                           "fill_steps": args.fill_steps, "repeats": args.repeats, "act_steps": args.act_steps}
                    extra = [str(p.resolve()) for p in args.after_config or []]
                    res = {side: run_in_tree(tree, Path(__file__), {**job, "extra": extra} if side == "after" else job)
                           for side, tree in trees.items()}
                    results["training"][f"{m}/{map_name}"] = res
                    b, a = res["before"]["per_1k_s"], res["after"]["per_1k_s"]
                    parts = "  ".join(f"{k} {b[k]:.0f}->{a[k]:.0f}" for k in ("wm", "imagine", "ppo_and_rest",
                                                                                "act"))
                    print(f"{m:<10}{map_name:<10} s per 1000 real steps: {b['total']:7.1f} -> {a['total']:7.1f} "
                          f"(x{a['total'] / b['total']:.2f}; speed-up {b['total'] / a['total']:.2f}x)  [{parts}]",
                          flush=True)
                    _save(args.out, results)
                if args.skip_wm_update:
                    continue
                job = {"kind": "wm", "map": map_name, "repeats": args.wm_repeats, "seed": args.seed,
                       "precision": "fp32"}
                res = {side: run_in_tree(tree, Path(__file__), job) for side, tree in trees.items()}
                res["after_bf16"] = run_in_tree(ROOT, Path(__file__), {**job, "precision": "bf16"})
                results["wm_update_mamba_sizes"][map_name] = res
                b = res["before"]["median_s"]
                for side in ("after", "after_bf16"):
                    a = res[side]["median_s"]
                    print(f"GAWM world-model update at MAMBA's sizes, {map_name}, batch 40 x 20, {side}: {b:.3f} s "
                          f"-> {a:.3f} s (x{a / b:.2f}; speed-up {b / a:.2f}x)", flush=True)
                _save(args.out, results)
        finally:
            remove_checkout(before)
    results["load_average_end"] = os.getloadavg()[0]
    _save(args.out, results)


def _save(path: Path | None, results: dict[str, Any]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
