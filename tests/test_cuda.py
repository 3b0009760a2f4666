"""Every method trains on a GPU and its checkpoints load on a CPU (issue 15). Skipped where no GPU is visible
(CI and this project's CPU machines); benchmarks/gpu_check.sh runs it on a lent GPU machine."""

from __future__ import annotations

import pytest
import torch

from gawm.evaluate import evaluate_checkpoint
from gawm.registry import REGISTRY
from gawm.train import RunSpec, train
from tests.conftest import SMOKE

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device visible")


@pytest.mark.parametrize("method", sorted(REGISTRY))
def test_trains_on_cuda_and_its_checkpoint_runs_on_cpu(tmp_path, method):
    out = tmp_path / method
    summary = train(RunSpec(method, "3s_vs_3z", 1, 600, out, device="cuda", config_path=SMOKE), progress=False)
    assert summary["steps"] >= 600
    cpu = evaluate_checkpoint(out, episodes=4, n_envs=2, device=torch.device("cpu"))  # a GPU run, read on CPU
    gpu = evaluate_checkpoint(out, episodes=4, n_envs=2, device=torch.device("cuda"))
    assert cpu["episodes"] == gpu["episodes"] == 4
