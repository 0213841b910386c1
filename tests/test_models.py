"""The customer models' core: BG/NBD, the trading clock, no leakage, explanations,
calibration, champion/challenger promotion and scoring from the registry."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from pipeline.cleaning import build_staging
from pipeline.demo import Behaviour, write_demo_data
from pipeline.features import build_customer_rfm
from pipeline.ingest import ingest_landing
from pipeline.model_registry import (
    CHALLENGER,
    CHAMPION,
    champion_uri,
    champion_version,
    load_champion,
    load_model,
    register_and_maybe_promote,
)
from pipeline.modelling import btyd
from pipeline.modelling.calibration import CALIBRATIONS
from pipeline.modelling.churn import train_churn
from pipeline.modelling.classifiers import CANDIDATES, CalibratedModel
from pipeline.modelling.demo_truth import _bought_cells, compare_with_truth, load_truth
from pipeline.modelling.evaluation import expected_calibration_error
from pipeline.modelling.explanations import linear_contributions, top_reasons
from pipeline.modelling.model_inputs import model_input_frame
from pipeline.modelling.model_runs import PROPENSITY_MODEL, register_propensity
from pipeline.modelling.propensity import score_propensity, train_propensity
from pipeline.modelling.tracking import champion_value
from pipeline.modelling.trading_clock import fit_trading_clock
from pipeline.modelling.training_frames import (
    MIN_EARLIER_SHARE,
    TrainingData,
    bought_column,
    build_training_data,
    cap_training_rows,
    resolve_snapshot,
    resolve_windows,
    scoring_frame,
)
from pipeline.product_categories import build_product_categories, load_rules
from pipeline.settings import DEFAULT_NON_PRODUCT_CODES
from resources.mlflow_tracking import ModelTracking

# Short baskets give ~900 customers from 30k rows: enough for stable metrics, fast to fit.
SMALL_DEMO = Behaviour(extra_lines_mean=4.0)


def build_demo_warehouse(root: Path, n_rows: int = 30_000, seed: int = 42) -> Path:
    """Demo data through the real ingestion, cleaning and category code into a warehouse."""
    write_demo_data(
        root / "landing", root / "demo", n_rows=n_rows, seed=seed, file_format="parquet",
        behaviour=SMALL_DEMO,
    )  # fmt: skip
    path = root / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        ingest_landing(connection, root / "landing", root / "column_mappings.yaml")
        build_staging(
            connection,
            non_product_codes=DEFAULT_NON_PRODUCT_CODES,
            latest_valid_ts=dt.datetime(2030, 1, 1),
        )
        build_product_categories(connection, None, load_rules())
        build_customer_rfm(connection, resolve_snapshot(connection, None))
    return path


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("models_demo")
    build_demo_warehouse(root)
    return root


@pytest.fixture(scope="module")
def training(demo_root):
    with duckdb.connect(str(demo_root / "warehouse.duckdb")) as connection:
        windows = resolve_windows(resolve_snapshot(connection, None), 90)
        data = build_training_data(connection, windows)
        scoring = scoring_frame(connection, windows, data.categories)
    return data, scoring


@pytest.fixture(scope="module")
def tracking(tmp_path_factory) -> ModelTracking:
    folder = tmp_path_factory.mktemp("mlflow")
    return ModelTracking(
        tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
        artifact_location=(folder / "artifacts").as_uri(),
    )


# -- BG/NBD -------------------------------------------------------------------------------------


def simulate_bgnbd(params: btyd.BGNBDParams, n: int, horizon: float, seed: int = 1):
    """Customers of the BG/NBD story: (x, t_x, T) and whether they buy in (T, T + horizon]."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(params.r, 1.0 / params.alpha, n)
    dropout = rng.beta(params.a, params.b, n)
    T = rng.uniform(100.0, 400.0, n)
    x, t_x, bought = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
    for i in range(n):
        t, alive = 0.0, True
        while alive:
            t += rng.exponential(1.0 / rate[i])
            if t > T[i] + horizon:
                break
            if t <= T[i]:
                x[i], t_x[i] = x[i] + 1, t
            else:
                bought[i] = True
                break
            alive = rng.random() >= dropout[i]
    return x, t_x, T, bought


