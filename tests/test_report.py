"""The statistics, Tables 1-3 against the published numbers, and Figs. 3-5 (gawm evaluate: test_evaluate)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from gawm.cli import main
from gawm.report.plots import write_figures
from gawm.report.runs import load_published
from gawm.report.stats import (NOTE_FEW_SEEDS, NOTE_IDENTICAL, NOTE_ZERO_VAR, iqm, seeds_from_summary,
                               stratified_bootstrap_ci, welch_p_value, welch_test)
from gawm.report.tables import write_tables
from gawm.train import RunSpec, train
from tests.conftest import SMOKE

PUBLISHED = Path(__file__).parent.parent / "gawm" / "report" / "published"
REGISTRY_NAME = {"GAWM": "gawm", "GAWM*": "gawm_star", "MAG": "mag", "MAMBA": "mamba", "MAPPO": "mappo",
                 "QMIX": "qmix"}


def test_welch_matches_scipy_and_handles_degenerate_cases():
    a, b = np.array([1.0, 2.0, 4.0]), np.array([3.0, 5.0, 9.0, 10.0])
    expect = stats.ttest_ind(a, b, equal_var=False).pvalue  # from the raw samples
    got, note = welch_test(a.mean(), a.std(ddof=1), 3, b.mean(), b.std(ddof=1), 4)
    assert got == pytest.approx(expect, rel=1e-12) and note == ""
    # by hand: t = (7/3 - 27/4) / sqrt(s_a^2/3 + s_b^2/4), Welch-Satterthwaite df
    va, vb = a.var(ddof=1) / 3, b.var(ddof=1) / 4
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 3)
    assert got == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-12)
    # one side without variance is an ordinary Welch test (df from the other side)
    assert welch_p_value(10.0, 0.0, 3, 8.0, 2.0, 3) == pytest.approx(
        stats.ttest_ind_from_stats(10.0, 0.0, 3, 8.0, 2.0, 3, equal_var=False).pvalue)
    assert welch_test(0.0, 0.0, 3, 0.0, 0.0, 3) == (1.0, NOTE_IDENTICAL)  # MAPPO 0(0) vs 0(0)
    p, note = welch_test(5.0, 0.0, 3, 0.0, 0.0, 3)
    assert math.isnan(p) and note == NOTE_ZERO_VAR
    p, note = welch_test(5.0, float("nan"), 1, 0.0, 1.0, 3)
    assert math.isnan(p) and note == NOTE_FEW_SEEDS


@given(st.floats(-100, 100), st.floats(0, 50), st.integers(2, 9))
@settings(max_examples=50, deadline=None)
def test_seeds_from_summary_have_exactly_that_summary(mean, std, n):
    x = seeds_from_summary(mean, std, n)
    assert len(x) == n
    assert x.mean() == pytest.approx(mean, abs=1e-9) and x.std(ddof=1) == pytest.approx(std, abs=1e-9)
    np.testing.assert_allclose(seeds_from_summary(mean, std), [mean - std, mean, mean + std], atol=1e-9)


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_iqm_is_the_mean_of_the_middle_half(xs):
    x = np.sort(np.asarray(xs))
    k = int(0.25 * len(x))  # rliable / scipy.trim_mean: int(0.25 n) cut from each end
    assert iqm(np.random.default_rng(0).permutation(x)) == pytest.approx(x[k:len(x) - k].mean(), abs=1e-9)


def test_iqm_and_bootstrap():
    assert iqm(np.arange(8.0)) == pytest.approx(3.5)  # middle 50%: 2, 3, 4, 5
    assert iqm(np.array([0.0, 0.0, 10.0, 10.0, 10.0, 10.0, 100.0, -100.0])) == pytest.approx(7.5)
    assert iqm(np.arange(12.0).reshape(3, 4)) == pytest.approx(5.5)  # all entries, not per row
    per_map = [np.array([10.0, 20.0, 30.0]), np.array([50.0, 55.0, 60.0]), np.array([0.0, 5.0, 90.0])]
    a = stratified_bootstrap_ci(per_map, reps=500, seed=1)
    b = stratified_bootstrap_ci(per_map, reps=500, seed=1)
    c = stratified_bootstrap_ci(per_map, reps=500, seed=2)
    assert a == b and a != c and a[1] <= a[0] <= a[2] and a[1] < a[2]
    assert a[0] == pytest.approx(iqm(np.concatenate(per_map))) == c[0]
    # a map whose seeds agree contributes no spread: all-equal scores give a zero-width interval
    assert stratified_bootstrap_ci([np.full(3, 7.0), np.full(2, 7.0)], reps=100) == (7.0, 7.0, 7.0)
    assert all(math.isnan(v) for v in stratified_bootstrap_ci([]))


def _fake_root(tmp_path: Path, with_analysis: bool = True) -> Path:
    """Runs whose per-seed results have exactly the published mean and std of every cell."""
    root = tmp_path / "results"
    t1 = load_published(PUBLISHED, "table1_win_rates.csv")
    gci = load_published(PUBLISHED, "table2_gci.csv").set_index(["map", "method"])
    gpe = load_published(PUBLISHED, "table3_gpe.csv").set_index(["map", "method"])
    cells = {(r.map, r.method): r for r in t1.itertuples()}
    for key in set(cells) | set(gci.index):
        map_name, method = key
        wins = seeds_from_summary(cells[key].mean, cells[key].std) if key in cells else [None] * 3
        g = seeds_from_summary(*gci.loc[key, ["mean", "std"]]) if key in gci.index else None
        p = seeds_from_summary(*gpe.loc[key, ["mean", "std"]]) if key in gpe.index else None
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
    # fed the published cells, our IQM and CI are the published ones exactly (same estimator, same seed)
    assert (iqm_rows["maps"] == 8).all() and (iqm_rows["pub_maps"] == 8).all()
    for side in ("iqm", "ci_low", "ci_high"):
        np.testing.assert_allclose(iqm_rows[f"ours_{side}"], iqm_rows[f"pub_{side}"], atol=1e-9)
    g = iqm_rows.loc["GAWM"]
    assert g["ours_ci_low"] <= g["ours_iqm"] <= g["ours_ci_high"] and g["ours_ci_low"] < g["ours_ci_high"]


def test_degenerate_p_values_are_explained(tmp_path):
    """3s_vs_3z MAPPO is 0(0) in the paper: ours 0,0,0 gives p = 1; ours 5,5,5 gives n/a with a footnote."""
    root = tmp_path / "results"
    for map_name, win in (("3s_vs_3z", 0.0), ("3s_vs_4z", 0.05)):
        for s in (1, 2, 3):
            run = root / "runs" / "mappo" / map_name / str(s)
            run.mkdir(parents=True)
            (run / "config.json").write_text("{}")
            (run / "evaluation.json").write_text(json.dumps({"win_rate": win, "episodes": 1000, "step": 1000}))
    write_tables(root, PUBLISHED, root / "tables")
    df = pd.read_csv(root / "tables" / "table1_win_rates.csv", keep_default_na=False)
    cell = df[df["method"] == "MAPPO"].set_index("map")
    assert float(cell.loc["3s_vs_3z", "p_value"]) == 1.0 and cell.loc["3s_vs_3z", "p_note"] == NOTE_IDENTICAL
    assert cell.loc["3s_vs_4z", "p_value"] in ("", "nan") and cell.loc["3s_vs_4z", "p_note"] == NOTE_ZERO_VAR
    md = (root / "tables" / "table1_win_rates.md").read_text()
    assert "Δ+5.0, p=n/a†" in md and f"† p = n/a: {NOTE_ZERO_VAR}." in md
    assert "**0.0(0.0)** [3 @1k] / 0.0(0.0), Δ+0.0, p=1" in md


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
    assert math.isnan(float(mine["p_value"])) and mine["p_note"] == NOTE_FEW_SEEDS  # one seed: no variance
    assert "p=n/a†" in (root / "tables" / "table1_win_rates.md").read_text()
    others = df[~((df["map"] == "8m") & (df["method"] == "GAWM"))]
    assert others["ours_mean"].isna().all() and (others["n_seeds"].astype(int) == 0).all()


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("res")
    for method, map_name, seed in (("gawm", "3s_vs_3z", 1), ("gawm", "3s_vs_3z", 2), ("gawm_star", "3s_vs_3z", 1),
                                   ("mappo", "3s_vs_3z", 1), ("mappo", "2s_vs_1sc", 1)):
        train(RunSpec(method, map_name, seed, 800, root / "runs" / method / map_name / str(seed), device="cpu",
                      config_path=SMOKE), progress=False)
    return root


@pytest.mark.slow
def test_plots_render_from_runs(tiny_root, tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["plot", "--results", str(tiny_root), "--out", str(out)]) == 0
    for stem in ("fig3_win_rate", "fig4_wm_loss", "fig5_gawm_vs_gawm_star"):
        for ext in ("png", "pdf"):
            assert (out / f"{stem}.{ext}").stat().st_size > 5000
        assert (out / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
    # 200 dpi at paper size: Fig. 3 has two maps (7 in wide), Figs. 4-5 one map (3.5 in, one column)
    assert plt_image_width(out / "fig3_win_rate.png") == 1400
    assert plt_image_width(out / "fig4_wm_loss.png") == plt_image_width(out / "fig5_gawm_vs_gawm_star.png") == 700
    assert "fig3_win_rate:" in capsys.readouterr().out


def plt_image_width(png: Path) -> int:
    import matplotlib.image

    return matplotlib.image.imread(png).shape[1]


def test_plots_without_runs_say_so(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    written = write_figures(empty, tmp_path / "none")
    assert len(written["skipped"]) == 3 and not (tmp_path / "none").exists()
    assert main(["plot", "--results", str(empty), "--out", str(tmp_path / "none")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and all(line.startswith("skipped fig") and "under" in line for line in out)
    assert main(["plot", "--results", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip() == f"gawm plot: error: results root {tmp_path / 'missing'} does not exist"
    assert main(["table", "--results", str(tmp_path / "missing")]) == 2


def test_broken_run_outputs_stop_the_table_with_one_line(tmp_path, capsys):
    run = tmp_path / "runs" / "mappo" / "8m" / "1"
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / "evaluation.json").write_text('{"win_rate": 0.5')  # truncated
    assert main(["table", "--results", str(tmp_path), "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "evaluation.json is not valid JSON" in err[0]
    (run / "evaluation.json").write_text(json.dumps({"win_rate": 0.5, "episodes": 10}))
    assert main(["table", "--results", str(tmp_path), "--out", str(tmp_path / "t")]) == 2
    assert "evaluation.json lacks step" in capsys.readouterr().err


def _all_zero_root(root: Path, methods: list[str], maps: list[str], seeds: list[int],
                   learner: str | None = None) -> Path:
    """Runs whose every evaluation is 0% wins (as on 2s_vs_1sc, which no method wins here); `learner`, if
    given, climbs to 50% instead."""
    for method in methods:
        for map_name in maps:
            for seed in seeds:
                run = root / "runs" / method / map_name / str(seed)
                run.mkdir(parents=True)
                (run / "config.json").write_text(json.dumps({"config": {}}))
                wins = [0.0, 0.1, 0.2, 0.4, 0.5] if method == learner else 0.0
                pd.DataFrame({"step": [0, 500, 1000, 1500, 2000], "win_rate": wins, "mean_return": 1.0,
                              "mean_length": 100.0, "episodes": 100}).to_csv(run / "eval.csv", index=False)
    return root


def _line_heights_pt(fig, ax) -> dict[str, float]:
    """Each line's drawn height (points) at its first point, keyed by colour."""
    out = {}
    for line in ax.get_lines():
        x, y = line.get_xdata()[0], line.get_ydata()[0]
        out[line.get_color()] = float(line.get_transform().transform((x, y))[1]) * 72 / fig.dpi
    return out


