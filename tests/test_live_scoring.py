"""Live scoring of new customers: champion models, the action plan, an append-only log."""

from __future__ import annotations

import duckdb
import pytest
from dagster import DagsterInstance, RunRequest, build_sensor_context

from orchestration.cli import main as cli
from orchestration.definitions import defs
from orchestration.sensors import new_customers_sensor
from pipeline.live_scoring import NewCustomersError, _rfm_inputs
from pipeline.model_registry import champion_version
from resources.mlflow_tracking import ModelTracking

pytestmark = pytest.mark.slow

RFM_FILE = "customer_id,recency_days,frequency,monetary\nN1,5,12,8000\nN2,300,1,50\n"
TRANSACTIONS_FILE = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "900001,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,11/1/2011 8:26,2.55,T1,France\n"
    "900002,71053,WHITE METAL LANTERN,6,12/5/2011 8:26,3.39,T1,France\n"
    "900003,22633,HAND WARMER UNION JACK,300,12/6/2011 8:28,1.85,T2,France\n"
)


def score_job():
    job = defs.resolve_job_def("score_new_customers")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert result.success
    metadata = next(
        e.step_materialization_data.materialization.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    )
    return metadata["customers_scored_this_run"].value


def log_rows(data_dir, where: str = "true") -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(
            "SELECT customer_id, input_mode, value_segment, persona, purchase_style, "
            "churn_risk_pct, purchase_probability, action, churn_model, propensity_model, "
            f"imputed_features, input_key FROM marts.prediction_log WHERE {where} "
            "ORDER BY customer_id, predicted_at"
        ).fetchall()


@pytest.fixture
def new_customers(refreshed_env):
    folder = refreshed_env / "landing" / "new_customers"
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        path.unlink()
    return folder


def test_both_input_shapes_are_scored_once_with_the_champions(refreshed_env, new_customers):
    (new_customers / "rfm_batch.csv").write_text(RFM_FILE)
    (new_customers / "shop_orders.csv").write_text(TRANSACTIONS_FILE)
    assert score_job() == 4
    rows = log_rows(refreshed_env, "source IN ('rfm_batch.csv', 'shop_orders.csv')")
    assert [(r[0], r[1]) for r in rows] == [
        ("N1", "rfm"),
        ("N2", "rfm"),
        ("T1", "transactions"),
        ("T2", "transactions"),
    ]
    client = ModelTracking().client()
    churn = champion_version(client, "customer_churn").version
    propensity = champion_version(client, "purchase_propensity").version
    for row in rows:
        assert row[2] in {"Low", "Mid", "High"} and row[3] and row[7]
        assert 0 <= row[5] <= 100 and 0 <= row[6] <= 1
        assert row[8] == f"customer_churn v{churn}"
        assert row[9] == f"purchase_propensity v{propensity}"
    assert "avg_basket_quantity" in rows[0][10] and rows[2][10] == []
    assert rows[3][4] == "Bulk"  # 300 units on one line, from the transaction file
    # A frequent recent buyer is far likelier to buy than a one-off from a year ago.
    assert rows[0][6] > rows[1][6] and rows[0][5] < rows[1][5]

    assert score_job() == 0  # the same inputs are never scored twice
    assert len(log_rows(refreshed_env, "source = 'rfm_batch.csv'")) == 2


def test_a_changed_input_is_appended_and_the_old_prediction_kept(refreshed_env, new_customers):
    path = new_customers / "changing.csv"
    path.write_text("customer_id,recency_days,frequency,monetary\nC1,10,2,100\nC2,20,3,300\n")
    assert score_job() == 2
    path.write_text("customer_id,recency_days,frequency,monetary\nC1,10,2,100\nC2,2,4,900\n")
    assert score_job() == 1
    rows = log_rows(refreshed_env, "source = 'changing.csv'")
    assert [r[0] for r in rows] == ["C1", "C2", "C2"]
    assert len({r[11] for r in rows}) == 3


def test_sensor_requests_scoring_for_new_files(new_customers):
    (new_customers / "batch.csv").write_text(RFM_FILE)
    result = new_customers_sensor(build_sensor_context())
    assert isinstance(result, RunRequest)
    assert result.tags["pipeline/trigger"] == "new_customers_sensor"
    assert defs.resolve_sensor_def("new_customers").job_name == "score_new_customers"


def test_command_line_scores_one_file(refreshed_env, tmp_path, capsys):
    path = tmp_path / "from_the_shop.csv"
    path.write_text("customer_id,recency_days,frequency,monetary\nCLI1,3,8,2500\n")
    assert cli(["score", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "CLI1" in printed and "scored 1 customers" in printed
    assert len(log_rows(refreshed_env, "customer_id = 'CLI1'")) == 1


def test_a_bad_rfm_file_names_file_row_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("customer_id,recency_days,frequency,monetary\nA,1,2,3\nB,x,2,3\n")
    import pandas as pd

    with pytest.raises(NewCustomersError, match=r"bad.csv, row 3, column 'recency_days'"):
        _rfm_inputs(path, pd.DataFrame(), pd.DataFrame(), None, 90)
