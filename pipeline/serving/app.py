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

import hmac
import json
import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from pipeline.action_rules import load_configured_plan
from pipeline.live_scoring import NewCustomersError
from pipeline.serving import customers
from pipeline.serving.config import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ApiSettings
from pipeline.serving.prediction_log import PredictionLog, log_path
from pipeline.serving.schemas import CustomerProfile, ScoreRequest, ScoreResponse
from pipeline.serving.scoring import (
    ChampionModels,
    _rows_file,
    score_input,
    scoring_context,
    tracking_uri,
    upload_file,
)
from pipeline.serving.snapshot import SnapshotMissing, SnapshotReader
from pipeline.settings import Settings

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REASON = re.compile(r"(?P<feature>\w+)=(?P<value>\S+) \((?P<contribution>[^,]+), (?P<dir>\w+)\)")

_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False)


def parse_reasons(text: str | None) -> list[dict]:
    """live_scoring's ``feature=value (+contribution, direction); ...`` as a list."""
    reasons = []
    for match in REASON.finditer(text or ""):
        try:
            value = float(match["value"])
        except ValueError:
            value = None
        reasons.append(
            {
                "feature": match["feature"],
                "value": value,
                "contribution": float(match["contribution"]),
                "direction": match["dir"],
            }
        )
    return reasons


class _Services:
    """What the endpoints share: the snapshot reader, the log, the champion models."""

    def __init__(self, settings: Settings, api: ApiSettings):
        self.settings, self.api = settings, api
        self.reader = SnapshotReader(settings.bi_snapshot_path, customers.load_customers)
        self.log = PredictionLog(log_path(settings.data_dir))
        self._models: ChampionModels | None = None

    @property
    def models(self) -> ChampionModels:
        if self._models is None:
            self._models = ChampionModels(tracking_uri(self.settings))
        return self._models