def test_bgnbd_recovers_parameters_and_predicts_calibrated_purchase_probabilities():
    truth = btyd.BGNBDParams(r=0.6, alpha=20.0, a=0.8, b=3.0)
    x, t_x, T, bought = simulate_bgnbd(truth, 6000, horizon=90.0)
    fitted = btyd.fit_bgnbd(x, t_x, T)
    for name, value in truth.as_dict().items():
        assert fitted.as_dict()[name] == pytest.approx(value, rel=0.35), name
    p = btyd.probability_of_purchase(fitted, 90.0, x, t_x, T)
    assert p.mean() == pytest.approx(bought.mean(), abs=0.02)
    assert expected_calibration_error(bought, p) < 0.03
    # E[X] >= P(X >= 1), and P(alive) = 1 for customers without repeat purchases
    assert np.all(btyd.expected_purchases(fitted, 90.0, x, t_x, T) >= p - 1e-9)
    assert np.all(btyd.probability_alive(fitted, x, t_x, T)[x == 0] == 1.0)


def test_bgnbd_gradient_matches_finite_differences():
    from scipy.optimize import approx_fprime

    x, t_x, T, _ = simulate_bgnbd(btyd.BGNBDParams(0.5, 10.0, 0.7, 2.0), 300, 30.0)
    point = np.array([0.4, 8.0, 0.9, 2.5])
    numeric = approx_fprime(
        point, lambda v: btyd.log_likelihood(btyd.BGNBDParams(*v), x, t_x, T).mean(), 1e-7
    )
    value, analytic = btyd.MeanLikelihood(x, t_x, T).value_and_gradient(btyd.BGNBDParams(*point))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-7)
    # the value averaged over distinct x is the mean of the per-customer log-likelihoods
    per_customer = btyd.log_likelihood(btyd.BGNBDParams(*point), x, t_x, T)
    assert value == pytest.approx(per_customer.mean(), rel=1e-12)


@pytest.mark.parametrize("orders_per_open_day", [20, 600, 5000])
def test_trading_clock_stays_finite_at_any_order_volume(orders_per_open_day):
    days = pd.date_range("2009-12-01", "2011-12-09", freq="D")
    busy = np.where(days.month.isin([10, 11]), 2 * orders_per_open_day, orders_per_open_day)
    orders = pd.DataFrame({"day": days.date, "orders": np.where(days.dayofweek == 5, 0, busy)})
    clock = fit_trading_clock(orders, dt.datetime(2011, 12, 10), 90)
    assert np.isfinite(clock.cumulative).all() and np.isfinite(clock.horizon_trading_days)
    assert clock.weekday_factor[5] == 0.0 and 0.5 < clock.weekday_factor[0] < 2.0


def test_trading_clock_stops_on_closed_days_and_shortens_a_quiet_horizon():
    days = pd.date_range("2009-12-01", "2011-12-09", freq="D")
    busy = np.where(days.month.isin([10, 11]), 40, 20)
    closed = (days.dayofweek == 5) | ((days.month == 12) & days.day.isin([24, 25, 26]))
    orders = pd.DataFrame({"day": days.date, "orders": np.where(closed, 0, busy)})
    december = fit_trading_clock(orders, dt.datetime(2011, 12, 10), 30)
    assert december.weekday_factor[5] == 0.0
    assert {(12, 24), (12, 25), (12, 26)} <= december.closed_dates
    assert december.month_factor[10] > 1.5 * december.month_factor[0]  # November vs January
    october = fit_trading_clock(
        orders[orders["day"] < dt.date(2011, 10, 1)], dt.date(2011, 10, 1), 30
    )
    assert october.horizon_trading_days > 1.3 * december.horizon_trading_days
    # no trading time passes on a closed day
    saturday = (pd.Timestamp("2011-11-05") - pd.Timestamp(december.first_day)).days
    assert december.cumulative[saturday + 1] == december.cumulative[saturday]
    assert december.cumulative[saturday] > december.cumulative[saturday - 1]


