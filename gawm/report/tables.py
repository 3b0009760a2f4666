"""Tables 1-3 of the paper with our seeds beside the published numbers (`gawm table`).

Each cell: our mean(std) over seeds (sample std, ddof=1), the published mean(std) over its 3 seeds, the
difference ours - published, and a two-sided Welch p-value from the two summaries, with a note where the
test is degenerate (stats.welch_test). A (map, method) without our runs keeps an empty "ours" cell:
published numbers are reference data, never substituted for ours.
Table 1 also gets an aggregate (table1_win_rates_iqm.csv and the Markdown's last block): per method, the IQM
over maps of per-seed win rates (already normalised scores, 0-100) with a stratified-bootstrap 95% CI, for
ours and for the published cells on the same maps (each published cell entering as mean - std, mean,
mean + std: the paper gives no per-seed scores). Tables 2-3 get no aggregate: GCI and GPE are not
normalised across maps, so an IQM over maps would weigh maps by their error scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gawm.drift import config_changes
from gawm.io import atomic_write_bytes
from gawm.report.runs import (MAP_ORDER, METHOD_ORDER, load_published, load_run_configs, load_run_results,
                              is_budget_only, method_label, reference_variant, simulators, split_method_label,
                              without_budget)
from gawm.report.stats import seeds_from_summary, stratified_bootstrap_ci, welch_test

PUBLISHED_SEEDS = 3


@dataclass(frozen=True)
class TableSpec:
    name: str  # output stem
    published: str  # file in the published dir
    metric: str  # column of load_run_results
    title: str
    decimals: int


TABLES = (
    TableSpec("table1_win_rates", "table1_win_rates.csv", "win_rate", "Table 1: test win rate (%)", 1),
    TableSpec("table2_gci", "table2_gci.csv", "gci", "Table 2: Global Consistency Index (Eq. 7), lower is better", 2),
    TableSpec("table3_gpe", "table3_gpe.csv", "gpe", "Table 3: Global Prediction Error (Eq. 8), lower is better", 2),
)


def compare(ours: pd.DataFrame, published: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Long comparison frame, one row per (map, method) of the published table plus any extra of ours."""
    per_seed = ours.dropna(subset=[metric]).groupby(["map", "method"])[metric]
    agg = pd.DataFrame({"n_seeds": per_seed.size(), "ours_mean": per_seed.mean(),
                        "ours_std": per_seed.std(ddof=1),
                        "ours_steps": ours.dropna(subset=[metric]).groupby(["map", "method"])["steps"].max(),
                        }).reset_index()
    pub = published.rename(columns={"mean": "pub_mean", "std": "pub_std"})
    df = pub.merge(agg, on=["map", "method"], how="outer")
    # a variant ("MAMBA [cpu]") is set against its method's published cell: the paper ran the method's own
    # configuration, so this compares across configurations, and `pub_of` says whose cell it is
    df["pub_of"] = df["method"].where(df["pub_mean"].notna())
    base = df["method"].map(lambda m: split_method_label(m)[0])
    variant = df["method"] != base
    if variant.any() and len(pub):
        cell = pub.set_index(["map", "method"])
        for i in df.index[variant]:
            key = (df.at[i, "map"], base[i])
            if key in cell.index:
                df.loc[i, ["pub_mean", "pub_std"]] = cell.loc[key, ["pub_mean", "pub_std"]].to_numpy(float)
                df.at[i, "pub_of"] = base[i]
    df["n_seeds"] = df["n_seeds"].fillna(0).astype(int)
    df["diff"] = df["ours_mean"] - df["pub_mean"]
    tests = [welch_test(r.ours_mean, r.ours_std, r.n_seeds, r.pub_mean, r.pub_std, PUBLISHED_SEEDS)
             if r.n_seeds and not math.isnan(r.pub_mean) else (float("nan"), "") for r in df.itertuples()]
    df["p_value"] = [p for p, _ in tests]
    df["p_note"] = [note for _, note in tests]
    df["map"] = pd.Categorical(df["map"], [m for m in MAP_ORDER] + sorted(set(df["map"]) - set(MAP_ORDER)))
    df["method"] = pd.Categorical(df["method"], METHOD_ORDER + sorted(set(df["method"]) - set(METHOD_ORDER)))
    cols = ["map"] + (["steps"] if "steps" in df else []) + ["method", "n_seeds", "ours_steps", "ours_mean",
                                                              "ours_std", "pub_mean", "pub_std", "pub_of", "diff",
                                                              "p_value", "p_note"]
    return df.sort_values(["map", "method"])[cols].reset_index(drop=True)


