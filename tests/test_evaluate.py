"""gawm evaluate: N test episodes of a checkpoint, the JSON contract, determinism, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gawm.cli import main
from gawm.evaluate import evaluate_checkpoint
CONTRACT = {"method", "map", "seed", "checkpoint", "step", "episodes", "win_rate", "mean_return", "std_return",
            "mean_length", "wall_s"}


# every test here evaluates a trained run
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tiny_run) -> dict[str, Path]:
    """A tiny GAWM run (world model + actor in its checkpoints) and a tiny MAPPO run, 400 real steps each."""
    return {m: tiny_run(m, 400) for m in ("gawm", "mappo")}


def _without_time(res: dict) -> dict:
    return {k: v for k, v in res.items() if k != "wall_s"}


def test_cli_writes_the_contract_json_with_the_episode_count(runs, capsys):
    run = runs["gawm"]
    assert main(["evaluate", "--run", str(run), "--episodes", "13", "--envs", "4", "--seed", "3",
                 "--no-progress"]) == 0
    res = json.loads((run / "evaluation.json").read_text())  # the default output path
    assert CONTRACT <= set(res)
    assert res["episodes"] == 13 and res["n_envs"] == 4 and res["test_seed"] == 3
    assert (res["method"], res["map"], res["seed"], res["step"]) == ("gawm", "3s_vs_3z", 1, 400)
    assert res["checkpoint"].endswith("checkpoints/final.pt") and res["greedy"] is True
    assert 0.0 <= res["win_rate"] <= 1.0 and 0 < res["mean_length"] <= 150 and res["std_return"] >= 0.0
    assert json.loads(capsys.readouterr().out) == res


def test_deterministic_for_a_seed_greedy_and_sampled(runs):
    run = runs["mappo"]
    a = evaluate_checkpoint(run, episodes=20, seed=7, n_envs=8)
    b = evaluate_checkpoint(run, episodes=20, seed=7, n_envs=8)
    assert _without_time(a) == _without_time(b)
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    s1 = evaluate_checkpoint(run, episodes=20, seed=7, n_envs=8, deterministic=False)
    assert torch.rand(1) == before  # sampling used its own generator, not the caller's
    s2 = evaluate_checkpoint(run, episodes=20, seed=7, n_envs=8, deterministic=False)
    assert _without_time(s1) == _without_time(s2) and s1["greedy"] is False


def test_a_given_snapshot_is_evaluated(runs, tmp_path):
    run = runs["gawm"]
    snap = sorted((run / "checkpoints").glob("step_*.pt"))[0]
    out = tmp_path / "snap.json"
    assert main(["evaluate", "--run", str(run), "--checkpoint", str(snap), "--episodes", "4", "--out", str(out),
                 "--no-progress"]) == 0
    res = json.loads(out.read_text())
    assert res["step"] == int(snap.stem.split("_")[1]) and res["checkpoint"] == str(snap)


def _one_error_line(capsys, *needles: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gawm evaluate: error:"), err
    for n in needles:
        assert n in err[0], err[0]


def test_bad_input_is_one_line(runs, tmp_path, capsys):
    run = runs["gawm"]
    assert main(["evaluate", "--run", str(run), "--checkpoint", str(tmp_path / "nope.pt")]) == 2
    _one_error_line(capsys, "nope.pt", "does not exist")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["evaluate", "--run", str(run), "--checkpoint", str(bad)]) == 2
    _one_error_line(capsys, "bad.pt", "unreadable")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((run / "checkpoints" / "final.pt").read_bytes()[:2000])
    assert main(["evaluate", "--run", str(run), "--checkpoint", str(truncated)]) == 2
    _one_error_line(capsys, "truncated.pt", "unreadable")
    other = runs["mappo"] / "checkpoints" / "final.pt"  # another method's networks
    assert main(["evaluate", "--run", str(run), "--checkpoint", str(other)]) == 2
    _one_error_line(capsys, "does not fit the gawm networks")
    assert main(["evaluate", "--run", str(tmp_path)]) == 2
    _one_error_line(capsys, "no config.json")
    (tmp_path / "config.json").write_text("{not json")
    assert main(["evaluate", "--run", str(tmp_path)]) == 2
    _one_error_line(capsys, "config.json", "not valid JSON")
    (tmp_path / "config.json").write_text(json.dumps({"method": "gawm", "map": "8m"}))
    assert main(["evaluate", "--run", str(tmp_path)]) == 2
    _one_error_line(capsys, "lacks seed, config, env_info")
    assert main(["evaluate", "--run", str(run), "--episodes", "0"]) == 2
    _one_error_line(capsys, "episodes must be >= 1")
    assert main(["evaluate", "--run", str(run), "--envs", "0"]) == 2
    _one_error_line(capsys, "n_envs")
