"""Run safety (issue 14): the run lock, config drift, the finite guard, file permissions, stray temp files,
and one line on stderr with exit code 2 for every bad input a new user hits."""

from __future__ import annotations

import csv
import errno
import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch
import yaml

from gawm.cli import main as cli_main
from gawm.config import load_yaml
from gawm.guards import first_nonfinite_tensor
from gawm.runlock import RunLock
from gawm.train import RunSpec, train
from tests.conftest import write_smoke_config

# standalone smoke configs whose text the tests edit (the smoke overlay resolved on each method's YAML)
_CONFIGS = Path(tempfile.mkdtemp(prefix="gawm-smoke-configs-"))
MAPPO = write_smoke_config(_CONFIGS, "mappo")
GAWM = write_smoke_config(_CONFIGS, "gawm")


def _train_args(out: Path, cfg: Path = MAPPO, method: str = "mappo", steps: int = 400, *extra: str) -> list[str]:
    return ["train", "--method", method, "--map", "3s_vs_3z", "--seed", "1", "--steps", str(steps), "--out",
            str(out), "--config", str(cfg), "--no-progress", "--device", "cpu", *extra]


def _one_line_error(capsys, rc: int, want_rc: int = 2) -> str:
    err = capsys.readouterr().err
    assert rc == want_rc, err
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    return err


def _edited(tmp_path: Path, src: Path, old: str, new: str, name: str = "cfg.yaml") -> Path:
    text = src.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return path


# ------------------------------------------------------------------------------------------------ lock
def test_a_second_run_on_one_directory_is_refused_naming_the_holder(tmp_path, capsys):
    out = tmp_path / "run"
    with RunLock(out):  # a live holder: this process
        rc = cli_main(_train_args(out))
        err = _one_line_error(capsys, rc)
    assert f"PID {os.getpid()}" in err and "in use" in err
    assert not (out / "progress.csv").exists()  # the refused run wrote nothing


def test_a_stale_lock_of_a_killed_run_is_taken_over(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.lock").write_text("PID 4242 on deadhost since 2026-01-01T00:00:00Z\n")  # holder gone: no flock
    assert train(RunSpec("mappo", "3s_vs_3z", 1, 400, out, device="cpu", config_path=MAPPO), progress=False)
    assert (out / "summary.json").exists()
    assert (out / "run.lock").read_text() == ""  # released on exit


def test_two_processes_on_one_directory(tmp_path):
    """Real concurrency: the second `gawm train` exits 2 with one line while the first one runs."""
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    cmd = [sys.executable, "-m", "gawm.cli", *_train_args(out, steps=4000)]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):  # wait until the first holds the lock
            if (out / "run.lock").exists() and (out / "run.lock").read_text():
                break
            first.poll()
            assert first.returncode is None
            import time
            time.sleep(0.05)
        second = subprocess.run(cmd, env=env, capture_output=True, text=True)
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1 and f"PID {first.pid}" in second.stderr
    finally:
        first.kill()
        first.wait()


