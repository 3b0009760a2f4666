"""2s_vs_1sc: how often does a trained policy step away from the crawler when its stalker is behind its ally?

The memoryless rule that wins 2s_vs_1sc on the simulator (benchmarks/alternation_sweep.py, "health gap"
rows) walks the stalker whose health + shield is more than `--margin` below its ally's out of the crawler's
reach. This probe plays a run's checkpoints with sampled (not greedy) actions, as in training, and counts,
per checkpoint, what the agents do in the states where the rule would retreat ("behind, in reach") and in
the others ("even, in reach"): stop / no-op, attack, a move away from the crawler, another move. A
probability of "away" that falls to zero early says the policy stopped exploring the retreat before it
could learn its value.

    OMP_NUM_THREADS=1 python benchmarks/retreat_probe.py --run RUN_DIR [--checkpoints step_00025600.pt final.pt]
        [--steps 600] [--battles 50]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from gawm.envs import make_vec_env  # noqa: E402
from gawm.envs import strategies as S  # noqa: E402
from gawm.envs.maps import get_map  # noqa: E402
from gawm.runs import load_run_method  # noqa: E402

REACH = 8.5  # the crawler's reach, centre to centre, on simulator v3 (7 + 0.875 + 0.625)
KINDS = ("stop/no-op", "attack", "away", "other move")


def probe(run: Path, checkpoint: str, steps: int, battles: int, margin: float, seed: int) -> dict[str, np.ndarray]:
    """Counts (4,) of the action kinds in the two groups of states over `steps` env steps of `battles`."""
    method, _, _ = load_run_method(run, run / "checkpoints" / checkpoint, torch.device("cpu"))
    spec = get_map("2s_vs_1sc")
    env = make_vec_env("2s_vs_1sc", battles, seed=seed)
    env.reset()
    hidden = method.init_hidden(battles)
    fresh = np.ones(battles, dtype=bool)
    counts = {"behind, in reach": np.zeros(4), "even, in reach": np.zeros(4)}
    for _ in range(steps):
        obs, state, avail = env.get_obs(), env.get_state(), env.get_avail_actions()
        actions, hidden = method.act(obs, avail, state, hidden, fresh, deterministic=False)
        actions = np.asarray(actions)
        fresh[:] = False
        v = S.view(spec, obs)
        seen = v.visible[..., 0] & v.ally_visible[..., 0]
        behind = (v.own_health < v.ally_health[..., 0] - margin) & seen
        in_reach = seen & (v.dist[..., 0] < REACH)
        away = S._away(v.dx[..., 0], v.dy[..., 0], avail)
        kind = np.where(actions == away, 2, np.where(actions >= 6, 1, np.where(actions <= 1, 0, 3)))  # (B, N)
        for name, m in (("behind, in reach", behind & in_reach), ("even, in reach", ~behind & in_reach)):
            counts[name] += np.bincount(kind[m], minlength=4)
        _, terminated, _ = env.step(actions)
        if terminated.any():
            fresh |= terminated
            env.reset(terminated)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--checkpoints", nargs="+", default=["final.pt"])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--battles", type=int, default=50)
    ap.add_argument("--margin", type=float, default=0.5, help="health + shield fraction gap (one hit: 0.36)")
    ap.add_argument("--seed", type=int, default=777)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"{args.run}, sampled actions, {args.steps} steps x {args.battles} battles per checkpoint")
    print("| checkpoint | states | decisions | " + " | ".join(KINDS) + " |")
    print("|---|---|---:|" + "---:|" * len(KINDS))
    for ck in args.checkpoints:
        for name, c in probe(args.run, ck, args.steps, args.battles, args.margin, args.seed).items():
            n = c.sum()
            print(f"| {ck} | {name} | {int(n)} | " + " | ".join(f"{x / max(n, 1):.3f}" for x in c) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
