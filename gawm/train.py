"""Algorithm 1's outer loop, shared by every method: collect real steps, train, evaluate, log, checkpoint.

A method (GAWM, GAWM*, MAMBA, MAG, MAPPO, QMIX) implements `gawm.methods.Method`: it acts, receives the
finished real episodes, and runs its own training between collection phases (for GAWM: E_M world-model
epochs, imagination into the pseudo buffer, E_pi policy epochs). This module owns what they share:

- real-step accounting and the budget; periodic greedy evaluation (eval.csv: win rate vs real steps);
- progress.csv (one row per training iteration: steps, episodes, training win rate, the method's losses);
- checkpoints: `checkpoints/last.pt` (everything needed to resume: method, collector with the env
  mid-episode, RNG states, counters) and `checkpoints/step_<n>.pt` snapshots of the method alone at
  regular intervals (the GCI/GPE analysis samples them uniformly over training);
- resume: re-running the same command continues from last.pt; log rows written after it are dropped
  first, so the logs have no duplicated and no lost steps.
"""

from __future__ import annotations

import dataclasses
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from gawm.collector import Collector, evaluate_policy
from gawm.config import ConfigError, from_dict
from gawm.envs import make_vec_env
from gawm.io import CsvLog, atomic_torch_save, atomic_write_json
from gawm.methods import build_method, load_method_config
from gawm.tb_log import TensorBoardLog

CHECKPOINT_VERSION = 1


@dataclass
class RunnerConfig:
    """How the shared loop runs a method (the `runner:` block of a method's YAML)."""

    n_envs: int  # battles collected in parallel
    train_every: int  # real env steps between training iterations
    warmup_steps: int  # real steps collected before the first training iteration
    eval_every: int  # real steps between evaluations
    eval_episodes: int  # test episodes per evaluation during training
    eval_envs: int
    snapshot_every: int  # real steps between kept snapshots (for GCI/GPE)
    checkpoint_every: int  # real steps between resumable checkpoints
    torch_threads: int
    tensorboard: bool = False  # also write TensorBoard event files (run_dir/tensorboard/), see gawm.tb_log

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            if f.name == "tensorboard":
                continue
            if getattr(self, f.name) < 0 or (f.name not in ("warmup_steps",) and getattr(self, f.name) == 0):
                raise ConfigError(f"runner.{f.name} must be positive, got {getattr(self, f.name)}")


