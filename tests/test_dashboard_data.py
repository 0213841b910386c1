"""The dashboard's snapshot queries (dashboard/data.py) on a small crafted snapshot."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboard import charts, data
from pipeline.catalog import TABLES
from pipeline.sql_text import qualified, quote_identifier

AS_OF = dt.datetime(2011, 12, 10)

# customer_id, frequency, purchase_probability, performance, shortfall, action, value, persona
CUSTOMERS = [
    ("A1", 1, 0.90, "under-performer", 500.0, "Win back", "High", "Loyal Customers"),
    ("B2", 5, 0.50, "over-performer", -200.0, "Upsell", "Mid", "Big Spenders"),
    ("C3", 2, 0.20, "accurate", 10.0, "Newsletter", "Low", "At Risk"),
    ("D4", 1, 0.05, None, None, "Welcome", "Low", "New Customers"),
    ("E5", 10, 0.60, "under-performer", 1500.0, "Account manager", "High", "Loyal Customers"),
]


def create(connection: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    """``table`` with exactly the catalog's columns, filled with ``rows`` (by column name)."""
    schema = table.split(".")[0]
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
    columns = ", ".join(f"{quote_identifier(c.name)} {c.type}" for c in TABLES[table].columns)
    connection.execute(f"CREATE TABLE {qualified(table)} ({columns})")
    if rows:
        connection.register("incoming", pd.DataFrame(rows))
        connection.execute(f"INSERT INTO {qualified(table)} BY NAME SELECT * FROM incoming")
        connection.unregister("incoming")


