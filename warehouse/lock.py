"""One writing run at a time per data directory, across processes and deployments.

An advisory `flock` on `<data_dir>/writer.lock`, taken without waiting: a second run stops at once
with a message naming the holder rather than interleaving its writes or queueing without end. The
kernel drops the lock when its holder dies, so a killed run never leaves the directory locked.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from warehouse.db import WarehouseError

# Locks this process holds: the CLI takes the lock around the flow, which takes it again.
_held: set[Path] = set()


@contextmanager
def writer_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's writer lock; WarehouseError at once when another process holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = (data_dir / "writer.lock").resolve()
    if path in _held:
        yield
        return
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WarehouseError(
                f"another run is writing to {data_dir} ({holder}); this one stops without "
                "changing anything: try again when it has finished"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        _held.add(path)
        try:
            yield
        finally:
            _held.discard(path)
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
