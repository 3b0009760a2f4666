"""The shared runner: logs, snapshots, resume after kill -9 without duplicated or lost steps, bad input."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gawm.cli import main as cli_main

from tests.conftest import SMOKE


def _train_cmd(out: Path, steps: int, method: str = "mappo") -> list[str]:
    return [sys.executable, "-m", "gawm.cli", "train", "--method", method, "--map", "3s_vs_3z", "--seed", "3",
            "--steps", str(steps), "--out", str(out), "--config", str(SMOKE), "--no-progress",
            "--device", "cpu"]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
@pytest.mark.parametrize("method,steps", [("mappo", 2000), ("gawm", 1200), ("qmix", 2400), ("mamba", 1200),
                                          ("mag", 1200)])
def test_kill_and_resume_gives_the_uninterrupted_logs(tmp_path, method, steps):
    ref, run = tmp_path / "ref", tmp_path / "run"
    subprocess.run(_train_cmd(ref, steps, method), check=True, capture_output=True)

    proc = subprocess.Popen(_train_cmd(run, steps, method), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait for a checkpoint and a few more iterations, then kill -9
        if (run / "progress.csv").exists() and len(_rows(run / "progress.csv")) >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "summary.json").exists(), "the run finished before it could be killed"
    subprocess.run(_train_cmd(run, steps, method), check=True, capture_output=True)

    got, want = _rows(run / "progress.csv"), _rows(ref / "progress.csv")
    steps_logged = [int(r["step"]) for r in got]
    assert steps_logged == sorted(set(steps_logged)), "duplicated or out-of-order steps"
    assert steps_logged == [int(r["step"]) for r in want], "lost steps"
    drop = {"wall_s"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in got] == \
           [{k: v for k, v in r.items() if k not in drop} for r in want], "resumed run diverged"
    assert _rows(run / "eval.csv") == _rows(ref / "eval.csv")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == steps
    snaps = sorted(p.name for p in (run / "checkpoints").glob("step_*.pt"))
    assert len(snaps) == steps // 400


def test_bad_input_is_one_clear_error(tmp_path, capsys):
    assert cli_main(["train", "--method", "nope", "--map", "8m", "--seed", "0", "--steps", "10",
                     "--out", str(tmp_path / "a")]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMOKE.read_text().replace("  ppo_epochs: 2\n", "  ppo_epochs: 2\n  gama: 0.99\n", 1))
    assert cli_main(["train", "--method", "mappo", "--map", "8m", "--seed", "0", "--steps", "10",
                     "--out", str(tmp_path / "b"), "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'policy.gama'" in err
    out = tmp_path / "c"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    assert cli_main(["train", "--method", "mappo", "--map", "8m", "--seed", "0", "--steps", "10",
                     "--out", str(out), "--config", str(SMOKE), "--no-progress"]) == 2
    assert "unreadable" in capsys.readouterr().err
