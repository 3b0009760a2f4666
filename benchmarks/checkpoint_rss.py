"""RSS cost of resuming from and writing a real last.pt, measured exactly with the kernel's high-water mark.

A 1-s RSS sampler can miss a checkpoint write; here the peak is read from VmHWM after resetting it
(`echo 5 > /proc/self/clear_refs`) just before each phase:

1. resume: `gawm.train`'s own loading of last.pt into a freshly built method (mmap, buffers copied in);
2. write: `gawm.train._save` of that state to a scratch file (streamed, as every checkpoint);
3. for comparison, the same checkpoint serialised into memory first (torch.save into a BytesIO, as
   `atomic_torch_save` did before issue 14).

    python benchmarks/checkpoint_rss.py --run /tmp/memrun/out/1c3s5z/run --config gawm_1thread.yaml
"""

from __future__ import annotations

import argparse
import io
import json
import re
import tempfile
from pathlib import Path

import numpy as np
import torch


def _status(key: str) -> float:
    return int(re.search(rf"{key}:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def main() -> None:
    from gawm.envs import make_vec_env
    from gawm.methods import load_method_config
    from gawm.train import RunnerConfig, RunSpec, _build, _load_checkpoint, _restore, _save
    from gawm.config import from_dict

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="a run directory with checkpoints/last.pt")
    ap.add_argument("--config", help="the run's method YAML (default: the method's)")
    args = ap.parse_args()
    run = Path(args.run)
    rec = json.loads((run / "config.json").read_text())
    spec = RunSpec(rec["method"], rec["map"], rec["seed"], rec["steps"], run, backend=rec["backend"], device="cpu",
                   config_path=Path(args.config) if args.config else None)
    raw = load_method_config(spec.method, spec.map_name, spec.config_path)
    runner = from_dict(RunnerConfig, raw["runner"], "runner")
    torch.set_num_threads(runner.torch_threads)
    env = make_vec_env(spec.map_name, runner.n_envs, backend=spec.backend, seed=spec.seed)
    method = _build(spec, raw, dict(env.env_info), torch.device("cpu"))
    state: dict = {}
    rng = np.random.default_rng(0)
    out = {"last_pt_mib": round((run / "checkpoints" / "last.pt").stat().st_size / 2**20, 1)}

    before = _status("VmRSS")
    _reset_peak()
    ck = _load_checkpoint(run / "checkpoints" / "last.pt", spec)
    collector = _restore(ck, method, state, rng)
    del ck
    out["resume"] = {"rss_before_mib": round(before, 1), "peak_mib": round(_status("VmHWM"), 1),
                     "rss_after_mib": round(_status("VmRSS"), 1)}

    with tempfile.TemporaryDirectory(dir=run) as tmp:
        before = _status("VmRSS")
        _reset_peak()
        _save(Path(tmp) / "last.pt", spec, raw, method, collector, state, rng)
        peak = _status("VmHWM")
        out["streamed_write"] = {"rss_before_mib": round(before, 1), "peak_mib": round(peak, 1),
                                 "ratio": round(peak / before, 3)}
    before = _status("VmRSS")
    _reset_peak()
    buf = io.BytesIO()
    torch.save({"method": method.state_dict()}, buf)
    data = buf.getvalue()  # what the old atomic_torch_save handed to its writer
    peak = _status("VmHWM")
    out["in_memory_write_for_comparison"] = {"rss_before_mib": round(before, 1), "peak_mib": round(peak, 1),
                                             "ratio": round(peak / before, 3), "bytes_mib": round(len(data) / 2**20, 1)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