def aggregate_iqm(ours: pd.DataFrame, published: pd.DataFrame, metric: str, seed: int = 0) -> pd.DataFrame:
    """Per method: IQM over maps with a stratified-bootstrap 95% CI, ours and published, on the same maps.

    Only maps where we have runs enter, so the two sides are comparable. Ours: the per-seed scores. Published:
    each cell's mean(std) as the 3 pseudo-seeds mean - std, mean, mean + std (stats.seeds_from_summary) --
    the paper gives nothing finer, so its CI is an approximation. Both bootstraps use the same seed."""
    rows = []
    scored = ours.dropna(subset=[metric])
    for method in [m for m in METHOD_ORDER if m in set(published["method"]) | set(scored["method"])]:
        mine = scored[scored["method"] == method]
        maps = sorted(set(mine["map"]))
        per_map = [mine.loc[mine["map"] == m, metric].to_numpy() for m in maps]
        point, low, high = stratified_bootstrap_ci(per_map, seed=seed)
        pub = published[published["method"] == method].set_index("map")
        pub_per_map = [seeds_from_summary(pub.loc[m, "mean"], pub.loc[m, "std"], PUBLISHED_SEEDS)
                       for m in maps if m in pub.index]  # in our maps' order: the same resampling stream
        p_point, p_low, p_high = stratified_bootstrap_ci(pub_per_map, seed=seed)
        rows.append({"method": method, "maps": len(maps), "ours_iqm": point, "ours_ci_low": low,
                     "ours_ci_high": high, "pub_maps": len(pub_per_map), "pub_iqm": p_point, "pub_ci_low": p_low,
                     "pub_ci_high": p_high})
    return pd.DataFrame(rows)


def head_to_head(ours: pd.DataFrame, metric: str = "win_rate", reference: str = "GAWM") -> pd.DataFrame:
    """Per map, `reference` against every other method we ran there, from OUR seeds on both sides: means,
    sample stds, seeds, the difference and a two-sided Welch p (stats.welch_test; its note where degenerate).

    Why: the paper's claim is an ordering of methods (GAWM above MAMBA and MAG); the published cells test each
    of our numbers against the paper's, this tests the ordering on our own runs. A pair needs one seed a side
    (the p-value is then n/a with its note). Only runs at the reference's real-step budget are compared."""
    scored = ours.dropna(subset=[metric])
    rows = []
    for map_name in [m for m in MAP_ORDER if m in set(scored["map"])] + sorted(set(scored["map"]) - set(MAP_ORDER)):
        here = scored[scored["map"] == map_name]
        ref = here.loc[here["method"] == reference, metric]
        if ref.empty:
            continue
        here = _at_steps(here, here[here["method"] == reference])
        present = set(here["method"]) - {reference}
        for method in [m for m in METHOD_ORDER if m in present] + sorted(present - set(METHOD_ORDER)):
            other = here.loc[here["method"] == method, metric]
            p, note = welch_test(ref.mean(), ref.std(ddof=1), len(ref), other.mean(), other.std(ddof=1), len(other))
            rows.append({"map": map_name, "method": method, "ref_n": len(ref), "ref_mean": ref.mean(),
                         "ref_std": ref.std(ddof=1), "n": len(other), "mean": other.mean(),
                         "std": other.std(ddof=1), "diff": ref.mean() - other.mean(), "p_value": p, "p_note": note})
    return pd.DataFrame(rows, columns=["map", "method", "ref_n", "ref_mean", "ref_std", "n", "mean", "std", "diff",
                                       "p_value", "p_note"])


