"""The HTTP API against a real uvicorn server on 127.0.0.1 (a child process on a free port),
over the refreshed demo data."""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time

import duckdb
import pandas as pd
import pytest

from orchestration.cli import main as cli
from pipeline.serving.prediction_log import log_path
from pipeline.serving.server import ServerProcess
from tests.api_client import call, get, post_file, post_json
from tests.conftest import DEMO_ENVIRONMENT
from tests.test_live_scoring import TRANSACTIONS_FILE, score_job

pytestmark = pytest.mark.slow

KEY = "test-key-0123456789"


def server_env(data_dir, **extra) -> dict[str, str]:
    return {
        "DATA_DIR": str(data_dir),
        "MLFLOW_TRACKING_URI": f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}",
        "API_KEY": "",
        **DEMO_ENVIRONMENT,
        **extra,
    }


@pytest.fixture(scope="module")
def data_dir(refreshed):
    return refreshed[0]


@pytest.fixture(scope="module")
def api(data_dir):
    with ServerProcess(server_env(data_dir)) as server:
        yield server.url


@pytest.fixture(scope="module")
def guarded_api(data_dir):
    env = server_env(data_dir, API_KEY=KEY, API_MAX_ROWS="3", API_MAX_BODY_BYTES="4096")
    with ServerProcess(env) as server:
        yield server.url


def snapshot(data_dir) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(data_dir / "bi" / "customer_intel.duckdb"), read_only=True)


def logged_rows(data_dir, input_key: str) -> int:
    with sqlite3.connect(log_path(data_dir)) as connection:
        return connection.execute(
            "SELECT count(*) FROM predictions WHERE input_key = ?", [input_key]
        ).fetchone()[0]


# -- customers --------------------------------------------------------------------------------


def test_customer_answer_is_the_snapshot_row(api, data_dir):
    with snapshot(data_dir) as connection:
        row = connection.execute(
            "SELECT s.customer_id, s.value_segment, s.purchase_style, s.persona, s.rfm_segment, "
            "s.churn_risk_pct, s.churn_risk_band, s.purchase_probability, s.expected_orders, "
            "s.expected_spend, s.action, s.action_channel, s.action_priority, c.model_version, "
            "(SELECT any_value(published_at) FROM snapshot_info), "
            "(SELECT count(*) FROM scores.product_propensity p WHERE p.customer_id = "
            "s.customer_id), s.recency_days, pr.clv_12m, CAST(pr.next_order_date AS VARCHAR) "
            "FROM marts.customer_segments s JOIN scores.churn c USING (customer_id) "
            "JOIN scores.propensity pr USING (customer_id) "
            "WHERE s.customer_id IN (SELECT customer_id FROM marts.product_recommendations) "
            "ORDER BY s.customer_id LIMIT 1"
        ).fetchone()
    reply = get(f"{api}/customers/{row[0]}")
    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["segments"]["value_segment"] == row[1]
    assert body["segments"]["purchase_style"] == row[2]
    assert body["segments"]["persona"] == row[3]
    assert body["segments"]["rfm_segment"] == row[4]
    assert body["churn"]["churn_risk_pct"] == row[5]
    assert body["churn"]["churn_risk_band"] == row[6]
    assert body["propensity"]["purchase_probability"] == pytest.approx(row[7])
    assert body["propensity"]["expected_orders"] == pytest.approx(row[8])
    assert body["propensity"]["expected_spend"] == pytest.approx(row[9])
    assert body["propensity"]["clv_12m"] == pytest.approx(row[17])
    assert body["propensity"]["next_order_date"] == row[18]
    assert body["action"] == {
        "action": row[10],
        "channel": row[11],
        "priority": row[12],
        "rule": body["action"]["rule"],
    }
    assert body["features"]["recency_days"] == row[16]
    reasons = body["propensity"]["reasons"] + body["churn"]["reasons"]
    assert reasons and all(r["direction"] in {"up", "down"} for r in reasons)
    assert all(isinstance(r["contribution"], float) for r in reasons)
    products = body["products"]
    assert len(products["categories"]) == row[15]
    assert products["recommendations"]
    assert all(r["probability"] >= products["threshold"] for r in products["recommendations"])
    assert body["models"]["churn"] == {"name": "customer_churn", "version": row[13]}
    assert body["models"]["propensity"]["version"] and body["models"]["persona"]["version"]
    assert body["snapshot_published_at"].replace("T", " ").startswith(str(row[14])[:19])
    assert get(f"{api}/predict?customer_id={row[0]}").body == reply.body


