"""Run the API under uvicorn: 127.0.0.1:8000 unless configured, never beyond this machine
without an API key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading

import uvicorn
from uvicorn.supervisors import Multiprocess

from pipeline.serving.app import create_app
from pipeline.serving.config import ApiSettings
from pipeline.settings import Settings

APP_FACTORY = "pipeline.serving.app:create_app"  # what each worker process imports
SERVER_OPTIONS = {
    # uvloop and httptools (the "auto" choices when installed, and they are: uvicorn's
    # "standard" extras are locked) are named so that a missing one fails loudly instead of
    # falling back to the pure-Python loop and parser at a fraction of the speed.
    "loop": "uvloop",
    "http": "httptools",
    "access_log": False,  # a log line per lookup would cost more than the lookup
    "log_level": "info",
    "timeout_keep_alive": 30,
    "backlog": 2048,
}


def uvicorn_config(api: ApiSettings, settings: Settings | None = None) -> uvicorn.Config:
    """The server's configuration (checked: a non-loopback host needs API_KEY). With more
    than one worker (API_WORKERS), each worker process builds the app from the environment."""
    api.check()
    if api.workers > 1:
        return uvicorn.Config(
            APP_FACTORY,
            factory=True,
            workers=api.workers,
            host=api.host,
            port=api.port,
            **SERVER_OPTIONS,
        )
    return uvicorn.Config(create_app(settings, api), host=api.host, port=api.port, **SERVER_OPTIONS)


def serve(host: str | None = None, port: int | None = None) -> None:
    config = uvicorn_config(ApiSettings.from_env(host, port))
    if config.workers > 1:
        # What uvicorn.run does for workers: one listening socket, shared by the processes.
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()


class ServerProcess:
    """``customer-intel serve`` in a child process on 127.0.0.1 and a free port (port 0:
    the kernel picks one; uvicorn's start-up line says which), for tests and benchmarks.
    Ready when the port is known and every worker (API_WORKERS) has started its app."""

    def __init__(
        self, env: dict[str, str], *, start_timeout: float = 120.0, cwd: str | None = None
    ):
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orchestration", "serve", "--host", "127.0.0.1", "--port", "0"],
            env={**os.environ, **env},
            cwd=cwd,  # ``-m`` imports from here first: another checkout runs its own code
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        started = threading.Event()
        pattern = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
        workers = int({**os.environ, **env}.get("API_WORKERS") or 1)
        self.port = 0

        def drain():
            ready = 0
            for line in self.process.stderr:
                self.output.append(line)
                match = pattern.search(line)
                if match:
                    self.port = int(match[1])
                ready += "Application startup complete" in line
                if self.port and ready >= workers:
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
