"""Optional TensorBoard event files beside progress.csv and eval.csv (`runner.tensorboard: true`).

Why: MARL users (pymarl, EPyMARL, MAPPO code) watch runs in TensorBoard; the CSVs stay the record the
reports read. Every numeric column of a CSV row becomes a scalar `<csv name>/<column>` at the row's real
env step, so the two views never disagree. A resumed run opens the writer with `purge_step` at the checkpoint's
step T, so TensorBoard hides every event the killed run logged from T on, and then re-logs the CSV rows at T
that the resume keeps: the events end up exactly the rows of the (truncated, then continued) CSVs.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any, Mapping

from gawm.config import ConfigError

MISSING = ("runner.tensorboard is true but the 'tensorboard' package is missing: "
           "pip install -e '.[tensorboard]' (or set runner.tensorboard: false)")


class TensorBoardLog:
    """Writes CSV rows as TensorBoard scalars under `logdir`; one flush per row so a kill loses nothing."""

    def __init__(self, logdir: str | Path, resume_step: int | None = None):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:  # torch raises ImportError when the tensorboard package is absent
            raise ConfigError(MISSING) from exc
        purge = None if resume_step is None else int(resume_step)
        self._writer = SummaryWriter(log_dir=str(logdir), purge_step=purge)

    def append(self, prefix: str, row: Mapping[str, Any]) -> None:
        """Log every numeric, finite column except `step` (the x axis) as `<prefix>/<column>`."""
        step = int(row["step"])
        for key, value in row.items():
            if key == "step" or isinstance(value, bool) or not isinstance(value, numbers.Real):
                continue
            if math.isfinite(float(value)):
                self._writer.add_scalar(f"{prefix}/{key}", float(value), step)
        self._writer.flush()

    def replay(self, csv_rows: Mapping[str, list[Mapping[str, str]]], step: int) -> None:
        """Re-log the kept CSV rows (strings, as read back) whose step is `step`, after a purge at `step`."""
        for prefix, rows in csv_rows.items():
            for row in rows:
                if int(float(row["step"])) == step:
                    self.append(prefix, {k: _number(v) for k, v in row.items()})

    def close(self) -> None:
        self._writer.close()


def _number(text: str) -> float | str:
    try:
        return float(text)
    except (TypeError, ValueError):
        return text