def test_unknown_customer_is_404_naming_it(api):
    reply = get(f"{api}/customers/NO-SUCH-CUSTOMER")
    assert reply.status == 404
    assert "NO-SUCH-CUSTOMER" in reply.json()["detail"]
    assert get(f"{api}/predict").status == 422  # customer_id is required


def test_health_and_docs(api):
    health = get(f"{api}/health").json()
    assert health["status"] == "ok" and health["customers"] > 100
    assert get(f"{api}/docs").status == 200
    paths = get(f"{api}/openapi.json").json()["paths"]
    assert {"/customers/{customer_id}", "/predict", "/score", "/segments"} <= set(paths)
    assert "multipart/form-data" in paths["/score"]["post"]["requestBody"]["content"]


# -- segments ---------------------------------------------------------------------------------


def test_segments_are_listed_and_paged(api, data_dir):
    listed = get(f"{api}/segments").json()["segments"]
    assert {"value_segment", "persona", "action"} <= {s["segment_type"] for s in listed}
    with snapshot(data_dir) as connection:
        ids = [
            r[0]
            for r in connection.execute(
                "SELECT customer_id FROM marts.customer_segments WHERE value_segment = 'Low' "
                "ORDER BY customer_id"
            ).fetchall()
        ]
    first = get(f"{api}/segments/Low/customers?limit=7").json()
    assert first["type"] == "value_segment" and first["total"] == len(ids)
    assert [c["customer_id"] for c in first["customers"]] == ids[:7]
    assert first["next_offset"] == 7
    second = get(f"{api}/segments/Low/customers?limit=7&offset=7&format=csv")
    assert second.headers["content-type"].startswith("text/csv")
    assert second.headers["x-total-count"] == str(len(ids))
    frame = pd.read_csv(io.BytesIO(second.body), dtype={"customer_id": str})
    assert list(frame["customer_id"]) == ids[7:14]
    last = get(f"{api}/segments/Low/customers?limit=7&offset={len(ids) - 1}").json()
    assert len(last["customers"]) == 1 and last["next_offset"] is None


def test_ambiguous_and_unknown_segments_say_so(api):
    ambiguous = get(f"{api}/segments/At%20Risk/customers")
    assert ambiguous.status == 409 and "persona" in ambiguous.json()["detail"]
    chosen = get(f"{api}/segments/At%20Risk/customers?type=persona").json()
    assert all(c["persona"] == "At Risk" for c in chosen["customers"])
    assert get(f"{api}/segments/Nope/customers").status == 404
    assert get(f"{api}/segments/Low/customers?limit=0").status == 422


# -- scoring ----------------------------------------------------------------------------------


