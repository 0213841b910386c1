"""The data-quality runner as a Dagster resource: where results go and the run-time policy.

The work is done by :func:`pipeline.quality.validate_table` (Great Expectations 1.x on
pandas, DuckDB aggregates for large tables); this resource only carries configuration, so
asset checks stay one paragraph long. Importing this module does not import GX.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from dagster import ConfigurableResource
from pydantic import Field

from pipeline import quality
from pipeline.settings import Settings

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation


def _default_results_dir() -> str:
    return str(Settings.from_env().quality_dir)


def _default_future_tolerance_days() -> int:
    return Settings.from_env().future_tolerance_days


class DataQuality(ConfigurableResource):
    """Runs GX suites against warehouse tables and stores each result under ``results_dir``."""

    results_dir: str = Field(
        default_factory=_default_results_dir,
        description="Where validation results (GX JSON + HTML) are written. "
        "Defaults to DATA_DIR/quality.",
    )
    pandas_row_limit: int = Field(
        default=quality.DEFAULT_PANDAS_ROW_LIMIT,
        description="Tables up to this many rows are validated by GX on a pandas frame of "
        "the needed columns; larger ones by the same rules as DuckDB aggregates.",
    )
    row_drop_threshold: float = Field(
        default=quality.DEFAULT_ROW_DROP_THRESHOLD,
        description="Share of rows a table may lose since its previous materialization "
        "(0.5 = a drop of more than 50 % fails).",
    )
    freshness_days: int = Field(
        default=quality.DEFAULT_FRESHNESS_DAYS,
        description="The latest timestamp may be at most this many days older than the "
        "reference time (a warning, not a blocking failure).",
    )
    freshness_reference: str = Field(
        default="",
        description="ISO date or timestamp freshness is measured against; empty means the "
        "time of the run. Pin it (e.g. '2011-12-10') to check historical demo data.",
    )
    future_tolerance_days: int = Field(
        default_factory=_default_future_tolerance_days,
        description="How far after the reference time the latest timestamp may lie. "
        "Defaults to FUTURE_TOLERANCE_DAYS, the staging rule's tolerance.",
    )
    write_html: bool = Field(
        default=True,
        description="Also write GX's HTML rendering of each result beside the JSON.",
    )

    def reference_time(self) -> dt.datetime | None:
        if not self.freshness_reference:
            return None
        return dt.datetime.fromisoformat(self.freshness_reference)

    def validate(
        self,
        connection: duckdb.DuckDBPyConnection,
        table: str,
        suite: Sequence[Expectation],
        previous_row_count: int | None = None,
    ) -> quality.ValidationReport:
        """Validate ``table`` with ``suite`` (see :func:`pipeline.quality.validate_table`)."""
        return quality.validate_table(
            connection,
            table,
            suite,
            results_dir=Path(self.results_dir),
            previous_row_count=previous_row_count,
            pandas_row_limit=self.pandas_row_limit,
            row_drop_threshold=self.row_drop_threshold,
            freshness_days=self.freshness_days,
            future_tolerance_days=self.future_tolerance_days,
            reference_time=self.reference_time(),
            write_html=self.write_html,
        )
