"""Customer history: one snapshot of every customer per date, and who moved between them.

A snapshot at date D holds, per customer, what the nightly tables would have said with
AS_OF_DATE=D: the features of :func:`pipeline.features.customer_features` (purchases before
D), the RFM segment, the value segment, purchase style and persona from the champion segment
models (:func:`pipeline.segmentation.tracking.assign_segments`), churn and purchase
propensity from the champion scoring models
(:func:`pipeline.modelling.champion_scoring.score_frame`) and the action of the plan
(:func:`pipeline.action_rules.action_case_sql`). Each row records the model versions and the
as-of time that produced it, so a backfill of past dates with today's champions says so.

:mod:`.snapshots` computes and stores snapshots (``history.customer_snapshots``) and applies
the retention; :mod:`.migrations` builds the migration marts (``marts.segment_transitions``,
``marts.customer_movements``) and the transition matrix between any two stored dates.
"""

from pipeline.history.migrations import (
    DIMENSIONS,
    build_customer_movements,
    build_segment_transitions,
    default_comparison,
    segment_sizes,
    snapshot_dates,
    transition_matrix,
)
from pipeline.history.snapshots import (
    CADENCES,
    HISTORY_TABLE,
    SnapshotModels,
    apply_retention,
    backfill_dates,
    load_snapshot_models,
    retained_dates,
    shift_months,
    write_snapshots,
)

__all__ = [
    "CADENCES",
    "DIMENSIONS",
    "HISTORY_TABLE",
    "SnapshotModels",
    "apply_retention",
    "backfill_dates",
    "build_customer_movements",
    "build_segment_transitions",
    "default_comparison",
    "load_snapshot_models",
    "retained_dates",
    "segment_sizes",
    "shift_months",
    "snapshot_dates",
    "transition_matrix",
    "write_snapshots",
]
