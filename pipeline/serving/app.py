"""The HTTP API (FastAPI): customers, segments and live scoring, over the BI snapshot.

Endpoints (OpenAPI docs at /docs):

* ``GET /customers/{id}`` and ``GET /predict?customer_id=``: one customer's features,
  segments, scores with their reasons, action, product probabilities and recommendations,
  model versions and the snapshot's time (404 for an id the snapshot does not hold);
* ``POST /score``: new customers as RFM rows or transaction lines (JSON, or a CSV/XLSX
  upload), scored with the champion models and logged once per input;
* ``GET /segments``, ``GET /segments/{name}/customers`` (JSON or CSV, paged);
* ``GET /health``.

With API_KEY set, every endpoint but /health, /docs and /openapi.json needs it.
"""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from pipeline.serving import routes_customers, routes_scoring
from pipeline.serving.api_services import Services, require_key
from pipeline.serving.config import ApiSettings
from pipeline.serving.lookups import CustomerLookups
from pipeline.serving.schemas import ScoreRequest
from pipeline.serving.snapshot import SnapshotMissing
from pipeline.settings import Settings


def create_app(settings: Settings | None = None, api: ApiSettings | None = None) -> FastAPI:
    services = Services(settings or Settings.from_env(), api or ApiSettings.from_env())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            with services.reader.generation():
                pass  # open and load the snapshot before the first request
        except SnapshotMissing:
            pass  # /health says so; requests get 503 until one is published
        else:  # a published snapshot: a refresh has registered models to load
            services.preload_models()  # before serving: loading them later holds the GIL
        # Everything loaded so far (the libraries, the models, the answers) lives about as
        # long as the server: out of the collector's sight, a full collection no longer
        # walks those ~400,000 objects, a pause of half a second on a busy machine that
        # every request in flight waited for. (The price: a reference cycle among them that
        # becomes garbage later, say in models replaced when an alias moves, stays.)
        gc.collect()
        gc.freeze()
        yield
        gc.unfreeze()  # collectable again, so that what the process exits with is released
        services.reader.close()
        services.log.close()

    app = FastAPI(
        title="Customer intelligence API",
        description=__doc__,
        version="1",
        lifespan=lifespan,
    )
    app.state.services = services
    # Without a key there is nothing to check: no dependency to resolve on each request.
    protected = [Depends(require_key)] if services.api.api_key else []

    @app.exception_handler(SnapshotMissing)
    async def _no_snapshot(request: Request, error: SnapshotMissing):
        return JSONResponse({"detail": str(error)}, status_code=503)

    app.include_router(routes_customers.health_router)
    app.include_router(routes_customers.router, dependencies=protected)
    app.include_router(routes_scoring.router, dependencies=protected)
    # Known customers' lookups are answered below the routing (see pipeline.serving.lookups).
    app.add_middleware(CustomerLookups, services=services)
    _register_schema(app)
    return app


def _register_schema(app: FastAPI) -> None:
    """Put ScoreRequest into the OpenAPI components (the body is parsed by hand to take JSON
    and files at one path)."""
    from fastapi.openapi.utils import get_openapi

    def openapi():
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            definitions = ScoreRequest.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(definitions.pop("$defs", {}))
            components["ScoreRequest"] = definitions
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
