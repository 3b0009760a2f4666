"""`gawm` command line. Each subcommand is one job of the harness; bad input exits non-zero with one line."""

from __future__ import annotations

import argparse
import json
import sys

from gawm.envs import BACKENDS, MAP_NAMES


def _cmd_env_info(args: argparse.Namespace) -> None:
    from gawm.envs import make_env

    maps = args.maps or list(MAP_NAMES)
    rows = {m: make_env(m, backend=args.backend, seed=0).get_env_info() for m in maps}
    print(json.dumps(rows, indent=2))


def _cmd_scripted(args: argparse.Namespace) -> None:
    from gawm.envs.scripted import scripted_win_rates

    print(json.dumps(scripted_win_rates(args.map, args.episodes, n_envs=min(50, args.episodes), seed=args.seed),
                     indent=2))


def _cmd_train(args: argparse.Namespace) -> None:
    from pathlib import Path

    from gawm.provenance import record_session
    from gawm.train import RunSpec, train

    out = Path(args.out) if args.out else Path("results/runs") / args.method / args.map / str(args.seed)
    overlays = tuple(Path(c) for c in args.config) if args.config else None  # --config may be repeated
    with record_session(out, args.backend, args.device, argv=args.argv):
        summary = train(RunSpec(args.method, args.map, args.seed, args.steps, out, backend=args.backend,
                                device=args.device, config_path=overlays),
                        progress=not args.no_progress, allow_config_change=args.allow_config_change)
    print(json.dumps(summary, indent=2))


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from pathlib import Path

    from gawm.evaluate import evaluate_checkpoint
    from gawm.io import atomic_write_json
    from gawm.train import _device

    run = Path(args.run)
    sim = _check_simulator(run, args.other_simulator)
    res = evaluate_checkpoint(run, Path(args.checkpoint) if args.checkpoint else None, args.episodes, args.seed,
                              args.envs, _device(args.device), deterministic=not args.stochastic,
                              progress=not args.no_progress and sys.stderr.isatty())  # no bar in job logs
    res.update(sim)
    atomic_write_json(Path(args.out) if args.out else run / "evaluation.json", res)
    print(json.dumps(res, indent=2))


def _cmd_analyze(args: argparse.Namespace) -> None:
    from pathlib import Path

    from gawm.consistency import analyze_run, load_analysis_config
    from gawm.io import atomic_write_json
    from gawm.train import _device

    run = Path(args.run)
    sim = _check_simulator(run, args.other_simulator)
    cfg = load_analysis_config(Path(args.config) if args.config else None, pairs=args.pairs)
    summary = {**analyze_run(run, cfg, _device(args.device), progress=not args.no_progress), **sim}
    out = Path(args.out) if args.out else run / "analysis.json"
    atomic_write_json(out, summary)
    print(json.dumps({k: v for k, v in summary.items() if k not in ("per_checkpoint", "config")}, indent=2))


def _check_simulator(run, allow_other: bool) -> dict:
    """gawm.provenance.check_simulator for a run directory, with the backend its config.json names."""
    from gawm.provenance import check_simulator
    from gawm.runs import read_run_config

    return check_simulator(run, read_run_config(run).get("backend", "sim"), allow_other)


def _results_root(path: str):
    """A results root that exists (it may hold no runs yet: the tables and figures then say so)."""
    from pathlib import Path

    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"results root {root} does not exist")
    return root


def _cmd_table(args: argparse.Namespace) -> None:
    from pathlib import Path

    from gawm.report.tables import write_tables

    root = _results_root(args.results)
    written = write_tables(root, Path(args.published) if args.published else None, Path(args.out) if args.out else root / "tables")
    for path in written.values():
        print(path.read_text())


def _cmd_plot(args: argparse.Namespace) -> None:
    from pathlib import Path

    from gawm.report.plots import write_figures

    root = _results_root(args.results)
    out = Path(args.out) if args.out else Path("figures") / root.resolve().name
    written = write_figures(root, out)
    for name, paths in written.items():
        if name == "skipped":
            for s in paths:
                print(f"skipped {s}")
        else:
            print(f"{name}: {', '.join(map(str, paths))}")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block), like every other error of the CLI; `-h` shows usage."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} -h)\n")


def _cmd_archive(args: argparse.Namespace) -> None:
    from pathlib import Path

    from gawm.report.archive import archive_run

    dest = archive_run(Path(args.run), Path(args.archive), Path(args.time_log) if args.time_log else None,
                       args.note, args.force, args.simulator, args.variant)
    print(f"archived {args.run} -> {dest}")


