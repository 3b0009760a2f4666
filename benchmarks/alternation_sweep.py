"""2s_vs_1sc: how wide is the alternation that wins? Win rate of "walk away k steps after each hit, then
come back and fire" for several k, and of a random retreat, on the simulator (issue 12's learning check).

    OMP_NUM_THREADS=1 python benchmarks/alternation_sweep.py [--episodes 200] [--crawler-radius 0.5]

Each stalker remembers its own last health (obs); when it drops, the stalker walks straight away from the
crawler for k env steps, then walks back until the attack action is available (SMAC: within 6, centre to
centre) and attacks. k = 0 is "both stand and fire". `--retreat-prob p` instead walks away on a random
p of the steps (what an untrained stochastic policy does). `--crawler-radius` overrides the crawler's
radius (SC2's 0.875 since simulator v3, v2's estimate 1.0; SMAClite's spine_crawler.json lists size 1,
radius 0.5): the
radius sets the crawler's reach, 7 + its radius + the stalker's 0.625, and so how many steps leave it.
Prints one Markdown row per script.
"""

from __future__ import annotations

import argparse
import dataclasses
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from gawm.collector import evaluate_policy  # noqa: E402
from gawm.envs import strategies as S  # noqa: E402
from gawm.envs.maps import get_map  # noqa: E402
from gawm.envs.sim_env import VecSimEnv  # noqa: E402
from gawm.envs.units import UNIT_TYPES  # noqa: E402

ATTACK_CRAWLER = 6  # the first attack action (enemy 0), after no-op, stop and the four moves


class RetreatSteps(S.Strategy):
    """Walk away from the crawler for `k` steps after each drop of own health, else approach and attack;
    with `p` > 0, also walk away on a random fraction p of the steps."""

    def __init__(self, spec, k: int, p: float = 0.0, seed: int = 0):
        super().__init__(spec)
        self.k, self.p = k, p
        self.rng = np.random.default_rng(seed)

    def reset(self, batch: int) -> None:
        self.prev = np.full((batch, self.spec.n_agents), np.inf)  # (B, N) own health + shield last step
        self.left = np.zeros((batch, self.spec.n_agents), dtype=np.int64)  # (B, N) retreat steps to go

    def act(self, obs, avail, fresh):
        if not hasattr(self, "left") or self.left.shape[0] != obs.shape[0]:
            self.reset(obs.shape[0])
        v = S.view(self.spec, obs)
        self.prev[fresh], self.left[fresh] = v.own_health[fresh], 0
        hit = v.own_health < self.prev - 1e-6
        self.left = np.where(hit & (self.left == 0), self.k, self.left)
        dx, dy, seen = v.dx[..., 0], v.dy[..., 0], v.visible[..., 0]
        fight = np.where(v.attackable[..., 0], ATTACK_CRAWLER,
                         np.where(seen, S._toward(dx, dy), S.forward(self.spec)))
        away = (self.left > 0) | (self.rng.random(self.left.shape) < self.p)
        act = np.where(away, S._away(dx, dy, avail), fight)
        self.left = np.maximum(self.left - 1, 0)
        self.prev = v.own_health.copy()
        return S._legal(act, avail)


class HealthGap(S.Strategy):
    """Memoryless alternation: out of the crawler's reach while more than `margin` below the ally's health
    + shield, else fight; the rule is followed on a random fraction `q` of the steps (per stalker)."""

    def __init__(self, spec, q: float, margin: float, seed: int = 0, out_of_reach: float = 8.7):
        super().__init__(spec)
        self.q, self.margin, self.out_of_reach = q, margin, out_of_reach
        self.rng = np.random.default_rng(seed)

    def act(self, obs, avail, fresh):
        v = S.view(self.spec, obs)
        dx, dy, seen, d = v.dx[..., 0], v.dy[..., 0], v.visible[..., 0], v.dist[..., 0]
        fight = np.where(v.attackable[..., 0], ATTACK_CRAWLER,
                         np.where(seen, S._toward(dx, dy), S.forward(self.spec)))
        behind = (v.own_health < v.ally_health[..., 0] - self.margin) & v.ally_visible[..., 0] & seen  # (B, N)
        rule = np.where(behind, np.where(d < self.out_of_reach, S._away(dx, dy, avail), S.STOP), fight)
        follow = self.rng.random(rule.shape) < self.q
        return S._legal(np.where(follow, rule, fight), avail)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=200)
    ap.add_argument("--steps", type=int, nargs="*", default=[0, 1, 2, 3, 4, 6])
    ap.add_argument("--retreat-prob", type=float, nargs="*", default=[0.1, 0.2, 0.3])
    ap.add_argument("--gap-prob", type=float, nargs="*", default=[0.1, 0.3, 0.5, 0.7, 0.9, 1.0])
    ap.add_argument("--gap-margin", type=float, nargs="*", default=[0.0, 0.5],
                    help="health + shield fractions (one crawler hit on a stalker is 29/80 = 0.36)")
    ap.add_argument("--crawler-radius", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.crawler_radius is not None:  # the engine reads UNIT_TYPES when a battle is built
        UNIT_TYPES["spine_crawler"] = dataclasses.replace(UNIT_TYPES["spine_crawler"], radius=args.crawler_radius)
    crawler, stalker = UNIT_TYPES["spine_crawler"], UNIT_TYPES["stalker"]
    reach = crawler.range + crawler.radius + stalker.radius
    print(f"crawler radius {crawler.radius}, its reach {reach:.3f} (centre to centre), "
          f"{args.episodes} episodes per row, seed {args.seed}")
    print("| script | win | return | length |")
    print("|---|---:|---:|---:|")
    spec = get_map("2s_vs_1sc")
    scripts = [(f"retreat {k} steps after a hit", RetreatSteps(spec, k)) for k in args.steps]
    scripts += [(f"retreat on {p:.0%} of steps", RetreatSteps(spec, 0, p, args.seed)) for p in args.retreat_prob]
    scripts += [(f"health gap > {m:g}, followed on {q:.0%} of steps", HealthGap(spec, q, m, args.seed))
                for m in args.gap_margin for q in args.gap_prob]
    for name, strategy in scripts:
        env = VecSimEnv("2s_vs_1sc", min(50, args.episodes), seed=args.seed)
        r = evaluate_policy(env, S.StrategyActing(strategy), args.episodes)
        print(f"| {name} | {r['win_rate']:.1%} | {r['mean_return']:.2f} | {r['mean_length']:.1f} |")


if __name__ == "__main__":
    main()
