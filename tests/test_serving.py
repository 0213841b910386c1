"""The serving core without a server: snapshot generations, the API's log and its fold,
settings."""

from __future__ import annotations

import gc
import os
import threading
import time

import duckdb
import pandas as pd
import pytest

from pipeline.action_rules import DEFAULT_RULES_PATH, load_action_plan
from pipeline.live_scoring import LOG_TABLE
from pipeline.serving.config import ApiConfigError, ApiSettings
from pipeline.serving.prediction_log import (
    PredictionLog,
    fold_into_warehouse,
    row_records,
    stored_record,
)
from pipeline.serving.routes_scoring import parse_reasons
from pipeline.serving.scoring import ActionPlans
from pipeline.serving.snapshot import SnapshotMissing, SnapshotReader


def publish(path, label: str) -> None:
    """A tiny snapshot file renamed over ``path``, as pipeline.publish does."""
    building = path.with_name(path.name + ".building")
    with duckdb.connect(str(building)) as connection:
        connection.execute("CREATE TABLE label AS SELECT $label AS label", {"label": label})
    os.replace(building, path)


def read_label(generation) -> None:
    cursor = generation.cursor()
    generation.loaded["label"] = cursor.execute("SELECT label FROM label").fetchone()[0]
    cursor.close()


def test_a_new_file_is_served_and_the_old_one_closed_after_its_last_request(tmp_path):
    path = tmp_path / "snapshot.duckdb"
    reader = SnapshotReader(path, read_label)
    with pytest.raises(SnapshotMissing, match="no BI snapshot"):
        with reader.generation():
            pass
    publish(path, "first")
    with reader.generation() as held:
        assert held.loaded["label"] == "first"
        publish(path, "second")
        deadline = threading.Event()
        for _ in range(200):  # the new file opens in the background
            with reader.generation() as current:
                if current.loaded["label"] == "second":
                    break
            deadline.wait(0.02)
        assert current.loaded["label"] == "second"
        # The request that still holds the first generation can go on querying it.
        cursor = held.cursor()
        assert cursor.execute("SELECT label FROM label").fetchone()[0] == "first"
        cursor.close()
    with pytest.raises(duckdb.ConnectionException):
        held.connection.execute("SELECT 1")  # closed once its last user left
    reader.close()


def prediction(key: str, customer: str) -> dict:
    return {
        "prediction_id": "p-" + key,
        "input_key": key,
        "customer_id": customer,
        "source": "api.csv",
        "input_mode": "rfm",
        "inputs": "{}",
        "imputed_features": ["tenure_days"],
        "predicted_at": "2026-01-02T03:04:05",
        "predicted_at_local": "2026-01-02T04:04:05",
        "display_timezone": "Europe/Paris",
        "features_as_of": "2011-12-10T00:00:00",
        "value_segment": "High",
        "persona": "Loyal Customers",
        "purchase_style": None,
        "value_style_label": None,
        "churn_risk_pct": 12.5,
        "purchase_probability": 0.8,
        "expected_spend": 100.0,
        "top_reasons": "frequency=3 (+0.50, up)",
        "action": "Newsletter",
        "action_channel": "email",
        "churn_model": "customer_churn v1",
        "propensity_model": "purchase_propensity v1",
        "segment_models": "x",
    }


def test_the_log_keeps_one_row_per_input_and_folds_once(tmp_path):
    log = PredictionLog(tmp_path / "api" / "log.sqlite")
    assert log.append([prediction("k1", "A"), prediction("k2", "B")]) == 2
    assert log.append([prediction("k1", "A"), prediction("k3", "C")]) == 1
    assert set(log.logged(["k1", "k3", "nope"])) == {"k1", "k3"}
    warehouse = duckdb.connect()
    assert fold_into_warehouse(warehouse, log.path) == 3
    assert fold_into_warehouse(warehouse, log.path) == 0
    row = warehouse.execute(
        f"SELECT customer_id, imputed_features, predicted_at, predicted_at_local "
        f"FROM {LOG_TABLE} WHERE input_key = 'k1'"
    ).fetchone()
    assert row[0] == "A" and row[1] == ["tenure_days"]
    assert str(row[2]) == "2026-01-02 03:04:05" and str(row[3]) == "2026-01-02 04:04:05"
    assert fold_into_warehouse(warehouse, tmp_path / "missing.sqlite") == 0


