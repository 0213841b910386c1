"""Run the API under uvicorn: 127.0.0.1:8000 unless configured, never beyond this machine
without an API key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading

import uvicorn

from pipeline.serving.app import create_app
from pipeline.serving.config import ApiSettings
from pipeline.settings import Settings


def uvicorn_config(api: ApiSettings, settings: Settings | None = None) -> uvicorn.Config:
    """The server's configuration (checked: a non-loopback host needs API_KEY)."""
    api.check()
    return uvicorn.Config(
        create_app(settings, api),
        host=api.host,
        port=api.port,
        access_log=False,
        log_level="info",
        timeout_keep_alive=30,
        backlog=2048,
    )


def serve(host: str | None = None, port: int | None = None) -> None:
    uvicorn.Server(uvicorn_config(ApiSettings.from_env(host, port))).run()


class ServerProcess:
    """``customer-intel serve`` in a child process on 127.0.0.1 and a free port (port 0:
    the kernel picks one; uvicorn's start-up line says which), for tests and benchmarks."""

    def __init__(self, env: dict[str, str], *, start_timeout: float = 120.0):
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orchestration", "serve", "--host", "127.0.0.1", "--port", "0"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        started = threading.Event()
        pattern = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
        self.port = 0

        def drain():
            for line in self.process.stderr:
                self.output.append(line)
                match = pattern.search(line)
                if match:
                    self.port = int(match[1])
                    started.set()
            started.set()

        threading.Thread(target=drain, daemon=True).start()
        if not started.wait(start_timeout) or not self.port:
            self.stop()
            raise RuntimeError("the API server did not start:\n" + "".join(self.output))
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
