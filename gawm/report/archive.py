"""The results archive: every finished run's small files, committed to the repository with their provenance.

Run directories (with their checkpoints) live on the machine that trained them and die with it; the
tables and figures we publish must not. `gawm archive --run DIR` copies a finished run's small result
files into `results/archive/runs/<method>/<map>/<seed>/` (the layout `gawm table` and `gawm plot` read, so
the archive is a results root like any other) together with `provenance.json`: the sessions that trained
it (commit, exact command, machine, threads, simulator version, wall time, peak RSS; gawm/provenance.py)
and an `archived` record (when, from where, by which commit, and externally measured figures such as a
`/usr/bin/time -v` log). No checkpoint ever enters the archive.

`gawm results` regenerates RESULTS.md from the archive alone: the list of runs with their provenance,
Tables 1-3 beside the published numbers (the same code as `gawm table`), and Figs. 3-5.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gawm.io import atomic_write_bytes, atomic_write_json
from gawm.provenance import PROVENANCE_FILE, code_version, read_provenance, summarise
from gawm.report.runs import SIMULATOR_SEP, VARIANT_SEP, budget_variant, simulator_of
from gawm.runs import read_run_json

ARCHIVE_ROOT = Path("results/archive")
# what a finished run must have, and what it may have (analysis.json: world-model methods only)
REQUIRED_FILES = ("config.json", "progress.csv", "eval.csv", "summary.json", "evaluation.json")
OPTIONAL_FILES = ("analysis.json",)


def parse_time_log(path: Path) -> dict[str, Any]:
    """Wall time (s) and peak RSS (MiB) from GNU `/usr/bin/time -v` output; a log without them is refused."""
    text = Path(path).read_text(errors="replace")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if not wall or not rss:
        raise ValueError(f"{path} is not the output of /usr/bin/time -v (no wall clock or maximum RSS line)")
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    return {"wall_s": round(seconds, 1), "peak_rss_mb": round(int(rss.group(1)) / 1024.0, 1),
            "source": f"/usr/bin/time -v ({Path(path).name})"}


def _run_identity(run: Path) -> tuple[str, str, int, int]:
    if not (run / "config.json").exists():
        raise ValueError(f"{run} is not a run directory (no config.json)")
    cfg = read_run_json(run / "config.json", ("method", "map", "seed", "steps"), ": not written by `gawm train`")
    return cfg["method"], cfg["map"], int(cfg["seed"]), int(cfg["steps"])


def archive_run(run: Path, archive: Path = ARCHIVE_ROOT, time_log: Path | None = None, note: str | None = None,
                force: bool = False, simulator: str | None = None, variant: str | None = None) -> Path:
    """Copy a finished run's small files and provenance into the archive; returns the archived directory.

    `variant` names a run made with a config that is not the method's own (e.g. `cpu` for MAMBA under
    config/cpu/mamba_mag.yaml): it is archived under runs/<method>@<variant>/ and tabled and plotted as its
    own column ("MAMBA [cpu]"), never pooled with the method's default runs. A run whose real steps are not the
    paper's budget on its map gets the budget in its variant ("1000k", or "ep15-1000k" with --variant ep15;
    report.runs.budget_variant), so it never takes the place of a Table-1 run. The directory also names the
    run's simulator, runs/<method>[@<variant>]~<simulator>/<map>/<seed>, so a sim-v3 run never takes the
    place of the same method, map and seed on sim-v2; tables and figures are made per simulator
    (report.runs.run_simulator).
    Refused (ValueError, nothing written) when the run is unfinished, lacks its 1000-episode evaluation,
    or is already archived (unless `force`)."""
    run = Path(run)
    if not run.is_dir():
        raise ValueError(f"run directory {run} does not exist")
    if variant is not None and not re.fullmatch(r"[a-z0-9][a-z0-9_-]*(\+[a-z0-9][a-z0-9_-]*)*", variant):
        raise ValueError(f"--variant {variant!r}: use lower-case letters, digits, '-' and '_', and '+' between "
                         "the parts of a change stacked on another variant (cpu+survival_weight)")
    method, map_name, seed, steps = _run_identity(run)
    variant = budget_variant(variant, map_name, steps)
    missing = [f for f in REQUIRED_FILES if not (run / f).exists()]
    if missing:
        hint = " (run `gawm evaluate --run RUN`)" if "evaluation.json" in missing else " (has the run finished?)"
        raise ValueError(f"{run} lacks {', '.join(missing)}{hint}")
    summary = read_run_json(run / "summary.json", ("steps",), "; re-run `gawm train` to finish the run")
    if int(summary["steps"]) < steps:
        raise ValueError(f"{run} is unfinished: {summary.get('steps')} of {steps} steps")
    sessions = read_provenance(run)
    measured = parse_time_log(time_log) if time_log else None
    if not sessions and (measured is None or not note or not simulator):
        raise ValueError(f"{run} has no {PROVENANCE_FILE} (trained before provenance was recorded); pass "
                         "--time-log with its /usr/bin/time -v output, --note with its command and commit, and "
                         "--simulator (e.g. sim-v2)")
    recorded = sorted({x.get("simulator") for x in sessions} - {None})
    if simulator and recorded and recorded != [simulator]:
        raise ValueError(f"--simulator {simulator} contradicts the run's provenance ({', '.join(recorded)})")
    # the run's simulator(s), read as every report reads them (", " cannot be part of a directory name)
    tag = SIMULATOR_SEP + simulator_of({"sessions": sessions, "archived": {"simulator": simulator}}).replace(", ", "+")
    dest = archive / "runs" / ((f"{method}{VARIANT_SEP}{variant}" if variant else method) + tag) / map_name / str(seed)
    if dest.exists() and not force:
        raise ValueError(f"{dest} exists; pass --force to replace it")
    staging = dest.with_name(f".{dest.name}.staging")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for name in REQUIRED_FILES + OPTIONAL_FILES:
        if (run / name).exists():
            shutil.copyfile(run / name, staging / name)
    archived = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "from": str(run.resolve()),
                "by_commit": code_version()["commit"], "note": note, "measured": measured, "simulator": simulator,
                "variant": variant}
    atomic_write_json(staging / PROVENANCE_FILE, {"sessions": sessions, "archived": archived})
    if dest.exists():
        shutil.rmtree(dest)
    staging.rename(dest)
    return dest


def archived_runs(archive: Path) -> list[dict[str, Any]]:
    """One record per archived run: identity, final evaluation and provenance totals (for RESULTS.md)."""
    rows = []
    for cfg_path in sorted(Path(archive).glob("runs/*/*/*/config.json")):
        run = cfg_path.parent
        _, map_name, seed, steps = _run_identity(run)
        method = run.parts[-3].partition(SIMULATOR_SEP)[0]  # <method>[@<variant>]; the simulator has its column
        prov = json.loads((run / PROVENANCE_FILE).read_text()) if (run / PROVENANCE_FILE).exists() else {}
        totals = summarise(prov.get("sessions", []))
        archived = prov.get("archived") or {}
        measured = archived.get("measured") or {}
        ev = read_run_json(run / "evaluation.json", ("win_rate", "episodes"))  # archive_run required it
        rows.append({"method": method, "map": map_name, "seed": seed, "steps": steps,
                     "win_rate": ev.get("win_rate"), "episodes": ev.get("episodes"),
                     "simulator": simulator_of(prov),
                     "wall_s": measured.get("wall_s", totals["wall_s"]),
                     "peak_rss_mb": measured.get("peak_rss_mb", totals["peak_rss_mb"]),
                     "sessions": totals["sessions"], "killed_sessions": totals["killed_sessions"],
                     "commit": ", ".join(c[:10] for c in totals["commits"]) or "unknown",
                     "dirty": totals["dirty"], "command": totals["commands"][0] if totals["commands"] else
                     (prov.get("archived") or {}).get("note") or "", "path": run})
    return sorted(rows, key=lambda r: (r["method"], r["map"], r["seed"], r["simulator"]))


def _fmt_wall(s: float | None) -> str:
    if s is None:
        return "unknown"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min" if s >= 3600 else f"{int(s // 60)} min {int(s % 60):02d} s"


def policy_agreement_markdown(runs: list[dict[str, Any]]) -> list[str]:
    """RESULTS.md's policy-agreement section from the archived runs' analysis.json (`gawm analyze`): how often
    an actor that reads observations picks the same greedy action on the real observations as on the world
    model's reconstructions of them (docs/analysis.md), over all checkpoints and at the final one."""
    rows = []
    for r in runs:
        path = Path(r["path"]) / "analysis.json"
        if not path.exists():
            continue
        analysis = json.loads(path.read_text())
        total = analysis.get("policy_agreement")
        if not isinstance(total, dict):  # none, or "n/a: ..." for an actor that reads no observations
            continue
        final = next((c.get("policy_agreement") for c in analysis.get("per_checkpoint", [])
                      if Path(str(c.get("checkpoint", ""))).name == "final.pt"), None)
        final = final if isinstance(final, dict) else {}
        rows.append((r, total, final))
    if not rows:
        return []
    lines = ["## Policy agreement: real vs reconstructed observations", "",
             "The actor trains on the world model's reconstructions and acts on real observations. Greedy "
             "agreement = share of decisions where both inputs give the same greedy action (same memory: the "
             "actor's memory from the real stream for both; own memory: each input stream carries its own), and "
             "the mean KL between the two action distributions; over all saved checkpoints and at final.pt "
             "(`gawm analyze`, docs/analysis.md).", "",
             "| method | map | seed | decisions | agreement, same memory | agreement, own memory | KL same / own "
             "| at final.pt: agreement same / own, KL same |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r, t, f in rows:
        at_final = (f"{100 * f['agree_same_memory']:.1f}% / {100 * f['agree_own_memory']:.1f}%, "
                    f"{f['kl_same_memory']:.3f}") if f else "—"
        lines.append(f"| {r['method']} | {r['map']} | {r['seed']} | {int(t['decisions']):,} | "
                     f"{100 * t['agree_same_memory']:.1f}% | {100 * t['agree_own_memory']:.1f}% | "
                     f"{t['kl_same_memory']:.3f} / {t['kl_own_memory']:.3f} | {at_final} |")
    return lines + [""]


def results_markdown(archive: Path, tables: dict[str, Path], figures: dict[str, list[Path]], out_md: Path) -> str:
    """RESULTS.md's text: runs with provenance, Tables 1-3 as `gawm table` writes them, figure links."""
    runs = archived_runs(archive)
    base = out_md.resolve().parent

    def rel(p: Path) -> str:
        try:
            return str(Path(p).resolve().relative_to(base))
        except ValueError:
            return str(p)

    lines = ["# Measured results", "",
             f"Generated by `gawm results --archive {archive}` from the committed archive "
             f"(`{archive}/runs/<method>[@<variant>]~<simulator>/<map>/<seed>/`); do not edit by hand. "
             "Every number below was computed from an archived run; the published numbers are the paper's, shown beside ours, never in their "
             "place. `gawm table --results " f"{archive}` reproduces the tables.", ""]
    sims = sorted({r["simulator"] for r in runs})
    if len(sims) > 1:
        lines += [f"The archive holds runs of several simulators ({', '.join(sims)}). Results are comparable only "
                  "within one simulator, so every table and figure below is made per simulator and never pools "
                  "them.", ""]
    lines += ["## Archived runs", ""]
    if not runs:
        lines += ["No run is archived yet.", ""]
    else:
        lines += ["| method | map | seed | real steps | simulator | win rate (episodes) | wall | peak RSS | "
                  "commit | command |", "|---|---|---:|---:|---|---:|---:|---:|---|---|"]
        for r in runs:
            win = "—" if r["win_rate"] is None else f"{100 * r['win_rate']:.1f}% ({r['episodes']})"
            rss = "unknown" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb'] / 1024:.2f} GB"
            wall = _fmt_wall(r["wall_s"]) + (f" ({r['sessions']} sessions)" if r["sessions"] > 1 else "")
            commit = r["commit"] + (" (dirty)" if r["dirty"] else "")
            lines.append(f"| {r['method']} | {r['map']} | {r['seed']} | {r['steps']:,} | {r['simulator']} | {win} | "
                         f"{wall} | {rss} | {commit} | `{r['command']}` |")
        lines.append("")
    group = None
    for key, path in tables.items():
        sim = key.split("/", 1)[0] if "/" in key else None  # write_tables' per-simulator sets
        if sim != group:
            group = sim
            lines += [f"## Tables: simulator {sim}", ""]
        lines += [Path(path).read_text().replace("\n## ", "\n### ").replace("## ", "### ", 1)
                  if Path(path).read_text().startswith("## ") else Path(path).read_text(), ""]
    lines += policy_agreement_markdown(runs)
    lines += ["## Figures", ""]
    for name, paths in figures.items():
        if name == "skipped":
            lines += [f"- not drawn: {s}" for s in paths]
            continue
        png = next((p for p in paths if str(p).endswith(".png")), None)
        if png is not None:
            lines += [f"![{name.replace('/', ': ')}]({rel(png)})", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_results(archive: Path = ARCHIVE_ROOT, out_md: Path = Path("RESULTS.md")) -> Path:
    """Regenerate the archive's tables and figures and RESULTS.md from the archive alone."""
    from gawm.report.plots import write_figures
    from gawm.report.tables import write_tables

    archive = Path(archive)
    if not archive.is_dir():
        raise FileNotFoundError(f"archive {archive} does not exist")
    for generated in ("tables", "figures"):  # made from the runs alone: no stale file (a simulator's set) survives
        shutil.rmtree(archive / generated, ignore_errors=True)
    tables = write_tables(archive, None, archive / "tables")
    figures = write_figures(archive, archive / "figures")
    atomic_write_bytes(out_md, results_markdown(archive, tables, figures, out_md).encode())
    return Path(out_md)
