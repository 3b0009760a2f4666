"""Crash-safe file writing: a killed job never leaves a half-written checkpoint, JSON or CSV.

Every file is written to a hidden temp file next to its target (`.<name>.<random>.tmp`), fsynced and
renamed over the target, so readers see the old or the new file, never a mix. Three details matter on a
shared cluster and for big runs:

- permissions: `tempfile.mkstemp` creates 0600 files; the temp file is chmod-ed to what `open()` would
  have given (0666 minus the umask) so group members can read results;
- memory: checkpoints are streamed to the temp file by `torch.save` (tensor storages are written one by
  one), never serialised into an in-memory buffer first, so a checkpoint write costs about its pickled
  metadata in RAM, not a copy of the replay buffers;
- leftovers: a kill between create and rename leaves a temp file; `remove_stray_temp_files` deletes them
  when the next run of that directory starts (under its lock, so a live writer is never disturbed).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterable

import numpy as np
import torch

TMP_SUFFIX = ".tmp"


def current_umask() -> int:
    """The process umask (read by setting and restoring it; there is no read-only call)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _named(exc: OSError, path: Path) -> OSError:
    """The same OSError with the target's name (a failed write() of a full disk names no file)."""
    if exc.filename:
        return exc
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))


def _atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write `path` through `write(file)` into a temp file, fsync, chmod to umask, rename."""
    path = Path(path)
    try:
        _atomic_write_unnamed(path, write)
    except OSError as exc:
        raise _named(exc, path) from None


def _atomic_write_unnamed(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    _atomic_write(path, lambda fh: fh.write(data))


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """torch.save streamed straight into the temp file (no in-memory copy of the serialised bytes)."""
    _atomic_write(path, lambda fh: torch.save(obj, fh))


_NDARRAY = "__ndarray__"
_STREAMABLE = {np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
                                     np.uint8, np.bool_)}


def arrays_to_tensors(obj: Any) -> Any:
    """Wrap the numpy arrays inside plain dicts/lists/tuples as zero-copy tensors, so `torch.save` streams
    them to the file; pickled as numpy they would be serialised in memory first (a replay buffer of
    episodes, e.g. QMIX's, would be copied whole at every checkpoint). `tensors_to_arrays` undoes it."""
    if type(obj) is dict:
        return {k: arrays_to_tensors(v) for k, v in obj.items()}
    if type(obj) in (list, tuple):
        return type(obj)(arrays_to_tensors(v) for v in obj)
    if isinstance(obj, np.ndarray) and obj.dtype in _STREAMABLE and obj.ndim > 0:
        return {_NDARRAY: torch.from_numpy(np.ascontiguousarray(obj))}
    return obj


def tensors_to_arrays(obj: Any) -> Any:
    """Inverse of `arrays_to_tensors`: the same arrays (copied out of a memory-mapped checkpoint)."""
    if type(obj) is dict:
        if len(obj) == 1 and _NDARRAY in obj:
            return obj[_NDARRAY].numpy().copy()
        return {k: tensors_to_arrays(v) for k, v in obj.items()}
    if type(obj) in (list, tuple):
        return type(obj)(tensors_to_arrays(v) for v in obj)
    return obj


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def remove_stray_temp_files(*dirs: str | Path) -> list[Path]:
    """Delete `.<name>.*.tmp` files a killed writer left in `dirs` (not recursive); returns what went."""
    gone = []
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            continue
        for p in d.glob(f".*{TMP_SUFFIX}"):
            if p.is_file():
                p.unlink(missing_ok=True)
                gone.append(p)
    return gone


class CsvLog:
    """Append-only CSV with a fixed header.

    Exactly-once logging across kills: the runner's checkpoint records how many rows each log had when it
    was written; a resumed run first keeps exactly that many rows (`keep_first`), a fresh run keeps none
    (`reset`). A row cut in half by a kill lies after the kept rows, so it is dropped too.
    """

    def __init__(self, path: str | Path, fields: Iterable[str], key: str = "step"):
        self.path = Path(path)
        self.fields = list(fields)
        self.key = key
        if not self.path.exists():
            self.reset()

    def reset(self) -> None:
        """Header only (a fresh run never inherits an earlier run's rows)."""
        self._rewrite([])

    def append(self, row: dict[str, Any]) -> None:
        unknown = sorted(set(row) - set(self.fields))
        if unknown:  # a metric without a column would vanish silently: a method must declare all it returns
            raise ValueError(f"{self.path.name}: no column for {unknown}; declare them (a method's metric_names)")
        line = io.StringIO()
        csv.DictWriter(line, self.fields, extrasaction="raise", lineterminator="\n").writerow(
            {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        try:
            with self.path.open("a", newline="") as fh:  # one write() of the whole line
                fh.write(line.getvalue())
        except OSError as exc:
            raise _named(exc, self.path) from None

    def rows(self) -> list[dict[str, str]]:
        with self.path.open(newline="") as fh:
            return list(csv.DictReader(fh))

    def keep_first(self, n: int) -> None:
        """Keep the header and the first n rows (rewritten atomically)."""
        with self.path.open(newline="") as fh:
            lines = fh.read().split("\n")[1:]  # drop the header: it is rewritten with the current fields
        complete = [ln for ln in lines if ln]
        if len(complete) < n:
            raise ValueError(f"{self.path} has {len(complete)} rows but the checkpoint expects at least {n}: "
                             f"it was edited or replaced; delete the run directory to start again")
        self._rewrite(complete[:n])

    def truncate_after(self, value: float) -> None:
        """Keep only rows whose key column is <= value (checkpoints of older versions count no rows)."""
        kept = [r for r in self.rows() if r.get(self.key) not in (None, "") and float(r[self.key]) <= value]
        out = io.StringIO()
        w = csv.DictWriter(out, self.fields, extrasaction="ignore", lineterminator="\n")
        w.writerows(kept)
        self._rewrite([ln for ln in out.getvalue().split("\n") if ln])

    def _rewrite(self, lines: list[str]) -> None:
        text = ",".join(self.fields) + "\n" + "".join(ln + "\n" for ln in lines)
        atomic_write_bytes(self.path, text.encode())
