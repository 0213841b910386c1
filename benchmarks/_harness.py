"""Shared helpers for the benchmark scripts: subprocess runs with peak RSS, medians, tables.

Standard library only, so every benchmark runs with what the project's virtualenv holds.

A measured variant runs in its own process (``run_child``): the parent reads that child's
peak resident set size from ``os.wait4`` (per child, unlike ``RUSAGE_CHILDREN``, which keeps
the maximum over every child so far) and the child reports its own figures as one JSON line
prefixed with ``RESULT_MARKER`` (``emit_result``), so interpreter start-up and imports stay
out of the timed section unless the child decides otherwise.

Timings on a shared machine are noisy: repeat each measurement (``--repeat``, default 3),
interleave the variants within a repetition, quote medians and compare ratios within a run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULT_MARKER = "BENCH-RESULT "
# Generated inputs are cached here between runs (outside the repository: 10M rows of CSV
# take ~0.9 GB). Override with BENCH_DATA_DIR.
DEFAULT_DATA_DIR = Path(
    os.environ.get("BENCH_DATA_DIR") or Path(tempfile.gettempdir()) / "ci-bench"
)


# ---------------------------------------------------------------------------------------------
# Machine
# ---------------------------------------------------------------------------------------------
def _meminfo_gib(key: str) -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, object]:
    """What a reader needs to judge the figures: date, cores, memory, CPU, versions."""
    info: dict[str, object] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": round(_meminfo_gib("MemTotal") or 0, 1),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    for module in ("duckdb", "pandas", "pyarrow", "numpy", "dagster"):
        try:
            info[module] = __import__(module).__version__
        except Exception:  # noqa: BLE001 - a missing library is only reported as missing
            info[module] = None
    return info


def print_machine(info: dict[str, object]) -> None:
    load = info.get("load_average")
    load_text = " ".join(f"{x:.2f}" for x in load) if load else "n/a"
    print(
        f"# {info['date']} | {info['cores']} cores ({info['usable_cores']} usable), "
        f"{info['memory_gib']} GiB RAM | {info['cpu']}\n"
        f"# Python {info['python']}, DuckDB {info['duckdb']}, pandas {info['pandas']}, "
        f"pyarrow {info['pyarrow']} | load average at start {load_text}",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------
# Child processes
# ---------------------------------------------------------------------------------------------
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def session_rss(session_id: int) -> tuple[int, int]:
    """(summed RSS in bytes, number of processes) of every process in ``session_id``.

    ``run_child`` starts its child in a new session, so the session is the child and every
    process it starts (unless one starts its own session). Shared pages of forked processes
    count once per process: an upper bound of the memory the tree holds."""
    total = count = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0, 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) != session_id:  # fields after "(comm)": state ppid pgrp session
                continue
            with open(f"/proc/{entry}/statm", "rb") as statm:
                total += int(statm.read().split()[1]) * _PAGE_SIZE
            count += 1
        except (OSError, IndexError, ValueError):
            continue  # the process ended between listdir and open
    return total, count


class _TreeSampler(threading.Thread):
    """Polls the summed RSS of a session until stopped; keeps the peak."""

    def __init__(self, session_id: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.session_id = session_id
        self.interval = interval
        self.peak = 0
        self.peak_processes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            rss, processes = session_rss(self.session_id)
            if rss > self.peak:
                self.peak, self.peak_processes = rss, processes
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


@dataclass
class ChildResult:
    argv: list[str]
    returncode: int | None  # None: killed on timeout
    wall_seconds: float  # process start to exit, imports included
    max_rss_bytes: int  # peak resident set size of the child (os.wait4)
    stdout: str
    stderr: str
    payload: dict | None = None  # the child's RESULT_MARKER line, parsed
    timed_out: bool = False
    # user + system CPU seconds of the child and the descendants it waited for (os.wait4)
    cpu_seconds: float | None = None
    # peak of the summed RSS of the child's whole session (it and every process it started),
    # sampled from /proc every ``sample_interval`` seconds; None unless ``sample_tree``
    tree_peak_rss_bytes: int | None = None
    tree_peak_processes: int | None = None  # processes alive at that peak

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.payload is not None and not self.timed_out

    def failure(self) -> str:
        if self.timed_out:
            return f"timed out after {self.wall_seconds:.0f} s"
        tail = (self.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        return f"exit {self.returncode}: {tail}"


def run_child(
    argv: Sequence[str],
    *,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    sample_tree: bool = False,
    sample_interval: float = 0.2,
) -> ChildResult:
    """Run ``argv``; return its wall time, its own peak RSS and its RESULT_MARKER payload.

    With ``sample_tree``, also the peak of the summed RSS of the child and every process it
    starts (``tree_peak_rss_bytes``, sampled; see ``session_rss``). ``max_rss_bytes`` is the
    largest single process of the tree that had ended by then (``os.wait4`` reports the
    maximum over the child and the descendants it waited for)."""
    argv = [str(a) for a in argv]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv,
            stdout=out,
            stderr=err,
            cwd=cwd or PROJECT_ROOT,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # a timeout kills the child's whole process group
        )
        sampler = _TreeSampler(process.pid, sample_interval) if sample_tree else None
        if sampler:
            sampler.start()
        deadline = None if timeout is None else started + timeout
        timed_out = False
        status = rusage = None
        while True:
            pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)
                _, status, rusage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        if sampler:
            sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    payload = None
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            payload = json.loads(line[len(RESULT_MARKER) :])
    return ChildResult(
        argv=argv,
        returncode=None if timed_out else process.returncode,
        wall_seconds=wall,
        max_rss_bytes=rusage.ru_maxrss * 1024,  # Linux reports KiB
        stdout=stdout,
        stderr=stderr,
        payload=payload,
        timed_out=timed_out,
        cpu_seconds=rusage.ru_utime + rusage.ru_stime,
        tree_peak_rss_bytes=sampler.peak if sampler else None,
        tree_peak_processes=sampler.peak_processes if sampler else None,
    )


def emit_result(payload: dict) -> None:
    """Called by a child: hand its figures to the parent (one line on stdout)."""
    print(RESULT_MARKER + json.dumps(payload, default=str), flush=True)


def python_child(script: Path, *args: object) -> list[str]:
    """argv running ``script`` with the interpreter running this benchmark (the venv's)."""
    return [sys.executable, str(script), *(str(a) for a in args)]


# ---------------------------------------------------------------------------------------------
# Statistics and tables
# ---------------------------------------------------------------------------------------------
@dataclass
class Samples:
    """Repeated measurements of one (size, variant)."""

    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # user + system, all threads
    rss_bytes: list[int] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)  # last payload's non-timing facts (row counts)

    def add(
        self,
        seconds: float,
        rss_bytes: int,
        steps: dict[str, float] | None = None,
        cpu_seconds: float | None = None,
    ) -> None:
        self.seconds.append(seconds)
        if cpu_seconds is not None:
            self.cpu_seconds.append(cpu_seconds)
        self.rss_bytes.append(rss_bytes)
        for name, value in (steps or {}).items():
            self.steps.setdefault(name, []).append(value)

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_seconds) if self.cpu_seconds else None

    @property
    def peak_rss(self) -> int | None:
        return max(self.rss_bytes) if self.rss_bytes else None

    def step_medians(self) -> dict[str, float]:
        return {name: statistics.median(values) for name, values in self.steps.items()}

    def spread(self) -> str:
        if len(self.seconds) < 2:
            return ""
        return f"{min(self.seconds):.2f}-{max(self.seconds):.2f}"


def fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def fmt_bytes(value: int | None) -> str:
    if value is None:
        return "-"
    if value >= 1024**3:
        return f"{value / 1024**3:.2f} GiB"
    return f"{value / 1024**2:.0f} MiB"


def fmt_count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table whose columns line up in a terminal too."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line([str(h) for h in headers]), rule, *(line(r) for r in rows)])


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the figures."""
    print(message, file=sys.stderr, flush=True)
