"""Finding the runs under a results root and reading their per-run outputs.

A results root (results/, results/quick, ...) holds runs/<method>/<map>/<seed>/ with the files `gawm train`,
`gawm evaluate` and `gawm analyze` write; this module turns them into tidy pandas frames.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from gawm.envs import MAP_NAMES
from gawm.provenance import PROVENANCE_FILE
from gawm.registry import DISPLAY, METHOD_ORDER  # registry name -> display name; table/figure order
from gawm.runs import read_run_config, read_run_json

__all__ = ["DISPLAY", "METHOD_ORDER", "MAP_ORDER", "run_dirs", "run_simulator", "simulator_of", "simulators", "load_run_results",
           "load_run_configs", "load_curves", "load_published", "method_label", "split_method_label", "PUBLISHED_DIR",
           "paper_steps", "budget_tag", "budget_variant", "is_budget_only", "without_budget", "reference_variant"]

MAP_ORDER = list(MAP_NAMES)  # the paper's order (Table 1), as gawm.envs.maps lists them
# the paper's Tables 1-3 as CSV, shipped with the package so `gawm table` works from any directory
PUBLISHED_DIR = Path(__file__).resolve().parent / "published"


VARIANT_SEP = "@"  # runs/<method>@<variant>/: a run made with a config other than the method's own
# runs/<method>[@<variant>]~<simulator>/: the archive's directories name the run's simulator, so runs that
# differ only in their simulator never share a directory (report.archive); a workflow's results root has none
SIMULATOR_SEP = "~"
_LABEL = re.compile(r"^(?P<base>.+) \[(?P<variant>[^\]]+)\]$")  # method_label's "<display> [<variant>]"
# the workflow's config: its `budgets.paper.steps` are the paper's real-step budgets per map (Table 1)
WORKFLOW_CONFIG = Path(__file__).resolve().parents[2] / "config" / "config.yaml"
_BUDGET = re.compile(r"^(?:(?P<variant>.+)-)?\d+(?:k|steps)$")  # budget_variant's "[<variant>-]<N>k|<N>steps"


@lru_cache(maxsize=1)
def _paper_budgets() -> dict[str, int]:
    data = yaml.safe_load(WORKFLOW_CONFIG.read_text()) if WORKFLOW_CONFIG.exists() else {}
    return {m: int(n) for m, n in (((data or {}).get("budgets") or {}).get("paper") or {}).get("steps", {}).items()}


def paper_steps(map_name: str) -> int | None:
    """The paper's real-step budget on `map_name` (config/config.yaml, budgets.paper.steps); None if it has none."""
    return _paper_budgets().get(map_name)


def budget_tag(steps: int) -> str:
    """How a budget is written in a variant name: 1000000 -> "1000k", 400 -> "400steps"."""
    return f"{steps // 1000}k" if steps % 1000 == 0 else f"{steps}steps"


def budget_variant(variant: str | None, map_name: str, steps: int) -> str | None:
    """The variant a run is archived under: `variant`, with "-<N>k" added (or "<N>k" alone) when the run's
    real steps are not the paper's budget on its map.

    Why: the archive keys a run by method, map and seed; a run at another budget (issue 12's 1M-step MAPPO
    learning check) would otherwise take the place of, or be pooled with, the runs at the paper's budget that
    Table 1 compares with the published cells."""
    if paper_steps(map_name) in (None, steps):
        return variant
    return f"{variant}-{budget_tag(steps)}" if variant else budget_tag(steps)


def is_budget_only(variant: str | None) -> bool:
    """True for a variant that names only a budget ("1000k", "400steps"): the method's own config at another
    budget."""
    return variant is not None and without_budget(variant) is None


def without_budget(variant: str | None) -> str | None:
    """The configuration part of a variant: "ep15" for "ep15-1000k", None for "1000k" (the method's own config)."""
    m = _BUDGET.match(variant or "")
    return m["variant"] if m else variant


def reference_variant(variant: str | None) -> str | None:
    """The configuration a variant is one change away from, budget aside: "cpu" for "cpu+survival_weight" (a
    change stacked on the cpu overlay, parts joined by '+'), None (the method's own config) for a one-part
    variant such as "survival_weight" or "ep15-1000k".

    Why: a knob tried on a baseline that only runs under an overlay (MAMBA [cpu]) must be compared with that
    overlay's runs, not with the method's own config, which may have no runs at all."""
    own = without_budget(variant)
    return own.rsplit("+", 1)[0] if own and "+" in own else None


def run_dirs(root: Path, simulator: str | None = None) -> list[Path]:
    """Every runs/<method>/<map>/<seed>/ directory with a config.json under `root` (only those whose battles
    came from `simulator`, e.g. "sim-v3", if given)."""
    runs = sorted(p.parent for p in Path(root).glob("runs/*/*/*/config.json"))
    return runs if simulator is None else [r for r in runs if run_simulator(r) == simulator]


def run_simulator(run: Path) -> str:
    """The simulator a run's battles came from, as its provenance.json records it: "sim-v2", "sc2", several
    joined by ", " if it was resumed on another, "unknown" where nothing says. Results of different
    simulators are never pooled (tables and figures are made per simulator), so this is part of a result's
    identity, like its map."""
    path = Path(run) / PROVENANCE_FILE
    try:
        prov = json.loads(path.read_text()) if path.exists() else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); restore it from the archive") from exc
    return simulator_of(prov)