# -- out of time, no leakage ---------------------------------------------------------------------

OUTCOME_COLUMNS = ("actual_orders", "actual_spend", "purchased")


def test_no_transaction_after_the_cutoff_reaches_the_training_features(demo_root, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_root / "warehouse.duckdb", path)
    with duckdb.connect(str(path)) as connection:
        windows = resolve_windows(resolve_snapshot(connection, None), 90)
        before = build_training_data(connection, windows)
        at_cutoff = before.evaluation_window
        customer = at_cutoff.loc[~at_cutoff["purchased"], "customer_id"].iloc[0]
        # Sentinels: a large purchase by a lapsed customer exactly at the cutoff and one a
        # month later, a return after the cutoff, and a new customer after the cutoff.
        params = {"ts": windows.cutoff, "customer": customer, "category": before.categories[0]}
        for days in (0, 30):
            connection.execute(
                """
                INSERT INTO staging.transactions BY NAME
                SELECT * REPLACE ('SENTINEL' || $days AS invoice_id, $ts AS invoice_ts,
                                  1e6 AS line_amount, $customer AS customer_id)
                FROM staging.transactions
                WHERE stock_code IN (SELECT stock_code FROM features.product_categories
                                     WHERE category = $category)
                LIMIT 1
                """,
                {**params, "days": days, "ts": windows.cutoff + dt.timedelta(days=days)},
            )
        connection.execute(
            """
            INSERT INTO staging.returns BY NAME
            SELECT * REPLACE ($ts + INTERVAL 1 DAY AS invoice_ts, -5e5 AS line_amount,
                              $customer AS customer_id)
            FROM staging.transactions LIMIT 1
            """,
            {"ts": windows.cutoff, "customer": customer},
        )
        connection.execute(
            """
            INSERT INTO staging.transactions BY NAME
            SELECT * REPLACE ('SENTINEL-NEW' AS invoice_id, $ts AS invoice_ts,
                              'NEW-CUSTOMER' AS customer_id)
            FROM staging.transactions LIMIT 1
            """,
            {"ts": windows.cutoff},
        )
        after = build_training_data(connection, windows)

    outcome = [*OUTCOME_COLUMNS, *(bought_column(c) for c in before.categories)]
    features = [c for c in before.rows.columns if c not in outcome]
    assert len(features) > 40  # features, trading clock, category shares and seasons
    pd.testing.assert_frame_equal(before.rows[features], after.rows[features])
    # ... while the outcome of the evaluation window does see them
    row = after.evaluation_window.set_index("customer_id").loc[customer]
    assert row["purchased"] and row["actual_orders"] == 2
    assert row["actual_spend"] == pytest.approx(2e6 - 5e5)
    assert row[bought_column(before.categories[0])]
    assert "NEW-CUSTOMER" not in set(after.rows["customer_id"])


