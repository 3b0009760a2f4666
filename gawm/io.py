"""Crash-safe file writing: a killed job never leaves a half-written checkpoint, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

import torch


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


class CsvLog:
    """Append-only CSV with a fixed header; `truncate_after(step)` drops rows a resumed run will redo."""

    def __init__(self, path: str | Path, fields: Iterable[str], key: str = "step"):
        self.path = Path(path)
        self.fields = list(fields)
        self.key = key
        if not self.path.exists():
            atomic_write_bytes(self.path, (",".join(self.fields) + "\n").encode())

    def append(self, row: dict[str, Any]) -> None:
        with self.path.open("a", newline="") as fh:
            csv.DictWriter(fh, self.fields, extrasaction="ignore").writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})

    def rows(self) -> list[dict[str, str]]:
        with self.path.open(newline="") as fh:
            return list(csv.DictReader(fh))

    def truncate_after(self, value: float) -> None:
        """Keep only rows whose key column is <= value (rewritten atomically)."""
        kept = [r for r in self.rows() if float(r[self.key]) <= value]
        out = io.StringIO()
        w = csv.DictWriter(out, self.fields, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(kept)
        atomic_write_bytes(self.path, out.getvalue().encode())