def simulator_of(prov: dict) -> str:
    """`run_simulator` of a provenance record already read ({"sessions": [...], "archived": {...}})."""
    sims = sorted({s.get("simulator") or "unknown" for s in prov.get("sessions") or []})
    if not sims:  # archived before provenance was recorded: `gawm archive --simulator` named it
        sims = [(prov.get("archived") or {}).get("simulator") or "unknown"]
    return ", ".join(sims)


def simulators(root: Path) -> list[str]:
    """The distinct simulators of the runs under `root`, sorted."""
    return sorted({run_simulator(r) for r in run_dirs(root)})


def _ident(run: Path) -> dict:
    method, map_name, seed = run.parts[-3:]
    if not seed.isdigit():
        raise ValueError(f"{run}: run directories are runs/<method>/<map>/<seed> with an integer seed")
    method = method.partition(SIMULATOR_SEP)[0]  # the simulator is read from provenance (run_simulator)
    base, _, variant = method.partition(VARIANT_SEP)  # an archived variant (report.archive)
    return {"method": method_label(DISPLAY.get(base, base), variant or None), "map": map_name, "seed": int(seed)}


def method_label(display: str, variant: str | None) -> str:
    """How tables and figures name a method's runs: "GAWM", or "GAWM [cpusched]" for an archived variant."""
    return f"{display} [{variant}]" if variant else display


def split_method_label(label: str) -> tuple[str, str | None]:
    """`method_label`'s inverse: ("GAWM", "cpusched") from "GAWM [cpusched]", ("GAWM", None) from "GAWM"."""
    m = _LABEL.match(label)
    return (m["base"], m["variant"]) if m else (label, None)


def _read_json(path: Path, keys: tuple[str, ...]) -> dict:
    """A per-run JSON output with the keys the tables need; a broken one stops the table with its name."""
    data = read_run_json(path, keys, "; re-run the command that writes it")
    for k in keys:  # every key the tables read is a number; "0.8" or null would break them later, unnamed
        v = data[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"{path}: '{k}' is {v!r}, not a number; re-run the command that writes it")
    return data


def load_run_results(root: Path, simulator: str | None = None) -> pd.DataFrame:
    """One row per run (of `simulator` only, if given): method, map, seed, and win_rate (%), gci, gpe where
    evaluation/analysis exist."""
    rows = []
    for run in run_dirs(root, simulator):
        row = _ident(run)
        ev, an = run / "evaluation.json", run / "analysis.json"
        if ev.exists():
            e = _read_json(ev, ("win_rate", "episodes", "step"))
            row.update(win_rate=100.0 * e["win_rate"], eval_episodes=e["episodes"], steps=e["step"])
        if an.exists():
            a = _read_json(an, ("gci_mean", "gpe_mean", "pairs"))
            row.update(gci=a["gci_mean"], gpe=a["gpe_mean"], pairs=a["pairs"])
        rows.append(row)
    return pd.DataFrame(rows, columns=["method", "map", "seed", "win_rate", "eval_episodes", "steps", "gci", "gpe",
                                       "pairs"])


def load_run_configs(root: Path, methods: set[str] | None = None, simulator: str | None = None
                     ) -> dict[tuple[str, str, int], dict[str, object]]:
    """Each run's resolved method config (of the `methods`, as tabled, if given), keyed by (method as tabled,
    map, seed).

    Why: a variant's archived config is the record of what it changed; comparing it with the default's tells
    the ablation table what each row varies, without trusting a name or a note."""
    out = {}
    for run in run_dirs(root, simulator):
        ident = _ident(run)
        if methods is not None and ident["method"] not in methods:
            continue
        # with the values older runs used where keys are missing
        out[(ident["method"], ident["map"], ident["seed"])] = read_run_config(run).get("config", {})
    return out


def load_curves(root: Path, file: str, column: str, simulator: str | None = None) -> pd.DataFrame:
    """Long frame (method, map, seed, step, value) of `column` from each run's `file` (eval.csv/progress.csv),
    of the runs of `simulator` only if given."""
    frames = []
    for run in run_dirs(root, simulator):
        path = run / file
        if not path.exists():
            continue
        df = pd.read_csv(path)
        if column not in df or df[column].isna().all():
            continue
        df = df[["step", column]].dropna().rename(columns={column: "value"})
        for k, v in _ident(run).items():
            df[k] = v
        if file == "progress.csv":  # world-model epochs so far: E_M updates per logged iteration
            cfg = json.loads((run / "config.json").read_text())["config"]
            blk = next((b for b in cfg.values() if isinstance(b, dict) and "wm_epochs" in b), {})
            df["wm_epoch"] = blk.get("wm_epochs", 1) * (1 + pd.RangeIndex(len(df)))
            # the size of one world-model update, for an honest axis label: sequences x rows per batch
            df["wm_batch"], df["seq_len"] = blk.get("wm_batch", float("nan")), blk.get("seq_len", float("nan"))
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=["method", "map", "seed", "step", "value", "wm_epoch", "wm_batch", "seq_len"])
    return pd.concat(frames, ignore_index=True)


def load_published(published_dir: Path | None, name: str) -> pd.DataFrame:
    """A published table (comment line first): map, [steps,] method, mean, std; default: the packaged ones."""
    path = Path(PUBLISHED_DIR if published_dir is None else published_dir) / name
    if not path.exists():
        raise FileNotFoundError(f"published table {path} is missing (the package ships them in {PUBLISHED_DIR})")
    return pd.read_csv(path, comment="#")
