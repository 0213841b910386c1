"""The read endpoints: health, one customer, the segments and their customers, all from
the published BI snapshot."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from pipeline.serving import customers
from pipeline.serving.api_services import Services, get_services
from pipeline.serving.config import CSV, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from pipeline.serving.schemas import CustomerProfile
from pipeline.serving.snapshot import SnapshotMissing

ServicesDep = Annotated[Services, Depends(get_services)]
health_router = APIRouter()  # open to all
router = APIRouter()  # behind the API key when one is configured


@health_router.get("/health", tags=["service"])
async def health(services: ServicesDep) -> dict:
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


def _customer(services: Services, customer_id: str) -> Response:
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


PROFILE_ROUTE = {
    "tags": ["customers"],
    "responses": {200: {"model": CustomerProfile}, 404: {"description": "Unknown customer."}},
    "response_class": Response,
}


@router.get("/customers/{customer_id}", **PROFILE_ROUTE)
async def get_customer(services: ServicesDep, customer_id: str):
    """One customer from the published snapshot."""
    return _customer(services, customer_id)


@router.get("/predict", **PROFILE_ROUTE)
async def predict(
    services: ServicesDep,
    customer_id: Annotated[str, Query(min_length=1, max_length=100)],
):
    """The same as GET /customers/{customer_id}."""
    return _customer(services, customer_id)


@router.get("/segments", tags=["segments"])
async def list_segments(services: ServicesDep) -> dict:
    """Every segment of every kind with its size, revenue and averages."""
    with services.reader.generation() as generation:
        frame = customers.segments(generation)
        published = customers.summary(generation).published_at
    return {
        "snapshot_published_at": published,
        "segments": frame.astype(object).where(frame.notna(), None).to_dict("records"),
    }


@router.get("/segments/{name}/customers", tags=["segments"])
async def segment_customers(
    services: ServicesDep,
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
            column, total, page = customers.segment_customers(generation, name, type, limit, offset)
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
