"""Figures 3-5 of the paper from our runs (`gawm plot`), PNG (200 dpi) and PDF, sized for a paper page.

Fig. 3: test win rate vs real environment steps, one panel per map, every method: the mean over seeds with
        a min-max band (the paper's shading), from each run's eval.csv (greedy evaluations during training).
Fig. 4: world-model loss (Eq. 3) vs world-model gradient steps, GAWM vs GAWM*, one panel per map, from
        progress.csv: each point is one training iteration's mean loss over its E_M updates, placed at the
        number of updates done so far (the paper's "epochs of the world model"; the label says what one is).
Fig. 5: GAWM vs GAWM* win rate vs real steps (the ablation), one panel per map.
Seeds are aligned on the union of their x values by linear interpolation inside each seed's own range.
Curves that coincide stay distinguishable (e.g. every method at 0% wins, as on 2s_vs_1sc): each method has
its own line style and marker shape, with markers staggered along x; and in the win-rate figures, methods whose
mean curves are equal within COINCIDE_TOL_PP over their whole common range are drawn side by side,
SEPARATE_PT points apart in print: the first on the true curve, the others stacked towards the inside of the
axes (curves that differ, and all bands, are drawn unshifted). The subtitle says so whenever it happens.
Layout: 7 in wide (a two-column page's text width; 3.5 in for one panel), 7-9 pt text, one legend per
figure, so the figures read at print size without scaling. Each method keeps its colour in every figure.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import transforms  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from gawm.report.runs import MAP_ORDER, METHOD_ORDER, load_curves, simulators, split_method_label  # noqa: E402

COLOURS = {"GAWM": "#d62728", "GAWM*": "#ff7f0e", "MAG": "#2ca02c", "MAMBA": "#1f77b4", "MAPPO": "#9467bd",
           "QMIX": "#8c564b"}
# line styles too, so curves that coincide (e.g. several methods at 0% wins) stay visible, also in grey print
STYLES = {"GAWM": "-", "GAWM*": (0, (4, 1.5)), "MAG": (0, (5, 1.5, 1, 1.5)), "MAMBA": (0, (1.5, 1.2)),
          "MAPPO": (0, (3, 1, 1, 1, 1, 1)), "QMIX": (0, (6, 2))}
MARKERS = {"GAWM": "o", "GAWM*": "s", "MAG": "^", "MAMBA": "v", "MAPPO": "D", "QMIX": "X"}
LEGEND = {"GAWM*": "GAWM* (no obs-fusion)"}
# variants ("MAPPO [ep15]") draw from colours no method has, in the order the figure lists them, and keep their
# method's line style and marker, so a variant is told from every method and from the other variants
VARIANT_COLOURS = ("#17becf", "#bcbd22", "#e377c2", "#7f7f7f", "#393b79", "#8c6d31", "#637939", "#843c39",
                   "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#9c9ede", "#e7ba52")
COINCIDE_TOL_PP = 0.5  # win-rate mean curves closer than this everywhere are "the same line"
SEPARATE_PT = 1.3  # distance in print between the lines of coinciding curves (the lines are 1.2 pt wide)
PAGE_WIDTH_IN = 7.0  # text width of a two-column paper page
FONT = {"font.size": 7, "axes.titlesize": 8, "axes.labelsize": 7, "xtick.labelsize": 6.5, "ytick.labelsize": 6.5,
        "legend.fontsize": 7, "figure.titlesize": 8.5, "figure.labelsize": 7}


def line_styles(methods: list[str]) -> dict[str, tuple[str, object, str]]:
    """(colour, line style, marker) per method label of one figure: a method's own, or for a variant a colour
    of VARIANT_COLOURS (cycled past 16 variants) with its method's style and marker."""
    out, k = {}, 0
    for m in methods:
        base, variant = split_method_label(m)
        if variant is None and m in COLOURS:
            out[m] = (COLOURS[m], STYLES[m], MARKERS[m])
        else:
            out[m] = (VARIANT_COLOURS[k % len(VARIANT_COLOURS)], STYLES.get(base, "-"), MARKERS.get(base, "o"))
            k += 1
    return out