def create_app(settings: Settings | None = None, api: ApiSettings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    api = api or ApiSettings.from_env()
    services = _Services(settings, api)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            with services.reader.generation():
                pass  # open and load the snapshot before the first request
        except SnapshotMissing:
            pass  # /health says so; requests get 503 until one is published
        yield
        services.reader.close()

    def require_key(
        key: Annotated[str | None, Security(_key_header)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> None:
        if not api.api_key:
            return
        given = key or (bearer.credentials if bearer else "")
        if not given or not hmac.compare_digest(given.encode(), api.api_key.encode()):
            raise HTTPException(
                401,
                "missing or wrong API key: send it as the X-API-Key header or as "
                "Authorization: Bearer <key>",
                headers={"WWW-Authenticate": "Bearer"},
            )

    app = FastAPI(
        title="Customer intelligence API",
        description=__doc__,
        version="1",
        lifespan=lifespan,
    )
    app.state.services = services
    # Without a key there is nothing to check: no dependency to resolve on each request.
    protected = [Depends(require_key)] if api.api_key else []

    @app.exception_handler(SnapshotMissing)
    async def _no_snapshot(request: Request, error: SnapshotMissing):
        return JSONResponse({"detail": str(error)}, status_code=503)

    @app.get("/health", tags=["service"])
    async def health() -> dict:
        """Whether a snapshot is published and which one is served."""
        try:
            with services.reader.generation() as generation:
                summary = customers.summary(generation)
        except SnapshotMissing as error:
            return JSONResponse({"status": "no snapshot", "detail": str(error)}, 503)
        return {
            "status": "ok",
            "snapshot_published_at": summary.published_at,
            "snapshot_run_id": summary.run_id,
            "features_as_of": summary.features_as_of,
            "customers": summary.customers,
            "predictions_logged": services.log.count(),
        }

    def _customer(customer_id: str) -> Response:
        with services.reader.generation() as generation:
            body = customers.profile(generation, customer_id)
            if body is None:
                published = customers.summary(generation).published_at
                raise HTTPException(
                    404,
                    f"no customer {customer_id!r} in the snapshot published at {published}; "
                    "new customers are scored with POST /score",
                )
        return Response(body, media_type="application/json")

    profile_route = {
        "tags": ["customers"],
        "responses": {200: {"model": CustomerProfile}, 404: {"description": "Unknown customer."}},
        "dependencies": protected,
        "response_class": Response,
    }

    @app.get("/customers/{customer_id}", **profile_route)
    async def get_customer(customer_id: str):
        """One customer from the published snapshot."""
        return _customer(customer_id)

    @app.get("/predict", **profile_route)
    async def predict(customer_id: Annotated[str, Query(min_length=1, max_length=100)]):
        """The same as GET /customers/{customer_id}."""
        return _customer(customer_id)

    @app.get("/segments", tags=["segments"], dependencies=protected)
    async def list_segments() -> dict:
        """Every segment of every kind with its size, revenue and averages."""
        with services.reader.generation() as generation:
            frame = customers.segments(generation)
            published = customers.summary(generation).published_at
        return {
            "snapshot_published_at": published,
            "segments": frame.astype(object).where(frame.notna(), None).to_dict("records"),
        }

    @app.get("/segments/{name}/customers", tags=["segments"], dependencies=protected)
    async def segment_customers(
        request: Request,
        name: str,
        type: Annotated[  # noqa: A002 - the query parameter's public name
            str | None, Query(description="Segment kind when the name is ambiguous.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
        offset: Annotated[int, Query(ge=0)] = 0,
        format: Annotated[str | None, Query(pattern="^(json|csv)$")] = None,  # noqa: A002
    ):
        """One page of a segment's customers, ordered by customer id (CSV with format=csv
        or Accept: text/csv)."""
        try:
            with services.reader.generation() as generation:
                column, total, page = customers.segment_customers(
                    generation, name, type, limit, offset
                )
        except customers.UnknownSegment as error:
            raise HTTPException(404, str(error)) from None
        except customers.AmbiguousSegment as error:
            raise HTTPException(409, str(error)) from None
        following = offset + len(page) if offset + len(page) < total else None
        if format == "csv" or (format is None and CSV in request.headers.get("accept", "")):
            headers = {"X-Total-Count": str(total)}
            if following is not None:
                headers["X-Next-Offset"] = str(following)
            return Response(page.to_csv(index=False), media_type=CSV, headers=headers)
        return {
            "segment": name,
            "type": column,
            "total": total,
            "offset": offset,
            "next_offset": following,
            "customers": page.astype(object).where(page.notna(), None).to_dict("records"),
        }

    async def _read_body(request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is None:
            raise HTTPException(411, "send a Content-Length header")
        if not length.isdigit() or int(length) > api.max_body_bytes:
            raise HTTPException(
                413, f"the body is larger than {api.max_body_bytes} bytes (API_MAX_BODY_BYTES)"
            )
        return await request.body()

    def _too_many(rows: int) -> None:
        if rows > api.max_rows:
            raise HTTPException(
                413, f"{rows} rows in one request; the limit is {api.max_rows} (API_MAX_ROWS)"
            )

    async def _input_writer(request: Request):
        body = await _read_body(request)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "multipart/form-data":
            form = await request.form()
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise RequestValidationError(
                    [{"type": "missing", "loc": ("body", "file"), "msg": "upload a file"}]
                )
            name, content = upload.filename or "upload.csv", await upload.read()
        elif content_type in (CSV, "text/plain", XLSX):
            name, content = ("upload.xlsx" if content_type == XLSX else "upload.csv"), body
        else:
            try:
                parsed = ScoreRequest.model_validate_json(body)
            except ValidationError as error:
                raise RequestValidationError(
                    [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
                ) from None
            rows = parsed.rows
            _too_many(len(rows))
            frame = pd.DataFrame.from_records(rows)
            return lambda folder: _rows_file(folder, frame)
        if Path(name).suffix.lower() not in (".xlsx", ".xlsm"):
            _too_many(max(content.count(b"\n") - 1, 0))
        return lambda folder: upload_file(folder, name, content)

    @app.post(
        "/score",
        tags=["scoring"],
        dependencies=protected,
        response_model=ScoreResponse,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ScoreRequest"}},
                    CSV: {"schema": {"type": "string"}},
                    XLSX: {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}},
                            "required": ["file"],
                        }
                    },
                },
            }
        },
    )
    async def score(request: Request):
        """Score new customers with the champion models (no refit). Inputs already scored
        return their logged prediction and are not logged again."""
        write_input = await _input_writer(request)

        def run():
            with services.reader.generation() as generation:
                return score_input(
                    write_input,
                    context=scoring_context(generation),
                    models=services.models,
                    plan=load_configured_plan(settings.action_rules_path),
                    log=services.log,
                    settings=settings,
                    max_customers=api.max_rows,
                )

        try:
            outcome = await run_in_threadpool(run)
        except NewCustomersError as error:
            raise HTTPException(422, str(error)) from None
        except LookupError as error:  # no champion model yet
            raise HTTPException(503, str(error)) from None
        predictions = [
            {**record, "reasons": parse_reasons(record.get("top_reasons"))}
            for record in outcome.records
        ]
        # The log's records are already JSON: send them as they are (ScoreResponse
        # documents them; validating 10,000 of them again would double the time).
        body = {
            "predictions": predictions,
            "scored": outcome.scored,
            "already_logged": outcome.already_logged,
        }
        return Response(json.dumps(body), media_type="application/json")

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