def head_to_head_markdown(df: pd.DataFrame, reference: str = "GAWM") -> str:
    lines = [f"## Table 1, head to head: {reference} against each method on our own seeds", "",
             f"Win rate (%) mean(std) over our seeds; Δ = {reference} - method; two-sided Welch p.", ""]
    if df.empty:
        return "\n".join(lines + [f"No map has runs of {reference} and another method yet."]) + "\n"
    lines += [f"| map | method | {reference} [seeds] | method [seeds] | Δ | p |", "|---|---|---:|---:|---:|---:|"]
    for r in df.itertuples():
        p = f"{r.p_value:.3g}" if not math.isnan(r.p_value) else f"n/a ({r.p_note})"
        lines.append(f"| {r.map} | {r.method} | {_fmt(r.ref_mean, r.ref_std, 1)} [{r.ref_n}] | "
                     f"{_fmt(r.mean, r.std, 1)} [{r.n}] | {r.diff:+.1f} | {p} |")
    return "\n".join(lines) + "\n"


# Settings that change how a run is executed or watched, not what it learns: left out of "what a variant changes".
NOT_LEARNING = frozenset({"runner.torch_threads", "runner.tensorboard", "runner.checkpoint_every",
                          "runner.snapshot_every", "runner.eval_every", "runner.eval_episodes", "runner.eval_envs"})


def learning_changes(default: dict[str, object], variant: dict[str, object]) -> str:
    """'block.key: default -> variant' for every learning setting that differs between two method configs
    (gawm.drift's key-by-key comparison, the one a resume uses; ';'-separated, sorted)."""
    changes = config_changes(default, variant)
    return "; ".join(f"{k}: {old} -> {new}" for k, (old, new) in changes.items() if k not in NOT_LEARNING)


def ablation(ours: pd.DataFrame, configs: dict[tuple[str, str, int], dict[str, object]],
             metric: str = "win_rate") -> pd.DataFrame:
    """Per map, every archived variant ("GAWM [x]") against the runs of the config it changes on our seeds:
    means, sample stds, seeds, the difference variant - default, a two-sided Welch p, and what the variant
    changes, read from the archived configs (first seed of each side; `consistent` is False where the
    variant's seeds or the default's seeds do not share one learning config). The config it changes is the
    method's own for a one-part variant and the variant before its last '+' part for a stacked one
    ("MAMBA [cpu+survival_weight]" against "MAMBA [cpu]"; report.runs.reference_variant), in the `method`
    column; its runs are those at the variant's real-step budget ("MAPPO [ep15-1000k]" against
    "MAPPO [1000k]"; report.runs.budget_variant).

    Why: issue 16 asks which change moves GAWM and by how much; a row says it from the runs alone."""
    scored = ours.dropna(subset=[metric])
    rows = []
    for map_name in [m for m in MAP_ORDER if m in set(scored["map"])] + sorted(set(scored["map"]) - set(MAP_ORDER)):
        here = scored[scored["map"] == map_name]
        for name in sorted(set(here["method"])):
            base, variant = split_method_label(name)
            if variant is None or is_budget_only(variant):
                continue
            var_rows = here[here["method"] == name]
            # the config the variant changes, at the variant's budget: "MAPPO" (or "MAPPO [1000k]" off the
            # paper's budget) for a one-part variant, "MAMBA [cpu]" for "MAMBA [cpu+survival_weight]"
            ref = reference_variant(variant)
            defaults = {m for m in set(here["method"]) if _config_of(m) == (base, ref)}
            base_rows = _at_steps(here[here["method"].isin(defaults)], var_rows)
            if base_rows.empty:
                continue
            base_cfgs = [configs.get((m, map_name, int(sd)), {}) for m, sd in zip(base_rows["method"], base_rows["seed"])]
            var_cfgs = [configs.get((name, map_name, int(sd)), {}) for sd in var_rows["seed"]]
            changes = {learning_changes(base_cfgs[0], c) for c in var_cfgs}
            same_base = {learning_changes(base_cfgs[0], c) for c in base_cfgs} == {""}
            b, v = base_rows[metric], var_rows[metric]
            p, note = welch_test(v.mean(), v.std(ddof=1), len(v), b.mean(), b.std(ddof=1), len(b))
            rows.append({"map": map_name, "method": method_label(base, ref), "variant": variant,
                         "changes": sorted(changes)[0], "consistent": len(changes) == 1 and same_base,
                         "base_n": len(b), "base_mean": b.mean(), "base_std": b.std(ddof=1), "n": len(v),
                         "mean": v.mean(), "std": v.std(ddof=1), "diff": v.mean() - b.mean(), "p_value": p,
                         "p_note": note})
    return pd.DataFrame(rows, columns=["map", "method", "variant", "changes", "consistent", "base_n", "base_mean",
                                       "base_std", "n", "mean", "std", "diff", "p_value", "p_note"])