@pytest.mark.parametrize("learner", [None, "mappo"])
def test_coinciding_win_rate_curves_stay_distinguishable(tmp_path, monkeypatch, learner):
    import gawm.report.plots as plots

    root = _all_zero_root(tmp_path / "zero", list(REGISTRY_NAME.values()), ["2s_vs_1sc", "3s_vs_3z"], [1, 2],
                          learner)
    figs = {}
    real_save = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, out, stem: figs.setdefault(stem, fig) and real_save(fig, out, stem))
    written = write_figures(root, tmp_path / "figs")
    assert written["fig3_win_rate"][0].exists() and written["fig5_gawm_vs_gawm_star"][0].exists()
    for stem, n in (("fig3_win_rate", 6), ("fig5_gawm_vs_gawm_star", 2)):
        fig = figs[stem]
        assert "equal curves drawn side by side" in fig._suptitle.get_text()
        for ax in (a for a in fig.axes if a.get_visible()):
            lines = ax.get_lines()
            assert len(lines) == n and len({line.get_marker() for line in lines}) == n  # a marker per method
            assert all(np.ptp(line.get_ydata()) == 0 or line.get_color() == plots.COLOURS["MAPPO"]
                       for line in lines)
            heights = _line_heights_pt(fig, ax)
            zero_pt = float(ax.transData.transform((0, 0))[1]) * 72 / fig.dpi
            at_zero = {c: h for c, h in heights.items() if not (learner and c == plots.COLOURS["MAPPO"])}
            gaps = np.diff(sorted(at_zero.values()))
            assert len(at_zero) == 1 or min(gaps) >= plots.SEPARATE_PT - 1e-6  # side by side, not on top
            assert min(at_zero.values()) == pytest.approx(zero_pt)  # the stack starts on the true 0% line
            if learner and stem == "fig3_win_rate":  # a curve that differs is drawn where it is
                assert heights[plots.COLOURS["MAPPO"]] == pytest.approx(zero_pt)  # its first point is 0% too
                line = next(li for li in lines if li.get_color() == plots.COLOURS["MAPPO"])
                assert line.get_transform() == ax.transData