def test_rfm_rows_get_the_batch_labels_and_are_logged_once(api, data_dir, refreshed_env, tmp_path):
    rows = [
        {"customer_id": "API-R1", "recency_days": 5, "frequency": 12, "monetary": 8000.0},
        {"customer_id": "API-R2", "recency_days": 300, "frequency": 1, "monetary": 50.0},
    ]
    reply = post_json(f"{api}/score", {"customers": rows})
    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["scored"] == 2 and body["already_logged"] == 0
    first, second = body["predictions"]
    assert [first["customer_id"], second["customer_id"]] == ["API-R1", "API-R2"]
    assert first["purchase_probability"] > second["purchase_probability"]
    assert first["predicted_at"] and first["predicted_at_local"] and first["display_timezone"]
    assert json.loads(first["inputs"])["recency_days"] == "5"
    assert first["reasons"] and first["reasons"][0]["direction"] in {"up", "down"}

    # The batch (customer-intel score on the warehouse) gives the same labels and scores.
    path = tmp_path / "same_rows.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    assert cli(["score", str(path)]) == 0
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        batch = connection.execute(
            "SELECT customer_id, value_segment, persona, churn_risk_pct, purchase_probability, "
            "expected_spend, top_reasons, action FROM marts.prediction_log "
            "WHERE source = 'same_rows.csv' ORDER BY customer_id"
        ).fetchall()
    served = [
        (
            p["customer_id"],
            p["value_segment"],
            p["persona"],
            p["churn_risk_pct"],
            pytest.approx(p["purchase_probability"]),
            pytest.approx(p["expected_spend"]),
            p["top_reasons"],
            p["action"],
        )
        for p in body["predictions"]
    ]
    assert [tuple(b) for b in batch] == served

    again = post_json(f"{api}/score", {"customers": rows}).json()
    assert again["scored"] == 0 and again["already_logged"] == 2
    assert [p["prediction_id"] for p in again["predictions"]] == [
        p["prediction_id"] for p in body["predictions"]
    ]
    assert all(p["already_logged"] for p in again["predictions"])
    assert logged_rows(data_dir, first["input_key"]) == 1


