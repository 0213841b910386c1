"""What the API's endpoints share (the snapshot reader, the prediction log, the champion
models) and the API-key check, as FastAPI dependencies."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from pipeline.serving import customers
from pipeline.serving.config import ApiSettings
from pipeline.serving.prediction_log import PredictionLog, log_path
from pipeline.serving.scoring import ChampionModels, tracking_uri
from pipeline.serving.snapshot import SnapshotReader
from pipeline.settings import Settings

_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False)


class Services:
    """The snapshot reader, the log and the champion models (loaded on first use)."""

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


def get_services(request: Request) -> Services:
    """The application's services (a dependency of every endpoint)."""
    return request.app.state.services


def require_key(
    request: Request,
    key: Annotated[str | None, Security(_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> None:
    """401 unless the request carries API_KEY (as X-API-Key or a bearer token)."""
    expected = get_services(request).api.api_key
    if not expected:
        return
    given = key or (bearer.credentials if bearer else "")
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            401,
            "missing or wrong API key: send it as the X-API-Key header or as "
            "Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
