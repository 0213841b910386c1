"""Customer segmentation: value, purchase style and personas, fitted on features.customer_rfm.

| table                     | labels                                                      |
|---------------------------|-------------------------------------------------------------|
| segments.customer_value   | Low / Mid / High: k-means (k=3) on standardized log R, F, M |
| segments.purchase_style   | Regular / Bulk / Anomaly, with a reason and the value x      |
|                           | style label (labels.VALUE_STYLE_MATRIX)                      |
| segments.personas         | Loyal Customers, Big Spenders, At Risk, New Customers,       |
|                           | Occasional: a window for New, k-means purchase profiles and  |
|                           | a lapse window for the rest (see ``personas``)                |

Modules: ``value``, ``style`` and ``personas`` hold the scikit-learn estimators (each
carries its cluster -> label mapping, so MLflow stores both together); ``warehouse`` the SQL;
``build`` the fit, label and write functions the assets call; ``tracking`` MLflow logging and
:func:`assign_segments`; ``evaluation`` the segment summaries and the demo-truth figures.
No Dagster import anywhere in this package.
"""

from pipeline.segmentation.build import (
    PERSONA_TABLE,
    STYLE_TABLE,
    VALUE_TABLE,
    FittedSegments,
    fit_customer_value,
    fit_persona_model,
    fit_personas,
    fit_purchase_style,
    fit_style_model,
    fit_value_model,
    write_segments,
)
from pipeline.segmentation.labels import (
    PERSONAS,
    PURCHASE_STYLES,
    VALUE_SEGMENTS,
    VALUE_STYLE_LABELS,
    VALUE_STYLE_MATRIX,
    value_style_label,
)
from pipeline.segmentation.personas import PersonaSegmenter, map_personas
from pipeline.segmentation.style import PurchaseStyleModel
from pipeline.segmentation.tracking import (
    PERSONA_MODEL,
    SEGMENT_MODELS,
    STYLE_MODEL,
    VALUE_MODEL,
    RegisteredSegmentModel,
    assign_segments,
    log_segment_model,
)
from pipeline.segmentation.value import ValueSegmenter

__all__ = [
    "PERSONAS",
    "PERSONA_MODEL",
    "PERSONA_TABLE",
    "PURCHASE_STYLES",
    "SEGMENT_MODELS",
    "STYLE_MODEL",
    "STYLE_TABLE",
    "VALUE_MODEL",
    "VALUE_SEGMENTS",
    "VALUE_STYLE_LABELS",
    "VALUE_STYLE_MATRIX",
    "VALUE_TABLE",
    "FittedSegments",
    "RegisteredSegmentModel",
    "PersonaSegmenter",
    "PurchaseStyleModel",
    "ValueSegmenter",
    "assign_segments",
    "fit_customer_value",
    "fit_persona_model",
    "fit_personas",
    "fit_purchase_style",
    "fit_style_model",
    "fit_value_model",
    "log_segment_model",
    "map_personas",
    "value_style_label",
    "write_segments",
]
