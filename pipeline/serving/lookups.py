"""The hot path of the API: ``GET /customers/{id}`` answered below the framework.

A lookup is a dictionary read: every customer's answer is prepared as JSON bytes when a
snapshot generation opens (pipeline.serving.customers). Through FastAPI's routing and
dependency resolution the same lookup costs several times the read itself (about 0.2 ms of
CPU a request on the reference machine against a few microseconds), and that framework time
is what limits requests per second and the latency tail on two shared cores.

:class:`CustomerLookups` is a pure ASGI middleware (installed with ``app.add_middleware``)
that answers only the plainest case itself: a ``GET /customers/{id}`` for an id the current
snapshot holds, with no key configured or with the right ``X-API-Key`` header. Its answer is
byte for byte the route's (status 200, ``content-type: application/json``, the same body).
Everything else (an unknown id: 404; a missing or wrong key, or a key sent as a bearer
token: 401 or accepted by the route; no snapshot: 503; any other path or method) is passed
on unchanged to the FastAPI app, whose routes stay the documented (OpenAPI) definition and
answer exactly as before. tests/test_api.py compares the two paths' answers.
"""

from __future__ import annotations

import hmac

from pipeline.serving import customers
from pipeline.serving.api_services import Services

PREFIX = "/customers/"
JSON_HEADERS = (b"content-type", b"application/json")


class CustomerLookups:
    """ASGI middleware: known customers' profiles straight from the snapshot."""

    def __init__(self, app, services: Services):
        self.app = app
        self.services = services
        key = services.api.api_key
        self.key = key.encode() if key else b""

    def _authorised(self, scope) -> bool:
        if not self.key:
            return True
        for name, value in scope["headers"]:
            if name.lower() == b"x-api-key":  # the route reads the first such header
                # as the route compares it: the header read as Latin-1, encoded as UTF-8
                given = value.decode("latin-1").encode()
                return bool(given) and hmac.compare_digest(given, self.key)
        return False

    def _profile(self, scope) -> bytes | None:
        """The prepared answer, or None when the route must answer."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            return None
        path = scope["path"]
        if not path.startswith(PREFIX):
            return None
        customer_id = path[len(PREFIX) :]
        if not customer_id or "/" in customer_id or not self._authorised(scope):
            return None
        try:
            with self.services.reader.generation() as generation:
                return customers.profile(generation, customer_id)
        except Exception:  # no snapshot, or one that fails to open: the route says so
            return None

    async def __call__(self, scope, receive, send) -> None:
        body = self._profile(scope)
        if body is None:
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode()), JSON_HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": body})
