"""The SLURM profile, as a new cluster user runs it: a dry run of the paper budget through the slurm executor
plugin, checking what every job would ask sbatch for (partition, GPU, CPUs, memory, runtime). A dry run submits
nothing, so no cluster is needed; the plugin must be installed (the `slurm` and `dev` extras install it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gawm.envs.maps import get_map

pytest.importorskip("snakemake_executor_plugin_slurm", reason="pip install -e '.[slurm]'")

REPO = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
PROFILE = REPO / "workflow" / "profiles" / "slurm"
FIXED_RUNTIME = {"evaluate": 30, "analyze": 60, "tables": 30, "figures": 30}  # minutes, as the rules declare


def _dry_run_jobs(tmp_path: Path, *args: str) -> list[dict]:
    """Every job block of `snakemake -n` as {rule, wildcards, threads, resources}."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "-n", *args]
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", res.stdout)[1:]:
        rule = re.match(r"(?:local)?rule (\w+):", block).group(1)
        wc = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        threads = re.search(r"^\s+threads: (\d+)$", block, re.M)
        resources = re.search(r"^\s+resources: (.*)$", block, re.M)
        jobs.append({
            "rule": rule,
            "wildcards": dict(kv.split("=", 1) for kv in wc.group(1).split(", ")) if wc else {},
            "threads": int(threads.group(1)) if threads else 1,
            "resources": dict(kv.split("=", 1) for kv in resources.group(1).split(", ")) if resources else {},
        })
    return jobs


def _train_minutes(method: str, map_name: str, steps: int, gpu: bool = True) -> int:
    per_1k = CONFIG["gpu_minutes_per_1k_steps" if gpu else "minutes_per_1k_steps"][method]
    return max(10, int(2 * per_1k * max(1.0, get_map(map_name).n_agents / 3) * steps / 1000))


def _check(jobs: list[dict], budget: str) -> None:
    steps = CONFIG["budgets"][budget]["steps"]
    seen = set()
    for job in jobs:
        rule, r = job["rule"], job["resources"]
        if rule == "all":
            continue
        seen.add(rule)
        assert "slurm_account" in r, f"{rule}: no account setting"
        assert int(r["cpus_per_task"]) == job["threads"], f"{rule}: cpus_per_task != threads"
        mem_table = CONFIG["mem_mb"][rule]
        map_name = job["wildcards"].get("map")
        line = CONFIG.get("train_memory", {}).get(map_name) if rule == "train" else None
        if line is not None and map_name not in mem_table:  # the measured memory line at the budget's steps
            expected = max(1000, int(1.5 * (line["base_mb"] + line["mb_per_1k_steps"] * steps[map_name] / 1000)))
        else:
            expected = mem_table.get(map_name, mem_table["default"])
        assert int(r["mem_mb"]) == expected, rule
        if rule == "train":
            wc = job["wildcards"]
            assert r["slurm_partition"] == "gpu" and int(r["gpu"]) == 1, r
            assert job["threads"] == 2
            assert int(r["runtime"]) == _train_minutes(wc["method"], wc["map"], steps[wc["map"]])
        else:
            assert r["slurm_partition"] == "cpu" and int(r.get("gpu", 0)) == 0, (rule, r)
            assert int(r["runtime"]) == FIXED_RUNTIME[rule]
    assert seen == {"train", "evaluate", "analyze", "tables", "figures"}


def test_slurm_profile_dry_run_of_the_paper_budget(tmp_path):
    jobs = _dry_run_jobs(tmp_path, "--workflow-profile", str(PROFILE), "all")
    assert sum(j["rule"] == "train" for j in jobs) == 6 * 8 * 3
    _check(jobs, "paper")


def test_profile_flag_and_config_overrides_keep_the_gpu(tmp_path):
    """`--profile` also loads workflow/profiles/default, and `--config` on the command line replaces a profile's
    `config:`; neither may take the training jobs' GPU, CPUs or partition away."""
    jobs = _dry_run_jobs(tmp_path, "--profile", str(PROFILE), "all", "--config", "budget=quick")
    assert sum(j["rule"] == "train" for j in jobs) == 6 * 2 * 2
    _check(jobs, "quick")


def test_per_map_memory_from_the_workflow_config(tmp_path):
    """Measured per-map peaks slot into config `mem_mb:` and reach sbatch without touching the rules."""
    override = tmp_path / "mem.yaml"
    override.write_text("mem_mb:\n  train: {default: 4000, corridor: 12000}\n  analyze: {default: 4000, 8m: 6000}\n")
    jobs = _dry_run_jobs(tmp_path, "--workflow-profile", str(PROFILE), "all", "--configfile",
                         str(REPO / "config" / "config.yaml"), str(override))
    mem = {(j["rule"], j["wildcards"].get("map")): int(j["resources"]["mem_mb"]) for j in jobs if j["rule"] != "all"}
    line = CONFIG["train_memory"]["8m"]  # 8m has no explicit value: its measured line at the paper's 40k steps
    assert mem[("train", "corridor")] == 12000
    assert mem[("train", "8m")] == max(1000, int(1.5 * (line["base_mb"] + line["mb_per_1k_steps"] * 40)))
    assert mem[("analyze", "8m")] == 6000 and mem[("analyze", "corridor")] == 4000
    assert mem[("evaluate", "corridor")] == CONFIG["mem_mb"]["evaluate"]["default"]


def test_memory_for_an_unknown_map_is_rejected(tmp_path):
    override = tmp_path / "mem.yaml"
    override.write_text("mem_mb:\n  train: {default: 4000, 9m: 8000}\n")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "-n", "all",
           "--configfile", str(REPO / "config" / "config.yaml"), str(override)]
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode != 0 and "9m" in res.stdout + res.stderr


@pytest.mark.parametrize("gpus,table", [(0, "minutes_per_1k_steps"), (1, "gpu_minutes_per_1k_steps")])
def test_local_training_time_limit_follows_the_gpu_setting(tmp_path, gpus, table):
    """Without the SLURM profile the train jobs' runtime comes from the CPU table, and from the GPU table once
    `gpus_per_train_job` gives each a GPU (the two tables differ, so the check can tell them apart)."""
    assert CONFIG["minutes_per_1k_steps"] != CONFIG["gpu_minutes_per_1k_steps"]
    jobs = _dry_run_jobs(tmp_path, "all", "--config", "budget=quick", f"gpus_per_train_job={gpus}")
    steps = CONFIG["budgets"]["quick"]["steps"]
    train = [j for j in jobs if j["rule"] == "train"]
    assert any(_train_minutes(j["wildcards"]["method"], j["wildcards"]["map"], 2000, gpu=True)
               != _train_minutes(j["wildcards"]["method"], j["wildcards"]["map"], 2000, gpu=False) for j in train)
    for job in train:
        wc = job["wildcards"]
        assert int(job["resources"]["gpu"]) == gpus
        assert int(job["resources"]["runtime"]) == _train_minutes(wc["method"], wc["map"], steps[wc["map"]],
                                                                  gpu=bool(gpus)), (table, job)
