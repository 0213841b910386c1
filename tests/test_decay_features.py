"""The decay check's customer features kept a week ahead: equal to the one-date query, read
back on the next nights, and computed again when what they came from changes."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from pipeline.features import customer_features
from pipeline.modelling import decay_features
from pipeline.modelling.decay_features import DAYS_AHEAD, MANIFEST, features_at_cutoff
from tests.test_feature_windows import load_history

CUTOFF = dt.datetime(2011, 3, 29)  # the kept week covers 2011-04-01, where lines fall
SNAPSHOT = dt.datetime(2011, 6, 1)


@pytest.fixture
def history(connection):
    return load_history(connection)


@pytest.fixture
def computed(monkeypatch):
    """The cutoffs whose features were computed (not read back), per call."""
    calls = []
    write = decay_features.write_features_at

    def counting(connection, cutoffs, path):
        calls.append(list(cutoffs))
        write(connection, cutoffs, path)

    monkeypatch.setattr(decay_features, "write_features_at", counting)
    return calls


def assert_equals_its_own_query(connection, folder, cutoff) -> pd.DataFrame:
    kept = features_at_cutoff(connection, cutoff, SNAPSHOT, folder)
    pd.testing.assert_frame_equal(kept, customer_features(connection, cutoff), check_exact=True)
    return kept


def test_a_week_of_cutoffs_is_computed_once_and_read_back_unchanged(history, tmp_path, computed):
    folder = tmp_path / "kept"
    assert_equals_its_own_query(history, folder, CUTOFF)
    assert computed == [[CUTOFF + dt.timedelta(days=d) for d in range(DAYS_AHEAD)]]
    # The next nights: a new day's lines after the kept week change nothing before it.
    history.execute(
        "INSERT INTO staging.transactions (invoice_id, stock_code, quantity, invoice_ts, "
        "unit_price, customer_id, country, line_amount) VALUES ('599999', '85123A', 2, "
        "TIMESTAMP '2011-06-20 10:00', 2.55, 'A', 'United Kingdom', 5.10)"
    )
    changing = [
        assert_equals_its_own_query(history, folder, CUTOFF + dt.timedelta(days=d))
        for d in range(1, DAYS_AHEAD)
    ]
    assert len(computed) == 1
    assert not changing[0].equals(changing[-1])  # the week's cutoffs hold other features
    # The day after the week: computed again.
    assert_equals_its_own_query(history, folder, CUTOFF + dt.timedelta(days=DAYS_AHEAD))
    assert len(computed) == 2 and len(list(folder.glob("features_*.parquet"))) == 1


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE staging.transactions SET quantity = quantity + 1 "
        "WHERE customer_id = 'A' AND invoice_ts < TIMESTAMP '2011-03-01'",
        "UPDATE features.product_categories SET category = 'GARDEN' WHERE stock_code = '22423'",
        "DELETE FROM staging.returns",
    ],
    ids=["restated line", "other category", "returns removed"],
)
def test_kept_features_are_computed_again_when_their_inputs_change(
    history, tmp_path, computed, change
):
    folder = tmp_path / "kept"
    before = assert_equals_its_own_query(history, folder, CUTOFF)
    history.execute(change)
    after = assert_equals_its_own_query(history, folder, CUTOFF)
    assert len(computed) == 2
    if "returns" not in change:  # the fixture's return lies after the cutoff
        assert not after.equals(before)


def test_other_feature_sql_or_a_lost_file_is_computed_again(history, tmp_path, computed):
    folder = tmp_path / "kept"
    assert_equals_its_own_query(history, folder, CUTOFF)
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**manifest, "code": "older SQL"}))
    assert_equals_its_own_query(history, folder, CUTOFF)
    (folder / json.loads((folder / MANIFEST).read_text())["file"]).unlink()
    assert_equals_its_own_query(history, folder, CUTOFF)
    (folder / MANIFEST).write_text("{not json")
    assert_equals_its_own_query(history, folder, CUTOFF)
    assert len(computed) == 4
    # Without a folder nothing is kept.
    pd.testing.assert_frame_equal(
        features_at_cutoff(history, CUTOFF, SNAPSHOT, None), customer_features(history, CUTOFF)
    )
    assert len(computed) == 4