def test_the_cap_on_training_rows_samples_the_earlier_windows_only(training, demo_root):
    data, _ = training
    train = data.train
    at_cutoff = int((train["window_start"] == data.windows.cutoff).sum())
    assert len(train) < 250_000  # the default cap leaves the small demo as it is
    assert data.earlier_share == 1.0
    is_validation = data.is_validation_customer.to_numpy()
    cap = at_cutoff + (len(train) - at_cutoff) // 2

    rows, share = cap_training_rows(data.rows, is_validation, data.windows.cutoff, cap, seed=7)
    capped = TrainingData(data.windows, rows, data.validation_customers, data.categories)

    windows = train["window_start"].nunique()
    assert share == pytest.approx(0.5, abs=0.01)
    assert abs(len(capped.train) - cap) <= windows  # each window's share is rounded
    # The evaluation window and the validation customers are untouched ...
    pd.testing.assert_frame_equal(capped.evaluation_window, data.evaluation_window)
    pd.testing.assert_frame_equal(capped.validation, data.validation)
    # ... each earlier window keeps the same share of its rows, unchanged and in order ...
    before = train.groupby("window_start").size()
    after = capped.train.groupby("window_start").size()
    earlier = before.index != data.windows.cutoff
    assert ((after[earlier] - share * before[earlier]).abs() <= 0.5 + 1e-9).all()
    keys = ["window_start", "customer_id"]
    everyone = train.reset_index(names="position")
    kept = capped.train.merge(everyone, on=keys, suffixes=("", "_all"), validate="one_to_one")
    assert len(kept) == len(capped.train)
    assert (kept["recency_days"] == kept["recency_days_all"]).all()
    assert kept["position"].is_monotonic_increasing
    # ... the same rows for the same seed, and no cap when it is 0 or above the rows.
    again, _ = cap_training_rows(data.rows, is_validation, data.windows.cutoff, cap, seed=7)
    pd.testing.assert_frame_equal(again, rows)
    for no_cap in (0, len(train)):
        kept_all, share = cap_training_rows(
            data.rows, is_validation, data.windows.cutoff, no_cap, seed=7
        )
        assert share == 1.0 and kept_all is data.rows
    # A cap below the evaluation window keeps a floor of every earlier window.
    rows, share = cap_training_rows(data.rows, is_validation, data.windows.cutoff, 10, seed=7)
    assert share == MIN_EARLIER_SHARE
    assert set(rows["window_start"]) == set(data.rows["window_start"])


def test_cutoff_and_horizon_are_configuration(training):
    data, _ = training
    snapshot = data.windows.snapshot
    assert data.windows.cutoff == snapshot - dt.timedelta(days=90)
    custom = resolve_windows(snapshot, 30, cutoff=snapshot - dt.timedelta(days=60))
    assert custom.cutoff_end == snapshot - dt.timedelta(days=30)
    with pytest.raises(ValueError, match="label window would be incomplete"):
        resolve_windows(snapshot, 90, cutoff=snapshot - dt.timedelta(days=30))
    starts = data.window_starts
    assert starts[0] == data.windows.cutoff and len(starts) == 13
    assert all(a - b == dt.timedelta(days=30) for a, b in zip(starts, starts[1:], strict=False))


# -- models ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def propensity_training(training):
    data, _ = training
    return train_propensity(data)


def test_explanations_sum_to_the_logit(training, propensity_training):
    data, scoring = training
    churn = train_churn(data).model
    X = model_input_frame(scoring)
    explained = linear_contributions(churn, X)
    np.testing.assert_allclose(explained.logit, churn.decision_function(X), atol=1e-9)
    probability = 1 / (1 + np.exp(-explained.logit))
    np.testing.assert_allclose(probability, churn.predict_proba(X)[:, 1], atol=1e-9)

    model = propensity_training.model
    explained = model.explain(X)
    np.testing.assert_allclose(explained.logit, model.explainer_.decision_function(X), atol=1e-9)
    texts, records = top_reasons(explained)
    largest = explained.contributions.abs().to_numpy().max(axis=1)
    for text, reasons, top in zip(texts[:50], records[:50], largest[:50], strict=True):
        assert len(reasons) == 3 and text.count(";") == 2
        assert abs(reasons[0]["contribution"]) == pytest.approx(top, abs=1e-4)
        assert all(r["direction"] == ("up" if r["contribution"] >= 0 else "down") for r in reasons)
        assert text.startswith(f"{reasons[0]['feature']}=")


