"""Where a run's numbers came from: one record per `gawm train` session in `<run>/provenance.json`.

A result we publish must say which code, command, machine and simulator produced it, how long it took and
how much memory it needed (README and RESULTS.md quote these). A run can span several sessions (it is
resumed after a kill), so the file holds a list: each session appends its record when it starts and
completes it when it ends. A session without an `ended` field was killed; its wall time is then unknown,
and the run's total says so instead of guessing.

Peak RSS is the kernel's high-water mark of this process (`getrusage(RUSAGE_SELF).ru_maxrss`, the same
figure `/usr/bin/time -v` reports as "Maximum resident set size" for a single-process job).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gawm.io import atomic_write_json

PROVENANCE_FILE = "provenance.json"
REPO_ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def code_version() -> dict[str, Any]:
    """The commit of this checkout and whether tracked files differ from it (a dirty tree is recorded)."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit or "unknown (not a git checkout)",
            "dirty": None if status is None else bool(status)}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """What the numbers depend on: host, CPU, core count, memory, and the library versions."""
    import numpy
    import torch

    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        mem_gb = None
    return {"host": platform.node(), "cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gb": mem_gb,
            "python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def simulator_version(backend: str) -> str:
    """`sim-v<N>` for the embedded simulator (results are comparable only within one version), or `sc2`."""
    if backend != "sim":
        return backend
    import gawm.envs

    return f"sim-v{getattr(gawm.envs, 'SIMULATOR_VERSION', 1)}"


def check_simulator(run: Path, backend: str, allow_other: bool = False) -> dict[str, Any]:
    """The simulator this code would measure `run` on, against the one(s) its training sessions recorded:
    {"simulator": "sim-v3", "trained_on": ["sim-v2"]}.

    Why: a win rate or a GCI/GPE measured on another simulator version than the one the policy and world model
    were trained on is a result about another game, and nothing downstream could tell. So `gawm evaluate`
    and `gawm analyze` refuse it (ValueError) unless `allow_other` (their --other-simulator) says it is meant.
    A run without provenance (trained before it was recorded) cannot be checked and passes."""
    here = simulator_version(backend)
    sessions = read_provenance(run)
    trained = sorted({s.get("simulator") for s in sessions} - {None})
    if trained and here not in trained and not allow_other:
        commits = sorted({s.get("commit", "?")[:10] for s in sessions})
        raise ValueError(f"{run} was trained on {', '.join(trained)} (commit {', '.join(commits)}) but this code "
                         f"simulates {here}: measure it with the code that trained it (git worktree add DIR "
                         f"<commit>), or pass --other-simulator to measure it on {here} on purpose")
    return {"simulator": here, "trained_on": trained}


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def read_provenance(run: Path) -> list[dict[str, Any]]:
    path = Path(run) / PROVENANCE_FILE
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); delete it or restore it from the archive") from exc
    if not isinstance(data, dict) or not isinstance(data.get("sessions"), list):
        raise ValueError(f"{path} has no 'sessions' list")
    return data["sessions"]


def _write(run: Path, sessions: list[dict[str, Any]]) -> None:
    atomic_write_json(Path(run) / PROVENANCE_FILE, {"sessions": sessions})


@contextmanager
def record_session(run: Path, backend: str, device: str, argv: list[str] | None = None) -> Iterator[dict]:
    """Append this session's record to `<run>/provenance.json` now and complete it when the block ends.

    The record is written before training starts, so a killed session still leaves its command, commit
    and start time behind (without `ended`)."""
    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    argv = sys.argv if argv is None else argv
    rec: dict[str, Any] = {
        "command": shlex.join([Path(argv[0]).name, *argv[1:]]) if argv else "",
        **code_version(), "machine": machine(), "simulator": simulator_version(backend), "device": device,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    sessions = read_provenance(run) + [rec]
    index = len(sessions) - 1
    _write(run, sessions)
    t0 = time.perf_counter()
    outcome = "error"
    try:
        yield rec
        outcome = "finished"
    except KeyboardInterrupt:
        outcome = "interrupted"
        raise
    except BaseException as exc:  # the record says how the session ended, then the error propagates
        outcome = f"error: {type(exc).__name__}: {exc}".splitlines()[0][:300]
        raise
    finally:
        import torch

        rec.update(ended=datetime.now(timezone.utc).isoformat(timespec="seconds"), outcome=outcome,
                   wall_s=round(time.perf_counter() - t0, 1), peak_rss_mb=round(peak_rss_mb(), 1),
                   torch_threads=torch.get_num_threads())
        sessions = read_provenance(run)
        if index < len(sessions):
            sessions[index] = rec
        else:  # the file was replaced meanwhile (a fresh start): keep our record anyway
            sessions.append(rec)
        try:
            _write(run, sessions)
        except OSError:
            pass  # a full or read-only disk must not hide the training error being raised


def summarise(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over a run's sessions: wall time (None if a session was killed), max peak RSS, commits."""
    walls = [s.get("wall_s") for s in sessions]
    rss = [s["peak_rss_mb"] for s in sessions if s.get("peak_rss_mb") is not None]
    return {"sessions": len(sessions),
            "wall_s": sum(walls) if walls and all(w is not None for w in walls) else None,
            "killed_sessions": sum(1 for s in sessions if "ended" not in s),
            "peak_rss_mb": max(rss) if rss else None,
            "commits": sorted({s.get("commit", "unknown") for s in sessions}),
            "dirty": any(bool(s.get("dirty")) for s in sessions),
            "simulators": sorted({s.get("simulator", "unknown") for s in sessions}),
            "commands": [s.get("command", "") for s in sessions]}
