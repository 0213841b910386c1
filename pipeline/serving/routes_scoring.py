"""POST /score: new customers, as RFM rows or transaction lines (JSON, or a CSV/XLSX
upload), scored with the champion models and logged once per input."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from pipeline.live_scoring import NewCustomersError
from pipeline.serving.api_services import Services, get_services
from pipeline.serving.config import CSV, XLSX, ApiSettings
from pipeline.serving.schemas import ScoreRequest, ScoreResponse
from pipeline.serving.scoring import _rows_file, score_input, scoring_context, upload_file

REASON = re.compile(r"(?P<feature>\w+)=(?P<value>\S+) \((?P<contribution>[^,]+), (?P<dir>\w+)\)")
router = APIRouter()


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


async def _read_body(request: Request, api: ApiSettings) -> bytes:
    length = request.headers.get("content-length")
    if length is None:
        raise HTTPException(411, "send a Content-Length header")
    if not length.isdigit() or int(length) > api.max_body_bytes:
        raise HTTPException(
            413, f"the body is larger than {api.max_body_bytes} bytes (API_MAX_BODY_BYTES)"
        )
    return await request.body()


def _too_many(rows: int, api: ApiSettings) -> None:
    if rows > api.max_rows:
        raise HTTPException(
            413, f"{rows} rows in one request; the limit is {api.max_rows} (API_MAX_ROWS)"
        )


async def _input_writer(request: Request, api: ApiSettings):
    body = await _read_body(request, api)
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
        _too_many(len(rows), api)
        frame = pd.DataFrame.from_records(rows)
        return lambda folder: _rows_file(folder, frame)
    if Path(name).suffix.lower() not in (".xlsx", ".xlsm"):
        _too_many(max(content.count(b"\n") - 1, 0), api)
    return lambda folder: upload_file(folder, name, content)


@router.post(
    "/score",
    tags=["scoring"],
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
async def score(services: Annotated[Services, Depends(get_services)], request: Request):
    """Score new customers with the champion models (no refit). Inputs already scored
    return their logged prediction and are not logged again."""
    settings, api = services.settings, services.api
    write_input = await _input_writer(request, api)

    def run():
        with services.reader.generation() as generation:
            return score_input(
                write_input,
                context=scoring_context(generation),
                models=services.models,
                plan=services.plans.get(),
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
