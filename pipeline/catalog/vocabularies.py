"""The label vocabularies a contract can name in ``allowed_values``.

Each vocabulary is declared once, in the module that assigns the labels; this registry only
points at it, so the segmentation code and the quality checks cannot drift apart. The
modules are imported when a suite is built, not when the contracts are loaded.
"""

from __future__ import annotations

from collections.abc import Callable


def _value_segments() -> tuple[str, ...]:
    from pipeline.segmentation.labels import VALUE_SEGMENTS

    return VALUE_SEGMENTS


def _purchase_styles() -> tuple[str, ...]:
    from pipeline.segmentation.labels import PURCHASE_STYLES

    return PURCHASE_STYLES


def _personas() -> tuple[str, ...]:
    from pipeline.segmentation.labels import PERSONAS

    return PERSONAS


def _value_style_labels() -> tuple[str, ...]:
    from pipeline.segmentation.labels import VALUE_STYLE_LABELS

    return VALUE_STYLE_LABELS


def _rfm_segments() -> tuple[str, ...]:
    from pipeline.features import RFM_SEGMENTS

    return tuple(RFM_SEGMENTS)


def _exclusion_rules() -> tuple[str, ...]:
    from pipeline.cleaning import ALL_RULES

    return tuple(rule.name for rule in ALL_RULES if rule.destination == "excluded")


def _performance() -> tuple[str, ...]:
    from pipeline.marts.underperformers import ACCURATE, OVER, UNDER

    return (OVER, ACCURATE, UNDER)


def _evaluation_datasets() -> tuple[str, ...]:
    from pipeline.modelling.model_report import TRUTH, VALIDATION

    return (VALIDATION, TRUTH)


VOCABULARIES: dict[str, Callable[[], tuple[str, ...]]] = {
    "value_segments": _value_segments,
    "purchase_styles": _purchase_styles,
    "personas": _personas,
    "value_style_labels": _value_style_labels,
    "rfm_segments": _rfm_segments,
    "exclusion_rules": _exclusion_rules,
    "performance": _performance,
    "evaluation_datasets": _evaluation_datasets,
}
