"""Micro-benchmarks of the learning-neutral speed-ups of issue 15, each against what it replaced (1 thread):

- a categorical draw of 320 x 3 x 16 groups of 16 classes (GAWM's latent at imag_batch 16 x seq 20):
  `torch.multinomial` against Gumbel-max (`gawm.nets.categorical_sample`);
- a 16-step GRU over 192 rows of width 64 (one PPO minibatch of actor memory), forward + backward:
  one GRUCell call per step against one fused `torch.gru` call;
- one Adam step over 30 Linear(128, 128) layers: foreach against fused (`gawm.optim.adam`).

Run: OMP_NUM_THREADS=1 python benchmarks/neutral_kernels.py   (milliseconds per call, mean of 50 after 3)
"""

from __future__ import annotations

import time
from typing import Callable

import torch

from gawm.nets import categorical_sample
from gawm.optim import adam


def ms_per_call(fn: Callable[[], object], n: int = 50) -> float:
    for _ in range(3):
        fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1e3


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    logits = torch.log_softmax(torch.randn(320, 3, 16, 16), -1)
    probs = logits.exp().reshape(-1, 16)
    print(f"categorical draw    multinomial {ms_per_call(lambda: torch.multinomial(probs, 1)):7.2f} ms   "
          f"Gumbel-max {ms_per_call(lambda: categorical_sample(logits)):7.2f} ms")
    cell = torch.nn.GRUCell(64, 64)
    x = torch.randn(16, 192, 64, requires_grad=True)
    h0 = torch.zeros(192, 64)
    weights = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]

    def cell_loop() -> None:
        h, outs = h0, []
        for t in range(x.shape[0]):
            h = cell(x[t], h)
            outs.append(h)
        torch.stack(outs).sum().backward()

    def fused_gru() -> None:
        out, _ = torch.gru(x, h0[None], weights, True, 1, 0.0, True, False, False)
        out.sum().backward()

    print(f"GRU 16 steps f+b    GRUCell loop {ms_per_call(cell_loop):6.2f} ms   "
          f"torch.gru {ms_per_call(fused_gru):7.2f} ms")
    net = torch.nn.Sequential(*[torch.nn.Linear(128, 128) for _ in range(30)])
    for p in net.parameters():
        p.grad = torch.randn_like(p)
    foreach = torch.optim.Adam(net.parameters(), lr=1e-4, foreach=True)
    print(f"Adam step           foreach {ms_per_call(foreach.step):11.2f} ms   "
          f"fused {ms_per_call(adam(net.parameters(), lr=1e-4).step):11.2f} ms")


if __name__ == "__main__":
    main()