def test_settings_refuse_other_addresses_without_a_key(monkeypatch):
    monkeypatch.delenv("API_KEY", raising=False)
    ApiSettings.from_env().check()  # 127.0.0.1 by default
    ApiSettings.from_env(host="::1").check()
    with pytest.raises(ApiConfigError, match="API_KEY"):
        ApiSettings.from_env(host="0.0.0.0").check()
    monkeypatch.setenv("API_KEY", "k")
    ApiSettings.from_env(host="0.0.0.0").check()
    monkeypatch.setenv("API_MAX_ROWS", "lots")
    with pytest.raises(ApiConfigError, match="API_MAX_ROWS must be an integer"):
        ApiSettings.from_env()


def test_reasons_are_parsed_with_direction_and_contribution():
    text = "bgnbd_p_purchase=8.81e-10 (-10.85, down); frequency=10 (+0.29, up)"
    assert parse_reasons(text) == [
        {
            "feature": "bgnbd_p_purchase",
            "value": 8.81e-10,
            "contribution": -10.85,
            "direction": "down",
        },
        {"feature": "frequency", "value": 10.0, "contribution": 0.29, "direction": "up"},
    ]


def test_the_published_file_is_looked_at_once_per_check_interval(tmp_path, monkeypatch):
    from pipeline.serving import snapshot

    looks, original = [], snapshot.file_version

    def counted(path):
        looks.append(path)
        return original(path)

    path = tmp_path / "snapshot.duckdb"
    publish(path, "first")
    reader = SnapshotReader(path, read_label, check_seconds=2.0)
    monkeypatch.setattr(snapshot, "file_version", counted)
    started = time.monotonic()
    for _ in range(50):
        with reader.generation() as current:
            assert current.loaded["label"] == "first"
    if time.monotonic() - started < 2.0:
        assert len(looks) == 1  # the first request looked; the next 49 trusted it
    publish(path, "second")
    deadline = time.monotonic() + 10
    while True:  # noticed after at most one interval, then loaded in the background
        with reader.generation() as current:
            if current.loaded["label"] == "second":
                break
        assert time.monotonic() < deadline, "the new file was never served"
        time.sleep(0.05)
    assert 2 <= len(looks) < 50
    reader.close()


def test_a_logged_record_is_what_the_log_gives_back(tmp_path):
    log = PredictionLog(tmp_path / "log.sqlite")
    records = row_records(pd.DataFrame.from_records([prediction("k1", "A")]))
    assert log.append(records) == 1
    stored = log.logged(["k1"])["k1"]
    assert stored_record(records[0]) == stored
    assert list(stored_record(records[0])) == list(stored)  # the same keys in the same order


def test_the_action_plan_is_read_again_only_when_its_file_changes(tmp_path):
    user_rules = tmp_path / "action_rules.yaml"
    plans = ActionPlans(user_rules)
    shipped = plans.get()
    assert plans.get() is shipped and shipped == load_action_plan(DEFAULT_RULES_PATH)
    text = DEFAULT_RULES_PATH.read_text()
    user_rules.write_text(text.replace("priority: 1", "priority: 9", 1))
    edited = plans.get()
    assert edited is not shipped and edited == load_action_plan(user_rules)
    assert plans.get() is edited


def test_concurrent_action_rules_do_not_see_each_others_rows():
    from pipeline.live_scoring import _actions

    plan = load_action_plan(DEFAULT_RULES_PATH)
    frames = [
        pd.DataFrame(
            {
                "customer_id": [f"{n}-{i}" for i in range(n)],
                "churn_risk_pct": [90.0] * n,
                "value_segment": ["High"] * n,
                "persona": ["Loyal Customers"] * n,
            }
        )
        for n in (1, 7, 30, 200)
    ]
    expected = [_actions(frame, plan) for frame in frames]
    results: dict[int, pd.DataFrame] = {}

    def run(index: int) -> None:
        for _ in range(5):
            results[index] = _actions(frames[index], plan)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(frames))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, frame in enumerate(expected):
        pd.testing.assert_frame_equal(results[index], frame)


def test_each_thread_keeps_one_connection_to_the_log_until_it_ends(tmp_path):
    log = PredictionLog(tmp_path / "log.sqlite")
    assert log._connection() is log._connection()
    seen = []

    def append(key: str) -> None:
        assert log.append([prediction(key, key)]) == 1
        seen.append(log._connection())

    for key in ("t1", "t2"):
        thread = threading.Thread(target=append, args=(key,))
        thread.start()
        thread.join()
    assert seen[0] is not seen[1] and set(log.logged(["t1", "t2"])) == {"t1", "t2"}
    seen.clear()
    gc.collect()  # a connection refers to itself through its statement cache
    assert len(log._opened) == 1  # the threads' connections were closed once they ended
    log.close()
    assert len(log._opened) == 0
    assert log.count() == 2  # a closed log opens again on use
    log.close()
