"""Reading a finished (or running) training run back: its config.json and its checkpoints' networks.

`gawm evaluate` and `gawm analyze` both rebuild the method exactly as `gawm train` built it (same method
config, same env info) and load a snapshot's networks into it, so they share this one loader.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from gawm.method_config import upgrade_saved_run_config
from gawm.methods import build_method

RUN_KEYS = ("method", "map", "seed", "config", "env_info")  # what config.json must hold to rebuild the method


def read_run_json(path: Path, keys: tuple[str, ...], remedy: str = "") -> dict[str, Any]:
    """One of a run's JSON files (config.json, evaluation.json, analysis.json) that must hold `keys`; a broken
    or incomplete one is a ValueError naming the file, what is wrong, and `remedy` (what to do about it)."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}){remedy}") from exc
    missing = [k for k in keys if not isinstance(data, dict) or k not in data]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}{remedy}")
    return data


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """A run's config.json (method, map, seed, backend, method config, env_info)."""
    cfg_path = Path(run_dir) / "config.json"
    if not cfg_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.json)")
    run = read_run_json(cfg_path, RUN_KEYS, ": not written by `gawm train`")
    if isinstance(run.get("config"), dict):  # keys added since the run was saved: what it trained with
        upgrade_saved_run_config(run["config"], run["method"])
    return run


def load_run_method(run_dir: Path, checkpoint: Path, device: torch.device):
    """Rebuild a run's method from its config.json and load a snapshot's networks into it."""
    run = read_run_config(run_dir)
    if not Path(checkpoint).exists():
        raise FileNotFoundError(f"checkpoint {checkpoint} does not exist")
    try:
        ck = torch.load(checkpoint, map_location=device, weights_only=False)
        sd = ck["method"]
    except Exception as exc:  # truncated file, foreign pickle, missing key
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ValueError(f"checkpoint {checkpoint} is unreadable ({exc.__class__.__name__}: {first})") from exc
    method = build_method(run["method"], run["config"], run["env_info"], device, int(run["seed"]))
    try:
        method.load_state_dict(sd)
    except (RuntimeError, KeyError, TypeError) as exc:  # another run's networks, or another method's
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise ValueError(f"checkpoint {checkpoint} does not fit the {run['method']} networks of {run_dir} "
                         f"({first})") from exc
    return method, run, int(ck.get("step", -1))
