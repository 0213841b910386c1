"""Serving: the HTTP API over the published BI snapshot and the champion models.

* :mod:`pipeline.serving.snapshot` reads DATA_DIR/bi/customer_intel.duckdb read-only, one
  connection per published file, and moves to a new file when one is published;
* :mod:`pipeline.serving.customers` answers "who is this customer" from it;
* :mod:`pipeline.serving.scoring` scores new customers with the champion models;
* :mod:`pipeline.serving.prediction_log` is the API's own durable, append-only log, folded by
  the refresh into marts.prediction_log;
* :mod:`pipeline.serving.app` is the FastAPI application: its read endpoints are in
  :mod:`.routes_customers`, scoring in :mod:`.routes_scoring`, the shared services and the
  API-key check in :mod:`.api_services`; :mod:`pipeline.serving.server` starts it under
  uvicorn;
* for the dashboard: :mod:`pipeline.serving.upload_preview` checks an uploaded file with the
  raw layer's code in a throw-away database, :mod:`pipeline.serving.landing_upload` places it
  in landing atomically, :mod:`pipeline.serving.dagster_refresh` starts and follows the
  refresh in the running Dagster instance over GraphQL (plain HTTP, no Dagster import), and
  :mod:`pipeline.serving.live_scorer` scores one entry the way POST /score does.

No Dagster import here: the API runs without the orchestrator.
"""
