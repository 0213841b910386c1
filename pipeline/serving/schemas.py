"""Request and response bodies of the API (pydantic): what /docs shows and what a request
is validated against (422 naming the field)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from pipeline.modelling.model_inputs import BEHAVIOUR_FEATURES

_OPTIONAL_FEATURES = tuple(
    f
    for f in BEHAVIOUR_FEATURES
    if f not in {"recency_days", "frequency", "monetary", "tenure_days", "avg_order_value"}
)


class _RfmCore(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    customer_id: str = Field(min_length=1, max_length=100, pattern=r"\S")
    recency_days: int = Field(ge=1, le=36500, description="Days since the last purchase.")
    frequency: int = Field(ge=1, le=1_000_000, description="Number of orders.")
    monetary: float = Field(description="Net spend.")
    tenure_days: int | None = Field(
        None, ge=1, le=36500, description="Days since the first purchase (default recency)."
    )

    @model_validator(mode="after")
    def _tenure_covers_recency(self):
        if self.tenure_days is not None and self.tenure_days < self.recency_days:
            raise ValueError("tenure_days must be at least recency_days")
        return self


RfmRow = create_model(
    "RfmRow",
    __base__=_RfmCore,
    __doc__="One customer as RFM (and optionally more features of features.customer_rfm; "
    "the median customer's stand in for the ones not given).",
    **{name: (float | None, Field(None, allow_inf_nan=False)) for name in _OPTIONAL_FEATURES},
)


class TransactionLine(BaseModel):
    """One purchase line, as in a landing file."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    customer_id: str = Field(min_length=1, max_length=100, pattern=r"\S")
    invoice_ts: str = Field(
        min_length=1, max_length=40, description="Date and time (ISO 8601, M/D/YYYY H:MM, ...)."
    )
    invoice_id: str | None = Field(None, max_length=100)
    stock_code: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=500)
    quantity: float | None = None
    unit_price: float | None = None
    line_amount: float | None = None
    country: str | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _has_an_amount(self):
        if self.line_amount is None and (self.quantity is None or self.unit_price is None):
            raise ValueError("give line_amount, or quantity and unit_price")
        return self


class ScoreRequest(BaseModel):
    """New customers to score: RFM rows or transaction lines (one of the two)."""

    model_config = ConfigDict(extra="forbid")

    customers: list[RfmRow] | None = Field(None, min_length=1)  # type: ignore[valid-type]
    transactions: list[TransactionLine] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_shape(self):
        if (self.customers is None) == (self.transactions is None):
            raise ValueError("give either customers (RFM rows) or transactions, not both")
        return self

    @property
    def rows(self) -> list[dict]:
        rows = self.customers if self.customers is not None else self.transactions
        return [r.model_dump(exclude_none=True) for r in rows]


class Reason(BaseModel):
    feature: str
    value: float | None
    contribution: float
    direction: str


class Prediction(BaseModel):
    """One new customer's prediction, as logged (marts.prediction_log)."""

    prediction_id: str
    input_key: str
    customer_id: str
    source: str
    input_mode: str
    inputs: str
    imputed_features: list[str]
    predicted_at: str
    predicted_at_local: str
    display_timezone: str
    features_as_of: str
    value_segment: str | None
    persona: str | None
    purchase_style: str | None
    value_style_label: str | None
    churn_risk_pct: float | None
    purchase_probability: float | None
    expected_spend: float | None
    top_reasons: str | None
    reasons: list[Reason]
    action: str | None
    action_channel: str | None
    churn_model: str
    propensity_model: str
    segment_models: str
    already_logged: bool = Field(description="True when this input was scored before.")


class ScoreResponse(BaseModel):
    predictions: list[Prediction]
    scored: int = Field(description="New predictions appended to the log by this request.")
    already_logged: int


class CustomerProfile(BaseModel):
    """GET /customers/{id}: everything the snapshot knows of one customer."""

    customer_id: str
    features: dict
    segments: dict
    churn: dict
    propensity: dict
    action: dict
    products: dict
    models: dict
    features_as_of: str | None
    snapshot_published_at: str | None