def test_every_method_and_variant_in_a_figure_has_its_own_colour():
    """Six methods and 17 variants: methods keep their colours, the first 16 variants take colours no method
    has, each a different one, with their method's line style and marker."""
    import gawm.report.plots as plots

    variants = [f"MAPPO [v{i}]" for i in range(16)] + ["GAWM [x]"]
    style = plots.line_styles(list(plots.COLOURS) + variants)
    assert all(style[m][0] == plots.COLOURS[m] for m in plots.COLOURS)
    first16 = [style[v][0] for v in variants[:16]]
    assert len(set(first16)) == 16 and not set(first16) & set(plots.COLOURS.values())
    assert style["MAPPO [v3]"][1:] == (plots.STYLES["MAPPO"], plots.MARKERS["MAPPO"])
    assert style["GAWM [x]"][1:] == (plots.STYLES["GAWM"], plots.MARKERS["GAWM"])


@pytest.mark.parametrize("n_maps", [1, 2])
def test_the_legend_of_long_variant_names_stays_inside_the_figure(n_maps):
    """Thirteen curves, some named like stacked variants (40 characters): every legend entry is drawn inside the
    figure (with four entries a line, as for short names, the outer columns fell off both edges)."""
    import matplotlib.pyplot as plt

    import gawm.report.plots as plots

    methods = ["GAWM", "GAWM*", "MAMBA [cpu]", "MAMBA [cpu+survival_weight]"] + \
        [f"GAWM [no_survival_weight+variant_{i:02d}]" for i in range(9)]
    maps = ["3s_vs_3z", "2s_vs_1sc"][:n_maps]
    df = pd.DataFrame([{"method": m, "map": mp, "seed": 1, "step": st, "value": 0.5}
                       for m in methods for mp in maps for st in (0, 1000)])
    fig = plots._panels(df, methods, "step", "steps", "win rate", "t")
    fig.canvas.draw()
    box = fig.bbox
    legend = fig.legends[0].get_window_extent()
    assert box.x0 - 1 <= legend.x0 and legend.x1 <= box.x1 + 1 and legend.y0 >= box.y0 - 1
    plt.close(fig)


