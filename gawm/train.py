"""Algorithm 1's outer loop, shared by every method: collect real steps, train, evaluate, log, checkpoint.

A method (GAWM, GAWM*, MAMBA, MAG, MAPPO, QMIX) implements `gawm.methods.Method`: it acts, receives the
finished real episodes, and runs its own training between collection phases (for GAWM: E_M world-model
epochs, imagination into the pseudo buffer, E_pi policy epochs). This module owns what they share:

- real-step accounting and the budget; periodic greedy evaluation (eval.csv: win rate vs real steps);
- progress.csv (one row per training iteration: steps, episodes, training win rate, the method's losses);
- checkpoints: `checkpoints/last.pt` (everything needed to resume: method, collector with the env
  mid-episode, RNG states, counters) and `checkpoints/step_<n>.pt` snapshots of the method alone at
  regular intervals (the GCI/GPE analysis samples them uniformly over training);
- resume: re-running the same command continues from last.pt. The checkpoint records how many rows each
  log held; a resume keeps exactly those and a fresh start (no last.pt) keeps none, so every row is
  written exactly once whatever moment a kill hits (an evaluation logged after a checkpoint is redone);
- safety: one process per run directory (gawm.runlock), a resume with a different config is refused
  (gawm.drift), and a non-finite loss, gradient norm or parameter stops the run before it is logged or
  checkpointed (gawm.guards).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from gawm.collector import Collector, evaluate_policy
from gawm.config import BlockTracker, ConfigError, check_blocks, from_dict, missing_block_error
from gawm.drift import config_changes, describe, history_entry
from gawm.envs import make_vec_env
from gawm.guards import NonFiniteError, first_nonfinite_tensor, nonfinite_metrics
from gawm.io import (CsvLog, arrays_to_tensors, atomic_torch_save, atomic_write_json, remove_stray_temp_files,
                     tensors_to_arrays)
from gawm.method_config import CONFIG_DIR, overlay_paths, upgrade_saved_run_config
from gawm.methods import build_method, load_method_config
from gawm.registry import REGISTRY
from gawm.runlock import RunLock
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
    config_path: Path | tuple[Path, ...] | None = None  # overlay(s) on the method's YAML, applied in order


DEVICE_HELP = "use auto, cpu, cuda or cuda:N"


def _device(name: str) -> torch.device:
    """--device as a torch.device, or one line saying why it cannot be used on this machine."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise ValueError(f"--device {name}: unknown device; {DEVICE_HELP}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "a CPU-only torch build" if torch.version.cuda is None else "no GPU visible"
            raise ValueError(f"--device {name}: CUDA is not available here ({why}); use --device cpu or auto")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) visible; {DEVICE_HELP}")
    elif dev.type != "cpu":
        raise ValueError(f"--device {name}: this harness runs on cpu or cuda only; {DEVICE_HELP}")
    return dev


def _config_source(spec: RunSpec) -> Path:
    """The YAML file a run's method config comes from (for error messages)."""
    paths = overlay_paths(spec.config_path)
    if paths:
        return Path(" + ".join(str(p) for p in paths))
    stem = REGISTRY[spec.method].config if spec.method in REGISTRY else spec.method
    return CONFIG_DIR / f"{stem}.yaml"


def _build(spec: RunSpec, raw_cfg: dict, env_info: dict, device: torch.device):
    """The method, with a misspelt or unknown top-level block reported as one line naming the file."""
    tracked = BlockTracker(raw_cfg)
    tracked.read.add("runner")  # the runner's own block
    try:
        method = build_method(spec.method, tracked, env_info, device, spec.seed)
    except KeyError as exc:
        if exc.args and exc.args[0] not in raw_cfg:
            raise missing_block_error(exc.args[0], raw_cfg, _config_source(spec)) from None
        raise
    check_blocks(tracked, _config_source(spec))
    return method


def _recorded(spec: RunSpec, raw_cfg: dict) -> dict[str, Any]:
    """What must not change silently between a run's start and its resume."""
    return {"backend": spec.backend, "config": raw_cfg}


