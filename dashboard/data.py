"""Queries of the published BI snapshot (DATA_DIR/bi/customer_intel.duckdb) for the dashboard.

No Streamlit here: plain functions that take the snapshot's path and return pandas frames,
so they can be tested on a small crafted snapshot.

Every query opens its own read-only connection and closes it. The pipeline replaces the
snapshot by renaming a new file over it; a connection keeps reading the file it opened,
and DuckDB shares one database instance between the connections to a path that are open
at the same time in a process. So connections are short-lived and never overlap (a
process-wide lock): each query sees the snapshot published when it started.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.serving.snapshot import file_version

SNAPSHOT_RELATIVE = Path("bi") / "customer_intel.duckdb"
VALUE_ORDER = ("High", "Mid", "Low")
STYLE_ORDER = ("Regular", "Bulk", "Anomaly")
TARGET_COLUMNS = (
    "customer_id",
    "country",
    "frequency",
    "recency_days",
    "monetary",
    "purchase_probability",
    "propensity_decile",
    "expected_spend",
    "churn_risk_pct",
    "performance",
    "shortfall",
    "value_segment",
    "value_style_label",
    "persona",
    "rfm_segment",
    "action",
    "action_channel",
)

_CONNECTION_LOCK = threading.Lock()


class SnapshotMissing(Exception):
    """No snapshot has been published at the path yet."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(
            f"No snapshot yet: run `make demo` (or materialize bi/customer_intel in the Dagster "
            f"UI) to publish {path}."
        )


class TableMissing(Exception):
    """The snapshot lacks a table or column a view needs (published by an older pipeline)."""

    def __init__(self, table: str, column: str | None = None):
        self.table, self.column = table, column
        what = f"column {column} of {table}" if column else f"table {table}"
        super().__init__(
            f"This snapshot has no {what}: it was published by an older version of the "
            "pipeline. Run `make refresh` to publish a complete one."
        )


def default_data_dir() -> Path:
    return Path(os.environ.get("DATA_DIR") or "data").resolve()


def snapshot_path(data_dir: Path | None = None) -> Path:
    """DATA_DIR/bi/customer_intel.duckdb (DATA_DIR defaults to ./data, as in the pipeline)."""
    return (data_dir or default_data_dir()) / SNAPSHOT_RELATIVE


# (inode, mtime ns, size) of the published file, None when there is none: a new publish
# renames a new file over it, so the version changes with every publish. The API's snapshot
# reader tells its generations apart by the same function.
snapshot_version = file_version


