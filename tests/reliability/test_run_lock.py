"""The warehouse run lock: a second run waits asleep, stops on SIGTERM while it waits, and
gets the lock as soon as the holder dies, however it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.processes import process_is_alive
from resources.run_lock import current_holder, describe_holder, hold_run_lock, lock_path_for

PROJECT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys, time
from pathlib import Path
from resources.run_lock import hold_run_lock
with hold_run_lock(Path(sys.argv[1]), run_id=sys.argv[2], poll_s=0.1,
                   on_wait=lambda line: print("WAITING", line, flush=True)):
    print("HOLDING", flush=True)
    time.sleep(float(sys.argv[3]))
print("RELEASED", flush=True)
"""


def start_holder(database: Path, run_id: str, seconds: float = 3600) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(database), run_id, str(seconds)],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_line(process: subprocess.Popen) -> str:
    return process.stdout.readline().strip()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def database(tmp_path) -> Path:
    return tmp_path / "warehouse.duckdb"


def test_a_waiting_run_sleeps_and_takes_the_lock_when_the_holder_is_killed(database):
    holder = start_holder(database, "first")
    assert first_line(holder) == "HOLDING"
    waiter = start_holder(database, "second", seconds=0)
    try:
        line = first_line(waiter)
        assert line.startswith("WAITING") and f"pid {holder.pid}" in line, line
        assert "run first" in line
        before = cpu_seconds(waiter.pid)
        time.sleep(2.0)
        assert cpu_seconds(waiter.pid) - before < 0.5, "the waiting run spins instead of sleeping"
        assert current_holder(database).startswith(f"run first (pid {holder.pid})")
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        assert first_line(waiter) == "HOLDING"
        assert first_line(waiter) == "RELEASED"
        assert waiter.wait(timeout=10) == 0
    finally:
        for process in (holder, waiter):
            process.kill()
            process.wait()


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_waiting_run_stops_at_once_on_sigterm_or_ctrl_c(database, signal_number):
    holder = start_holder(database, "first")
    assert first_line(holder) == "HOLDING"
    waiter = start_holder(database, "second")
    try:
        assert first_line(waiter).startswith("WAITING")
        waiter.send_signal(signal_number)
        waiter.wait(timeout=5)
        assert waiter.returncode != 0
        assert "while waiting for the writer lock" in waiter.stderr.read()
        assert process_is_alive(holder.pid), "the holder must not be disturbed"
    finally:
        for process in (holder, waiter):
            process.kill()
            process.wait()


def test_the_lock_file_names_its_holder_and_is_cleared_on_release(database):
    with hold_run_lock(database, run_id="abc123") as path:
        assert path == lock_path_for(database)
        assert describe_holder(path).startswith(f"run abc123 (pid {os.getpid()}) since ")
    assert describe_holder(path) == "another run"
    assert current_holder(database) is None
    with hold_run_lock(database):  # free again: taken at once
        pass