def test_head_to_head_compares_gawm_with_each_method_on_our_seeds(tmp_path):
    """GAWM 90, 95, 100 against MAMBA 50, 60, 70 on one map: Welch's p as scipy computes it from the seeds; a
    method with a single seed gets n/a and its note; maps without GAWM give no row."""
    from gawm.report.tables import head_to_head, head_to_head_markdown

    ours = pd.DataFrame({"method": ["GAWM"] * 3 + ["MAMBA"] * 3 + ["MAG"] + ["MAPPO"] + ["MAMBA [cpu]"],
                         "map": ["3s_vs_3z"] * 7 + ["8m"] + ["3s_vs_3z"],
                         "win_rate": [90.0, 95.0, 100.0, 50.0, 60.0, 70.0, 80.0, 10.0, 40.0]})
    df = head_to_head(ours).set_index("method")
    assert list(df.index) == ["MAG", "MAMBA", "MAMBA [cpu]"] and set(df["map"]) == {"3s_vs_3z"}
    expected = stats.ttest_ind([90, 95, 100], [50, 60, 70], equal_var=False).pvalue
    assert math.isclose(df.loc["MAMBA", "p_value"], expected, rel_tol=1e-9)
    assert math.isclose(df.loc["MAMBA", "diff"], 35.0)
    assert math.isnan(df.loc["MAG", "p_value"]) and df.loc["MAG", "p_note"]
    md = head_to_head_markdown(head_to_head(ours))
    assert "| 3s_vs_3z | MAMBA | 95.0(5.0) [3] | 60.0(10.0) [3] | +35.0 |" in md