@dataclass
class RunSpec:
    method: str
    map_name: str
    seed: int
    steps: int
    out: Path
    backend: str = "sim"
    device: str = "auto"
    config_path: Path | None = None


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def train(spec: RunSpec, progress: bool = True, stop_after_iterations: int | None = None) -> dict[str, Any]:
    """Run (or resume) one training run; returns the final summary written to summary.json."""
    if spec.steps <= 0:
        raise ValueError(f"steps must be positive, got {spec.steps}")
    raw_cfg = load_method_config(spec.method, spec.map_name, spec.config_path)
    runner = from_dict(RunnerConfig, raw_cfg["runner"], "runner")
    torch.set_num_threads(runner.torch_threads)
    device = _device(spec.device)
    out = Path(spec.out)
    ckpt_dir = out / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)

    env = make_vec_env(spec.map_name, runner.n_envs, backend=spec.backend, seed=spec.seed)
    env_info = dict(env.env_info)
    method = build_method(spec.method, raw_cfg, env_info, device, spec.seed)
    rng = np.random.default_rng(spec.seed)
    torch.manual_seed(spec.seed)

    prog = CsvLog(out / "progress.csv", ["step", "episodes", "iteration", "train_win_rate", "train_return",
                                         "wall_s"] + list(method.metric_names))
    evals = CsvLog(out / "eval.csv", ["step", "win_rate", "mean_return", "mean_length", "episodes"])
    state = {"step": 0, "episodes": 0, "iteration": 0, "next_eval": 0, "next_snapshot": runner.snapshot_every,
             "next_checkpoint": runner.checkpoint_every, "wall_s": 0.0,
             "recent": []}  # (won, return) of the last 100 training episodes
    last = ckpt_dir / "last.pt"
    resumed = last.exists()
    if resumed:
        collector = _resume(last, spec, method, state, rng)
        prog.truncate_after(state["step"])
        # an evaluation due at the checkpoint's step runs after the checkpoint was written: the resumed run
        # redoes it, so a row the killed run logged for it would appear twice
        evals.truncate_after(state["step"] if state["next_eval"] > state["step"] else state["step"] - 1)
    else:
        collector = Collector(env, method)
        atomic_write_json(out / "config.json", {"method": spec.method, "map": spec.map_name, "seed": spec.seed,
                                                "steps": spec.steps, "backend": spec.backend, "config": raw_cfg,
                                                "env_info": env_info})

    tb = None
    if runner.tensorboard:  # the same columns as the CSVs; a resume hides later events and re-logs the kept rows
        tb = TensorBoardLog(out / "tensorboard", state["step"] if resumed else None)
        if resumed:
            tb.replay({"progress": prog.rows(), "eval": evals.rows()}, state["step"])

    def log(csv_log: CsvLog, name: str, row: dict[str, Any]) -> None:
        csv_log.append(row)
        if tb is not None:
            tb.append(name, {k: row[k] for k in csv_log.fields if k in row})

    def evaluate() -> dict[str, float]:
        # a fresh env seeded by (seed, step): evaluations are reproducible, with or without a resume
        env_ = make_vec_env(spec.map_name, runner.eval_envs, backend=spec.backend,
                            seed=spec.seed * 1_000_003 + state["step"] + 1)
        try:
            return evaluate_policy(env_, method, runner.eval_episodes)
        finally:
            env_.close()

    bar = tqdm(total=spec.steps, initial=min(state["step"], spec.steps), unit="step", disable=not progress,
               desc=f"{spec.method} {spec.map_name} s{spec.seed}", dynamic_ncols=True)
    t_start = time.perf_counter() - state["wall_s"]
    iterations = 0
    while state["step"] < spec.steps:
        if state["step"] >= state["next_eval"]:
            res = evaluate()
            log(evals, "eval", {"step": state["step"], **res})
            state["next_eval"] += runner.eval_every
            bar.set_postfix_str(f"eval win {res['win_rate']:.2f}")
        n = min(runner.train_every, spec.steps - state["step"])
        steps, finished = collector.run(method, n, method.observe_episode)
        state["step"] += steps
        state["episodes"] += len(finished)
        state["recent"] = (state["recent"] + [(e.won, e.ret) for e in finished])[-100:]
        recent = state["recent"]
        metrics: dict[str, float] = {}
        if state["step"] >= runner.warmup_steps:
            metrics = method.update(rng)
        state["iteration"] += 1
        state["wall_s"] = time.perf_counter() - t_start
        log(prog, "progress", {
            "step": state["step"], "episodes": state["episodes"], "iteration": state["iteration"],
            "train_win_rate": float(np.mean([w for w, _ in recent])) if recent else float("nan"),
            "train_return": float(np.mean([r for _, r in recent])) if recent else float("nan"),
            "wall_s": state["wall_s"], **metrics})
        bar.update(steps)
        if state["step"] >= state["next_snapshot"]:
            atomic_torch_save({"step": state["step"], "method": method.state_dict(full=False)},
                              ckpt_dir / f"step_{state['step']:08d}.pt")
            state["next_snapshot"] += runner.snapshot_every
        if state["step"] >= state["next_checkpoint"] or state["step"] >= spec.steps:
            _save(last, spec, method, collector, state, rng)
            state["next_checkpoint"] += runner.checkpoint_every
        iterations += 1
        if stop_after_iterations is not None and iterations >= stop_after_iterations:
            bar.close()
            if tb is not None:
                tb.close()
            return {"stopped_early": True, "step": state["step"]}
    bar.close()
    final = evaluate()
    rows = evals.rows()
    if not rows or float(rows[-1]["step"]) < state["step"]:
        log(evals, "eval", {"step": state["step"], **final})
    if tb is not None:
        tb.close()
    atomic_torch_save({"step": state["step"], "method": method.state_dict(full=False)}, ckpt_dir / "final.pt")
    summary = {"method": spec.method, "map": spec.map_name, "seed": spec.seed, "steps": state["step"],
               "episodes": state["episodes"], "wall_s": state["wall_s"], "final_eval": final}
    atomic_write_json(out / "summary.json", summary)
    return summary


def _save(path: Path, spec: RunSpec, method, collector: Collector, state: dict, rng: np.random.Generator) -> None:
    atomic_torch_save({
        "version": CHECKPOINT_VERSION,
        "run": {"method": spec.method, "map": spec.map_name, "seed": spec.seed},
        "state": dict(state),
        "method": method.state_dict(),
        "collector": pickle.dumps(collector),
        "numpy_rng": rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
    }, path)


def _resume(path: Path, spec: RunSpec, method, state: dict, rng: np.random.Generator) -> Collector:
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a truncated or foreign file
        raise ValueError(f"cannot resume: checkpoint {path} is unreadable ({exc.__class__.__name__}: {exc})") from exc
    if not isinstance(ck, dict) or ck.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"cannot resume: {path} is not a version-{CHECKPOINT_VERSION} checkpoint of this harness")
    run = ck["run"]
    if (run["method"], run["map"], run["seed"]) != (spec.method, spec.map_name, spec.seed):
        raise ValueError(f"cannot resume: {path} belongs to {run}, not to "
                         f"{{'method': {spec.method!r}, 'map': {spec.map_name!r}, 'seed': {spec.seed}}}")
    method.load_state_dict(ck["method"])
    state.update(ck["state"])
    rng.bit_generator.state = ck["numpy_rng"]
    torch.set_rng_state(ck["torch_rng"])
    return pickle.loads(ck["collector"])