def _start_fresh(out: Path, ckpt_dir: Path, prog: CsvLog, evals: CsvLog) -> None:
    """A run without last.pt starts from step 0: earlier rows and outputs of this directory would otherwise
    be kept beside the new ones (progress read 200,400,200,400 after a kill before the first checkpoint)."""
    prog.reset()
    evals.reset()
    for p in [out / "summary.json", ckpt_dir / "final.pt", *ckpt_dir.glob("step_*.pt")]:
        p.unlink(missing_ok=True)


def train(spec: RunSpec, progress: bool = True, stop_after_iterations: int | None = None,
          allow_config_change: bool = False) -> dict[str, Any]:
    """Run (or resume) one training run; returns the final summary written to summary.json."""
    if spec.steps <= 0:
        raise ValueError(f"steps must be positive, got {spec.steps}")
    raw_cfg = load_method_config(spec.method, spec.map_name, spec.config_path)
    if not isinstance(raw_cfg.get("runner"), dict):
        raise missing_block_error("runner", raw_cfg, _config_source(spec))
    runner = from_dict(RunnerConfig, raw_cfg["runner"], "runner")
    device = _device(spec.device)
    out = Path(spec.out)
    with RunLock(out):
        return _train_locked(spec, raw_cfg, runner, device, out, progress, stop_after_iterations,
                             allow_config_change)


def _train_locked(spec: RunSpec, raw_cfg: dict, runner: RunnerConfig, device: torch.device, out: Path,
                  progress: bool, stop_after_iterations: int | None, allow_config_change: bool) -> dict[str, Any]:
    torch.set_num_threads(runner.torch_threads)
    ckpt_dir = out / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    remove_stray_temp_files(out, ckpt_dir)  # left by a writer killed mid-write; we hold the lock

    env = make_vec_env(spec.map_name, runner.n_envs, backend=spec.backend, seed=spec.seed)
    env_info = dict(env.env_info)
    method = _build(spec, raw_cfg, env_info, device)
    rng = np.random.default_rng(spec.seed)
    torch.manual_seed(spec.seed)

    prog = CsvLog(out / "progress.csv", ["step", "episodes", "iteration", "train_win_rate", "train_return",
                                         "wall_s"] + list(method.metric_names))
    evals = CsvLog(out / "eval.csv", ["step", "win_rate", "mean_return", "std_return", "mean_length", "episodes"])
    # progress_rows/eval_rows: rows each log holds when a checkpoint is written; a resume keeps exactly those
    state = {"step": 0, "episodes": 0, "iteration": 0, "next_eval": 0, "next_snapshot": runner.snapshot_every,
             "next_checkpoint": runner.checkpoint_every, "wall_s": 0.0, "progress_rows": 0, "eval_rows": 0,
             "recent": []}  # (won, return) of the last 100 training episodes
    last = ckpt_dir / "last.pt"
    run_record = {"method": spec.method, "map": spec.map_name, "seed": spec.seed, "steps": spec.steps,
                  "backend": spec.backend, "config": raw_cfg, "env_info": env_info}
    resumed = last.exists()
    if resumed:
        ck = _load_checkpoint(last, spec)
        _check_drift(ck, spec, raw_cfg, out, run_record, allow_config_change)
        collector = _restore(ck, method, state, rng)
        del ck  # the replay buffers now live in the method; do not keep a second copy alive
        if state["progress_rows"] is not None:
            prog.keep_first(state["progress_rows"])
            evals.keep_first(state["eval_rows"])
        else:  # a checkpoint of an older version: rows are dropped by step
            prog.truncate_after(state["step"])
            evals.truncate_after(state["step"] - 1 if state["next_eval"] <= state["step"] else state["step"])
            state["progress_rows"], state["eval_rows"] = len(prog.rows()), len(evals.rows())
    else:
        _start_fresh(out, ckpt_dir, prog, evals)
        collector = Collector(env, method)
        atomic_write_json(out / "config.json", {**run_record, "history": []})

    tb = None
    if runner.tensorboard:  # the same columns as the CSVs; a resume hides later events and re-logs the kept rows
        tb = TensorBoardLog(out / "tensorboard", state["step"] if resumed else None)
        if resumed:
            tb.replay({"progress": prog.rows(), "eval": evals.rows()}, state["step"])

    def log(csv_log: CsvLog, name: str, row: dict[str, Any]) -> None:
        """One row of `name` (progress|eval) to its CSV, counted for the next checkpoint, and to TensorBoard."""
        csv_log.append(row)
        state[f"{name}_rows"] += 1
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
            metrics = _checked_update(method, rng, state["step"], last)
        state["iteration"] += 1
        state["wall_s"] = time.perf_counter() - t_start
        log(prog, "progress", {
            "step": state["step"], "episodes": state["episodes"], "iteration": state["iteration"],
            "train_win_rate": float(np.mean([w for w, _ in recent])) if recent else float("nan"),
            "train_return": float(np.mean([r for _, r in recent])) if recent else float("nan"),
            "wall_s": state["wall_s"], **metrics})
        bar.update(steps)
        if state["step"] >= state["next_snapshot"]:
            atomic_torch_save({"step": state["step"], "method": method.snapshot()},
                              ckpt_dir / f"step_{state['step']:08d}.pt")
            state["next_snapshot"] += runner.snapshot_every
        if state["step"] >= state["next_checkpoint"] or state["step"] >= spec.steps:
            state["next_checkpoint"] += runner.checkpoint_every
            _save(last, spec, raw_cfg, method, collector, state, rng)
        iterations += 1
        if stop_after_iterations is not None and iterations >= stop_after_iterations:
            bar.close()
            if tb is not None:
                tb.close()
            return {"stopped_early": True, "step": state["step"]}
    bar.close()
    # the final evaluation comes after the last checkpoint: a kill here redoes it from there (eval_rows)
    final = evaluate()
    if state["eval_rows"] == 0 or float(evals.rows()[-1]["step"]) < state["step"]:
        log(evals, "eval", {"step": state["step"], **final})
    if tb is not None:
        tb.close()
    atomic_torch_save({"step": state["step"], "method": method.snapshot()}, ckpt_dir / "final.pt")
    summary = {"method": spec.method, "map": spec.map_name, "seed": spec.seed, "steps": state["step"],
               "episodes": state["episodes"], "wall_s": state["wall_s"], "final_eval": final}
    atomic_write_json(out / "summary.json", summary)
    return summary


