"""Run provenance, the results archive and RESULTS.md: what is recorded, what is refused, what is generated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gawm.cli import main
from gawm.envs import SIMULATOR_VERSION
from gawm.provenance import read_provenance, record_session, summarise
from gawm.report.archive import archive_run, archived_runs, parse_time_log
from gawm.report.runs import budget_tag, budget_variant, is_budget_only, paper_steps
from tests.conftest import SMOKE


TIME_LOG = """\tCommand being timed: "gawm train --method mappo --map 3s_vs_3z --seed 1 --steps 800"
\tUser time (seconds): 10.00
\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02:03.50
\tMaximum resident set size (kbytes): 1048576
\tExit status: 0
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A finished, evaluated 400-step MAPPO run trained through the CLI (so provenance is recorded)."""
    out = tmp_path_factory.mktemp("runs") / "mappo"
    assert main(["train", "--method", "mappo", "--map", "3s_vs_3z", "--seed", "2", "--steps", "400", "--device",
                 "cpu", "--config", str(SMOKE), "--out", str(out), "--no-progress"]) == 0
    assert main(["evaluate", "--run", str(out), "--episodes", "8", "--envs", "4", "--no-progress"]) == 0
    return out


def test_train_records_a_finished_session(run):
    (s,) = read_provenance(run)
    assert s["outcome"] == "finished" and s["simulator"].startswith("sim-v")
    assert "--method mappo" in s["command"] and "--steps 400" in s["command"]
    assert s["wall_s"] > 0 and s["peak_rss_mb"] > 50 and s["torch_threads"] >= 1
    assert s["machine"]["cores"] >= 1 and len(s["commit"]) >= 7


def test_a_killed_session_makes_the_total_wall_time_unknown(tmp_path):
    with record_session(tmp_path, "sim", "cpu", argv=["gawm", "train"]):
        pass
    sessions = read_provenance(tmp_path)
    sessions.append({k: v for k, v in sessions[0].items() if k not in ("ended", "wall_s", "outcome")})
    totals = summarise(sessions)
    assert totals["sessions"] == 2 and totals["killed_sessions"] == 1 and totals["wall_s"] is None


def test_a_failing_session_records_its_error(tmp_path):
    with pytest.raises(RuntimeError):
        with record_session(tmp_path, "sim", "cpu", argv=["gawm", "train"]):
            raise RuntimeError("boom")
    (s,) = read_provenance(tmp_path)
    assert s["outcome"] == "error: RuntimeError: boom"


def test_evaluate_refuses_a_run_of_another_simulator_unless_asked(run, tmp_path, capsys):
    """A run whose provenance says it trained on another simulator version is not measured on this one by
    accident; --other-simulator measures it and the evaluation says on what, and what it trained on."""
    import shutil

    other = tmp_path / "other"
    shutil.copytree(run, other, ignore=shutil.ignore_patterns("evaluation.json"))
    prov = json.loads((other / "provenance.json").read_text())
    for s in prov["sessions"]:
        s["simulator"] = "sim-v0"
    (other / "provenance.json").write_text(json.dumps(prov))
    args = ["evaluate", "--run", str(other), "--episodes", "2", "--envs", "2", "--no-progress"]
    assert main(args) == 2
    assert "was trained on sim-v0" in capsys.readouterr().err and not (other / "evaluation.json").exists()
    assert main(args + ["--other-simulator"]) == 0
    ev = json.loads((other / "evaluation.json").read_text())
    assert ev["simulator"] == f"sim-v{SIMULATOR_VERSION}" and ev["trained_on"] == ["sim-v0"]
    assert json.loads((run / "evaluation.json").read_text())["trained_on"] == [f"sim-v{SIMULATOR_VERSION}"]


def test_parse_time_log(tmp_path):
    log = tmp_path / "time.log"
    log.write_text(TIME_LOG)
    assert parse_time_log(log) == {"wall_s": 3723.5, "peak_rss_mb": 1024.0, "source": "/usr/bin/time -v (time.log)"}
    log.write_text("no figures here")
    with pytest.raises(ValueError, match="not the output of /usr/bin/time -v"):
        parse_time_log(log)


def test_archive_copies_small_files_only_and_refuses_a_second_copy(run, tmp_path):
    log = tmp_path / "time.log"
    log.write_text(TIME_LOG)
    dest = archive_run(run, tmp_path / "archive", time_log=log, note="test")
    # 400 real steps are not the paper's 50k on 3s_vs_3z: the budget is part of the run's archived name
    assert dest == tmp_path / "archive" / "runs" / f"mappo@400steps~sim-v{SIMULATOR_VERSION}" / "3s_vs_3z" / "2"
    assert not list(dest.rglob("*.pt")) and not (dest / "checkpoints").exists()
    for name in ("config.json", "progress.csv", "eval.csv", "summary.json", "evaluation.json", "provenance.json"):
        assert (dest / name).read_bytes() == (run / name).read_bytes() or name == "provenance.json"
    prov = json.loads((dest / "provenance.json").read_text())
    assert prov["archived"]["measured"]["wall_s"] == 3723.5 and prov["archived"]["note"] == "test"
    with pytest.raises(ValueError, match="exists; pass --force"):
        archive_run(run, tmp_path / "archive")
    archive_run(run, tmp_path / "archive", force=True)  # replaced, still one run
    (row,) = archived_runs(tmp_path / "archive")
    assert (row["method"], row["map"], row["seed"], row["steps"]) == ("mappo@400steps", "3s_vs_3z", 2, 400)
    assert row["episodes"] == 8 and row["peak_rss_mb"] > 50


def test_a_run_off_the_paper_budget_is_archived_under_its_budget():
    """Only runs at the paper's real-step budget of their map keep the method's (or variant's) own name."""
    assert paper_steps("3s_vs_3z") == 50000 and paper_steps("2s_vs_1sc") == 15000
    assert budget_variant(None, "3s_vs_3z", 50000) is None and budget_variant("cpu", "3s_vs_3z", 50000) == "cpu"
    assert budget_variant(None, "2s_vs_1sc", 1_000_000) == "1000k"
    assert budget_variant("ep15", "2s_vs_1sc", 1_000_000) == "ep15-1000k"
    assert budget_tag(400) == "400steps" and budget_variant(None, "not_a_map", 123) is None
    assert is_budget_only("1000k") and is_budget_only("400steps")
    assert not is_budget_only("ep15-1000k") and not is_budget_only("cpu") and not is_budget_only(None)


def test_archive_refuses_unevaluated_and_unfinished_runs(run, tmp_path, capsys):
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "progress.csv", "eval.csv", "summary.json", "provenance.json"):
        (bare / name).write_bytes((run / name).read_bytes())
    assert main(["archive", "--run", str(bare), "--archive", str(tmp_path / "a")]) == 2
    assert "lacks evaluation.json" in capsys.readouterr().err
    (bare / "evaluation.json").write_bytes((run / "evaluation.json").read_bytes())
    summary = json.loads((bare / "summary.json").read_text())
    (bare / "summary.json").write_text(json.dumps({**summary, "steps": 200}))
    with pytest.raises(ValueError, match="unfinished: 200 of 400"):
        archive_run(bare, tmp_path / "a")
    (bare / "summary.json").write_text(json.dumps(summary))
    (bare / "provenance.json").unlink()
    with pytest.raises(ValueError, match="no provenance.json"):
        archive_run(bare, tmp_path / "a")
    log = tmp_path / "time.log"
    log.write_text(TIME_LOG)
    with pytest.raises(ValueError, match="--simulator"):
        archive_run(bare, tmp_path / "a", time_log=log, note="made before provenance")
    assert not (tmp_path / "a" / "runs").exists()
    dest = archive_run(bare, tmp_path / "a", time_log=log, note="made before provenance", simulator="sim-v2")
    (row,) = archived_runs(tmp_path / "a")
    assert row["simulator"] == "sim-v2" and row["wall_s"] == 3723.5 and row["command"] == "made before provenance"
    assert dest.is_dir()