def test_propensity_is_calibrated_and_beats_plain_bgnbd_on_the_truth(
    demo_root, training, propensity_training
):
    data, scoring = training
    table = propensity_training.evaluation.table()
    candidates = list(CANDIDATES)
    assert {*candidates, "bgnbd", "pareto_nbd", "final"} <= set(table.index)
    assert propensity_training.model.calibration_ in CALIBRATIONS
    assert table.loc["final", "ece"] < 0.1
    assert table.loc[propensity_training.selected, "brier"] == table.loc[candidates, "brier"].min()
    scores = score_propensity(
        propensity_training.model, scoring, windows=data.windows, model_name="m", model_version="1"
    )
    assert scores["customer_id"].is_unique and len(scores) == len(scoring)
    # without the reasons: the same figures, the reason columns left out
    figures = score_propensity(
        propensity_training.model,
        scoring,
        windows=data.windows,
        model_name="m",
        model_version="1",
        explain=False,
    )
    assert {"top_reasons", "reasons"} & set(figures.columns) == set()
    pd.testing.assert_frame_equal(figures, scores.drop(columns=["top_reasons", "reasons"]))
    assert scores["purchase_probability"].between(0, 1).all()
    assert (scores["predicted_spend"] >= 0).all()
    # value: a positive next-order value; a lifetime value that rises with the expected
    # orders; a next order on or after the snapshot
    assert (scores["expected_order_value"] > 0).all() and (scores["clv_12m"] >= 0).all()
    snapshot_day = data.windows.snapshot.date()
    assert (scores["next_order_date"] >= snapshot_day).all()
    assert scores["clv_12m"].corr(scores["expected_orders"], method="spearman") > 0.5
    # against what the demo customers really did in the 90 days after the snapshot
    truth, note = load_truth(demo_root / "demo", data.windows, data.windows.snapshot)
    assert truth is not None, note
    churn = scores[["customer_id"]].assign(churn_probability=1 - scores["purchase_probability"])
    comparison = compare_with_truth(truth, scoring, scores, churn, None, 90)
    final, bgnbd, pareto = (comparison.propensity.iloc[i] for i in range(3))
    assert "pareto_nbd" in pareto.name
    assert final["ece"] < 0.1
    for baseline in (bgnbd, pareto):
        assert final["brier"] < baseline["brier"]
        assert final["roc_auc"] > baseline["roc_auc"] - 0.02


def test_a_category_cell_is_bought_when_the_truth_lists_it_for_that_customer():
    truth = pd.DataFrame({"customer_id": ["a", "b", "c"], "future_categories": ["x,y", "", None]})
    cells = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c", "a"],
            "category": ["x", "y", "z", "x", "x", "x"],
        }
    )
    assert _bought_cells(cells, truth).tolist() == [True, True, False, False, False, True]


# -- registry ------------------------------------------------------------------------------------


def _toy_model(seed: int) -> tuple[LogisticRegression, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"signal": rng.normal(size=200), "noise": rng.normal(size=200)})
    y = (X["signal"] + rng.normal(scale=0.5, size=200)) > 0
    return LogisticRegression().fit(X, y), X, y.to_numpy()


def _log(tracking: ModelTracking, model, X) -> str:
    import mlflow.sklearn

    with tracking.run("toy"):
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
    return info.model_uri


def test_only_a_better_challenger_becomes_champion(tracking):
    client = tracking.client()
    name = "toy_promotion"
    model, X, _ = _toy_model(1)
    first = register_and_maybe_promote(
        client, _log(tracking, model, X), name, metric="brier", value=0.20,
        champion_value=None, higher_is_better=False,
    )  # fmt: skip
    assert first.promoted and first.champion_version is None
    better = register_and_maybe_promote(
        client, _log(tracking, model, X), name, metric="brier", value=0.15,
        champion_value=0.20, higher_is_better=False,
    )  # fmt: skip
    assert better.promoted
    worse = register_and_maybe_promote(
        client, _log(tracking, model, X), name, metric="brier", value=0.18,
        champion_value=0.15, higher_is_better=False,
    )  # fmt: skip
    assert not worse.promoted and "kept the champion" in worse.summary
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == better.version
    assert str(client.get_model_version_by_alias(name, CHALLENGER).version) == worse.version
    tie = register_and_maybe_promote(
        client, _log(tracking, model, X), name, metric="brier", value=0.15,
        champion_value=0.15, higher_is_better=False,
    )  # fmt: skip
    assert not tie.promoted