def write_snapshot(path: Path, omit: tuple[str, ...] = ()) -> Path:
    """A snapshot like the one publish_bi_snapshot writes, with five customers; the tables
    in ``omit`` are left out (a snapshot from an older pipeline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tables: dict[str, list[dict]] = {
        "marts.customer_segments": [
            {
                "customer_id": cid,
                "country": "United Kingdom",
                "frequency": frequency,
                "recency_days": 10 * frequency,
                "monetary": 100.0 * frequency,
                "purchase_probability": p,
                "propensity_decile": int(p * 10) + 1,
                "expected_spend": 50.0 * frequency * p,
                "churn_risk_pct": round(100 * (1 - p), 1),
                "churn_risk_band": "high" if p < 0.3 else "low",
                "performance": performance,
                "shortfall": shortfall,
                "value_segment": value,
                "value_style_label": {"High": "VIP", "Mid": "Growth Opportunity"}.get(
                    value, "Nurture"
                ),
                "purchase_style": "Regular",
                "persona": persona,
                "rfm_segment": "Champions" if p > 0.5 else "Hibernating",
                "action": action,
                "action_channel": "email",
                "action_priority": 2,
                "as_of": AS_OF,
            }
            for cid, frequency, p, performance, shortfall, action, value, persona in CUSTOMERS
        ],
        "scores.propensity": [
            {
                "customer_id": "A1",
                "purchase_probability": 0.9,
                "top_reasons": "recency_days=3 (+1.20, up); frequency=1 (-0.40, down)",
                "reasons": [
                    {
                        "feature": "recency_days",
                        "value": 3.0,
                        "contribution": 1.2,
                        "direction": "up",
                    },
                    {
                        "feature": "frequency",
                        "value": 1.0,
                        "contribution": -0.4,
                        "direction": "down",
                    },
                ],
                "model_name": "purchase_propensity",
                "model_version": "3",
                "horizon_days": 90,
            }
        ],
        "scores.churn": [
            {
                "customer_id": "A1",
                "churn_probability": 0.1,
                "top_reasons": "tenure_days=400 (-0.70, down)",
                "reasons": [
                    {
                        "feature": "tenure_days",
                        "value": 400.0,
                        "contribution": -0.7,
                        "direction": "down",
                    }
                ],
                "model_name": "customer_churn",
                "model_version": "2",
            }
        ],
        "marts.product_recommendations": [
            {
                "customer_id": "A1",
                "category": "CANDLES",
                "probability": 0.8,
                "recommendation_rank": 1,
            },
            {
                "customer_id": "A1",
                "category": "BAGS",
                "probability": 0.75,
                "recommendation_rank": 2,
            },
        ],
        "marts.prediction_log": [
            {
                "prediction_id": "p1",
                "customer_id": "A1",
                "predicted_at": dt.datetime(2011, 12, 11, 9),
                "action": "Win back",
            }
        ],
        "segments.purchase_style": [
            {
                "customer_id": c[0],
                "value_segment": c[6],
                "purchase_style": style,
                "value_style_label": label,
            }
            for c, style, label in zip(
                CUSTOMERS,
                ["Regular", "Regular", "Bulk", "Anomaly", "Regular"],
                ["VIP", "Growth Opportunity", "Occasional Bulk", "Investigate", "VIP"],
                strict=True,
            )
        ],
        "marts.segment_summary": [
            {
                "segment_type": "persona",
                "segment": "Loyal Customers",
                "customers": 2,
                "revenue": 1100.0,
            },
            {"segment_type": "persona", "segment": "At Risk", "customers": 1, "revenue": 200.0},
            {
                "segment_type": "rfm_segment",
                "segment": "Champions",
                "customers": 2,
                "revenue": 1100.0,
            },
        ],
        "features.customer_rfm": [
            {"customer_id": c[0], "recency_days": days}
            for c, days in zip(CUSTOMERS, [3, 29, 30, 95, 400], strict=True)
        ],
        "marts.monthly_revenue": [
            {"month": dt.date(2011, m, 1), "revenue": 1000.0 * m, "net_revenue": 900.0 * m}
            for m in (10, 11, 12)
        ],
        "scores.model_evaluation": [
            {
                "model_name": "customer_churn",
                "model_version": "3",
                "champion_version": "2",
                "candidate": candidate,
                "is_registered": candidate == "logistic",
                "dataset": "validation",
                "metric": metric,
                "value": value,
                "window_start": dt.datetime(2011, 9, 10),
            }
            for candidate, metric, value in [
                ("logistic", "brier", 0.15),
                ("logistic", "roc_auc", 0.85),
                ("logistic", "customers", 60.0),
                ("bgnbd", "brier", 0.17),
                ("bgnbd", "roc_auc", 0.83),
            ]
        ],
        "scores.truth_evaluation": [
            {
                "model_name": "customer_churn",
                "model_version": "2",
                "champion_version": "2",
                "candidate": candidate,
                "is_registered": candidate == "churn (scores.churn)",
                "dataset": "truth",
                "metric": "brier",
                "value": value,
                "window_start": dt.datetime(2011, 12, 10),
            }
            for candidate, value in [("churn (scores.churn)", 0.12), ("bgnbd", 0.13)]
        ],
        "scores.calibration_curve": [
            {
                "model_name": "customer_churn",
                "model_version": "3",
                "candidate": "logistic",
                "is_registered": True,
                "dataset": "validation",
                "bin": b,
                "bin_lower": b / 10,
                "bin_upper": (b + 1) / 10,
                "mean_predicted": b / 10 + 0.05,
                "observed_rate": b / 10 + 0.04,
                "customers": 10,
            }
            for b in range(10)
        ],
        "scores.churn_coefficients": [
            {
                "feature": "recency_days",
                "coefficient": 0.9,
                "coefficient_rank": 1,
                "model_version": "2",
            },
            {
                "feature": "frequency",
                "coefficient": -0.5,
                "coefficient_rank": 2,
                "model_version": "2",
            },
        ],
    }
    with duckdb.connect(str(path)) as connection:
        for table, rows in tables.items():
            if table not in omit:
                create(connection, table, rows)
        written = [t for t in tables if t not in omit]
        connection.execute(
            "CREATE TABLE snapshot_info AS SELECT TIMESTAMP '2011-12-10 03:00:00' AS published_at, "
            "'run-1' AS run_id, unnest($names::VARCHAR[]) AS table_name, "
            "unnest($rows::BIGINT[]) AS row_count",
            {"names": written, "rows": [len(tables[t]) for t in written]},
        )
    return path


@pytest.fixture
def snapshot(tmp_path) -> Path:
    return write_snapshot(tmp_path / "bi" / "customer_intel.duckdb")


def test_snapshot_path_follows_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    assert data.snapshot_path() == tmp_path / "bi" / "customer_intel.duckdb"
    assert data.snapshot_version(data.snapshot_path()) is None


def test_missing_snapshot_is_a_friendly_error(tmp_path):
    path = tmp_path / "bi" / "customer_intel.duckdb"
    with pytest.raises(data.SnapshotMissing, match=r"No snapshot yet: run `make demo`"):
        data.targeting_frame(path)


def test_snapshot_info(snapshot):
    info = data.snapshot_info(snapshot)
    assert info.run_id == "run-1"
    assert info.published_at == pd.Timestamp("2011-12-10 03:00")
    assert info.tables["marts.customer_segments"] == 5


@pytest.mark.parametrize(
    ("min_propensity", "min_shortfall", "expected"),
    [
        (0.0, None, {"A1", "B2", "C3", "D4", "E5"}),
        (0.5, None, {"A1", "B2", "E5"}),
        (0.0, 100.0, {"A1", "E5"}),  # customers without a shortfall drop out
        (0.7, 100.0, {"A1"}),
        (0.95, None, set()),
    ],
)
def test_targeting_filters(snapshot, min_propensity, min_shortfall, expected):
    frame = data.targeting_frame(snapshot, min_propensity, min_shortfall)
    assert len(frame) == 5
    chosen = data.selection(frame)
    assert set(chosen["customer_id"]) == expected
    assert list(chosen.columns) == list(data.TARGET_COLUMNS)
    downloaded = pd.read_csv(io.BytesIO(data.selection_csv(frame)), dtype={"customer_id": str})
    assert len(downloaded) == len(expected)
    assert set(downloaded["customer_id"]) == expected


def test_shortfall_steps_are_round_and_cover_the_largest(snapshot):
    steps = data.shortfall_steps(data.targeting_frame(snapshot))
    assert steps[0] == 0.0 and steps == sorted(steps)
    assert steps[-1] <= 1500 < steps[-1] * 2.5
    assert {1.0, 2.0, 5.0, 100.0, 1000.0} <= set(steps)
    assert data.shortfall_steps(pd.DataFrame({"shortfall": [-5.0, None]})) == [0.0]


def test_model_tables(snapshot):
    champions = data.champions(snapshot)
    assert set(zip(champions["model_name"], champions["model_version"], strict=True)) == {
        ("customer_churn", "2"),
        ("purchase_propensity", "3"),
    }
    evaluation = data.model_evaluation(snapshot)
    figures = data.headline_metrics(evaluation, "customer_churn")
    assert figures["model_version"] == "3" and figures["champion_version"] == "2"
    assert figures["brier"] == pytest.approx(0.15)
    assert figures["roc_auc"] == pytest.approx(0.85)
    assert figures["baseline_brier"] == pytest.approx(0.17)
    assert data.headline_metrics(evaluation, "purchase_propensity")["brier"] is None
    # the demo truth's rows come with the validation rows, from their own table
    truth = evaluation[evaluation["dataset"] == "truth"].set_index("candidate")["value"]
    assert truth.to_dict() == {"bgnbd": pytest.approx(0.13), "churn (scores.churn)": 0.12}
    assert (evaluation["dataset"] == "validation").sum() == 5
    curve = data.calibration_curve(snapshot)
    assert list(curve["bin"]) == list(range(10))
    coefficients = data.churn_coefficients(snapshot)
    assert list(coefficients["feature"]) == ["recency_days", "frequency"]
    # the charts build from these frames
    charts.calibration_chart(curve).to_dict()
    charts.coefficients_chart(coefficients).to_dict()


def test_segment_tables(snapshot):
    cells = data.value_style_matrix(snapshot)
    assert len(cells) == 9  # every High/Mid/Low x Regular/Bulk/Anomaly cell
    assert cells["customers"].sum() == 5
    high_regular = cells[(cells.value_segment == "High") & (cells.purchase_style == "Regular")]
    assert high_regular[["value_style_label", "customers"]].values.tolist() == [["VIP", 2]]
    matrix = data.matrix_counts(cells)
    assert list(matrix.index) == ["High", "Mid", "Low"]
    assert list(matrix.columns) == ["Regular", "Bulk", "Anomaly"]
    assert matrix.loc["Low", "Anomaly"] == 1 and matrix.loc["High", "Bulk"] == 0

    personas = data.segment_summary(snapshot, "persona")
    assert list(personas["segment"]) == ["Loyal Customers", "At Risk"]
    histogram = data.recency_histogram(snapshot, 30)
    assert histogram[["bin_start", "customers"]].values.tolist() == [
        [0, 2],
        [30, 1],
        [90, 1],
        [390, 1],
    ]
    assert len(data.monthly_revenue(snapshot)) == 3
    charts.matrix_chart(cells).to_dict()
    charts.recency_chart(histogram).to_dict()
    charts.monthly_revenue_chart(data.monthly_revenue(snapshot)).to_dict()


def test_customer_profile(snapshot):
    profile = data.customer_profile(snapshot, " A1 ")
    assert profile.summary["action"] == "Win back"
    assert profile.summary["value_segment"] == "High"
    reasons = profile.reasons
    assert reasons[["score", "feature", "arrow"]].values.tolist() == [
        ["purchase propensity", "recency_days", "▲"],
        ["purchase propensity", "frequency", "▼"],
        ["churn", "tenure_days", "▼"],
    ]
    assert list(profile.recommendations["category"]) == ["CANDLES", "BAGS"]
    assert list(profile.predictions["prediction_id"]) == ["p1"]
    assert data.customer_profile(snapshot, "nobody") is None
    assert data.example_customers(snapshot, 2) == ["E5", "B2"]
    assert data.horizon_days(snapshot) == 90


def test_an_older_snapshot_without_the_prediction_log_or_model_report(tmp_path):
    path = write_snapshot(
        tmp_path / "old.duckdb",
        omit=("marts.prediction_log", "scores.model_evaluation", "marts.product_recommendations"),
    )
    profile = data.customer_profile(path, "A1")
    assert profile.predictions is None and profile.recommendations is None
    without_truth = write_snapshot(tmp_path / "no_truth.duckdb", omit=("scores.truth_evaluation",))
    assert set(data.model_evaluation(without_truth)["dataset"]) == {"validation"}
    with pytest.raises(data.TableMissing, match="no table scores.model_evaluation"):
        data.model_evaluation(path)


def test_reasons_from_the_text_when_the_records_are_absent():
    assert data._parse_top_reasons("recency_days=300 (+1.20, up); frequency=1 (-0.40, down)") == [
        {"feature": "recency_days", "value": "300", "contribution": 1.2, "direction": "up"},
        {"feature": "frequency", "value": "1", "contribution": -0.4, "direction": "down"},
    ]


def test_a_new_publish_is_read_by_the_next_query(tmp_path, snapshot):
    """The pipeline renames a new file over the snapshot: the next query must see it."""
    before = data.snapshot_version(snapshot)
    assert len(data.targeting_frame(snapshot)) == 5
    replacement = write_snapshot(tmp_path / "building.duckdb")
    with duckdb.connect(str(replacement)) as connection:
        connection.execute("DELETE FROM marts.customer_segments WHERE customer_id = 'A1'")
    os.replace(replacement, snapshot)
    assert data.snapshot_version(snapshot) != before
    assert len(data.targeting_frame(snapshot)) == 4
