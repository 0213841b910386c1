"""The API's settings, from environment variables with working defaults."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_ROWS = 10_000
DEFAULT_WORKERS = 1
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10_000
# Media types the API reads and writes besides JSON.
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ApiConfigError(ValueError):
    """The API cannot start as configured; the message says what to set."""


def _int(name: str, default: int, minimum: int = 1) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiConfigError(
            f"environment variable {name} must be an integer, got {value!r}"
        ) from None
    if number < minimum:
        raise ApiConfigError(
            f"environment variable {name} must be at least {minimum}, got {number}"
        )
    return number


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ApiSettings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_key: str = ""  # empty: no key required (only allowed on a loopback address)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    workers: int = DEFAULT_WORKERS  # uvicorn worker processes

    @classmethod
    def from_env(cls, host: str | None = None, port: int | None = None) -> ApiSettings:
        return cls(
            host=host or os.environ.get("API_HOST") or DEFAULT_HOST,
            port=port if port is not None else _int("API_PORT", DEFAULT_PORT, minimum=0),
            api_key=os.environ.get("API_KEY", ""),
            max_body_bytes=_int("API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            max_rows=_int("API_MAX_ROWS", DEFAULT_MAX_ROWS),
            workers=_int("API_WORKERS", DEFAULT_WORKERS),
        )

    def check(self) -> None:
        """Refuse to serve beyond this machine without a key."""
        if not is_loopback(self.host) and not self.api_key:
            raise ApiConfigError(
                f"refusing to listen on {self.host} without an API key: set API_KEY (clients "
                "send it as the X-API-Key header or as a bearer token), or bind 127.0.0.1"
            )
