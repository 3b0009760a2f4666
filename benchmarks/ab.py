"""Before/after measurements in one run: an old commit checked out beside the working tree, and a worker
script run in a fresh interpreter whose `gawm` package comes from one tree or the other.

Used by benchmarks/train_speed.py and benchmarks/checkpoint_size.py, which alternate the two trees so
both see the same machine load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "RESULT "


def checkout(ref: str, where: Path) -> Path:
    """`ref` as a detached git worktree under `where`; remove it with `remove_checkout`."""
    tree = where / "before"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref], check=True,
                   capture_output=True)
    return tree


def remove_checkout(tree: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)


def head_commit() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()


def run_in_tree(tree: Path, script: Path, job: dict[str, Any]) -> dict[str, Any]:
    """`script --worker JOB` in a fresh interpreter importing `gawm` from `tree` (one torch thread); returns
    the JSON the worker printed after RESULT_PREFIX."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(Path(script).resolve()), "--worker", json.dumps(job)],
                          cwd=tree, env=env, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"measurement {job} in {tree} failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len(RESULT_PREFIX):])


def report(result: dict[str, Any]) -> None:
    """The worker's side of `run_in_tree`."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)