def test_results_md_is_generated_from_the_archive_alone(run, tmp_path, capsys):
    archive_run(run, tmp_path / "archive")
    out = tmp_path / "RESULTS.md"
    assert main(["results", "--archive", str(tmp_path / "archive"), "--out", str(out)]) == 0
    text = out.read_text()
    assert "| mappo@400steps | 3s_vs_3z | 2 | 400 | sim-v" in text
    assert "### Table 1: test win rate (%)" in text and "### Table 2" in text and "### Table 3" in text
    assert "95.0(3.0)" in text  # the published GAWM cell on 3s_vs_3z, beside (never instead of) ours
    assert "![fig3_win_rate](archive/figures/fig3_win_rate.png)" in text
    assert (tmp_path / "archive" / "tables" / "table1_win_rates.md").exists()
    # gawm table over the archive, run from another directory, reproduces the table in RESULTS.md
    assert main(["table", "--results", str(tmp_path / "archive"), "--out", str(tmp_path / "t")]) == 0
    table1 = (tmp_path / "t" / "table1_win_rates.md").read_text()
    assert table1.replace("## ", "### ", 1) in text


def test_policy_agreement_section_reads_the_archived_analysis(tmp_path):
    """A run whose analysis.json has policy agreement gets its row (whole run and final.pt); runs without
    one, without analysis, or whose actor reads no observations (agreement "n/a: ..."), add nothing."""
    import json

    from gawm.report.archive import policy_agreement_markdown

    with_pa, without, features = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (with_pa, without, features):
        d.mkdir()
    na = "n/a: the actor reads world-model features in imagination and at execution"
    (features / "analysis.json").write_text(json.dumps({"policy_agreement": na, "per_checkpoint": [
        {"checkpoint": "/x/checkpoints/final.pt", "policy_agreement": na}]}))
    pa = {"agree_same_memory": 0.8, "agree_own_memory": 0.7, "kl_same_memory": 0.2, "kl_own_memory": 0.3,
          "decisions": 1234.0}
    (with_pa / "analysis.json").write_text(json.dumps({"policy_agreement": pa, "per_checkpoint": [
        {"checkpoint": "/x/checkpoints/final.pt", "policy_agreement": {**pa, "agree_same_memory": 0.5}}]}))
    runs = [{"method": "gawm", "map": "3s_vs_3z", "seed": 1, "path": with_pa},
            {"method": "mamba", "map": "3s_vs_3z", "seed": 1, "path": without},
            {"method": "gawm@actor_features", "map": "3s_vs_3z", "seed": 1, "path": features}]
    text = "\n".join(policy_agreement_markdown(runs))
    assert "| gawm | 3s_vs_3z | 1 | 1,234 | 80.0% | 70.0% | 0.200 / 0.300 | 50.0% / 70.0%, 0.200 |" in text
    assert "mamba" not in text and "actor_features" not in text
    assert policy_agreement_markdown(runs[1:]) == []


