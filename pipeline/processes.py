"""Whether a process is still running, for cleaning up after processes that were killed.

Only meaningful on the machine that started the process (as the warehouse file is).
"""

from __future__ import annotations

import os
from pathlib import Path

# A pid reused by a process started this long after the original began is not the original.
_START_SLACK_S = 2.0


def _process_start_epoch(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, IndexError, StopIteration, ValueError):
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _is_zombie(pid: int) -> bool:
    """A zombie (state Z) has exited; only its parent has not collected it yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def process_is_alive(pid: int, started_by: float | None = None) -> bool:
    """Whether ``pid`` is a running process, and (with ``started_by``, seconds since the
    epoch) one that already existed then rather than a later process given the same pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    if _is_zombie(pid):
        return False
    if started_by is not None:
        started = _process_start_epoch(pid)
        if started is not None and started > started_by + _START_SLACK_S:
            return False
    return True