def _checked_update(method, rng: np.random.Generator, step: int, last: Path) -> dict[str, float]:
    """method.update with the finite checks of gawm.guards: stop before a diverged iteration is logged or
    checkpointed (the last good last.pt stays as it is)."""
    keep = f"; {last} (the last good checkpoint) is untouched" if last.exists() else ""
    advice = "lower the learning rates or tighten gradient clipping, then re-run to resume"
    try:
        metrics = method.update(rng)
    except (ValueError, RuntimeError) as exc:  # e.g. sampling from inf/NaN probabilities inside the update
        bad = first_nonfinite_tensor(method.snapshot())
        first = (str(exc).strip().splitlines() or [""])[0]
        if bad is not None:
            raise NonFiniteError(f"parameter {bad} became non-finite during the update at step {step}{keep}; "
                                 f"{advice}") from exc
        if re.search(r"\b(nan|inf)\b", first, re.I):  # finite but huge weights overflowed in a forward pass
            raise NonFiniteError(f"non-finite values inside the update at step {step} ({exc.__class__.__name__}: "
                                 f"{first}){keep}; {advice}") from exc
        raise
    bad_metrics = nonfinite_metrics(metrics)
    if bad_metrics:
        k = bad_metrics[0]
        raise NonFiniteError(f"non-finite {k} = {metrics[k]} at step {step}{keep}; {advice}")
    bad = first_nonfinite_tensor(method.snapshot())
    if bad is not None:
        raise NonFiniteError(f"parameter {bad} became non-finite at step {step} (losses were finite: "
                             f"{', '.join(f'{k}={v:.3g}' for k, v in list(metrics.items())[:3])}){keep}; {advice}")
    return metrics


