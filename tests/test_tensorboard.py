"""runner.tensorboard: event files with the same scalars as progress.csv and eval.csv, also across a resume."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import pytest
import yaml

from gawm.config import ConfigError
from gawm.tb_log import TensorBoardLog
from gawm.train import RunSpec, train

SMOKE_MAPPO = Path(__file__).parent.parent / "config" / "smoke" / "methods.yaml"  # the smoke overlay


def _config(tmp_path: Path, **runner) -> Path:
    cfg = yaml.safe_load(SMOKE_MAPPO.read_text())
    cfg["runner"].update(tensorboard=True, **runner)
    path = tmp_path / "mappo_tb.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def _scalars(logdir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _expected(rows: list[dict[str, str]], prefix: str) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        for key, value in row.items():
            if key != "step" and value not in ("", None) and math.isfinite(float(value)):
                out.setdefault(f"{prefix}/{key}", []).append((int(row["step"]), float(value)))
    return out


def _assert_same(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for tag, points in want.items():
        assert [s for s, _ in got[tag]] == [s for s, _ in points], tag  # same steps, no duplicates
        assert [v for _, v in got[tag]] == pytest.approx([v for _, v in points], rel=1e-5), tag


def test_event_files_hold_the_csv_scalars_also_after_a_resume(tmp_path):
    pytest.importorskip("tensorboard", reason="pip install -e '.[tensorboard]'")
    # a checkpoint every other iteration: the stopped run logs one iteration past its last checkpoint, which
    # the resumed run redoes; TensorBoard must show it once, like progress.csv
    spec = RunSpec(method="mappo", map_name="3s_vs_3z", seed=2, steps=1000, out=tmp_path / "run", device="cpu",
                   config_path=_config(tmp_path, checkpoint_every=400))
    assert train(spec, progress=False, stop_after_iterations=3)["stopped_early"]
    train(spec, progress=False)
    run = tmp_path / "run"
    evals = _csv(run / "eval.csv")
    assert len({r["step"] for r in evals}) == len(evals), "the evaluation due at the checkpoint was logged twice"
    want = {**_expected(_csv(run / "progress.csv"), "progress"), **_expected(evals, "eval")}
    assert {"progress/train_win_rate", "progress/wall_s", "eval/win_rate", "eval/mean_return"} <= set(want)
    _assert_same(_scalars(run / "tensorboard"), want)


def test_missing_package_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as without the package
    with pytest.raises(ConfigError, match=r"tensorboard.*pip install -e '\.\[tensorboard\]'") as exc:
        TensorBoardLog(tmp_path / "tb")
    assert "\n" not in str(exc.value)


def test_off_by_default_writes_nothing(tmp_path):
    spec = RunSpec(method="mappo", map_name="3s_vs_3z", seed=2, steps=200, out=tmp_path / "run", device="cpu",
                   config_path=SMOKE_MAPPO)
    train(spec, progress=False)
    assert not (tmp_path / "run" / "tensorboard").exists()
