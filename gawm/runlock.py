"""One writer per run directory: an advisory lock file, so two `gawm train` on one --out cannot interleave.

Without it, two processes on one run directory both log every row and overwrite each other's checkpoints.
The lock is `fcntl.flock` on `<run>/run.lock`: the kernel drops it when its holder dies (kill -9, OOM
killer, node reboot), so a lock file left by a killed run is simply taken over; no PID-liveness guessing,
which would be wrong across the nodes of a cluster sharing one file system. The file's content (PID, host,
start time) only serves the error message. The file itself stays (deleting it would let a waiting process
lock an unlinked inode while a third creates a new one).
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import time
from pathlib import Path

LOCK_NAME = "run.lock"


class RunLockedError(RuntimeError):
    """Another live process holds the run directory's lock."""


class RunLock:
    """Context manager holding `<run_dir>/run.lock` exclusively; `previous` is what a dead holder wrote."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / LOCK_NAME
        self.fd: int | None = None
        self.previous = ""  # the content a killed holder left ("" when the lock was clean)

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)  # mode minus the umask
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunLockedError(f"{self.path.parent} is in use by {holder} (lock {self.path}); wait for that "
                                 f"run to end, stop it, or choose another --out") from None
        self.previous = os.pread(fd, 200, 0).decode(errors="replace").strip()
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"PID {os.getpid()} on {socket.gethostname()} since "
                      f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)  # a clean exit leaves an empty lock file: nothing to take over
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