@contextmanager
def connect(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the snapshot, closed on exit (see the module docstring)."""
    with _CONNECTION_LOCK:
        if not path.is_file():
            raise SnapshotMissing(path)
        connection = duckdb.connect(str(path), read_only=True)
        try:
            yield connection
        finally:
            connection.close()


def _tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{schema}.{table}" if schema != "main" else table
        for schema, table in connection.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary"
        ).fetchall()
    }


def _columns(connection: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    schema, name = table.split(".") if "." in table else ("main", table)
    return {
        row[0]
        for row in connection.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = $s AND table_name = $t",
            {"s": schema, "t": name},
        ).fetchall()
    }


def _require(
    connection: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...] = ()
) -> None:
    if table not in _tables(connection):
        raise TableMissing(table)
    present = _columns(connection, table)
    for column in columns:
        if column not in present:
            raise TableMissing(table, column)


def _frame(connection, sql: str, parameters: dict | None = None) -> pd.DataFrame:
    return connection.execute(sql, parameters or {}).df()


# -- snapshot ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotInfo:
    published_at: pd.Timestamp | None
    run_id: str
    tables: dict[str, int]  # table -> rows


def snapshot_info(path: Path) -> SnapshotInfo:
    with connect(path) as connection:
        _require(connection, "snapshot_info")
        rows = connection.execute(
            "SELECT published_at, run_id, table_name, row_count FROM snapshot_info "
            "ORDER BY table_name"
        ).fetchall()
    if not rows:
        return SnapshotInfo(None, "", {})
    return SnapshotInfo(
        published_at=pd.Timestamp(rows[0][0]),
        run_id=rows[0][1] or "",
        tables={name: int(count) for _, _, name, count in rows},
    )


# -- targeting --------------------------------------------------------------------------------


def targeting_frame(
    path: Path, min_propensity: float = 0.0, min_shortfall: float | None = None
) -> pd.DataFrame:
    """Every customer of marts.customer_segments with what targeting needs, and ``matches``:
    purchase_probability >= min_propensity and, when min_shortfall is given,
    shortfall >= min_shortfall (customers without a shortfall then do not match)."""
    with connect(path) as connection:
        _require(connection, "marts.customer_segments", TARGET_COLUMNS)
        columns = ", ".join(TARGET_COLUMNS)
        return _frame(
            connection,
            f"""
            SELECT {columns},
                   coalesce(purchase_probability >= $min_propensity
                            AND ($min_shortfall IS NULL OR shortfall >= $min_shortfall), false)
                       AS matches
            FROM marts.customer_segments
            ORDER BY purchase_probability DESC, customer_id
            """,
            {"min_propensity": float(min_propensity), "min_shortfall": min_shortfall},
        )


def selection(frame: pd.DataFrame) -> pd.DataFrame:
    """The matching rows of :func:`targeting_frame`, as downloaded (without ``matches``)."""
    return frame.loc[frame["matches"], list(TARGET_COLUMNS)].reset_index(drop=True)


def selection_csv(frame: pd.DataFrame) -> bytes:
    return selection(frame).to_csv(index=False).encode("utf-8")


def shortfall_steps(frame: pd.DataFrame) -> list[float]:
    """Slider stops for the minimum shortfall: 0 (any) then 1-2-5 steps up to the largest
    shortfall, so the few large shortfalls do not squeeze the usual ones into one notch."""
    largest = frame["shortfall"].max(skipna=True)
    steps = [0.0]
    if pd.isna(largest) or largest <= 0:
        return steps
    magnitude = 10.0 ** math.floor(math.log10(max(float(largest), 1.0)) - 3)
    while magnitude <= largest:
        for factor in (1, 2, 5):
            value = factor * magnitude
            if value > 0 and value <= largest:
                steps.append(round(value, 6))
        magnitude *= 10
    return sorted(set(steps))


# -- model ------------------------------------------------------------------------------------


def champions(path: Path) -> pd.DataFrame:
    """model_name, model_version of the champions that wrote scores.churn,
    scores.propensity and scores.product_propensity (what the customers' scores come from)."""
    with connect(path) as connection:
        parts = []
        optional = "scores.product_propensity"  # empty without product data
        tables = ["scores.churn", "scores.propensity"]
        if optional in _tables(connection):
            tables.append(optional)
        for table in tables:
            _require(connection, table, ("model_name", "model_version"))
            parts.append(
                f"SELECT DISTINCT model_name, model_version, '{table}' AS scores FROM {table}"
            )
        return _frame(connection, " UNION ALL ".join(parts) + " ORDER BY scores, model_version")


def _whole_table(path: Path, table: str, order_by: str) -> pd.DataFrame:
    with connect(path) as connection:
        _require(connection, table)
        return _frame(connection, f"SELECT * FROM {table} ORDER BY {order_by}")


def model_evaluation(path: Path) -> pd.DataFrame:
    """scores.model_evaluation (validation), with the demo truth's rows of
    scores.truth_evaluation where the snapshot has them (same columns)."""
    with connect(path) as connection:
        _require(connection, "scores.model_evaluation")
        tables = ["scores.model_evaluation"]
        if "scores.truth_evaluation" in _tables(connection):
            tables.append("scores.truth_evaluation")
        rows = " UNION ALL BY NAME ".join(f"SELECT * FROM {table}" for table in tables)
        return _frame(connection, f"{rows} ORDER BY model_name, dataset, candidate, metric")


def calibration_curve(path: Path) -> pd.DataFrame:
    return _whole_table(path, "scores.calibration_curve", "model_name, candidate, bin")


def churn_coefficients(path: Path) -> pd.DataFrame:
    return _whole_table(path, "scores.churn_coefficients", "coefficient_rank")


def headline_metrics(evaluation: pd.DataFrame, model_name: str) -> dict[str, object]:
    """The registered model's validation figures and the baseline's, for one model:
    {'model_version', 'champion_version', 'brier', 'roc_auc', 'baseline_brier',
    'baseline_roc_auc', 'customers'} (None where absent)."""
    rows = evaluation[
        (evaluation["model_name"] == model_name) & (evaluation["dataset"] == "validation")
    ]
    result: dict[str, object] = dict.fromkeys(
        ("model_version", "champion_version", "brier", "roc_auc", "customers")
    )
    result.update(baseline_brier=None, baseline_roc_auc=None)
    if rows.empty:
        return result
    own = rows[rows["is_registered"]]
    figures = dict(zip(own["metric"], own["value"], strict=True))
    result.update(
        model_version=str(own["model_version"].iloc[0]) if len(own) else None,
        champion_version=str(rows["champion_version"].iloc[0]),
        brier=figures.get("brier"),
        roc_auc=figures.get("roc_auc"),
        customers=figures.get("customers"),
    )
    baseline = rows[rows["candidate"] == "bgnbd"]
    if len(baseline):
        base = dict(zip(baseline["metric"], baseline["value"], strict=True))
        result.update(baseline_brier=base.get("brier"), baseline_roc_auc=base.get("roc_auc"))
    return result


# -- segments ---------------------------------------------------------------------------------


def value_style_matrix(path: Path) -> pd.DataFrame:
    """Customers per value segment x purchase style with the business label of each cell
    (value_segment, purchase_style, value_style_label, customers), from
    segments.purchase_style; every High/Mid/Low x Regular/Bulk/Anomaly cell is present
    (customers 0, label null where nobody falls)."""
    with connect(path) as connection:
        _require(
            connection,
            "segments.purchase_style",
            ("value_segment", "purchase_style", "value_style_label"),
        )
        counts = _frame(
            connection,
            "SELECT value_segment, purchase_style, any_value(value_style_label) "
            "AS value_style_label, count(*) AS customers "
            "FROM segments.purchase_style GROUP BY value_segment, purchase_style",
        )
    values = [*VALUE_ORDER, *sorted(set(counts["value_segment"].dropna()) - set(VALUE_ORDER))]
    styles = [*STYLE_ORDER, *sorted(set(counts["purchase_style"].dropna()) - set(STYLE_ORDER))]
    grid = pd.MultiIndex.from_product([values, styles], names=["value_segment", "purchase_style"])
    cells = counts.set_index(["value_segment", "purchase_style"]).reindex(grid).reset_index()
    cells["customers"] = cells["customers"].fillna(0).astype("int64")
    return cells


def matrix_counts(cells: pd.DataFrame) -> pd.DataFrame:
    """The value x style cells as a table: rows High, Mid, Low; columns Regular, Bulk,
    Anomaly; customer counts."""
    table = cells.pivot(index="value_segment", columns="purchase_style", values="customers")
    table = table.reindex(
        index=list(dict.fromkeys(cells["value_segment"])),
        columns=list(dict.fromkeys(cells["purchase_style"])),
    )
    table.index.name, table.columns.name = "value segment", "purchase style"
    return table


def segment_summary(path: Path, segment_type: str) -> pd.DataFrame:
    """Rows of marts.segment_summary for one kind of segment, largest first."""
    with connect(path) as connection:
        _require(connection, "marts.segment_summary")
        return _frame(
            connection,
            "SELECT * EXCLUDE (segment_type) FROM marts.segment_summary "
            "WHERE segment_type = $type ORDER BY customers DESC, segment",
            {"type": segment_type},
        )


def recency_histogram(path: Path, bin_days: int = 30) -> pd.DataFrame:
    """Customers per recency bin of ``bin_days`` (bin_start, bin_end, customers), binned in
    DuckDB so a million customers stay a few dozen rows."""
    with connect(path) as connection:
        _require(connection, "features.customer_rfm", ("recency_days",))
        return _frame(
            connection,
            """
            SELECT (recency_days // $width) * $width AS bin_start,
                   (recency_days // $width) * $width + $width AS bin_end,
                   count(*) AS customers
            FROM features.customer_rfm WHERE recency_days IS NOT NULL
            GROUP BY ALL ORDER BY bin_start
            """,
            {"width": int(bin_days)},
        )


def monthly_revenue(path: Path) -> pd.DataFrame:
    with connect(path) as connection:
        _require(connection, "marts.monthly_revenue")
        return _frame(connection, "SELECT * FROM marts.monthly_revenue ORDER BY month")


# -- one customer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerProfile:
    summary: dict[str, object]  # the customer's row of marts.customer_segments
    reasons: pd.DataFrame  # score, feature, value, contribution, direction, arrow
    recommendations: pd.DataFrame | None  # None: the snapshot has no such table
    predictions: pd.DataFrame | None  # None: the snapshot has no marts.prediction_log


def _arrow(direction: str | None) -> str:
    return "▲" if direction == "up" else "▼" if direction == "down" else ""


def _parse_top_reasons(text: str | None) -> list[dict[str, object]]:
    """``feature=value (+1.20, up); ...`` (the top_reasons text) as reason records, for
    snapshots without the ``reasons`` column."""
    records = []
    for part in (text or "").split(";"):
        part = part.strip()
        if not part or "=" not in part:
            continue
        feature, rest = part.split("=", 1)
        value, _, detail = rest.partition(" (")
        contribution, _, direction = detail.rstrip(")").partition(",")
        try:
            contribution_value = float(contribution)
        except ValueError:
            contribution_value = math.nan
        records.append(
            {
                "feature": feature.strip(),
                "value": value.strip(),
                "contribution": contribution_value,
                "direction": direction.strip() or None,
            }
        )
    return records


def _reasons(connection, customer_id: str) -> pd.DataFrame:
    rows = []
    for score, table in (("purchase propensity", "scores.propensity"), ("churn", "scores.churn")):
        if table not in _tables(connection):
            continue
        columns = _columns(connection, table)
        if "reasons" in columns:
            found = connection.execute(
                f"SELECT r.feature, r.value, r.contribution, r.direction FROM "
                f"(SELECT unnest(reasons) AS r FROM {table} WHERE customer_id = $id)",
                {"id": customer_id},
            ).fetchall()
            records = [
                {"feature": f, "value": v, "contribution": c, "direction": d}
                for f, v, c, d in found
            ]
        elif "top_reasons" in columns:
            text = connection.execute(
                f"SELECT top_reasons FROM {table} WHERE customer_id = $id", {"id": customer_id}
            ).fetchall()
            records = _parse_top_reasons(text[0][0]) if text else []
        else:
            records = []
        for record in records:
            rows.append({"score": score, **record, "arrow": _arrow(record["direction"])})
    columns = ["score", "feature", "value", "contribution", "direction", "arrow"]
    return pd.DataFrame(rows, columns=columns)


def customer_profile(path: Path, customer_id: str) -> CustomerProfile | None:
    """Everything the snapshot knows about one customer; None when the id is unknown."""
    customer_id = customer_id.strip()
    with connect(path) as connection:
        _require(connection, "marts.customer_segments")
        found = _frame(
            connection,
            "SELECT * FROM marts.customer_segments WHERE customer_id = $id",
            {"id": customer_id},
        )
        if found.empty:
            return None
        tables = _tables(connection)
        recommendations = predictions = None
        if "marts.product_recommendations" in tables:
            recommendations = _frame(
                connection,
                "SELECT recommendation_rank, category, probability, bought_before "
                "FROM marts.product_recommendations WHERE customer_id = $id "
                "ORDER BY recommendation_rank",
                {"id": customer_id},
            )
        if "marts.prediction_log" in tables:
            predictions = _frame(
                connection,
                "SELECT * FROM marts.prediction_log WHERE customer_id = $id "
                "ORDER BY predicted_at DESC",
                {"id": customer_id},
            )
        reasons = _reasons(connection, customer_id)
    summary = {k: (None if _is_missing(v) else v) for k, v in found.iloc[0].to_dict().items()}
    return CustomerProfile(summary, reasons, recommendations, predictions)


def _is_missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def example_customers(path: Path, limit: int = 5) -> list[str]:
    """A few customer ids to try: the highest expected spend first."""
    with connect(path) as connection:
        _require(connection, "marts.customer_segments")
        return [
            row[0]
            for row in connection.execute(
                "SELECT customer_id FROM marts.customer_segments "
                "ORDER BY expected_spend DESC NULLS LAST, customer_id LIMIT $n",
                {"n": int(limit)},
            ).fetchall()
        ]


def horizon_days(path: Path) -> int | None:
    """The prediction horizon of the propensity scores (None if the snapshot lacks it)."""
    with connect(path) as connection:
        if "horizon_days" not in _columns(connection, "scores.propensity"):
            return None
        (days,) = connection.execute("SELECT max(horizon_days) FROM scores.propensity").fetchone()
    return None if days is None else int(days)