def _save(path: Path, spec: RunSpec, raw_cfg: dict, method, collector: Collector, state: dict,
          rng: np.random.Generator) -> None:
    atomic_torch_save({
        "version": CHECKPOINT_VERSION,
        "run": {"method": spec.method, "map": spec.map_name, "seed": spec.seed},
        "recorded": _recorded(spec, raw_cfg),
        "state": dict(state),
        "method": arrays_to_tensors(method.state_dict()),  # streamed to disk, numpy arrays included
        "collector": pickle.dumps(collector),
        "numpy_rng": rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
    }, path)


def _load_checkpoint(path: Path, spec: RunSpec) -> dict:
    try:
        # mmap: the buffers are read page by page from the file while they are copied into place, not
        # loaded whole first (a resume would otherwise hold them twice)
        ck = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except Exception as exc:  # a truncated or foreign file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ValueError(f"cannot resume: checkpoint {path} is unreadable ({exc.__class__.__name__}: {first}); "
                         f"delete it to start the run again") from None
    if not isinstance(ck, dict) or ck.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"cannot resume: {path} is not a version-{CHECKPOINT_VERSION} checkpoint of this harness")
    run = ck["run"]
    if (run["method"], run["map"], run["seed"]) != (spec.method, spec.map_name, spec.seed):
        raise ValueError(f"cannot resume: {path} belongs to {run}, not to "
                         f"{{'method': {spec.method!r}, 'map': {spec.map_name!r}, 'seed': {spec.seed}}}")
    return ck


def _check_drift(ck: dict, spec: RunSpec, raw_cfg: dict, out: Path, run_record: dict,
                 allow: bool) -> None:
    """Refuse a resume whose config differs from the checkpoint's (or config.json's, for older checkpoints);
    with `allow`, record the change in config.json's history. A new --steps is always recorded."""
    cfg_path = out / "config.json"
    try:
        saved = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
    except json.JSONDecodeError:
        saved = {}
    recorded = ck.get("recorded") or {"backend": saved.get("backend", spec.backend),
                                      "config": saved.get("config", raw_cfg)}
    # as the run is read back (keys added since it was saved take the values it trained with), so a run saved
    # before a key existed is not refused for `<absent> -> value`
    then = upgrade_saved_run_config(copy.deepcopy(recorded["config"]), spec.method)
    changes = config_changes(then, raw_cfg)  # keys as in the YAML: "policy.lr_actor"
    if recorded.get("backend", spec.backend) != spec.backend:
        changes["backend"] = [recorded["backend"], spec.backend]
    if changes and not allow:
        raise ValueError(f"cannot resume {out}: the config differs from the run's ({describe(changes)}); "
                         f"re-run with the run's config, pass --allow-config-change to record the change in "
                         f"config.json, or choose another --out")
    history = list(saved.get("history", []))
    step = int(ck["state"]["step"])
    if saved.get("steps") not in (None, spec.steps):
        changes = {**changes, "steps": [saved.get("steps"), spec.steps]}
    if changes:
        entry = history_entry(step, changes)
        last = history[-1] if history else {}
        if (last.get("at_step"), last.get("changed")) != (entry["at_step"], entry["changed"]):
            history.append(entry)
    if changes or not cfg_path.exists():
        atomic_write_json(cfg_path, {**run_record, "history": history})


def _restore(ck: dict, method, state: dict, rng: np.random.Generator) -> Collector:
    method.load_state_dict(tensors_to_arrays(ck["method"]))
    for k in ("progress_rows", "eval_rows"):  # absent in older checkpoints: marks "count by step"
        state[k] = None
    state.update(ck["state"])
    rng.bit_generator.state = ck["numpy_rng"]
    torch.set_rng_state(ck["torch_rng"])
    return pickle.loads(ck["collector"])
