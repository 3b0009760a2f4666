"""Finite checks: a diverged run stops at the first non-finite loss, gradient norm or parameter.

Without them an absurd learning rate logged wm_loss = 3e18, then NaN weights went into last.pt and the run
crashed later, inside action sampling, with a message about distribution constraints. The runner checks
the metrics dict every `update` returns (losses and gradient norms) and the networks after each update,
before anything of that iteration is logged or checkpointed, so the last good checkpoint stays intact.
"""

from __future__ import annotations

import math
from typing import Any, Iterator

import torch


class NonFiniteError(RuntimeError):
    """Training produced inf/NaN; the message names the value and the step."""


def nonfinite_metrics(metrics: dict[str, Any]) -> list[str]:
    """Names of numeric entries that are inf or NaN."""
    return [k for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isfinite(v)]


def _tensors(obj: Any, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _tensors(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _tensors(v, f"{prefix}[{i}]")


def first_nonfinite_tensor(state: Any) -> str | None:
    """Dotted name of the first floating tensor in a (nested) state dict holding inf/NaN, else None."""
    for name, t in _tensors(state):
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            return name
    return None