def _band(curves: pd.DataFrame, x: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max over seeds on the union grid of x (each seed interpolated within its own range)."""
    grid = np.unique(curves[x].to_numpy(dtype=float))
    ys = []
    for _, g in curves.groupby("seed"):
        g = g.sort_values(x)
        xs, vs = g[x].to_numpy(dtype=float), g["value"].to_numpy(dtype=float)
        ys.append(np.where((grid >= xs[0]) & (grid <= xs[-1]), np.interp(grid, xs, vs), np.nan))
    y = np.vstack(ys)  # (seeds, grid)
    with np.errstate(all="ignore"):
        return grid, np.nanmean(y, 0), np.nanmin(y, 0), np.nanmax(y, 0)


def _coinciding(curves: dict[str, tuple[np.ndarray, np.ndarray]], tol: float,
                ylim: tuple[float, float] | None = None) -> dict[str, float]:
    """Shift (in units of SEPARATE_PT) per method whose curve coincides with another's: equal within `tol` at
    every x both cover (and they share at least one x); groups are transitive. The group's first method stays on
    the true curve and the others stack towards the inside of `ylim` (upwards from a curve in the lower half,
    downwards from one in the upper half), so no line is clipped at 0% or 100%; without ylim they are centred."""
    names = list(curves)
    parent = {m: m for m in names}

    def root(m: str) -> str:
        while parent[m] != m:
            m = parent[m]
        return m

    for i, a in enumerate(names):
        for b in names[i + 1:]:
            (xa, ya), (xb, yb) = curves[a], curves[b]
            common = np.intersect1d(xa, xb)
            if len(common) == 0:
                continue
            da = np.interp(common, xa, ya)
            db = np.interp(common, xb, yb)
            if np.nanmax(np.abs(da - db)) <= tol:
                parent[root(b)] = root(a)
    groups: dict[str, list[str]] = {}
    for m in names:
        groups.setdefault(root(m), []).append(m)
    shifts = {}
    for g in (g for g in groups.values() if len(g) > 1):
        if ylim is None:
            shifts.update({m: j - (len(g) - 1) / 2 for j, m in enumerate(g)})
        else:
            level = float(np.nanmean(curves[g[0]][1]))
            sign = 1.0 if level <= (ylim[0] + ylim[1]) / 2 else -1.0
            shifts.update({m: sign * j for j, m in enumerate(g)})
    return shifts


def _panels(df: pd.DataFrame, methods: list[str], x: str, xlabel: str, ylabel: str, title: str,
            scale: float = 1.0, ylim: tuple[float, float] | None = None, coincide_tol: float | None = None):
    """One panel per map (4 per row), every method's seed mean and min-max band, one legend below.

    With `coincide_tol` (plotted units), the mean lines of methods whose curves coincide within it are drawn
    SEPARATE_PT apart (see _coinciding), and the subtitle says so."""
    maps = [m for m in MAP_ORDER if m in set(df["map"])] + sorted(set(df["map"]) - set(MAP_ORDER))
    cols = min(4, len(maps))
    rows = int(np.ceil(len(maps) / cols))
    width = PAGE_WIDTH_IN if cols > 1 else PAGE_WIDTH_IN / 2
    seeds = df.groupby(["map", "method"])["seed"].nunique()
    uniform = seeds.nunique() == 1  # same seed count everywhere: say it once in the title
    separated = False
    with plt.rc_context(FONT):
        xlabel = textwrap.fill(xlabel, int(14 * width), break_on_hyphens=False)  # one x label for all panels
        # legend entries per line: as many of the longest label (~0.06 in a character at 7 pt, plus its line
        # sample) as fit the figure's width, at most 4 (2 for one panel); stacked variant names run to 40 characters
        longest = max(len(LEGEND.get(m, m)) for m in methods)
        per_row = max(1, min(4 if cols > 1 else 2, int(width // (0.06 * longest + 0.45))))
        legend_rows = max(1, -(-len(methods) // per_row))
        bottom = 0.2 * legend_rows + 0.13 * (xlabel.count("\n") + 1) + 0.1  # inches: legend, x label, gaps
        seed_lines = {m: textwrap.fill("seeds: " + ", ".join(f"{k} {seeds[(m, k)]}" for k in methods
                                                           if (m, k) in seeds.index),
                                      int(12 * width / cols), break_on_hyphens=False) for m in maps}
        extra = 0 if uniform else max(t.count("\n") for t in seed_lines.values())  # panel title lines > 2
        height = 1.75 * rows + 0.45 + 0.12 * extra * rows + bottom  # inches: panels, titles, bottom band
        fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False)
        for ax in axes.ravel()[len(maps):]:
            ax.set_visible(False)
        handles, style = {}, line_styles(methods)
        for i, (ax, map_name) in enumerate(zip(axes.ravel(), maps)):
            bands = {}
            for method in methods:
                g = df[(df["map"] == map_name) & (df["method"] == method)]
                if not g.empty:
                    bands[method] = _band(g, x)
            shifts = {} if coincide_tol is None else _coinciding(
                {m: (grid, mean * scale) for m, (grid, mean, _, _) in bands.items()}, coincide_tol, ylim)
            separated |= bool(shifts)
            for method, (grid, mean, lo, hi) in bands.items():
                k = methods.index(method)
                where = ax.transData
                if method in shifts:  # drawn beside the curves it coincides with, a fixed distance in print
                    where = transforms.offset_copy(ax.transData, fig=fig, y=shifts[method] * SEPARATE_PT,
                                                   units="points")
                colour, ls, marker = style[method]
                (line,) = ax.plot(grid, mean * scale, color=colour, ls=ls, lw=1.2, marker=marker, ms=3, mew=0.6,
                                  mfc="none", markevery=(0.05 * k, 0.3), transform=where)  # markers staggered
                ax.fill_between(grid, lo * scale, hi * scale, color=colour, alpha=0.18, lw=0)
                handles.setdefault(method, line)
            if ylim is not None:
                ax.set_ylim(*ylim)
            ax.set_title(map_name if uniform else f"{map_name}\n{seed_lines[map_name]}", pad=3)
            if i % cols == 0:
                ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3, lw=0.5)
        n = int(seeds.max())
        sub = f"mean over {'%d seed%s' % (n, 's' * (n > 1)) if uniform else 'seeds'}, band = min-max"
        if separated:
            sub += f"; equal curves drawn side by side, {SEPARATE_PT:g} pt apart"
        fig.suptitle(f"{title} -- {sub}" if cols > 1 else
                     "\n".join(textwrap.fill(t, int(13 * width), break_on_hyphens=False) for t in (title, sub)))
        fig.tight_layout(rect=(0, bottom / height, 1, 1))
        fig.supxlabel(xlabel, y=(0.2 * legend_rows + 0.05) / height, va="bottom")
        fig.legend(handles.values(), [LEGEND.get(m, m) for m in handles], loc="lower center",
                   bbox_to_anchor=(0.5, 0.0), ncol=max(1, -(-len(handles) // legend_rows)), frameon=False)
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


def _wm_axis_label(loss: pd.DataFrame) -> str:
    """'world-model gradient steps' with what one step is, when every plotted run agrees on it."""
    size = loss[["wm_batch", "seq_len"]].drop_duplicates().dropna()
    if len(size) == 1:
        b, t = size.iloc[0]
        return f"world-model gradient steps (1 = one batch of {int(b)} x {int(t)}-step sequences)"
    return "world-model gradient steps (batch sizes differ between the plotted runs)"


def write_figures(root: Path, out: Path) -> dict[str, list[Path]]:
    """Render Figs. 3-5 from the runs under `root`; a figure without data is skipped and reported.

    Runs of different simulators are never pooled: where `root` holds several, each gets its own figures
    under out/<simulator>/, keyed "<simulator>/<name>" (and "skipped" lists what was not drawn for any)."""
    sims = simulators(root)
    if len(sims) <= 1:
        return _write_figure_set(root, out, None)
    written: dict[str, list[Path]] = {}
    skipped: list[str] = []
    for sim in sims:
        part = _write_figure_set(root, out / sim, sim)
        skipped += [f"{sim}: {s}" for s in part.pop("skipped")]  # type: ignore[arg-type]
        written.update({f"{sim}/{name}": paths for name, paths in part.items()})
    written["skipped"] = skipped  # type: ignore[assignment]
    return written


def _write_figure_set(root: Path, out: Path, simulator: str | None) -> dict[str, list[Path]]:
    """write_figures for the runs of one simulator (all runs if None)."""
    written, skipped = {}, []
    wins = load_curves(root, "eval.csv", "win_rate", simulator)
    wins["step_k"] = wins["step"] / 1000.0
    if len(wins):
        fig = _panels(wins, [m for m in METHOD_ORDER if m in set(wins["method"])] +
                      sorted(set(wins["method"]) - set(METHOD_ORDER)), "step_k",
                      "real env. steps (thousands)", "test win rate (%)",
                      "Fig. 3: win rate vs real steps", scale=100.0, ylim=(-3, 103), coincide_tol=COINCIDE_TOL_PP)
        written["fig3_win_rate"] = _save(fig, out, "fig3_win_rate")
    else:
        skipped.append(f"fig3_win_rate (no run with an eval.csv under {Path(root) / 'runs'})")
    loss = load_curves(root, "progress.csv", "wm_loss", simulator)
    loss = loss[loss["method"].isin(["GAWM", "GAWM*"])]
    if len(loss):
        fig = _panels(loss, ["GAWM", "GAWM*"], "wm_epoch", _wm_axis_label(loss), "world-model loss (Eq. 3)",
                      "Fig. 4: world-model loss, GAWM vs GAWM*")
        written["fig4_wm_loss"] = _save(fig, out, "fig4_wm_loss")
    else:
        skipped.append(f"fig4_wm_loss (no GAWM/GAWM* run with a logged wm_loss under {Path(root) / 'runs'})")
    ab = wins[wins["method"].isin(["GAWM", "GAWM*"])]
    if len(ab):
        fig = _panels(ab, ["GAWM", "GAWM*"], "step_k", "real env. steps (thousands)", "test win rate (%)",
                      "Fig. 5: GAWM vs GAWM* (obs-fusion ablation)", scale=100.0, ylim=(-3, 103),
                      coincide_tol=COINCIDE_TOL_PP)
        written["fig5_gawm_vs_gawm_star"] = _save(fig, out, "fig5_gawm_vs_gawm_star")
    else:
        skipped.append(f"fig5_gawm_vs_gawm_star (no GAWM/GAWM* run with an eval.csv under {Path(root) / 'runs'})")
    written["skipped"] = skipped  # type: ignore[assignment]
    return written