def test_a_champion_is_loaded_once_per_version_and_again_when_the_champion_changes(tracking):
    client = tracking.client()
    name = "toy_champion_cache"
    first_model, X, _ = _toy_model(3)
    register_and_maybe_promote(
        client, _log(tracking, first_model, X), name, metric="brier", value=0.2,
        champion_value=None, higher_is_better=False,
    )  # fmt: skip
    loaded, version = load_champion(client, name)
    again, same_version = load_champion(client, name)
    assert version == same_version == "1" and again is loaded  # not read from the store again
    np.testing.assert_array_equal(loaded.coef_, first_model.coef_)

    second_model, _, _ = _toy_model(4)
    register_and_maybe_promote(
        client, _log(tracking, second_model, X), name, metric="brier", value=0.1,
        champion_value=0.2, higher_is_better=False,
    )  # fmt: skip
    replaced, new_version = load_champion(client, name)
    assert new_version == "2" and replaced is not loaded
    np.testing.assert_array_equal(replaced.coef_, second_model.coef_)
    assert not np.array_equal(replaced.coef_, loaded.coef_)
    # The alias moved back: version 1 is loaded again, not version 2 kept.
    client.set_registered_model_alias(name, CHAMPION, "1")
    back, back_version = load_champion(client, name)
    assert back_version == "1"
    np.testing.assert_array_equal(back.coef_, first_model.coef_)


def test_champion_is_scored_on_the_challengers_data_or_replaced_when_it_cannot(tracking):
    client = tracking.client()
    name = "toy_champion_score"
    model, X, y = _toy_model(2)
    register_and_maybe_promote(
        client, _log(tracking, model, X), name, metric="brier", value=0.2,
        champion_value=None, higher_is_better=False,
    )  # fmt: skip
    score = champion_value(
        name, client, lambda m: float(np.mean((m.predict_proba(X)[:, 1] - y) ** 2))
    )
    assert score.version == "1" and 0 < score.value < 0.25
    renamed = X.rename(columns={"signal": "other"})
    broken = champion_value(name, client, lambda m: m.predict_proba(renamed)[:, 1].mean())
    assert broken.value is None and "cannot score" in broken.note
    assert champion_value("no_such_model", client, lambda m: 0.0).note == "no champion yet"


def test_scores_come_from_the_registered_champion(training, propensity_training, tracking):
    data, scoring = training
    tags = {"dagster_run_id": "test", "dagster_asset_key": "scores/propensity"}
    first = register_propensity(data, propensity_training, tracking, tags)
    assert first.decision.promoted and first.scorer_version == first.decision.version
    # the same model again: an equal Brier score keeps the incumbent
    second = register_propensity(data, propensity_training, tracking, tags)
    assert not second.decision.promoted
    assert second.scorer_version == first.decision.version != second.decision.version
    client = tracking.client()
    assert str(champion_version(client, PROPENSITY_MODEL).version) == first.decision.version
    champion = load_model(champion_uri(PROPENSITY_MODEL))
    X = model_input_frame(scoring)
    np.testing.assert_allclose(
        second.scorer.predict_proba(X), champion.predict_proba(X), rtol=0, atol=1e-12
    )
    run = client.get_run(second.logged.run_id)
    assert run.data.tags["dagster_run_id"] == "test"
    assert run.data.tags["dagster_asset_key"] == "scores/propensity"
    assert {"valid_final_brier", "valid_bgnbd_brier", "valid_logistic_roc_auc"} <= set(
        run.data.metrics
    )
    artifacts = {a.path for a in client.list_artifacts(second.logged.run_id)}
    assert {"calibration.png", "feature_importance.csv", "metrics.csv"} <= artifacts
    assert isinstance(champion, CalibratedModel)
