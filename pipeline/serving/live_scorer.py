"""Live scoring for the dashboard: one RFM entry, or pasted transaction lines, scored the way
``POST /score`` scores them, into the API's own prediction log.

Nothing here scores by itself. An entry is checked against the API's own request model
(``RfmRow``: the same fields, bounds and messages as a 422) and written with the API's own
input writers, so the same entry has the same input key whether it came over HTTP or from
the dashboard; :func:`pipeline.serving.scoring.score_input` then scores what the log does
not hold yet with the champion models (no refit), appends it to
DATA_DIR/api/prediction_log.sqlite and returns what the log holds. The same entry twice is
scored and logged once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pydantic import ValidationError

from pipeline.serving.prediction_log import PredictionLog, log_path, records_frame
from pipeline.serving.routes_scoring import parse_reasons
from pipeline.serving.schemas import RfmRow
from pipeline.serving.scoring import (
    ActionPlans,
    ChampionModels,
    _rows_file,
    score_input,
    scoring_context,
    tracking_uri,
    upload_file,
)
from pipeline.serving.snapshot import SnapshotReader
from pipeline.settings import Settings

MAX_PASTED_CUSTOMERS = 1_000
LOG_COLUMNS = (
    "predicted_at_local",
    "customer_id",
    "input_mode",
    "value_segment",
    "persona",
    "value_style_label",
    "churn_risk_pct",
    "purchase_probability",
    "expected_spend",
    "action",
    "action_channel",
    "top_reasons",
    "churn_model",
    "propensity_model",
)


class EntryRejected(ValueError):
    """An entry that cannot be scored; the message names the field or the line."""


def rfm_entry(values: dict) -> dict:
    """``values`` checked as the API checks an RFM row; empty optional fields are left out
    (the API's ``exclude_none``), so the entry's input key is the API's."""
    given = {k: v for k, v in values.items() if v is not None and v != ""}
    try:
        row = RfmRow.model_validate(given)
    except ValidationError as error:
        raise EntryRejected(
            "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}"
                for e in error.errors(include_url=False)
            )
        ) from None
    return row.model_dump(exclude_none=True)


def pasted_lines(text: str) -> bytes:
    """Pasted CSV (a header line, then one line per purchase) as the bytes of a file."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    if len(lines) < 2:
        raise EntryRejected(
            "paste a header line (e.g. customer_id,invoice_ts,quantity,unit_price) and at "
            "least one transaction line"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


@dataclass(frozen=True)
class LiveResult:
    predictions: pd.DataFrame  # one row per customer of the entry, as logged
    scored: int  # new predictions appended to the log
    already_logged: int  # customers whose input was logged before (not scored again)


class LiveScorer:
    """Scores entries against the published snapshot and the champion models; one per
    process (the snapshot reader and the models are loaded once and follow new publishes
    and alias moves)."""

    def __init__(
        self,
        settings: Settings,
        *,
        reader: SnapshotReader | None = None,
        models: ChampionModels | None = None,
        log: PredictionLog | None = None,
        max_customers: int = MAX_PASTED_CUSTOMERS,
    ):
        self.settings = settings
        self.reader = reader or SnapshotReader(settings.bi_snapshot_path)
        self._models = models
        self.log = log or PredictionLog(log_path(settings.data_dir))
        self.plans = ActionPlans(settings.action_rules_path)
        self.max_customers = max_customers

    @property
    def models(self) -> ChampionModels:
        if self._models is None:
            self._models = ChampionModels(tracking_uri(self.settings))
        return self._models

    def score_rfm(self, values: dict) -> LiveResult:
        """One customer given as RFM (customer_id, recency_days, frequency, monetary and
        optionally tenure_days and more features)."""
        frame = pd.DataFrame.from_records([rfm_entry(values)])
        return self._score(lambda folder: _rows_file(folder, frame))

    def score_lines(self, text: str) -> LiveResult:
        """Customers given as pasted transaction lines (CSV with a header; the landing
        files' column names are recognised)."""
        content = pasted_lines(text)
        return self._score(lambda folder: upload_file(folder, "pasted.csv", content))

    def _score(self, write_input) -> LiveResult:
        with self.reader.generation() as generation:
            outcome = score_input(
                write_input,
                context=scoring_context(generation),
                models=self.models,
                plan=self.plans.get(),
                log=self.log,
                settings=self.settings,
                max_customers=self.max_customers,
            )
        return LiveResult(records_frame(outcome.records), outcome.scored, outcome.already_logged)

    def latest(self, limit: int = 20) -> pd.DataFrame:
        """The log's newest entries, newest first, in the columns a person reads."""
        frame = records_frame(self.log.latest(limit))
        return frame[[c for c in LOG_COLUMNS if c in frame]] if len(frame) else frame

    @staticmethod
    def reasons(prediction: pd.Series | dict) -> pd.DataFrame:
        """A prediction's top reasons: feature, value, contribution, direction (up or
        down), strongest first."""
        found = parse_reasons(prediction.get("top_reasons"))
        return pd.DataFrame(found, columns=["feature", "value", "contribution", "direction"])

    def close(self) -> None:
        self.reader.close()
        self.log.close()
