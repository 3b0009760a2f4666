"""Figures 3-5 of the paper from our runs (`gawm plot`), PNG (200 dpi) and PDF, sized for a paper page.

Fig. 3: test win rate vs real environment steps, one panel per map, every method: the mean over seeds with
        a min-max band (the paper's shading), from each run's eval.csv (greedy evaluations during training).
Fig. 4: world-model loss (Eq. 3) vs world-model update epochs, GAWM vs GAWM*, one panel per map.
Fig. 5: GAWM vs GAWM* win rate vs real steps (the ablation), one panel per map.
Seeds are aligned on the union of their x values by linear interpolation inside each seed's own range.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from gawm.report.runs import MAP_ORDER, METHOD_ORDER, load_curves  # noqa: E402

COLOURS = {"GAWM": "#d62728", "GAWM*": "#ff7f0e", "MAG": "#2ca02c", "MAMBA": "#1f77b4", "MAPPO": "#9467bd",
           "QMIX": "#8c564b"}


def _band(curves: pd.DataFrame, x: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max over seeds on the union grid of x (each seed interpolated within its own range)."""
    grid = np.unique(curves[x].to_numpy(dtype=float))
    ys = []
    for _, g in curves.groupby("seed"):
        g = g.sort_values(x)
        xs, vs = g[x].to_numpy(dtype=float), g["value"].to_numpy(dtype=float)
        ys.append(np.where((grid >= xs[0]) & (grid <= xs[-1]), np.interp(grid, xs, vs), np.nan))
    y = np.vstack(ys)
    with np.errstate(all="ignore"):
        return grid, np.nanmean(y, 0), np.nanmin(y, 0), np.nanmax(y, 0)


def _panels(df: pd.DataFrame, methods: list[str], x: str, xlabel: str, ylabel: str, title: str,
            scale: float = 1.0, ylim: tuple[float, float] | None = None):
    maps = [m for m in MAP_ORDER if m in set(df["map"])] + sorted(set(df["map"]) - set(MAP_ORDER))
    cols = min(4, len(maps))
    rows = int(np.ceil(len(maps) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows + 0.6), squeeze=False)
    for ax in axes.ravel()[len(maps):]:
        ax.set_visible(False)
    for ax, map_name in zip(axes.ravel(), maps):
        for method in methods:
            g = df[(df["map"] == map_name) & (df["method"] == method)]
            if g.empty:
                continue
            grid, mean, lo, hi = _band(g, x)
            n = g["seed"].nunique()
            ax.plot(grid, mean * scale, color=COLOURS.get(method), lw=1.6, label=f"{method} ({n} seed{'s' * (n > 1)})")
            ax.fill_between(grid, lo * scale, hi * scale, color=COLOURS.get(method), alpha=0.18, lw=0)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.set_title(map_name, fontsize=10)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def _save(fig, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.png", out / f"{stem}.pdf"]
    for p in paths:
        tmp = p.with_name(p.stem + ".tmp" + p.suffix)  # keep the suffix so matplotlib picks the format
        fig.savefig(tmp, dpi=200)
        tmp.replace(p)
    plt.close(fig)
    return paths


def write_figures(root: Path, out: Path) -> dict[str, list[Path]]:
    """Render Figs. 3-5 from the runs under `root`; a figure without data is skipped and reported."""
    written, skipped = {}, []
    wins = load_curves(root, "eval.csv", "win_rate")
    wins["step_k"] = wins["step"] / 1000.0
    if len(wins):
        fig = _panels(wins, [m for m in METHOD_ORDER if m in set(wins["method"])], "step_k",
                      "real environment steps (thousands)", "test win rate (%)",
                      "Fig. 3: win rate vs real steps (mean over seeds, band = min-max)", scale=100.0,
                      ylim=(-3, 103))
        written["fig3_win_rate"] = _save(fig, out, "fig3_win_rate")
    else:
        skipped.append("fig3_win_rate (no eval.csv under runs/)")
    loss = load_curves(root, "progress.csv", "wm_loss")
    loss = loss[loss["method"].isin(["GAWM", "GAWM*"])]
    if len(loss):
        fig = _panels(loss, ["GAWM", "GAWM*"], "wm_epoch", "world-model update epochs (gradient steps)",
                      "world-model loss, Eq. 3", "Fig. 4: world-model loss, GAWM vs GAWM* (no obs-fusion)")
        written["fig4_wm_loss"] = _save(fig, out, "fig4_wm_loss")
    else:
        skipped.append("fig4_wm_loss (no GAWM/GAWM* run with wm_loss)")
    ab = wins[wins["method"].isin(["GAWM", "GAWM*"])]
    if len(ab):
        fig = _panels(ab, ["GAWM", "GAWM*"], "step_k", "real environment steps (thousands)", "test win rate (%)",
                      "Fig. 5: GAWM vs GAWM* (obs-fusion ablation)", scale=100.0, ylim=(-3, 103))
        written["fig5_gawm_vs_gawm_star"] = _save(fig, out, "fig5_gawm_vs_gawm_star")
    else:
        skipped.append("fig5_gawm_vs_gawm_star (no GAWM/GAWM* eval.csv)")
    written["skipped"] = skipped  # type: ignore[assignment]
    return written
