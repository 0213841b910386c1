"""The data-quality runner as a Dagster resource: where results go and the run-time policy.

The work is done by :func:`pipeline.quality.validate_table` (Great Expectations 1.x on
pandas, DuckDB aggregates for large tables); this resource only carries configuration, so
asset checks stay one paragraph long. Importing this module does not import GX.
"""

from __future__ import annotations

import datetime as dt
import os
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


class DataQuality(ConfigurableResource):
    """Runs GX suites against warehouse tables and stores each result under ``results_dir``."""

    results_dir: str = Field(
        default="",
        description="Where validation results (GX JSON + HTML) are written; empty means "
        "DATA_DIR/quality, read at run time.",
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
        description="ISO date or timestamp freshness is measured against; empty means "
        "$FRESHNESS_REFERENCE_DATE, else the time of the run. Pin it (e.g. '2011-12-10') to "
        "check historical data such as the demo's.",
    )
    future_tolerance_days: int | None = Field(
        default=None,
        description="How far after the reference time the latest timestamp may lie; unset "
        "means FUTURE_TOLERANCE_DAYS (the staging rule's tolerance), read at run time.",
    )
    html_reports: str = Field(
        default=quality.HTML_FAILURES,
        description="When GX's HTML page of a result is written beside its JSON: 'always', "
        "'failures' (the results with a failed or warned expectation) or 'never'. "
        "`customer-intel quality-report RESULT.json` renders any stored result.",
    )

    @property
    def resolved_results_dir(self) -> Path:
        return Path(self.results_dir) if self.results_dir else Settings.from_env().quality_dir

    @property
    def resolved_future_tolerance_days(self) -> int:
        if self.future_tolerance_days is not None:
            return self.future_tolerance_days
        return Settings.from_env().future_tolerance_days

    def reference_time(self) -> dt.datetime | None:
        reference = self.freshness_reference or os.environ.get("FRESHNESS_REFERENCE_DATE", "")
        if not reference:
            return None
        return dt.datetime.fromisoformat(reference)

    def validate(
        self,
        connection: duckdb.DuckDBPyConnection,
        table: str,
        suite: Sequence[Expectation],
        previous_row_count: int | None = None,
        scope: quality.ValidationScope | None = None,
    ) -> quality.ValidationReport:
        """Validate ``table`` with ``suite`` (see :func:`pipeline.quality.validate_table`)."""
        return quality.validate_table(
            connection,
            table,
            suite,
            results_dir=self.resolved_results_dir,
            previous_row_count=previous_row_count,
            pandas_row_limit=self.pandas_row_limit,
            row_drop_threshold=self.row_drop_threshold,
            freshness_days=self.freshness_days,
            future_tolerance_days=self.resolved_future_tolerance_days,
            reference_time=self.reference_time(),
            html=self.html_reports,
            scope=scope,
        )
