"""Wall time of one GAWM world-model update (observe + Eq. 3 + backward + Adam step) at paper-like sizes on CPU.

The paper gives no world-model sizes, so MAMBA's SMAC defaults (which GAWM builds on) are assumed:
deter 256, hidden 256, embed 256, 32 x 32 categorical latent, 3-layer / 2-head Transformers of width 256
(ff 512) for both act- and obs-fusion, 2 hidden layers per head, batch 40 sequences x 20 steps. Shapes of
three maps: 2s_vs_1sc (2 agents, obs 17, 7 actions), 1c3s5z (9 agents, obs 162, 15 actions), corridor
(6 agents, obs 156, 30 actions). Synthetic data; timing only, not a test.

Run: .venv/bin/python benchmarks/wm_update.py [--batch 40 --seq 20 --repeats 3 --device cpu|cuda --precision fp32 bf16]
"""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F

from gawm.config import from_dict
from gawm.world_model import WorldModel, WorldModelConfig

PAPER_SIZES = dict(deter_dim=256, stoch_groups=32, stoch_classes=32, unimix=0.01, hidden_dim=256, mlp_layers=2,
                   embed_dim=256, fusion_dim=256, fusion_heads=2, fusion_ff_dim=512, act_fusion_layers=3,
                   obs_fusion_layers=3, act="elu", layer_norm=True, reward_loss="symlog_mse", team_heads="pool", kl_beta=1.0,
                   kl_balance=0.8, free_nats=1.0, lr=2e-4, adam_eps=1e-5, grad_clip=100.0, reward_weight=1.0)
MAPS = [("2 agents (2s_vs_1sc)", 2, 17, 7), ("9 agents (1c3s5z)", 9, 162, 15), ("6 agents (corridor)", 6, 156, 30)]


def synthetic_batch(B: int, T: int, n: int, o: int, a: int) -> dict[str, torch.Tensor]:
    """Random rows in the buffer's layout (B, T, ...), an episode start at t = 0."""
    first = torch.zeros(B, T, dtype=torch.bool)
    first[:, 0] = True
    prev = F.one_hot(torch.randint(0, a, (B, T, n)), a).float()
    prev[first] = 0.0
    return {"obs": torch.randn(B, T, n, o), "prev_action": prev, "avail": torch.rand(B, T, n, a) > 0.3,
            "reward": torch.rand(B, T), "discount": torch.ones(B, T), "is_first": first,
            "alive": torch.ones(B, T, n, dtype=torch.bool)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=40)
    ap.add_argument("--seq", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (timed with synchronisation)")
    ap.add_argument("--precision", nargs="+", default=["fp32"], choices=["fp32", "bf16"],
                    help="one row per precision (bf16 = the loss's forward under bfloat16 autocast)")
    args = ap.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {device}, {torch.get_num_threads()} threads, batch {args.batch} x {args.seq} steps, "
          f"median of {args.repeats} updates after 1 warm-up")
    print(f"{'map':<24}{'variant':<8}{'precision':>10}{'params':>11}{'update s':>11}")
    for name, n, o, a in MAPS:
        for fusion in (True, False):
            cfg = from_dict(WorldModelConfig, {**PAPER_SIZES, "n_agents": n, "obs_dim": o, "n_actions": a,
                                               "obs_fusion": fusion})
            wm = WorldModel(cfg).to(device)
            opt = wm.make_optimizer()
            batch = {k: v.to(device) for k, v in synthetic_batch(args.batch, args.seq, n, o, a).items()}
            n_params = sum(p.numel() for p in wm.parameters())
            for precision in args.precision:
                wm.update(batch, opt, precision=precision)  # warm-up
                times = []
                for _ in range(args.repeats):
                    sync()
                    t0 = time.perf_counter()
                    wm.update(batch, opt, precision=precision)
                    sync()
                    times.append(time.perf_counter() - t0)
                print(f"{name:<24}{'GAWM' if fusion else 'GAWM*':<8}{precision:>10}{n_params:>11,}"
                      f"{sorted(times)[len(times) // 2]:>11.3f}", flush=True)


if __name__ == "__main__":
    main()
