"""Customer features as of a date, or as of several in one pass (:mod:`.customer_rfm`); the
SQL is in the ``.sql`` files beside it."""

from pipeline.features.customer_rfm import (
    RFM_SEGMENTS,
    build_customer_rfm,
    customer_features,
    customer_features_at,
    cutoff_segments,
    default_as_of,
    ensure_product_categories_table,
)

__all__ = [
    "RFM_SEGMENTS",
    "build_customer_rfm",
    "customer_features",
    "customer_features_at",
    "cutoff_segments",
    "default_as_of",
    "ensure_product_categories_table",
]