def test_ablation_table_reads_what_each_variant_changes_from_the_archived_configs(tmp_path):
    """GAWM 20, 30 against GAWM [fresh] 60, 80 on one map: Δ +45, Welch p as scipy computes it, and the
    changed learning keys (not the thread count) read from config.json; a variant whose default has no runs
    (MAMBA [cpu]) gives no row; the table reaches write_tables' outputs."""
    from gawm.report.tables import ablation_markdown

    def run(method: str, seed: int, win: float, imagination: dict, threads: int) -> None:
        d = tmp_path / "runs" / method / "3s_vs_3z" / str(seed)
        d.mkdir(parents=True)
        cfg = {"imagination": {"policy_epochs": 4, "pseudo_capacity": 2048, **imagination},
               "runner": {"torch_threads": threads}, "policy": {"entropy_coef": 0.001}}
        (d / "config.json").write_text(json.dumps({"config": cfg, "method": method.split("@")[0], "seed": seed,
                                                   "map": "3s_vs_3z", "env_info": {}}))
        (d / "evaluation.json").write_text(json.dumps({"win_rate": win / 100, "episodes": 1000, "step": 50000}))

    run("gawm", 1, 20.0, {}, 1)
    run("gawm", 2, 30.0, {}, 2)
    run("gawm@fresh", 1, 60.0, {"policy_epochs": 1, "pseudo_capacity": 320}, 1)
    run("gawm@fresh", 2, 80.0, {"policy_epochs": 1, "pseudo_capacity": 320}, 1)
    run("mamba@cpu", 1, 50.0, {}, 1)
    written = write_tables(tmp_path, None, tmp_path / "tables")
    df = pd.read_csv(tmp_path / "tables" / "table1_ablation.csv")
    assert len(df) == 1
    r = df.iloc[0]
    assert (r["method"], r["variant"], bool(r["consistent"])) == ("GAWM", "fresh", True)
    assert r["changes"] == ("imagination.policy_epochs: 4 -> 1; imagination.pseudo_capacity: 2048 -> 320")
    assert r["diff"] == pytest.approx(45.0)
    assert r["p_value"] == pytest.approx(stats.ttest_ind([60, 80], [20, 30], equal_var=False).pvalue, rel=1e-6)
    md = written["table1_ablation"].read_text()
    assert "| 3s_vs_3z | GAWM | fresh | imagination.policy_epochs: 4 -> 1; imagination.pseudo_capacity: 2048 -> 320 " \
           "| 25.0(7.1) [2] | 70.0(14.1) [2] | +45.0 |" in md
    assert "No map has runs" in ablation_markdown(df.iloc[0:0])