# ----------------------------------------------------------------------------------------- config drift
def test_config_drift_is_refused_then_recorded(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(RunSpec("mappo", "3s_vs_3z", 1, 800, out, device="cpu", config_path=MAPPO), progress=False,
                 stop_after_iterations=1)["stopped_early"]
    changed = _edited(tmp_path, MAPPO, "lr_actor: 0.0005", "lr_actor: 1e-3")
    rc = cli_main(_train_args(out, changed, steps=800))
    err = _one_line_error(capsys, rc)
    assert "policy.lr_actor: 0.0005 -> 0.001" in err and "--allow-config-change" in err
    assert cli_main(_train_args(out, changed, "mappo", 800, "--allow-config-change")) == 0
    rec = json.loads((out / "config.json").read_text())
    assert rec["config"]["policy"]["lr_actor"] == 0.001
    assert [h["changed"] for h in rec["history"]] == [{"policy.lr_actor": [0.0005, 0.001]}]
    assert rec["history"][0]["at_step"] == 200


def test_unchanged_resume_needs_no_flag(tmp_path):
    out = tmp_path / "run"
    spec = RunSpec("mappo", "3s_vs_3z", 1, 400, out, device="cpu", config_path=MAPPO)
    train(spec, progress=False, stop_after_iterations=1)
    assert train(spec, progress=False)["steps"] == 400
    assert json.loads((out / "config.json").read_text())["history"] == []


def test_a_run_saved_before_a_config_key_existed_resumes_without_a_flag(tmp_path):
    """Keys added since a run was saved (here imagination.actor_input, world_model.team_heads, policy.actor_rnn)
    are read as the values it trained with, by the resume's drift check as by everything that reads the run,
    so its resume is not refused for `<absent> -> value`; a real change is still refused."""
    out = tmp_path / "run"
    spec = RunSpec("gawm", "3s_vs_3z", 1, 800, out, device="cpu", config_path=GAWM)
    assert train(spec, progress=False, stop_after_iterations=1)["stopped_early"]

    def strip(cfg: dict) -> None:
        del cfg["imagination"]["actor_input"], cfg["world_model"]["team_heads"], cfg["policy"]["actor_rnn"]

    rec = json.loads((out / "config.json").read_text())
    strip(rec["config"])
    (out / "config.json").write_text(json.dumps(rec))
    last = out / "checkpoints" / "last.pt"
    ck = torch.load(last, weights_only=False)
    strip(ck["recorded"]["config"])
    torch.save(ck, last)
    assert train(spec, progress=False)["steps"] == 800
    assert json.loads((out / "config.json").read_text())["history"] == []
    changed = _edited(tmp_path, GAWM, "actor_input: obs", "actor_input: features")
    with pytest.raises(ValueError, match="imagination.actor_input: 'obs' -> 'features'"):
        train(RunSpec("gawm", "3s_vs_3z", 1, 1000, out, device="cpu", config_path=changed), progress=False)


# ---------------------------------------------------------------------------------------- finite guard
def test_an_absurd_learning_rate_stops_with_one_line_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    cfg = _edited(tmp_path, GAWM, "  lr: 0.0003", "  lr: 1e6")
    rc = cli_main(_train_args(out, cfg, "gawm", 1500))
    err = _one_line_error(capsys, rc, want_rc=3)
    assert "at step 200" in err and "last good checkpoint" in err
    ck = torch.load(out / "checkpoints" / "last.pt", weights_only=False)
    assert ck["state"]["step"] == 100 and first_nonfinite_tensor(ck["method"]) is None
    steps = [r.split(",")[0] for r in (out / "progress.csv").read_text().splitlines()[1:]]
    assert steps == ["100"]  # the diverged iteration was not logged


def test_a_nan_loss_names_the_loss_and_step(tmp_path, capsys, monkeypatch):
    import baselines.mappo.method as mm

    real = mm.MAPPOMethod.update
    calls = {"n": 0}

    def update(self, rng):
        calls["n"] += 1
        m = real(self, rng)
        return {**m, "value_loss": float("nan")} if calls["n"] == 3 else m
    monkeypatch.setattr(mm.MAPPOMethod, "update", update)
    out = tmp_path / "run"
    rc = cli_main(_train_args(out, steps=1000))
    err = _one_line_error(capsys, rc, want_rc=3)
    assert "non-finite value_loss = nan at step 600" in err
    before = (out / "checkpoints" / "last.pt").read_bytes()
    assert torch.load(out / "checkpoints" / "last.pt", weights_only=False)["state"]["step"] == 400
    rows = list(csv.DictReader((out / "progress.csv").open()))
    assert [r["step"] for r in rows] == ["200", "400"]  # the diverged iteration (step 600) was not logged
    monkeypatch.setattr(mm.MAPPOMethod, "update", real)  # the cause fixed, a re-run resumes from step 400
    assert cli_main(_train_args(out, steps=1000)) == 0
    assert before != (out / "checkpoints" / "last.pt").read_bytes()


# ------------------------------------------------------------------------------ permissions, temp files
def test_files_follow_the_umask_and_stray_temp_files_go(tmp_path):
    out = tmp_path / "run"
    strays = [out / "checkpoints" / ".last.pt.abc123.tmp", out / ".progress.csv.xyz.tmp"]
    old = os.umask(0o027)
    try:
        (out / "checkpoints").mkdir(parents=True)  # as a killed run would have left it
        for p in strays:
            p.write_bytes(b"half a file")
        train(RunSpec("mappo", "3s_vs_3z", 1, 400, out, device="cpu", config_path=MAPPO), progress=False)
    finally:
        os.umask(old)
    assert not any(p.exists() for p in strays)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"config.json", "progress.csv", "eval.csv", "summary.json", "last.pt",
                                      "final.pt", "step_00000400.pt", "run.lock"}
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o640, p
    for d in (out, out / "checkpoints"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o750


# ------------------------------------------------------------------------------------------ bad input
def test_misspelt_top_level_block(tmp_path, capsys):
    cfg = _edited(tmp_path, GAWM, "world_model:", "wolrd_model:")
    err = _one_line_error(capsys, cli_main(_train_args(tmp_path / "r", cfg, "gawm")))
    # the --config file is an overlay on the method's YAML: a block the method lacks is named with the known ones
    assert str(cfg) in err and "unknown top-level block(s) 'wolrd_model' (did you mean 'world_model'?)" in err


def test_unknown_extra_block(tmp_path, capsys):
    cfg = tmp_path / "extra.yaml"
    cfg.write_text(MAPPO.read_text() + "polciy:\n  gamma: 0.9\n")
    err = _one_line_error(capsys, cli_main(_train_args(tmp_path / "r", cfg)))
    assert "unknown top-level block(s) 'polciy' (did you mean 'policy'?)" in err


def test_yaml_syntax_error_names_file_and_line(tmp_path, capsys):
    cfg = _edited(tmp_path, MAPPO, "  gamma: 0.99", "  gamma: [0.99")
    line = 1 + cfg.read_text().splitlines().index("  gamma: [0.99")
    err = _one_line_error(capsys, cli_main(_train_args(tmp_path / "r", cfg)))
    assert f"{cfg}:" in err and "YAML syntax error" in err
    assert int(err.split(f"{cfg}:")[1].split(":")[0]) >= line


def test_exponent_floats_are_numbers(tmp_path):
    cfg = _edited(tmp_path, MAPPO, "lr_actor: 0.0005", "lr_actor: 5e-4")
    assert load_yaml(cfg)["policy"]["lr_actor"] == pytest.approx(5e-4)
    assert train(RunSpec("mappo", "3s_vs_3z", 1, 200, tmp_path / "r", device="cpu", config_path=cfg),
                 progress=False)["steps"] == 200


@pytest.mark.parametrize("device,needle", [("tpu", "unknown device"), ("cuda", "CUDA is not available"),
                                           ("cuda:7", "")])
def test_unusable_devices(tmp_path, capsys, device, needle):
    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.device_count() > 7:
        pytest.skip("this machine has the GPU")
    args = _train_args(tmp_path / "r")
    args[args.index("cpu")] = device
    err = _one_line_error(capsys, cli_main(args))
    assert f"--device {device}" in err and needle in err


@pytest.mark.parametrize("err_no", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_a_full_or_read_only_disk_is_one_line_and_loses_nothing(tmp_path, capsys, monkeypatch, err_no):
    """The 4th atomic write (after config.json, eval.csv's first rows and a checkpoint) fails like a full
    disk, a read-only mount or a permission change would; last.pt from before stays loadable."""
    import gawm.io as gio

    out = tmp_path / "run"
    assert train(RunSpec("mappo", "3s_vs_3z", 1, 800, out, device="cpu", config_path=MAPPO), progress=False,
                 stop_after_iterations=2)["stopped_early"]
    before = (out / "checkpoints" / "last.pt").read_bytes()
    real_fsync = gio.os.fsync

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").split("/")[-1].startswith(".last.pt."):
            raise OSError(err_no, os.strerror(err_no))
        real_fsync(fd)
    monkeypatch.setattr(gio.os, "fsync", fsync)
    err = _one_line_error(capsys, cli_main(_train_args(out, steps=800)))
    assert str(out / "checkpoints" / "last.pt") in err and os.strerror(err_no) in err
    assert (out / "checkpoints" / "last.pt").read_bytes() == before
    assert not list((out / "checkpoints").glob(".*.tmp"))
    monkeypatch.setattr(gio.os, "fsync", real_fsync)
    assert cli_main(_train_args(out, steps=800)) == 0


def test_a_non_numeric_evaluation_is_one_line(tmp_path, capsys):
    run = tmp_path / "res" / "runs" / "gawm" / "3s_vs_3z" / "1"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"method": "gawm"}))
    (run / "evaluation.json").write_text(json.dumps({"win_rate": "0.8", "episodes": 100, "step": 50000}))
    published = Path(__file__).parent.parent / "results" / "published"
    err = _one_line_error(capsys, cli_main(["table", "--results", str(tmp_path / "res"), "--published",
                                            str(published), "--out", str(tmp_path / "t")]))
    assert "evaluation.json: 'win_rate' is '0.8', not a number" in err


def test_config_error_has_no_traceback_in_a_real_process(tmp_path):
    """The CLI as a user runs it: stderr is one line and rc is 2 (no warnings, no traceback)."""
    cfg = _edited(tmp_path, GAWM, "world_model:", "wolrd_model:")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    res = subprocess.run([sys.executable, "-m", "gawm.cli", *_train_args(tmp_path / "r", cfg, "gawm")], env=env,
                         capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert yaml.safe_load(cfg.read_text())  # the file itself is valid YAML: only the block name is wrong
