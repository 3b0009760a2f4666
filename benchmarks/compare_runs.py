"""Check that a code change moved no number: compare two run directories' logs column by column.

    python benchmarks/compare_runs.py BEFORE_ROOT AFTER_ROOT [METHOD ...]

compares BEFORE_ROOT/<method>/{progress,eval}.csv with AFTER_ROOT/<method>/... (default methods: every
registered one present in BEFORE_ROOT), ignoring wall-time columns (`wall_s`). Values are compared as the
logged strings, i.e. exactly. Prints one line per method and exits 1 if any differs.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

LOGS = ("progress.csv", "eval.csv")
IGNORED = {"wall_s"}  # wall-clock time differs between any two runs


def _columns(path: Path) -> dict[str, list[str]]:
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    names = list(rows[0]) if rows else []
    return {c: [r[c] for r in rows] for c in names if c not in IGNORED}


def compare_run(before: Path, after: Path) -> list[str]:
    """Differences between two runs' logs, one message each (empty: identical)."""
    problems = []
    for log in LOGS:
        a, b = _columns(before / log), _columns(after / log)
        if list(a) != list(b):
            problems.append(f"{log}: columns {list(a)} != {list(b)}")
            continue
        for col in a:
            if a[col] != b[col]:
                first = next(i for i, (x, y) in enumerate(zip(a[col], b[col])) if x != y) \
                    if len(a[col]) == len(b[col]) else "length"
                problems.append(f"{log}:{col} differs (row {first})")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    before, after = Path(argv[0]), Path(argv[1])
    methods = argv[2:] or sorted(p.name for p in before.iterdir() if (p / "progress.csv").exists())
    failed = False
    for m in methods:
        problems = compare_run(before / m, after / m)
        rows = sum(1 for _ in (before / m / "progress.csv").open()) - 1
        cols = len(_columns(before / m / "progress.csv")) + len(_columns(before / m / "eval.csv"))
        print(f"{m}: " + ("identical" if not problems else "DIFFERENT: " + "; ".join(problems))
              + f" ({rows} progress rows, {cols} columns compared)")
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
