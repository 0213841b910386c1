"""Servers the browser tests start: a command on a free localhost port, in a session of its
own (stopped with its children), ready once its health URL answers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(
    command: list[str],
    health_url: str,
    env: dict[str, str],
    log_path: Path,
    start_seconds: float = 60,
    stop_seconds: float = 30,
) -> Iterator[subprocess.Popen]:
    """Run ``command`` from the project folder with ``env`` added to the environment until
    ``health_url`` answers (failing the test if it exits or stays silent), then stop it."""
    log = log_path.open("w")
    process = subprocess.Popen(
        command,
        cwd=PROJECT,
        env=os.environ | env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    name = Path(command[0]).name if len(command) < 3 else " ".join(command[:3])
    try:
        deadline = time.monotonic() + start_seconds
        while time.monotonic() < deadline:
            try:
                if requests.get(health_url, timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None:
                pytest.fail(f"{name} exited: " + log_path.read_text())
            time.sleep(0.5)
        else:
            pytest.fail(f"{name} did not start in {start_seconds:.0f} s: " + log_path.read_text())
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=stop_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
