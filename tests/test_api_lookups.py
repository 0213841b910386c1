"""GET /customers/{id} below the framework (pipeline.serving.lookups): what it answers
itself, what it leaves to the FastAPI routes, and that its answers are the routes' own."""

from __future__ import annotations

import asyncio
import gc
import http.client
import urllib.parse
from types import SimpleNamespace

import duckdb
import pytest

from pipeline.serving.config import ApiSettings
from pipeline.serving.lookups import CustomerLookups
from pipeline.serving.server import ServerProcess, uvicorn_config
from pipeline.serving.snapshot import SnapshotReader

KEY = "lookup-key-0123456789"
PROFILES = {"C1": b'{"customer_id":"C1"}', "C 2": b'{"customer_id":"C 2"}'}


class Downstream:
    """Stands for the FastAPI app: records what reached it."""

    def __init__(self):
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send):
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def lookups(tmp_path, key: str = "", published: bool = True):
    path = tmp_path / "snapshot.duckdb"
    if published:
        duckdb.connect(str(path)).close()

    def loader(generation):
        generation.loaded["profiles"] = PROFILES

    services = SimpleNamespace(api=ApiSettings(api_key=key), reader=SnapshotReader(path, loader))
    downstream = Downstream()
    return CustomerLookups(downstream, services), downstream


def request(app, path: str, method: str = "GET", headers=()) -> tuple[int, dict, bytes]:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [  # as a server hands them over: bytes, text read as Latin-1
            (
                k if isinstance(k, bytes) else k.encode("latin-1"),
                v if isinstance(v, bytes) else v.encode("latin-1"),
            )
            for k, v in headers
        ],
    }
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, body = sent
    return start["status"], dict(start["headers"]), body["body"]


def test_a_known_customer_is_answered_without_the_routes(tmp_path):
    app, downstream = lookups(tmp_path)
    status, headers, body = request(app, "/customers/C1")
    assert (status, body) == (200, PROFILES["C1"])
    assert headers == {b"content-length": b"20", b"content-type": b"application/json"}
    assert request(app, "/customers/ C 2 ")[2] == PROFILES["C 2"]  # stripped, as the route
    assert downstream.paths == []


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/customers/nobody", "GET"),  # unknown: the route's 404 names it
        ("/customers/", "GET"),
        ("/customers/C1/", "GET"),
        ("/customers/C1", "POST"),
        ("/customers/C1", "HEAD"),
        ("/predict", "GET"),
        ("/segments", "GET"),
    ],
)
def test_everything_else_goes_to_the_routes(tmp_path, path, method):
    app, downstream = lookups(tmp_path)
    assert request(app, path, method)[0] == 418
    assert downstream.paths == [path]


def test_without_a_snapshot_the_route_answers(tmp_path):
    app, downstream = lookups(tmp_path, published=False)
    assert request(app, "/customers/C1")[0] == 418
    assert downstream.paths == ["/customers/C1"]


def test_with_a_key_only_the_right_x_api_key_is_answered_here(tmp_path):
    app, downstream = lookups(tmp_path, key=KEY)
    assert request(app, "/customers/C1", headers=[("x-api-key", KEY)])[0] == 200
    for headers in (
        [],
        [("x-api-key", "wrong")],
        [("x-api-key", "")],
        [("authorization", f"Bearer {KEY}")],  # accepted, by the route
    ):
        assert request(app, "/customers/C1", headers=headers)[0] == 418
    assert len(downstream.paths) == 4


def test_a_key_is_compared_as_the_route_compares_it(tmp_path):
    app, downstream = lookups(tmp_path, key="clé")
    # Starlette reads header bytes as Latin-1: UTF-8 bytes of the key read as "clÃ©" (401 from
    # the route), the Latin-1 byte of "é" reads as the key.
    as_utf8 = [(b"x-api-key", "clé".encode())]
    assert request(app, "/customers/C1", headers=as_utf8)[0] == 418
    as_latin1 = [(b"x-api-key", "clé".encode("latin-1"))]
    assert request(app, "/customers/C1", headers=as_latin1)[0] == 200
    assert downstream.paths == ["/customers/C1"]


def test_several_workers_build_the_app_in_each_process():
    config = uvicorn_config(ApiSettings(port=0, workers=2))
    assert (config.app, config.factory, config.workers) == (
        "pipeline.serving.app:create_app",
        True,
        2,
    )
    single = uvicorn_config(ApiSettings(port=0))
    assert single.workers == 1 and not isinstance(single.app, str)
    assert (single.loop, single.http) == ("uvloop", "httptools")


# -- against the real server ------------------------------------------------------------------


def raw_get(port: int, path: str, headers: dict | None = None) -> tuple[int, list, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    answer = response.status, response.getheaders(), response.read()
    connection.close()
    return answer


def without_date(headers: list) -> list:
    return [(k.lower(), v) for k, v in headers if k.lower() != "date"]


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_lookup_answers_as_the_route_on_a_real_server(refreshed, workers):
    data_dir = refreshed[0]
    with duckdb.connect(str(data_dir / "bi" / "customer_intel.duckdb"), read_only=True) as db:
        ids = [
            r[0]
            for r in db.execute(
                "SELECT customer_id FROM marts.customer_segments USING SAMPLE 15 ROWS"
            ).fetchall()
        ]
    env = {"DATA_DIR": str(data_dir), "API_KEY": KEY, "API_WORKERS": workers}
    with ServerProcess(env) as server:
        key = {"X-API-Key": KEY}
        for customer in ids:
            quoted = urllib.parse.quote(customer, safe="")
            fast = raw_get(server.port, f"/customers/{quoted}", key)
            routed = raw_get(server.port, f"/predict?customer_id={quoted}", key)
            bearer = raw_get(
                server.port, f"/customers/{quoted}", {"Authorization": f"Bearer {KEY}"}
            )
            assert fast[0] == routed[0] == bearer[0] == 200
            assert without_date(fast[1]) == without_date(routed[1]) == without_date(bearer[1])
            assert fast[2] == routed[2] == bearer[2]
        status, _, body = raw_get(server.port, "/customers/NO-SUCH-CUSTOMER", key)
        assert status == 404 and b"NO-SUCH-CUSTOMER" in body
        assert raw_get(server.port, f"/customers/{ids[0]}")[0] == 401


@pytest.mark.slow
def test_the_champions_are_loaded_before_the_first_request(refreshed_env):
    from fastapi.testclient import TestClient

    from pipeline.serving.app import create_app

    app = create_app()
    with TestClient(app) as client:
        models = app.state.services._models
        assert models is not None and models.loads == 1  # loaded at start-up
        assert gc.get_freeze_count() > 100_000  # and kept out of the collector's walks
        row = {"customer_id": "PRELOAD-1", "recency_days": 9, "frequency": 3, "monetary": 90.0}
        reply = client.post("/score", json={"customers": [row]})
        assert reply.status_code == 200 and reply.json()["scored"] == 1
        assert app.state.services._models is models and models.loads == 1
    assert gc.get_freeze_count() == 0  # released at shutdown