def test_a_variant_is_archived_beside_the_default_and_tabled_as_its_own_column(run, tmp_path, capsys, monkeypatch):
    """A run made with another config (`--variant cpu`) goes to runs/<method>@cpu/ and gets its own Table 1
    column, so it is never pooled with the method's default runs; a malformed variant name is refused."""
    import gawm.report.runs as report_runs

    monkeypatch.setattr(report_runs, "_paper_budgets", lambda: {"3s_vs_3z": 400})  # the fixture's 400 steps
    archive = tmp_path / "archive"
    archive_run(run, archive)
    dest = archive_run(run, archive, variant="cpu")
    assert dest == archive / "runs" / f"mappo@cpu~sim-v{SIMULATOR_VERSION}" / "3s_vs_3z" / "2"
    assert json.loads((dest / "provenance.json").read_text())["archived"]["variant"] == "cpu"
    assert sorted(r["method"] for r in archived_runs(archive)) == ["mappo", "mappo@cpu"]
    out = tmp_path / "RESULTS.md"
    assert main(["results", "--archive", str(archive), "--out", str(out)]) == 0
    header = next(line for line in (archive / "tables" / "table1_win_rates.md").read_text().splitlines()
                  if line.startswith("| map |"))
    assert "| MAPPO |" in header and "| MAPPO [cpu] |" in header
    with pytest.raises(ValueError, match="--variant"):
        archive_run(run, archive, variant="CPU overlay")
    stacked = archive_run(run, archive, variant="cpu+survival_weight")  # a change stacked on the cpu overlay
    assert stacked.parent.parent.name == f"mappo@cpu+survival_weight~sim-v{SIMULATOR_VERSION}"
    for bad in ("cpu+", "+cpu", "cpu++x"):
        with pytest.raises(ValueError, match="--variant"):
            archive_run(run, archive, variant=bad)
