"""One writing run at a time, held with an operating-system file lock.

Every run that writes the warehouse holds ``<database>.run.lock`` (``flock``) from the moment
its resources are set up until the run ends. The kernel releases the lock when the holding
process exits for any reason, SIGKILL and the OOM killer included, so a dead run can never
keep the warehouse from later runs, and whoever holds the lock knows that no other writing
run is alive. A second run waits for the lock by sleeping (no CPU) and stops at once on
SIGTERM or Ctrl-C while it waits.

Dagster's pool ``duckdb_writer`` alone does not do this: a run killed while it holds a slot
keeps the slot, and an in-process run waiting for a slot polls without sleeping.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".run.lock"


class RunLockInterrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT arrived while the run waited for the writer lock."""


def lock_path_for(database: Path) -> Path:
    return database.with_name(database.name + LOCK_SUFFIX)


def describe_holder(path: Path) -> str:
    """What the lock file says about its holder ('run 1a2b3c (pid 4242) since ...')."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "another run"
    if not holder:
        return "another run"
    return (
        f"run {holder.get('run_id') or '(outside Dagster)'} (pid {holder.get('pid')}) "
        f"since {holder.get('since')}"
    )


@contextmanager
def _raise_on_termination() -> Iterator[None]:
    """While waiting, SIGTERM and SIGINT raise RunLockInterrupted, whatever handlers the
    caller installed (Dagster defers interrupts during a run; a waiting run has nothing to
    clean up). Only the main thread may set handlers; elsewhere the wait stays as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signal_number, _frame):
        raise RunLockInterrupted(
            f"stopped by {signal.Signals(signal_number).name} while waiting for the writer lock"
        )

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def current_holder(database: Path) -> str | None:
    """Who holds the run lock of ``database`` now (as ``describe_holder``), or None."""
    path = lock_path_for(database)
    if not path.exists():
        return None
    with open(path, "a+", encoding="utf-8") as handle:
        if _try_lock(handle):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return None
    return describe_holder(path)


def _try_lock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def hold_run_lock(
    database: Path,
    *,
    run_id: str | None = None,
    poll_s: float = 1.0,
    report_every_s: float = 30.0,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[Path]:
    """Hold the writer lock of ``database`` for the block, waiting as long as another run
    holds it. ``on_wait`` receives a line saying whom the run waits for (at once, then every
    ``report_every_s``)."""
    path = lock_path_for(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = on_wait or log.warning
    with open(path, "a+", encoding="utf-8") as handle:
        if not _try_lock(handle):
            started = time.monotonic()
            next_report = started
            with _raise_on_termination():
                while not _try_lock(handle):
                    now = time.monotonic()
                    if now >= next_report:
                        report(
                            f"waiting for the warehouse writer lock ({path}), held by "
                            f"{describe_holder(path)}; waited {now - started:.0f} s so far"
                        )
                        next_report = now + report_every_s
                    time.sleep(poll_s)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(
                json.dumps(
                    {
                        "run_id": run_id,
                        "pid": os.getpid(),
                        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    }
                )
            )
            handle.flush()
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
