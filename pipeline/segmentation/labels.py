"""The segment vocabularies, the value x style matrix and the persona archetypes.

Labels are business words, so they are fixed here and never derived from cluster ids: every
model maps its clusters onto these names from the clusters' profiles.

Value x purchase style (``value_style_label`` in ``segments.purchase_style``):

| value \\ style | Regular            | Bulk               | Anomaly     |
|---------------|--------------------|--------------------|-------------|
| High          | VIP                | Key Account        | Investigate |
| Mid           | Growth Opportunity | Wholesale Prospect | Investigate |
| Low           | Nurture            | Occasional Bulk    | Investigate |

An anomalous customer is investigated before anyone markets to them, whatever their value.
"""

from __future__ import annotations

VALUE_SEGMENTS: tuple[str, ...] = ("Low", "Mid", "High")  # ascending value
PURCHASE_STYLES: tuple[str, ...] = ("Regular", "Bulk", "Anomaly")
PERSONAS: tuple[str, ...] = ("Loyal Customers", "Big Spenders", "At Risk", "New / Occasional")

VALUE_STYLE_MATRIX: dict[tuple[str, str], str] = {
    ("High", "Regular"): "VIP",
    ("High", "Bulk"): "Key Account",
    ("High", "Anomaly"): "Investigate",
    ("Mid", "Regular"): "Growth Opportunity",
    ("Mid", "Bulk"): "Wholesale Prospect",
    ("Mid", "Anomaly"): "Investigate",
    ("Low", "Regular"): "Nurture",
    ("Low", "Bulk"): "Occasional Bulk",
    ("Low", "Anomaly"): "Investigate",
}
VALUE_STYLE_LABELS: tuple[str, ...] = tuple(dict.fromkeys(VALUE_STYLE_MATRIX.values()))

# Value labels when the data has fewer distinct customers than clusters (k shrinks to the
# number of distinct points): the clusters, in ascending value, take these names.
VALUE_LABELS_BY_K: dict[int, tuple[str, ...]] = {
    1: ("Mid",),
    2: ("Low", "High"),
    3: VALUE_SEGMENTS,
}

# Persona archetypes in standardized space (z-scores of the persona features, see
# pipeline.segmentation.personas.PERSONA_FEATURES): recency (+ = long ago), frequency,
# monetary, average order value. Each cluster centroid is matched to one archetype.
PERSONA_ARCHETYPES: dict[str, tuple[float, float, float, float]] = {
    # Bought recently and often; spend follows from frequency, baskets are ordinary.
    "Loyal Customers": (-1.0, 1.0, 0.5, 0.0),
    # Large baskets and the highest spend, whatever the rhythm.
    "Big Spenders": (0.0, 0.0, 1.5, 1.5),
    # Used to buy with ordinary value, but not for a long while.
    "At Risk": (0.75, 0.0, 0.25, 0.25),
    # One or two small orders.
    "New / Occasional": (0.0, -1.0, -1.0, -0.5),
}


def value_style_label(value_segment: str | None, purchase_style: str | None) -> str | None:
    """The business label of a (value segment, purchase style) pair; None if either is."""
    if value_segment is None or purchase_style is None:
        return None
    return VALUE_STYLE_MATRIX[(value_segment, purchase_style)]


def value_style_markdown() -> str:
    """The matrix as a Markdown table, for asset metadata and docs."""
    lines = ["| value \\ style | " + " | ".join(PURCHASE_STYLES) + " |"]
    lines.append("|---|" + "---|" * len(PURCHASE_STYLES))
    for value in reversed(VALUE_SEGMENTS):
        cells = [VALUE_STYLE_MATRIX[(value, style)] for style in PURCHASE_STYLES]
        lines.append(f"| {value} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