def _at_steps(runs: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """The rows of `runs` at a real-step budget one of `like`'s rows has (all of them where steps are not known)."""
    if "steps" not in runs:
        return runs
    return runs[runs["steps"].isin(set(like["steps"]))]


def _config_of(label: str) -> tuple[str, str | None]:
    """(method, configuration variant) a label runs, budget aside: ("MAPPO", None) for "MAPPO" and
    "MAPPO [1000k]", ("MAMBA", "cpu") for "MAMBA [cpu]"."""
    base, variant = split_method_label(label)
    return base, without_budget(variant)


def ablation_markdown(df: pd.DataFrame) -> str:
    lines = ["## Ablations: each variant against the config it changes, on our seeds", "",
             "Win rate (%) mean(std) over our seeds; Δ = variant - default; two-sided Welch p. The default is the "
             "`method` column: the method's own config, or for a change stacked on another variant "
             "(`cpu+survival_weight`) that variant. \"changes\" is read "
             "from the archived configs (settings that only change how a run is executed are left out).", ""]
    if df.empty:
        return "\n".join(lines + ["No map has runs of a variant and of the config it changes yet."]) + "\n"
    lines += ["| map | method | variant | changes | default [seeds] | variant [seeds] | Δ | p |",
              "|---|---|---|---|---:|---:|---:|---:|"]
    for r in df.itertuples():
        p = f"{r.p_value:.3g}" if not math.isnan(r.p_value) else f"n/a ({r.p_note})"
        changes = (r.changes or "nothing") + ("" if r.consistent else " (seeds' configs differ)")
        lines.append(f"| {r.map} | {r.method} | {r.variant} | {changes} | {_fmt(r.base_mean, r.base_std, 1)} "
                     f"[{r.base_n}] | {_fmt(r.mean, r.std, 1)} [{r.n}] | {r.diff:+.1f} | {p} |")
    return "\n".join(lines) + "\n"


_MARKERS = ("†", "‡", "§", "¶")


def _fmt(mean: float, std: float, d: int) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    return f"{mean:.{d}f}({std:.{d}f})" if not math.isnan(std) else f"{mean:.{d}f}"


def to_markdown(df: pd.DataFrame, spec: TableSpec, agg: pd.DataFrame | None) -> str:
    """Maps as rows, methods as columns; each cell 'ours vs published, diff, p'."""
    d = spec.decimals
    methods = [m for m in df["method"].cat.categories if m in set(df["method"])]
    lines = [f"## {spec.title}", "",
             "Cell: **ours** mean(std) over our seeds [n seeds @ our real steps] / published mean(std) "
             "[at the paper's steps in the row label], difference, Welch p. Empty ours: no run of ours yet. "
             "A variant's column (`method [variant]`, a configuration other than the method's own) is set "
             "against its method's published cell, marked \"(published <method>)\": the paper ran the "
             "method's own configuration, so that comparison is across configurations.", "",
             "| map | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    marks: dict[str, str] = {}  # p_note -> footnote marker
    for map_name, g in df.groupby("map", observed=True):
        label = f"{map_name} ({int(g['steps'].dropna().iloc[0] // 1000)}k)" if "steps" in g and g["steps"].notna().any() \
            else str(map_name)
        cells = []
        for m in methods:
            r = g[g["method"] == m]
            if r.empty:
                cells.append("")
                continue
            r = r.iloc[0]
            at = "" if math.isnan(r.ours_steps) else f" @{r.ours_steps / 1000:g}k"
            ours = f"**{_fmt(r.ours_mean, r.ours_std, d)}** [{r.n_seeds}{at}]" if r.n_seeds else "—"
            pub = _fmt(r.pub_mean, r.pub_std, d) or "n/a"
            if isinstance(r.pub_of, str) and r.pub_of != m:
                pub += f" (published {r.pub_of})"
            extra = ""
            if r.n_seeds and not math.isnan(r.pub_mean):
                if math.isnan(r.p_value):  # a degenerate test: a marker here, its reason under the table
                    p = "n/a" + marks.setdefault(r.p_note, _MARKERS[len(marks)])
                else:
                    p = f"{r.p_value:.3g}"
                extra = f", Δ{r['diff']:+.{d}f}, p={p}"
            cells.append(f"{ours} / {pub}{extra}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if marks:
        lines += [""] + [f"{m} p = n/a: {note}." for note, m in marks.items()]
    if agg is not None and len(agg):
        lines += ["", "Aggregate: IQM over the maps we ran, with a 95% stratified-bootstrap CI (2000 resamples of "
                  "seeds within each map). Published: the same maps, each cell entering as mean - std, mean, "
                  "mean + std (the paper gives no per-seed scores), so its CI is approximate.", "",
                  "| method | maps | ours IQM [95% CI] | published IQM [95% CI] |", "|---|---|---|---|"]
        for r in agg.itertuples():
            ours = f"{r.ours_iqm:.{d}f} [{r.ours_ci_low:.{d}f}, {r.ours_ci_high:.{d}f}]" if r.maps else "—"
            pub = "" if math.isnan(r.pub_iqm) else f"{r.pub_iqm:.{d}f} [{r.pub_ci_low:.{d}f}, {r.pub_ci_high:.{d}f}]"
            lines.append(f"| {r.method} | {r.maps} | {ours} | {pub} |")
    return "\n".join(lines) + "\n"


def write_tables(root: Path, published_dir: Path | None, out: Path) -> dict[str, Path]:
    """Write table{1,2,3}_*.csv and .md (and Table 1's aggregate, table1_win_rates_iqm.csv, GAWM head to head
    against each method on our seeds, table1_head_to_head, and each variant against the config it changes,
    table1_ablation) under `out`; returns {stem: markdown path}.

    Runs of different simulators are never pooled: where `root` holds several (gawm.report.runs.simulators),
    each gets its own set under out/<simulator>/, keyed "<simulator>/<stem>"."""
    sims = simulators(root)
    if len(sims) <= 1:
        return _write_table_set(root, published_dir, out, None)
    written = {}
    for sim in sims:
        for stem, path in _write_table_set(root, published_dir, out / sim, sim).items():
            written[f"{sim}/{stem}"] = path
    return written


def _write_table_set(root: Path, published_dir: Path | None, out: Path, simulator: str | None) -> dict[str, Path]:
    """write_tables for the runs of one simulator (all runs if None)."""
    ours = load_run_results(root, simulator)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for spec in TABLES:
        pub = load_published(published_dir, spec.published)
        df = compare(ours, pub, spec.metric)
        agg = aggregate_iqm(ours, pub, spec.metric) if spec.metric == "win_rate" else None
        atomic_write_bytes(out / f"{spec.name}.csv", df.to_csv(index=False, float_format="%.6g").encode())
        if agg is not None:
            atomic_write_bytes(out / f"{spec.name}_iqm.csv", agg.to_csv(index=False, float_format="%.6g").encode())
        atomic_write_bytes(out / f"{spec.name}.md", to_markdown(df, spec, agg).encode())
        written[spec.name] = out / f"{spec.name}.md"
    h2h = head_to_head(ours)
    atomic_write_bytes(out / "table1_head_to_head.csv", h2h.to_csv(index=False, float_format="%.6g").encode())
    atomic_write_bytes(out / "table1_head_to_head.md", head_to_head_markdown(h2h).encode())
    written["table1_head_to_head"] = out / "table1_head_to_head.md"
    variants = {m for m in ours["method"] if split_method_label(m)[1] is not None}
    abl = ablation(ours, load_run_configs(root, variants | {split_method_label(m)[0] for m in variants}, simulator))
    atomic_write_bytes(out / "table1_ablation.csv", abl.to_csv(index=False, float_format="%.6g").encode())
    atomic_write_bytes(out / "table1_ablation.md", ablation_markdown(abl).encode())
    written["table1_ablation"] = out / "table1_ablation.md"
    return written

