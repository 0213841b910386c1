"""What the API's endpoints share (the snapshot reader, the prediction log, the champion
models) and the API-key check, as FastAPI dependencies."""

from __future__ import annotations

import hmac
import logging
import threading
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from pipeline.serving import customers
from pipeline.serving.config import ApiSettings
from pipeline.serving.prediction_log import PredictionLog, log_path
from pipeline.serving.scoring import ActionPlans, ChampionModels, tracking_uri
from pipeline.serving.snapshot import SnapshotReader
from pipeline.settings import Settings

logger = logging.getLogger(__name__)
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False)


class Services:
    """The snapshot reader, the log, the action plan and the champion models (loaded on
    first use, or ahead of it by :meth:`preload_models`)."""

    def __init__(self, settings: Settings, api: ApiSettings):
        self.settings, self.api = settings, api
        self.reader = SnapshotReader(settings.bi_snapshot_path, customers.load_customers)
        self.log = PredictionLog(log_path(settings.data_dir))
        self.plans = ActionPlans(settings.action_rules_path)
        self._models: ChampionModels | None = None
        self._models_lock = threading.Lock()

    @property
    def models(self) -> ChampionModels:
        with self._models_lock:
            if self._models is None:
                self._models = ChampionModels(tracking_uri(self.settings))
            return self._models

    def preload_models(self) -> None:
        """Load the champions before the server starts answering, so that the first POST
        /score does not wait for MLflow and no request waits for the interpreter while
        they load. Without champions yet, or with a registry that cannot be reached, the
        server starts anyway: the lookups do not need the models, and the first POST /score
        loads them or says what is wrong."""
        try:
            self.models.get()
        except LookupError:
            pass  # no champion yet: POST /score answers 503 saying so
        except Exception as error:  # the registry is down: lookups are served regardless
            logger.warning("the champion models did not load at start-up: %s", error)


async def get_services(request: Request) -> Services:
    """The application's services (a dependency of every endpoint). A coroutine, as every
    dependency on the request path: FastAPI runs a plain ``def`` dependency in its thread
    pool, a hand-off between threads that cost more than the rest of a lookup."""
    return request.app.state.services


async def require_key(
    request: Request,
    key: Annotated[str | None, Security(_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> None:
    """401 unless the request carries API_KEY (as X-API-Key or a bearer token)."""
    expected = request.app.state.services.api.api_key
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
