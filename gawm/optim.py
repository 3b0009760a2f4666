"""The one Adam constructor of the project (world models, policies, MAG's error predictor).

Why one place: PyTorch's fused Adam kernel (one multi-tensor kernel per step, on CPU since torch 2.4 and on
CUDA) takes a half to a third of the time of the default `foreach` implementation at our sizes
(benchmarks/neutral_kernels.py), and computes the same update (the same formula in float32; results agree to
rounding, tests/test_speed_neutral.py). Parameters of a dtype or device the fused kernel does not support
fall back to the default implementation instead of failing.
"""

from __future__ import annotations

from typing import Iterable

import torch

__all__ = ["adam"]

_FUSED_DEVICES = ("cpu", "cuda")


def adam(params: Iterable[torch.nn.Parameter], lr: float, eps: float = 1e-8) -> torch.optim.Adam:
    """Adam over `params` with the fused kernel where every parameter allows it."""
    params = list(params)
    fused = bool(params) and all(p.device.type in _FUSED_DEVICES and p.dtype in (torch.float32, torch.float64,
                                                                                  torch.bfloat16, torch.float16)
                                 for p in params)
    return torch.optim.Adam(params, lr=lr, eps=eps, fused=fused or None)