def test_runs_at_other_budgets_are_compared_only_with_runs_at_the_same_budget():
    """MAPPO at the paper's 15k (0%) and at 1M ("MAPPO [1000k]", 40 and 60%), MAPPO [ep15-1000k] at 1M (0, 10%):
    the ablation sets ep15 against the 1M default, never the 15k one; the budget-only label is no ablation;
    GAWM's head-to-head (15k) leaves out both 1M labels."""
    from gawm.report.tables import ablation, head_to_head

    rows = [("GAWM", 1, 50.0, 15000), ("GAWM", 2, 70.0, 15000), ("MAPPO", 1, 0.0, 15000), ("MAPPO", 2, 0.0, 15000),
            ("MAPPO [1000k]", 1, 40.0, 1_000_000), ("MAPPO [1000k]", 2, 60.0, 1_000_000),
            ("MAPPO [ep15-1000k]", 1, 0.0, 1_000_000), ("MAPPO [ep15-1000k]", 2, 10.0, 1_000_000)]
    ours = pd.DataFrame([{"method": m, "map": "2s_vs_1sc", "seed": sd, "win_rate": w, "steps": n}
                         for m, sd, w, n in rows])
    configs = {(m, "2s_vs_1sc", sd): {"policy": {"ppo_epochs": 15 if "ep15" in m else 10}} for m, sd, _, _ in rows}
    df = ablation(ours, configs)
    assert list(df["variant"]) == ["ep15-1000k"]
    r = df.iloc[0]
    assert (r["base_mean"], r["mean"], r["diff"]) == (50.0, 5.0, -45.0)
    assert r["changes"] == "policy.ppo_epochs: 10 -> 15" and bool(r["consistent"])
    assert list(head_to_head(ours)["method"]) == ["MAPPO"]


def test_a_stacked_variant_is_compared_with_the_variant_it_changes():
    """MAMBA [cpu+survival_weight] (80, 90) against MAMBA [cpu] (50, 60), never against MAMBA's own config
    (10, 20); the row names MAMBA [cpu] as what it changes; GAWM [survival_weight] still against GAWM;
    reference_variant strips the budget and the last part only."""
    from gawm.report.runs import reference_variant
    from gawm.report.tables import ablation

    assert reference_variant("cpu+survival_weight") == "cpu" and reference_variant("a+b+c-1000k") == "a+b"
    assert reference_variant("survival_weight") is None and reference_variant("ep15-1000k") is None
    assert reference_variant(None) is None and reference_variant("1000k") is None
    rows = [("MAMBA", 10.0), ("MAMBA", 20.0), ("MAMBA [cpu]", 50.0), ("MAMBA [cpu]", 60.0),
            ("MAMBA [cpu+survival_weight]", 80.0), ("MAMBA [cpu+survival_weight]", 90.0),
            ("GAWM", 20.0), ("GAWM", 30.0), ("GAWM [survival_weight]", 70.0), ("GAWM [survival_weight]", 80.0)]
    ours = pd.DataFrame([{"method": m, "map": "3s_vs_3z", "seed": 1 + i % 2, "win_rate": w, "steps": 50000}
                         for i, (m, w) in enumerate(rows)])
    sizes = {"MAMBA": 256}
    configs = {(m, "3s_vs_3z", 1 + i % 2): {"world_model": {"hidden_dim": sizes.get(m, 128)},
                                            "imagination": {"survival_weight": "survival" in m}}
               for i, (m, _) in enumerate(rows)}
    df = ablation(ours, configs).set_index("variant")
    assert df.loc["cpu+survival_weight", "method"] == "MAMBA [cpu]"
    assert (df.loc["cpu+survival_weight", "base_mean"], df.loc["cpu+survival_weight", "diff"]) == (55.0, 30.0)
    assert df.loc["cpu+survival_weight", "changes"] == "imagination.survival_weight: False -> True"
    assert df.loc["cpu", "method"] == "MAMBA" and df.loc["cpu", "changes"] == "world_model.hidden_dim: 256 -> 128"
    assert (df.loc["survival_weight", "method"], df.loc["survival_weight", "diff"]) == ("GAWM", 50.0)