def test_the_same_input_sent_at_once_is_logged_once(api, data_dir):
    payload = {
        "customers": [
            {"customer_id": "API-TWICE", "recency_days": 9, "frequency": 3, "monetary": 420.0}
        ]
    }
    replies = []
    threads = [
        threading.Thread(target=lambda: replies.append(post_json(f"{api}/score", payload)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status for r in replies] == [200, 200, 200]
    ids = {r.json()["predictions"][0]["prediction_id"] for r in replies}
    assert len(ids) == 1
    assert logged_rows(data_dir, replies[0].json()["predictions"][0]["input_key"]) == 1


def test_transaction_lines_as_json_csv_and_xlsx(api):
    lines = pd.read_csv(io.StringIO(TRANSACTIONS_FILE), dtype=str)
    json_lines = [
        {
            "customer_id": "J" + r.CustomerID,
            "invoice_id": r.InvoiceNo,
            "stock_code": r.StockCode,
            "description": r.Description,
            "quantity": float(r.Quantity),
            "invoice_ts": r.InvoiceDate,
            "unit_price": float(r.UnitPrice),
            "country": r.Country,
        }
        for r in lines.itertuples()
    ]
    body = post_json(f"{api}/score", {"transactions": json_lines}).json()
    by_id = {p["customer_id"]: p for p in body["predictions"]}
    assert set(by_id) == {"JT1", "JT2"}
    assert by_id["JT2"]["purchase_style"] == "Bulk"  # 300 units on one line
    assert {p["input_mode"] for p in by_id.values()} == {"transactions"}

    uploaded = post_file(f"{api}/score", "orders.csv", TRANSACTIONS_FILE.encode())
    assert uploaded.status == 200, uploaded.body
    assert [p["customer_id"] for p in uploaded.json()["predictions"]] == ["T1", "T2"]

    workbook = io.BytesIO()
    rfm = pd.DataFrame(
        {"customer_id": ["X1"], "recency_days": [30], "frequency": [4], "monetary": [900.0]}
    )
    rfm.to_excel(workbook, index=False)
    excel = call(
        "POST",
        f"{api}/score",
        workbook.getvalue(),
        {"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    )
    assert excel.status == 200, excel.body
    assert excel.json()["predictions"][0]["input_mode"] == "rfm"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {
                "customers": [
                    {"customer_id": "V", "recency_days": -1, "frequency": 1, "monetary": 1}
                ]
            },
            ["body", "customers", 0, "recency_days"],
        ),
        (
            {"customers": [{"customer_id": "V", "recency_days": 3, "frequency": 1}]},
            ["body", "customers", 0, "monetary"],
        ),
        (
            {
                "customers": [
                    {
                        "customer_id": "V",
                        "recency_days": 3,
                        "frequency": 1,
                        "monetary": 1,
                        "colour": "red",
                    }
                ]
            },
            ["body", "customers", 0, "colour"],
        ),
        (
            {"transactions": [{"customer_id": "V", "invoice_ts": "2011-12-01", "quantity": 2}]},
            ["body", "transactions", 0],
        ),
        ({"customers": []}, ["body", "customers"]),
    ],
)
def test_bad_json_is_422_naming_the_field(api, payload, field):
    reply = post_json(f"{api}/score", payload)
    assert reply.status == 422
    assert field in [e["loc"] for e in reply.json()["detail"]]


def test_a_bad_upload_is_422_naming_row_and_column(api):
    bad = b"customer_id,recency_days,frequency,monetary\nA,1,2,3\nB,x,2,3\n"
    reply = post_file(f"{api}/score", "bad.csv", bad)
    assert reply.status == 422
    assert "row 3" in reply.json()["detail"] and "recency_days" in reply.json()["detail"]
    assert (
        call("POST", f"{api}/score", b"{not json", {"Content-Type": "application/json"}).status
        == 422
    )


# -- security and limits ----------------------------------------------------------------------


def test_refuses_to_listen_beyond_loopback_without_a_key(monkeypatch, capsys):
    monkeypatch.delenv("API_KEY", raising=False)
    assert cli(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "API_KEY" in capsys.readouterr().err


def test_a_configured_key_is_required(guarded_api, data_dir):
    with snapshot(data_dir) as connection:
        (customer,) = connection.execute(
            "SELECT min(customer_id) FROM marts.customer_segments"
        ).fetchone()
    url = f"{guarded_api}/customers/{customer}"
    assert get(url).status == 401
    assert get(url, {"X-API-Key": "wrong"}).status == 401
    assert get(url, {"X-API-Key": KEY}).status == 200
    assert get(url, {"Authorization": f"Bearer {KEY}"}).status == 200
    assert get(f"{guarded_api}/segments").status == 401
    assert post_json(f"{guarded_api}/score", {"customers": []}).status == 401
    assert get(f"{guarded_api}/health").status == 200


def test_rows_and_body_are_limited(guarded_api):
    headers = {"X-API-Key": KEY}
    rows = [
        {"customer_id": f"L{i}", "recency_days": 3, "frequency": 1, "monetary": 1.0}
        for i in range(4)
    ]
    too_many = post_json(f"{guarded_api}/score", {"customers": rows}, headers)
    assert too_many.status == 413 and "API_MAX_ROWS" in too_many.json()["detail"]
    large = post_json(
        f"{guarded_api}/score",
        {"customers": rows[:1], "padding": "x" * 5000},
        headers,
    )
    assert large.status == 413 and "API_MAX_BODY_BYTES" in large.json()["detail"]


# -- the snapshot moves; the warehouse is locked ----------------------------------------------


def test_a_new_snapshot_is_served_without_restart_or_failed_requests(data_dir, tmp_path):
    own = tmp_path / "data"
    (own / "bi").mkdir(parents=True)
    published = own / "bi" / "customer_intel.duckdb"
    shutil.copy(data_dir / "bi" / "customer_intel.duckdb", published)
    with snapshot(own) as connection:
        ids = [
            r[0]
            for r in connection.execute(
                "SELECT customer_id FROM marts.customer_segments ORDER BY 1 LIMIT 20"
            ).fetchall()
        ]
    with ServerProcess(server_env(own)) as server:
        failures, answers, stop = [], [], threading.Event()

        def client():
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            while not stop.is_set():
                for customer in ids:
                    connection.request("GET", f"/customers/{customer}")
                    response = connection.getresponse()
                    body = response.read()
                    if response.status != 200:
                        failures.append((response.status, body))
                    answers.append(json.loads(body)["action"]["action"])
            connection.close()

        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        building = published.with_name("next.duckdb")
        shutil.copy(published, building)
        with duckdb.connect(str(building)) as connection:
            connection.execute("UPDATE snapshot_info SET run_id = 'republished'")
            connection.execute(
                "UPDATE marts.customer_segments SET action = 'Republished' WHERE customer_id = $c",
                {"c": ids[0]},
            )
        os.replace(building, published)
        deadline = time.monotonic() + 30
        while get(f"{server.url}/health").json()["snapshot_run_id"] != "republished":
            assert time.monotonic() < deadline, "the new snapshot was not picked up"
            time.sleep(0.1)
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join()
        assert failures == []
        assert len(answers) > 100 and "Republished" in answers
        assert get(f"{server.url}/customers/{ids[0]}").json()["action"]["action"] == "Republished"


HOLD_WRITER = (
    "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
    "print('holding', flush=True); sys.stdin.read()"
)


def test_scoring_while_the_warehouse_is_locked_is_folded_later(api, data_dir, refreshed_env):
    warehouse = data_dir / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER, str(warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(warehouse), read_only=True)  # the writer holds the file
        rows = [
            {"customer_id": f"LOCKED-{i}", "recency_days": 10 + i, "frequency": 2, "monetary": 99.0}
            for i in range(5)
        ]
        started = time.perf_counter()
        reply = post_json(f"{api}/score", {"customers": rows})
        assert reply.status == 200, reply.body
        assert time.perf_counter() - started < 30
        assert reply.json()["scored"] == 5
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)

    score_job()  # marts.prediction_log, as the refresh materializes it: folds the API's log
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        counts = connection.execute(
            "SELECT customer_id, count(*), any_value(source) FROM marts.prediction_log "
            "WHERE customer_id LIKE 'LOCKED-%' GROUP BY 1 ORDER BY 1"
        ).fetchall()
        total = connection.execute("SELECT count(*) FROM marts.prediction_log").fetchone()[0]
    assert counts == [(f"LOCKED-{i}", 1, "api.csv") for i in range(5)]
    score_job()  # folding again appends nothing
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM marts.prediction_log").fetchone()[0] == (
            total
        )


