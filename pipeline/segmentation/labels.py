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
PERSONAS: tuple[str, ...] = (
    "Loyal Customers",
    "Big Spenders",
    "At Risk",
    "New Customers",
    "Occasional",
)

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

# Purchase profiles of the persona clustering (pipeline.segmentation.personas), as
# archetypes in its standardized space: z-scores of log frequency, log monetary and log
# average order value. Each cluster centroid is matched to one profile; recency and tenure
# then turn a profile into a persona (a lapsing Loyal or Big Spender profile is At Risk).
PROFILE_ARCHETYPES: dict[str, tuple[float, float, float]] = {
    # Buy often; spend follows from frequency, baskets are ordinary.
    "Loyal Customers": (1.0, 0.8, -0.2),
    # Large baskets and a high spend.
    "Big Spenders": (0.4, 1.3, 1.5),
    # One or two small orders.
    "Occasional": (-0.9, -1.0, -0.6),
}
# Profiles worth keeping: lapsing, they become At Risk.
VALUABLE_PROFILES: tuple[str, ...] = ("Loyal Customers", "Big Spenders")


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
