"""Size of a world-model method's resume checkpoint (last.pt's method state) after a run of S real steps,
with the code of an older commit and with the current code, measured in one run (issue 15).

Why: the resume checkpoint is written every `checkpoint_every` steps; its size is disk, write time and the
RSS a resume needs. A full 50k-step run per commit would take hours, so this builds the same state a run
has at step S without training: a method of the given config on the map, its real buffer filled with S real
steps of uniform-random play (the buffer keeps every row up to its capacity, so its size depends on the steps,
not on the policy), its pseudo buffer filled to capacity by imagination (B_p is full after a few iterations
in a run), then `state_dict()` saved with torch.save. Networks and optimiser states are included at their
real sizes (Adam's moments exist after the first step: one update is run first).

Run:  python benchmarks/checkpoint_size.py --before c4099bd^ [--method gawm --map 3s_vs_3z --steps 50000]
(`c4099bd^` is the code before the checkpoint work of the reliability and speed issues.)
"""

from __future__ import annotations

import argparse
import inspect
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ab import ROOT, checkout, head_commit, remove_checkout, report, run_in_tree
from update_timing import RandomPolicy


def measure(job: dict[str, Any]) -> dict[str, Any]:
    """Worker: build the state of a run at `steps` with this tree's code and save its method state."""
    import torch

    from gawm.collector import Collector
    from gawm.envs import make_vec_env
    from gawm.methods import build_method, load_method_config

    torch.set_num_threads(1)
    cfg = load_method_config(job["method"], job["map"], None)
    env = make_vec_env(job["map"], 8, seed=0)
    method = build_method(job["method"], cfg, dict(env.env_info), torch.device("cpu"), 0)
    rng = np.random.default_rng(0)

    t = time.perf_counter()
    pol = RandomPolicy(0)
    Collector(env, pol).run(pol, job["steps"], method.observe_episode)
    fill_s = time.perf_counter() - t
    method.update(rng)  # optimiser moments exist, B_p has its first rollouts
    while len(method.pseudo) < method.pseudo.capacity:
        method._imagine(rng)
    full = {"full": True} if "full" in inspect.signature(method.state_dict).parameters else {}
    state = method.state_dict(**full)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.pt"
        torch.save(state, path)
        total = path.stat().st_size
        parts = {}
        for key, value in state.items():
            torch.save(value, path)
            parts[key] = path.stat().st_size
    return {"bytes": total, "parts": parts, "real_rows": len(method.real), "pseudo": len(method.pseudo),
            "fill_s": round(fill_s, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="c4099bd^", help="git ref of the code before the change")
    ap.add_argument("--method", default="gawm")
    ap.add_argument("--map", default="3s_vs_3z")
    ap.add_argument("--steps", type=int, default=50000)
    ap.add_argument("--out", type=Path, help="also write the figures as JSON here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        report(measure(json.loads(args.worker)))
        return
    job = {"method": args.method, "map": args.map, "steps": args.steps}
    results: dict[str, Any] = {"before": args.before, "after": head_commit(), **job}
    with tempfile.TemporaryDirectory(prefix="checkpoint_size_") as tmp:
        before = checkout(args.before, Path(tmp))
        try:
            for side, tree in (("before", before), ("after", ROOT)):
                results[side + "_result"] = r = run_in_tree(tree, Path(__file__), job)
                parts = ", ".join(f"{k} {v / 1e6:.1f}" for k, v in r["parts"].items() if v > 1e5)
                print(f"{side:<7} {args.method} {args.map} at {args.steps} real steps: {r['bytes'] / 1e6:.1f} MB "
                      f"({parts} MB; {r['real_rows']} real rows, {r['pseudo']} imagined trajectories)", flush=True)
        finally:
            remove_checkout(before)
    ratio = results["after_result"]["bytes"] / results["before_result"]["bytes"]
    print(f"after / before = {ratio:.2f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**results, "ratio": ratio}, indent=1))


if __name__ == "__main__":
    main()
