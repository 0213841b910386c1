"""Live scoring for the dashboard (pipeline.serving.live_scorer): the API's scoring and the
API's prediction log, over the refreshed demo data. An entry gets the labels POST /score
gives, is logged once, and the same entry sent to the API afterwards is the logged one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pipeline.serving.app import create_app
from pipeline.serving.live_scorer import EntryRejected, LiveScorer, pasted_lines, rfm_entry
from pipeline.serving.prediction_log import PredictionLog, log_path
from pipeline.settings import Settings


def test_an_rfm_entry_is_checked_as_the_api_checks_it():
    entry = rfm_entry(
        {"customer_id": "c1", "recency_days": 10, "frequency": 2, "monetary": 50.0, "x": None}
    )
    assert entry == {"customer_id": "c1", "recency_days": 10, "frequency": 2, "monetary": 50.0}
    with pytest.raises(EntryRejected, match="recency_days: Input should be greater than or"):
        rfm_entry({"customer_id": "c1", "recency_days": 0, "frequency": 2, "monetary": 5})
    with pytest.raises(EntryRejected, match="customer_id: Field required"):
        rfm_entry({"customer_id": "", "recency_days": 3, "frequency": 2, "monetary": 5})
    with pytest.raises(EntryRejected, match="tenure_days must be at least recency_days"):
        rfm_entry(
            {"customer_id": "c", "recency_days": 9, "frequency": 2, "monetary": 5, "tenure_days": 3}
        )


def test_pasted_lines_need_a_header_and_a_line():
    assert pasted_lines(" a,b\n1,2\n\n") == b"a,b\n1,2\n"
    with pytest.raises(EntryRejected, match="header line"):
        pasted_lines("customer_id,invoice_ts,line_amount")


@pytest.fixture
def scorer(refreshed_env):
    live = LiveScorer(Settings.from_env())
    yield live
    live.close()


@pytest.mark.slow
def test_an_entry_is_scored_once_into_the_apis_log(scorer, refreshed_env):
    log = PredictionLog(log_path(refreshed_env))
    before = log.count()
    entry = {"customer_id": "dash-rfm-1", "recency_days": 20, "frequency": 4, "monetary": 410.0}
    first = scorer.score_rfm(entry)
    assert (first.scored, first.already_logged) == (1, 0)
    (prediction,) = first.predictions.to_dict("records")
    assert prediction["value_segment"] and prediction["persona"] and prediction["action"]
    assert prediction["input_mode"] == "rfm" and not prediction["already_logged"]
    reasons = scorer.reasons(prediction)
    assert len(reasons) and set(reasons["direction"]) <= {"up", "down"}
    assert log.count() == before + 1

    again = scorer.score_rfm(entry)
    assert (again.scored, again.already_logged) == (0, 1)
    assert again.predictions.loc[0, "prediction_id"] == prediction["prediction_id"]
    assert log.count() == before + 1

    # The API takes the same entry as the one logged: one log, one input key.
    with TestClient(create_app()) as api:
        answer = api.post("/score", json={"customers": [entry]}).json()
    assert (answer["scored"], answer["already_logged"]) == (0, 1)
    assert answer["predictions"][0]["prediction_id"] == prediction["prediction_id"]
    assert log.count() == before + 1

    latest = scorer.latest(5)
    assert latest.loc[0, "customer_id"] == "dash-rfm-1"


@pytest.mark.slow
def test_pasted_transaction_lines_are_scored_like_an_upload(scorer):
    lines = (
        "customer_id,invoice_ts,invoice_id,stock_code,quantity,unit_price\n"
        "dash-lines-1,2011-11-02 10:15,900001,85123A,6,2.55\n"
        "dash-lines-1,2011-12-01 14:40,900002,22423,2,12.75\n"
    )
    result = scorer.score_lines(lines)
    (prediction,) = result.predictions.to_dict("records")
    assert prediction["customer_id"] == "dash-lines-1"
    assert prediction["input_mode"] == "transactions"
    assert prediction["value_segment"] and prediction["action"]
    assert scorer.score_lines(lines).already_logged == 1
    with pytest.raises(EntryRejected):
        scorer.score_lines("nothing to score")
