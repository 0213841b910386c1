"""The marts: business-facing tables built from the features, segments and scores.

* :mod:`.customers`: monthly revenue, every label and score per customer with its action
  (marts.customer_segments), the action plan, the segment summary, the exports' queries.
* :mod:`.recommendations`: marts.product_recommendations.
* :mod:`.underperformers`: marts.underperformers (predicted vs actual on the last horizon).

The live-scoring log, marts.prediction_log, is appended by :mod:`pipeline.live_scoring`
and :mod:`pipeline.serving.prediction_log`. Static SQL is in the ``.sql`` files here.
"""

from pipeline.marts.customers import (
    build_customer_segments,
    build_monthly_revenue,
    build_segment_summary,
    export_queries_by_action,
)

__all__ = [
    "build_customer_segments",
    "build_monthly_revenue",
    "build_segment_summary",
    "export_queries_by_action",
]