def _cmd_results(args: argparse.Namespace) -> None:
    from pathlib import Path

    from gawm.report.archive import write_results

    print(f"wrote {write_results(Path(args.archive), Path(args.out))}")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="gawm", description="GAWM reproduction harness")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("env-info", help="SMAC get_env_info() of maps (n_agents, obs_shape, ...)")
    p.add_argument("--maps", nargs="*", choices=MAP_NAMES)
    p.add_argument("--backend", default="sim", choices=BACKENDS)
    p.set_defaults(func=_cmd_env_info)
    p = sub.add_parser("scripted", help="win rates of the scripted heuristic and the random policy")
    p.add_argument("--map", required=True, choices=MAP_NAMES)
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_scripted)
    p = sub.add_parser("train", help="train one (method, map, seed) run; re-running resumes it")
    p.add_argument("--method", required=True)
    p.add_argument("--map", required=True, choices=MAP_NAMES)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--steps", type=int, required=True, help="real environment steps (the paper's budget)")
    p.add_argument("--out", help="run directory (default results/runs/<method>/<map>/<seed>)")
    p.add_argument("--backend", default="sim", choices=BACKENDS)
    p.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda, cuda:1, ...")
    p.add_argument("--config", action="append",
                   help="overlay YAML applied on top of config/methods/<method>.yaml (e.g. "
                        "config/smoke/methods.yaml); repeat it to apply several in order (e.g. a variant, "
                        "then a runner overlay)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--allow-config-change", action="store_true",
                   help="resume even though the config differs from the run's; the change goes to "
                        "config.json's history")
    p.set_defaults(func=_cmd_train)
    p = sub.add_parser("evaluate", help="test a run's checkpoint over N episodes (greedy), write JSON")
    p.add_argument("--run", required=True, help="run directory (results/<budget>/runs/<method>/<map>/<seed>)")
    p.add_argument("--checkpoint", help="checkpoint file (default <run>/checkpoints/final.pt)")
    p.add_argument("--episodes", type=int, default=1000)
    p.add_argument("--seed", type=int, default=12345, help="seed of the test battles")
    p.add_argument("--envs", type=int, default=100, help="battles played at once")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of greedy ones")
    p.add_argument("--out", help="output JSON (default <run>/evaluation.json)")
    p.add_argument("--other-simulator", action="store_true",
                   help="measure a run trained on another simulator version on this code's (refused otherwise)")
    p.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda, ...")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_evaluate)
    p = sub.add_parser("analyze", help="GCI and GPE (paper Eqs. 7-8) of a world-model run over its checkpoints")
    p.add_argument("--run", required=True, help="run directory (results/<budget>/runs/<method>/<map>/<seed>)")
    p.add_argument("--pairs", type=int, help="imagined/real segment pairs (default: config/analysis.yaml, 1000)")
    p.add_argument("--config", help="analysis YAML instead of config/analysis.yaml")
    p.add_argument("--out", help="output JSON (default <run>/analysis.json)")
    p.add_argument("--other-simulator", action="store_true",
                   help="analyse a run trained on another simulator version on this code's (refused otherwise)")
    p.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda, ...")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_analyze)
    p = sub.add_parser("table", help="Tables 1-3 (CSV + Markdown) of the runs under a results root, beside the "
                                     "published numbers")
    p.add_argument("--results", default="results", help="results root holding runs/ (default results)")
    p.add_argument("--published", help="directory of the published tables (default: the copies the package ships)")
    p.add_argument("--out", help="output directory (default <results>/tables)")
    p.set_defaults(func=_cmd_table)
    p = sub.add_parser("plot", help="Figs. 3-5 (PNG + PDF) of the runs under a results root")
    p.add_argument("--results", default="results", help="results root holding runs/ (default results)")
    p.add_argument("--out", help="output directory (default figures/<basename of results>)")
    p.set_defaults(func=_cmd_plot)
    p = sub.add_parser("archive", help="copy a finished, evaluated run's small files and provenance into the "
                                       "results archive (no checkpoints)")
    p.add_argument("--run", required=True, help="run directory")
    p.add_argument("--archive", default="results/archive", help="archive root (default results/archive)")
    p.add_argument("--time-log", help="/usr/bin/time -v output of the training command (wall time, peak RSS)")
    p.add_argument("--note", help="free text kept with the provenance (e.g. why the run was made)")
    p.add_argument("--force", action="store_true", help="replace an archived run of the same method/map/seed")
    p.add_argument("--variant", help="a run made with a config other than the method's own (e.g. cpu): archived "
                                     "as <method>@<variant>, its own column in the tables; a change stacked on another "
                                     "variant joins them with '+' (cpu+survival_weight) and is ablated against it")
    p.add_argument("--simulator", help="simulator of a run trained before provenance was recorded (e.g. sim-v2)")
    p.set_defaults(func=_cmd_archive)
    p = sub.add_parser("results", help="regenerate RESULTS.md (runs, Tables 1-3, Figs. 3-5) from the archive")
    p.add_argument("--archive", default="results/archive", help="archive root (default results/archive)")
    p.add_argument("--out", default="RESULTS.md", help="output Markdown (default RESULTS.md)")
    p.set_defaults(func=_cmd_results)
    return ap


def one_line(exc: BaseException) -> str:
    """An exception as one line: what went wrong and, for file errors, which file and what to do."""
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and exc.filename:
        return (f"cannot write or read {exc.filename}: {exc.strerror or exc}; free disk space or fix the "
                f"permissions (or choose another --out): files already written are intact, and re-running "
                f"`gawm train` resumes from the last checkpoint")
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done; 2 bad input or environment (one line on stderr); 3 training diverged (non-finite);
    130 interrupted (Ctrl-C)."""
    from gawm.guards import NonFiniteError
    from gawm.runlock import RunLockedError

    args = build_parser().parse_args(argv)
    args.argv = ["gawm", *(sys.argv[1:] if argv is None else argv)]  # the exact command, for provenance
    try:
        args.func(args)
    except NonFiniteError as exc:
        print(f"gawm {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 3
    except (ValueError, ImportError, OSError, RunLockedError) as exc:
        print(f"gawm {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gawm {args.command}: interrupted (a `gawm train` re-run resumes from its last checkpoint)",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
