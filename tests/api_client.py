"""A small HTTP client for the API tests (urllib: the project has no HTTP client library)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def call(
    method: str, url: str, body: bytes | None = None, headers: dict | None = None, timeout=120
) -> Reply:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read())


def get(url: str, headers: dict | None = None) -> Reply:
    return call("GET", url, headers=headers)


def post_json(url: str, payload, headers: dict | None = None) -> Reply:
    return call(
        "POST",
        url,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


def post_file(url: str, filename: str, content: bytes) -> Reply:
    """A multipart/form-data upload in the field ``file``."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return call("POST", url, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
