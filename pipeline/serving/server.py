"""Run the API under uvicorn: 127.0.0.1:8000 unless configured, never beyond this machine
without an API key."""

from __future__ import annotations

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
