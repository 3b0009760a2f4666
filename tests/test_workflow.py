"""The Snakemake workflow: the paper DAG's job counts and commands, config validation, and the smoke budget
end to end (train -> evaluate -> analyze -> tables -> figures) with a kill and resume in the middle."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
SNAKEFILE = REPO / "workflow" / "Snakefile"
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE)]
PAPER_STEPS = {"2s_vs_1sc": 15000, "3s_vs_3z": 50000, "2s3z": 80000, "3s_vs_4z": 200000, "3s_vs_5z": 300000,
               "1c3s5z": 75000, "8m": 40000, "corridor": 400000}


def _snakemake(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(SNAKEMAKE + args, cwd=cwd, capture_output=True, text=True, check=check)


def _job_counts(out: str) -> dict[str, int]:
    block = out.split("Job stats:")[1].split("\n\n")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", block, re.M)}


def test_paper_dry_run_lists_every_run_with_the_paper_budgets(tmp_path):
    res = _snakemake(["-n", "-p", "all"], tmp_path)
    counts = _job_counts(res.stdout)
    methods = 6  # gawm, gawm_star, mamba, mag, mappo, qmix
    assert counts["train"] == counts["evaluate"] == methods * 8 * 3
    assert counts["analyze"] == 4 * 4 * 3  # GAWM, GAWM*, MAMBA, MAG on the 4 maps of Tables 2-3, 3 seeds
    assert counts["tables"] == counts["figures"] == counts["all"] == 1
    cmds = re.findall(r"gawm\.cli train --method (\w+) --map (\w+) --seed (\d) --steps (\d+) --out (\S+)", res.stdout)
    assert len(cmds) == counts["train"]
    for method, map_name, seed, steps, out in cmds:
        assert int(steps) == PAPER_STEPS[map_name]
        assert out == f"results/paper/runs/{method}/{map_name}/{seed}"
    assert "--episodes 1000" in res.stdout and "--pairs 1000" in res.stdout


def test_budgets_write_under_their_own_root(tmp_path):
    for budget in ("quick", "smoke"):
        res = _snakemake(["-n", "-p", "all", "--config", f"budget={budget}"], tmp_path)
        outs = set(re.findall(r"--out (\S+)", res.stdout))
        assert outs and all(o.startswith((f"results/{budget}/", f"figures/{budget}")) for o in outs), outs


@pytest.mark.parametrize("override,message", [("budget=huge", "'huge' is not one of"),
                                               ("backend=sc3", "'sc3' is not one of")])
def test_config_schema_rejects_bad_values(tmp_path, override, message):
    res = _snakemake(["-n", "all", "--config", override], tmp_path, check=False)
    assert res.returncode != 0 and message in res.stdout + res.stderr


def test_unknown_map_in_a_budget_is_rejected(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text((REPO / "config" / "config.yaml").read_text().replace("maps: [3s_vs_3z, 8m]\n    seeds: [1, 2]\n"
                                                                          "    steps: {3s_vs_3z: 600",
                                                                          "maps: [3s_vs_3z, 9m]\n    seeds: [1, 2]\n"
                                                                          "    steps: {3s_vs_3z: 600", 1))
    res = _snakemake(["-n", "all", "--configfile", str(cfg), "--config", "budget=smoke"], tmp_path, check=False)
    assert res.returncode != 0 and "'9m' is not one of" in res.stdout + res.stderr


@pytest.mark.slow
def test_smoke_budget_end_to_end_with_kill_and_resume(tmp_path):
    """CI's run of the whole pipeline: kill snakemake mid-training, re-run, check nothing is redone or lost."""
    cmd = SNAKEMAKE + ["--cores", "2", "all", "--config", "budget=smoke", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    runs = tmp_path / "results" / "smoke" / "runs"
    deadline = time.time() + 300
    while time.time() < deadline:  # wait until one run is finished and another is mid-way, then kill all
        done = list(runs.glob("*/*/*/summary.json"))
        partial = [p for p in runs.glob("*/*/*/checkpoints/last.pt") if not (p.parent.parent / "summary.json").exists()]
        if done and partial:
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p: p.stat().st_mtime_ns for p in runs.glob("*/*/*/summary.json")}
    assert finished, "no training run finished before the kill"

    # a SIGKILLed snakemake leaves its lock behind: the documented recovery is --unlock, then the same command
    subprocess.run(SNAKEMAKE + ["all", "--config", "budget=smoke", "--unlock"], cwd=tmp_path, check=True,
                   capture_output=True)
    subprocess.run(cmd + ["--rerun-incomplete"], cwd=tmp_path, check=True, capture_output=True)
    for p, mtime in finished.items():
        assert p.stat().st_mtime_ns == mtime, f"{p} was redone"
    for progress in runs.glob("*/*/*/progress.csv"):
        steps = pd.read_csv(progress)["step"].tolist()
        assert steps == sorted(set(steps)), f"duplicated steps in {progress}"
        assert steps[-1] == 600
    n_runs = 6 * 2 * 2  # every method, 2 maps, 2 seeds
    assert len(list(runs.glob("*/*/*/evaluation.json"))) == n_runs
    assert len(list(runs.glob("*/*/*/analysis.json"))) == 4 * 2 * 2  # the world-model methods

    tables = tmp_path / "results" / "smoke" / "tables"
    t1 = pd.read_csv(tables / "table1_win_rates.csv")
    ours = t1.dropna(subset=["ours_mean"])
    assert len(ours) == 6 * 2 and (ours["n_seeds"].astype(int) == 2).all()
    assert set(ours["method"]) == {"GAWM", "GAWM*", "MAMBA", "MAG", "MAPPO", "QMIX"}
    evals = [json.loads(p.read_text()) for p in runs.glob("gawm/3s_vs_3z/*/evaluation.json")]
    cell = ours[(ours["map"] == "3s_vs_3z") & (ours["method"] == "GAWM")].iloc[0]
    assert float(cell["ours_mean"]) == pytest.approx(100 * sum(e["win_rate"] for e in evals) / len(evals))
    t2 = pd.read_csv(tables / "table2_gci.csv")
    gci = t2.dropna(subset=["ours_mean"])
    assert len(gci) == 4 * 2 and (gci["ours_mean"].astype(float) > 0).all()
    for md in ("table1_win_rates", "table2_gci", "table3_gpe"):
        assert "**" in (tables / f"{md}.md").read_text()  # our numbers are in the Markdown
    for fig in ("fig3_win_rate", "fig4_wm_loss", "fig5_gawm_vs_gawm_star"):
        for ext in ("png", "pdf"):
            assert (tmp_path / "figures" / "smoke" / f"{fig}.{ext}").stat().st_size > 5000
    assert len(list((tmp_path / "results" / "smoke" / "benchmarks" / "train").glob("*.tsv"))) >= 1