def test_the_champions_are_reloaded_when_an_alias_moves(data_dir, tmp_path):
    from mlflow import MlflowClient

    own = tmp_path / "data"
    (own / "bi").mkdir(parents=True)
    (own / "mlflow").mkdir()
    shutil.copy(data_dir / "bi" / "customer_intel.duckdb", own / "bi" / "customer_intel.duckdb")
    shutil.copy(data_dir / "mlflow" / "mlflow.db", own / "mlflow" / "mlflow.db")  # own registry
    uri = f"sqlite:///{own / 'mlflow' / 'mlflow.db'}"

    def churn_model(url: str, customer: str) -> str:
        row = {"customer_id": customer, "recency_days": 20, "frequency": 2, "monetary": 300.0}
        reply = post_json(f"{url}/score", {"customers": [row]})
        assert reply.status == 200, reply.body
        return reply.json()["predictions"][0]["churn_model"]

    with ServerProcess(server_env(own, MLFLOW_TRACKING_URI=uri)) as server:
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        current = client.get_model_version_by_alias("customer_churn", "champion")
        assert churn_model(server.url, "ALIAS-1") == f"customer_churn v{current.version}"
        moved = client.create_model_version("customer_churn", current.source, run_id=current.run_id)
        client.set_registered_model_alias("customer_churn", "champion", moved.version)
        time.sleep(5.5)  # the server looks at the aliases at most every 5 s
        assert churn_model(server.url, "ALIAS-2") == f"customer_churn v{moved.version}"
