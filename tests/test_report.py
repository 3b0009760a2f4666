"""gawm evaluate, the statistics, Tables 1-3 against the published numbers, and Figs. 3-5."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gawm.cli import main
from gawm.evaluate import evaluate_checkpoint
from gawm.report.plots import write_figures
from gawm.report.runs import load_published
from gawm.report.stats import iqm, stratified_bootstrap_ci, welch_p_value
from gawm.report.tables import write_tables
from gawm.train import RunSpec, train

CONFIGS = Path(__file__).parent.parent / "config" / "smoke"
PUBLISHED = Path(__file__).parent.parent / "results" / "published"
REGISTRY_NAME = {"GAWM": "gawm", "GAWM*": "gawm_star", "MAG": "mag", "MAMBA": "mamba", "MAPPO": "mappo",
                 "QMIX": "qmix"}


def seeds_matching(mean: float, std: float, n: int = 3) -> np.ndarray:
    """n values with exactly this mean and sample (ddof=1) standard deviation."""
    base = np.linspace(-1.0, 1.0, n)
    base = (base - base.mean()) / base.std(ddof=1)
    return mean + std * base


def test_welch_matches_scipy_and_handles_degenerate_cases():
    a, b = np.array([1.0, 2.0, 4.0]), np.array([3.0, 5.0, 9.0, 10.0])
    expect = stats.ttest_ind(a, b, equal_var=False).pvalue
    got = welch_p_value(a.mean(), a.std(ddof=1), 3, b.mean(), b.std(ddof=1), 4)
    assert got == pytest.approx(expect, rel=1e-12)
    assert welch_p_value(0.0, 0.0, 3, 0.0, 0.0, 3) == 1.0  # MAPPO 0(0) vs 0(0)
    assert welch_p_value(5.0, 0.0, 3, 0.0, 0.0, 3) == 0.0
    assert math.isnan(welch_p_value(5.0, float("nan"), 1, 0.0, 1.0, 3))


def test_iqm_and_bootstrap():
    assert iqm(np.arange(8.0)) == pytest.approx(3.5)  # middle 50%: 2, 3, 4, 5
    assert iqm(np.array([0.0, 0.0, 10.0, 10.0, 10.0, 10.0, 100.0, -100.0])) == pytest.approx(7.5)
    per_map = [np.array([10.0, 20.0, 30.0]), np.array([50.0, 55.0, 60.0]), np.array([0.0, 5.0, 90.0])]
    a = stratified_bootstrap_ci(per_map, reps=500, seed=1)
    b = stratified_bootstrap_ci(per_map, reps=500, seed=1)
    assert a == b and a[1] <= a[0] <= a[2] and a[1] < a[2]
    assert a[0] == pytest.approx(iqm(np.concatenate(per_map)))


def _fake_root(tmp_path: Path, with_analysis: bool = True) -> Path:
    """Runs whose per-seed results have exactly the published mean and std of every cell."""
    root = tmp_path / "results"
    t1 = load_published(PUBLISHED, "table1_win_rates.csv")
    gci = load_published(PUBLISHED, "table2_gci.csv").set_index(["map", "method"])
    gpe = load_published(PUBLISHED, "table3_gpe.csv").set_index(["map", "method"])
    cells = {(r.map, r.method): r for r in t1.itertuples()}
    for key in set(cells) | set(gci.index):
        map_name, method = key
        wins = seeds_matching(cells[key].mean, cells[key].std) if key in cells else [None] * 3
        g = seeds_matching(*gci.loc[key, ["mean", "std"]]) if key in gci.index else None
        p = seeds_matching(*gpe.loc[key, ["mean", "std"]]) if key in gpe.index else None
        for s in range(3):
            run = root / "runs" / REGISTRY_NAME[method] / map_name / str(s + 1)
            run.mkdir(parents=True)
            (run / "config.json").write_text("{}")
            if wins[s] is not None:
                (run / "evaluation.json").write_text(json.dumps(
                    {"win_rate": wins[s] / 100.0, "episodes": 1000, "step": int(cells[key].steps)}))
            if with_analysis and g is not None:
                (run / "analysis.json").write_text(json.dumps({"gci_mean": g[s], "gpe_mean": p[s], "pairs": 1000}))
    return root


def test_tables_reproduce_published_cells_when_fed_them(tmp_path):
    root = _fake_root(tmp_path)
    write_tables(root, PUBLISHED, root / "tables")
    for stem, n_cells in (("table1_win_rates", 40), ("table2_gci", 16), ("table3_gpe", 16)):
        df = pd.read_csv(root / "tables" / f"{stem}.csv")
        assert len(df) == n_cells and (df["n_seeds"].astype(int) == 3).all()
        np.testing.assert_allclose(df["ours_mean"].astype(float), df["pub_mean"].astype(float), atol=1e-9)
        np.testing.assert_allclose(df["ours_std"].astype(float), df["pub_std"].astype(float), atol=1e-9)
        np.testing.assert_allclose(df["diff"].astype(float), 0.0, atol=1e-9)
        np.testing.assert_allclose(df["p_value"].astype(float), 1.0, atol=1e-9)
        md = (root / "tables" / f"{stem}.md").read_text()
        assert "p=1" in md and "Δ+0" in md
    md1 = (root / "tables" / "table1_win_rates.md").read_text()
    assert "| GAWM | 8 |" in md1  # aggregate row over all 8 maps
    iqm_rows = pd.read_csv(root / "tables" / "table1_win_rates_iqm.csv").set_index("method")
    # our IQM trims (seed, map) scores, the published one map means: close, not equal, so only the CI is checked
    assert iqm_rows.loc["GAWM", "maps"] == 8
    assert iqm_rows.loc["GAWM", "ours_ci_low"] <= iqm_rows.loc["GAWM", "ours_iqm"] <= iqm_rows.loc["GAWM", "ours_ci_high"]


def test_tables_never_fill_ours_from_published(tmp_path):
    root = tmp_path / "results"
    run = root / "runs" / "gawm" / "8m" / "1"
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / "evaluation.json").write_text(json.dumps({"win_rate": 0.25, "episodes": 1000, "step": 40000}))
    write_tables(root, PUBLISHED, root / "tables")
    df = pd.read_csv(root / "tables" / "table1_win_rates.csv")
    mine = df[(df["map"] == "8m") & (df["method"] == "GAWM")].iloc[0]
    assert float(mine["ours_mean"]) == pytest.approx(25.0) and int(mine["n_seeds"]) == 1
    assert math.isnan(float(mine["p_value"]))  # one seed: no variance estimate
    others = df[~((df["map"] == "8m") & (df["method"] == "GAWM"))]
    assert others["ours_mean"].isna().all() and (others["n_seeds"].astype(int) == 0).all()


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("res")
    for method, cfg, seed in (("gawm", "gawm", 1), ("gawm", "gawm", 2), ("gawm_star", "gawm", 1),
                              ("mappo", "mappo", 1)):
        train(RunSpec(method, "3s_vs_3z", seed, 800, root / "runs" / method / "3s_vs_3z" / str(seed), device="cpu",
                      config_path=CONFIGS / f"{cfg}.yaml"), progress=False)
    return root


def test_evaluate_writes_json_and_is_deterministic(tiny_root, tmp_path):
    run = tiny_root / "runs" / "gawm" / "3s_vs_3z" / "1"
    a = evaluate_checkpoint(run, episodes=30, seed=7, n_envs=8)
    b = evaluate_checkpoint(run, episodes=30, seed=7, n_envs=8)
    assert a["episodes"] == 30 and a["step"] == 800 and 0.0 <= a["win_rate"] <= 1.0
    drop = ("wall_s",)
    assert {k: v for k, v in a.items() if k not in drop} == {k: v for k, v in b.items() if k not in drop}
    out = tmp_path / "ev.json"
    assert main(["evaluate", "--run", str(run), "--episodes", "12", "--seed", "3", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["episodes"] == 12
    assert main(["evaluate", "--run", str(run), "--checkpoint", str(tmp_path / "nope.pt")]) == 2
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["evaluate", "--run", str(run), "--checkpoint", str(bad)]) == 2


def test_plots_render_from_runs(tiny_root, tmp_path):
    out = tmp_path / "figs"
    assert main(["plot", "--results", str(tiny_root), "--out", str(out)]) == 0
    for stem in ("fig3_win_rate", "fig4_wm_loss", "fig5_gawm_vs_gawm_star"):
        for ext in ("png", "pdf"):
            assert (out / f"{stem}.{ext}").stat().st_size > 5000
    empty = tmp_path / "empty"
    empty.mkdir()
    written = write_figures(empty, tmp_path / "none")
    assert len(written["skipped"]) == 3 and not (tmp_path / "none" / "fig3_win_rate.png").exists()