def test_runs_of_different_simulators_are_never_pooled(tmp_path):
    """GAWM on 3s_vs_3z: seeds 1-2 on sim-v2 at 10%, seeds 3-4 on sim-v3 at 90%. One table set per simulator,
    each with its own two seeds (a pooled cell would read 50.0); figures likewise per simulator; a root of one
    simulator keeps the flat layout."""
    root = tmp_path / "results"
    for seed, sim, win in [(1, "sim-v2", 0.1), (2, "sim-v2", 0.1), (3, "sim-v3", 0.9), (4, "sim-v3", 0.9)]:
        run = root / "runs" / "gawm" / "3s_vs_3z" / str(seed)
        run.mkdir(parents=True)
        (run / "config.json").write_text(json.dumps({"method": "gawm", "map": "3s_vs_3z", "seed": seed,
                                                     "steps": 50000, "config": {}}))
        (run / "provenance.json").write_text(json.dumps({"sessions": [{"simulator": sim}]}))
        (run / "evaluation.json").write_text(json.dumps({"win_rate": win, "episodes": 1000, "step": 50000}))
        pd.DataFrame({"step": [0, 50000], "win_rate": [0.0, win], "mean_return": 1.0, "mean_length": 50.0,
                      "episodes": 100}).to_csv(run / "eval.csv", index=False)
    written = write_tables(root, PUBLISHED, tmp_path / "tables")
    assert {"sim-v2/table1_win_rates", "sim-v3/table1_win_rates"} <= set(written)
    v2 = pd.read_csv(tmp_path / "tables" / "sim-v2" / "table1_win_rates.csv").set_index(["map", "method"])
    v3 = pd.read_csv(tmp_path / "tables" / "sim-v3" / "table1_win_rates.csv").set_index(["map", "method"])
    assert v2.loc[("3s_vs_3z", "GAWM"), "ours_mean"] == pytest.approx(10.0)
    assert v3.loc[("3s_vs_3z", "GAWM"), "ours_mean"] == pytest.approx(90.0)
    assert v2.loc[("3s_vs_3z", "GAWM"), "n_seeds"] == v3.loc[("3s_vs_3z", "GAWM"), "n_seeds"] == 2
    figs = write_figures(root, tmp_path / "figs")
    assert {"sim-v2/fig3_win_rate", "sim-v3/fig3_win_rate"} <= set(figs)
    assert (tmp_path / "figs" / "sim-v3" / "fig3_win_rate.png").exists()
    from gawm.report.archive import results_markdown
    md = results_markdown(root, written, figs, tmp_path / "RESULTS.md")
    assert md.index("## Tables: simulator sim-v2") < md.index("## Tables: simulator sim-v3")
    assert "never pools" in md and "| gawm | 3s_vs_3z | 3 | 50,000 | sim-v3 |" in md
    for seed in (3, 4):  # one simulator left: the flat layout of a workflow's results
        import shutil
        shutil.rmtree(root / "runs" / "gawm" / "3s_vs_3z" / str(seed))
    assert "table1_win_rates" in write_tables(root, PUBLISHED, tmp_path / "flat")


def test_a_variant_is_set_against_its_methods_published_cell_and_says_so():
    """MAMBA [cpu] on 3s_vs_3z (three seeds) is compared with the paper's MAMBA cell (78(10)), named as such;
    the default MAMBA column keeps its own cell, unmarked."""
    from gawm.report.tables import TABLES, compare, to_markdown

    ours = pd.DataFrame({"method": ["MAMBA [cpu]"] * 3 + ["MAMBA"] * 3, "map": ["3s_vs_3z"] * 6, "seed": [1, 2, 3] * 2,
                         "win_rate": [56.4, 60.2, 65.0, 70.0, 80.0, 90.0], "steps": [50000] * 6})
    pub = load_published(PUBLISHED, "table1_win_rates.csv")
    df = compare(ours, pub, "win_rate").set_index(["map", "method"])
    row = df.loc[("3s_vs_3z", "MAMBA [cpu]")]
    assert row["pub_mean"] == 78.0 and row["pub_std"] == 10.0 and row["pub_of"] == "MAMBA"
    expected = stats.ttest_ind_from_stats(np.mean([56.4, 60.2, 65.0]), np.std([56.4, 60.2, 65.0], ddof=1), 3,
                                          78.0, 10.0, 3, equal_var=False).pvalue
    assert math.isclose(row["p_value"], expected, rel_tol=1e-9)
    md = to_markdown(compare(ours, pub, "win_rate"), TABLES[0], None)
    assert "/ 78.0(10.0) (published MAMBA), Δ-17.5" in md
    assert "| **80.0(10.0)** [3 @50k] / 78.0(10.0), Δ+2.0" in md
