"""What each published table and column means: one source for the Dagster column schemas
shown in the UI and the DuckDB COMMENT ON text a BI tool shows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class TableDoc:
    name: str  # schema.table, the public contract
    description: str
    columns: tuple[Column, ...]

    @property
    def asset_key_path(self) -> list[str]:
        return self.name.split(".")


_TRANSACTION_COLUMNS = (
    Column("invoice_id", "VARCHAR", "Invoice number; C-prefixed numbers are cancellations."),
    Column("stock_code", "VARCHAR", "Product code, upper case."),
    Column("description", "VARCHAR", "Product description as written in the source file."),
    Column("quantity", "DOUBLE", "Units on the line; negative on returns."),
    Column("invoice_ts", "TIMESTAMP", "Invoice date and time."),
    Column("unit_price", "DOUBLE", "Price per unit in the file's currency."),
    Column("customer_id", "VARCHAR", "Customer identifier (text; '17850.0' becomes '17850')."),
    Column("country", "VARCHAR", "Customer country."),
    Column("line_amount", "DOUBLE", "Line value: the file's amount, or quantity x unit_price."),
)
_LINEAGE_COLUMNS = (
    Column("source_file", "VARCHAR", "File the row came from, relative to DATA_DIR/landing."),
    Column("source_sheet", "VARCHAR", "Excel sheet the row came from (empty for CSV/Parquet)."),
    Column(
        "source_row",
        "BIGINT",
        "Row in the source: CSV line number (header = 1), spreadsheet row, Parquet row index.",
    ),
)

TABLES: dict[str, TableDoc] = {
    doc.name: doc
    for doc in (
        TableDoc(
            "raw.transactions",
            "Every typed row from the landing files, as loaded (append-only per file version).",
            (
                *_TRANSACTION_COLUMNS,
                *_LINEAGE_COLUMNS,
                Column("ingested_at", "TIMESTAMP", "When the file was loaded (UTC)."),
            ),
        ),
        TableDoc(
            "raw.quarantine",
            "Rows that could not be typed, with the file, row, column and reason.",
            (
                Column("source_file", "VARCHAR", "File the row came from."),
                Column("source_sheet", "VARCHAR", "Excel sheet the row came from."),
                Column("source_row", "BIGINT", "Row in the source file (see raw.transactions)."),
                Column("column_name", "VARCHAR", "First canonical column that failed."),
                Column("reason", "VARCHAR", "Every problem found in the row."),
                Column("raw_record", "VARCHAR", "The row's original values, as JSON."),
                Column("quarantined_at", "TIMESTAMP", "When the row was quarantined (UTC)."),
            ),
        ),
        TableDoc(
            "raw.file_ledger",
            "One row per file version seen in landing/: what was loaded, quarantined or rejected.",
            (
                Column("file_path", "VARCHAR", "File path relative to DATA_DIR/landing."),
                Column("content_hash", "VARCHAR", "SHA-256 of the file's bytes."),
                Column("size_bytes", "BIGINT", "File size."),
                Column("layout", "VARCHAR", "Column layout used (auto or a user mapping)."),
                Column("status", "VARCHAR", "loaded, rejected, or superseded by a newer version."),
                Column("rows_read", "BIGINT", "Data rows read from the file."),
                Column("rows_loaded", "BIGINT", "Rows written to raw.transactions."),
                Column("rows_quarantined", "BIGINT", "Rows written to raw.quarantine."),
                Column("error", "VARCHAR", "Why a rejected file could not be loaded."),
                Column("ingested_at", "TIMESTAMP", "When the file was processed (UTC)."),
                Column(
                    "modified_at",
                    "TIMESTAMP",
                    "The file's modification time (UTC) when it was read; a file with the "
                    "loaded size and time is not read again.",
                ),
            ),
        ),
        TableDoc(
            "staging.transactions",
            "Valid purchase lines of identified customers: the input of every customer metric.",
            (*_TRANSACTION_COLUMNS, *_LINEAGE_COLUMNS),
        ),
        TableDoc(
            "staging.returns",
            "Cancelled and returned lines of identified customers (negative quantities).",
            (*_TRANSACTION_COLUMNS, *_LINEAGE_COLUMNS),
        ),
        TableDoc(
            "staging.excluded",
            "Rows removed by a cleaning rule, with the rule's name.",
            (
                *_TRANSACTION_COLUMNS,
                *_LINEAGE_COLUMNS,
                Column("rule", "VARCHAR", "The cleaning rule that removed the row."),
            ),
        ),
        TableDoc(
            "features.product_categories",
            "One row per product (stock code) with its category, from the user's mapping or "
            "the keyword rules.",
            (
                Column("stock_code", "VARCHAR", "Product code."),
                Column("description", "VARCHAR", "Most frequent description of the product."),
                Column("category", "VARCHAR", "Product category (OTHER when no rule matched)."),
                Column("category_source", "VARCHAR", "user mapping, keyword or no rule matched."),
                Column("lines", "BIGINT", "Purchase lines of the product."),
                Column("revenue", "DOUBLE", "Revenue of the product."),
            ),
        ),
        TableDoc(
            "features.customer_rfm",
            "One row per customer: RFM and behaviour features as of the snapshot date, with "
            "RFM quintile scores and the named RFM segment.",
            (
                Column("customer_id", "VARCHAR", "Customer identifier."),
                Column("recency_days", "BIGINT", "Days from the last purchase to the snapshot."),
                Column("frequency", "BIGINT", "Number of distinct orders (invoices)."),
                Column("monetary", "DOUBLE", "Net spend: purchases minus returns."),
                Column("tenure_days", "BIGINT", "Days from the first purchase to the snapshot."),
                Column("avg_order_value", "DOUBLE", "Average order value."),
                Column("avg_basket_quantity", "DOUBLE", "Average units per order."),
                Column("return_rate", "DOUBLE", "Returned amount / purchased amount."),
                Column("gross_spend", "DOUBLE", "Purchases before returns."),
                Column("returned_amount", "DOUBLE", "Value of returns (positive)."),
                Column("purchase_lines", "BIGINT", "Number of purchase lines."),
                Column("avg_units_per_line", "DOUBLE", "Average quantity per line."),
                Column("max_units_per_line", "DOUBLE", "Largest quantity on one line."),
                Column("units_per_line_cv", "DOUBLE", "Coefficient of variation of line quantity."),
                Column("median_unit_price", "DOUBLE", "Median unit price paid."),
                Column(
                    "distinct_products",
                    "BIGINT",
                    "Distinct products bought (null without products).",
                ),
                Column("distinct_categories", "BIGINT", "Distinct categories bought."),
                Column("mean_days_between_purchases", "DOUBLE", "Mean gap between orders, days."),
                Column("std_days_between_purchases", "DOUBLE", "Spread of the gaps, days."),
                Column("country", "VARCHAR", "Most frequent country of the customer's lines."),
                Column("first_purchase_ts", "TIMESTAMP", "First purchase."),
                Column("last_purchase_ts", "TIMESTAMP", "Last purchase before the snapshot."),
                Column("r_score", "BIGINT", "Recency quintile, 5 = most recent."),
                Column("f_score", "BIGINT", "Frequency quintile, 5 = most orders."),
                Column("m_score", "BIGINT", "Monetary quintile, 5 = highest spend."),
                Column("rfm_cell", "VARCHAR", "R, F and M scores as one code, e.g. 545."),
                Column("rfm_segment", "VARCHAR", "Named RFM segment (Champions ... Hibernating)."),
                Column("as_of", "TIMESTAMP", "Snapshot date: features use data before it."),
            ),
        ),
        TableDoc(
            "features.daily_orders",
            "Orders (distinct invoices) per calendar day before the snapshot date: the store's "
            "trading clock, published so the HTTP API scores new customers on the same clock "
            "as the batch without opening the warehouse.",
            (
                Column("day", "DATE", "Calendar day."),
                Column("orders", "BIGINT", "Distinct invoices that day."),
                Column("as_of", "TIMESTAMP", "Snapshot date: days before it are counted."),
            ),
        ),
        TableDoc(
            "segments.customer_value",
            "One row per customer: value segment Low / Mid / High from k-means (k=3) on "
            "standardized log recency, frequency and monetary; clusters are named by their "
            "centroid's value score, so labels keep their meaning between runs.",
            (
                Column("customer_id", "VARCHAR", "Customer identifier."),
                Column("value_segment", "VARCHAR", "Low, Mid or High."),
                Column(
                    "value_score",
                    "DOUBLE",
                    "Mean of -z(log recency), z(log frequency), z(log monetary): 0 = the "
                    "average customer, higher = more valuable; orders customers within and "
                    "across segments.",
                ),
                Column("value_rank", "BIGINT", "1 = the highest value_score."),
                Column("value_cluster", "BIGINT", "k-means cluster id (internal; use the label)."),
                Column("recency_days", "BIGINT", "Days from the last purchase to the snapshot."),
                Column("frequency", "BIGINT", "Number of distinct orders."),
                Column("monetary", "DOUBLE", "Net spend (the model counts negative as 0)."),
                Column(
                    "model_version",
                    "VARCHAR",
                    "Version of the MLflow model customer_value_segments that assigned it.",
                ),
                Column("as_of", "TIMESTAMP", "Snapshot date of the features."),
            ),
        ),
        TableDoc(
            "segments.purchase_style",
            "One row per customer: purchase style Regular / Bulk / Anomaly from quantities per "
            "line (Bulk by k-means, Anomaly by an isolation forest plus a materiality rule), "
            "a human-readable reason, and value_style_label, the business label of the value "
            "segment x purchase style matrix (High+Regular = VIP, High+Bulk = Key Account, "
            "Mid+Regular = Growth Opportunity, Mid+Bulk = Wholesale Prospect, Low+Regular = "
            "Nurture, Low+Bulk = Occasional Bulk, any+Anomaly = Investigate).",
            (
                Column("customer_id", "VARCHAR", "Customer identifier."),
                Column("purchase_style", "VARCHAR", "Regular, Bulk or Anomaly."),
                Column("style_reason", "VARCHAR", "Why, in numbers a person can check."),
                Column("value_segment", "VARCHAR", "Low, Mid or High (segments.customer_value)."),
                Column(
                    "value_style_label",
                    "VARCHAR",
                    "VIP, Key Account, Growth Opportunity, Wholesale Prospect, Nurture, "
                    "Occasional Bulk or Investigate.",
                ),
                Column(
                    "style_assessed",
                    "BOOLEAN",
                    "False when the customer's lines carry no quantity (style defaults to "
                    "Regular).",
                ),
                Column("is_bulk_buyer", "BOOLEAN", "Lines in the bulk cluster (even if Anomaly)."),
                Column(
                    "anomaly_score",
                    "DOUBLE",
                    "Isolation forest score: ~0.5 ordinary, towards 1 unusual (null if not "
                    "assessed).",
                ),
                Column("style_cluster", "BIGINT", "Bulk k-means cluster id (internal)."),
                Column("quantity_lines", "BIGINT", "Purchase lines with a quantity."),
                Column("median_units_per_line", "DOUBLE", "Typical (median) units per line."),
                Column("p25_units_per_line", "DOUBLE", "Lower-quartile units per line."),
                Column("p75_units_per_line", "DOUBLE", "Upper-quartile units per line."),
                Column("avg_units_per_line", "DOUBLE", "Average units per line."),
                Column("max_units_per_line", "DOUBLE", "Largest quantity on one line."),
                Column("units_per_line_cv", "DOUBLE", "Coefficient of variation of line quantity."),
                Column("median_unit_price", "DOUBLE", "Median unit price paid."),
                Column(
                    "priced_lines",
                    "BIGINT",
                    "Lines whose product has a usual (median) price to compare with.",
                ),
                Column(
                    "off_price_lines",
                    "BIGINT",
                    "Lines priced 2x or more away from the product's usual price.",
                ),
                Column("max_returned_units", "DOUBLE", "Largest quantity returned on one line."),
                Column(
                    "model_version",
                    "VARCHAR",
                    "Version of the MLflow model purchase_style_segments that assigned it.",
                ),
                Column("as_of", "TIMESTAMP", "Snapshot date of the features."),
            ),
        ),
        TableDoc(
            "segments.personas",
            "One row per customer: persona Loyal Customers / Big Spenders / At Risk / New / "
            "Occasional from k-means (k=4) on standardized log recency, frequency, monetary "
            "and average order value; each cluster takes the persona whose archetype is "
            "nearest its centroid (an assignment, never a fixed cluster id).",
            (
                Column("customer_id", "VARCHAR", "Customer identifier."),
                Column(
                    "persona",
                    "VARCHAR",
                    "Loyal Customers, Big Spenders, At Risk or New / Occasional.",
                ),
                Column("persona_cluster", "BIGINT", "k-means cluster id (internal; use persona)."),
                Column(
                    "distance_to_centroid",
                    "DOUBLE",
                    "Distance to the persona's centre in standard deviations: small = typical.",
                ),
                Column("recency_days", "BIGINT", "Days from the last purchase to the snapshot."),
                Column("frequency", "BIGINT", "Number of distinct orders."),
                Column("monetary", "DOUBLE", "Net spend."),
                Column("avg_order_value", "DOUBLE", "Average order value."),
                Column(
                    "model_version",
                    "VARCHAR",
                    "Version of the MLflow model customer_personas that assigned it.",
                ),
                Column("as_of", "TIMESTAMP", "Snapshot date of the features."),
            ),
        ),
        TableDoc(
            "bi.customer_intel",
            "The published snapshot DATA_DIR/bi/customer_intel.duckdb that BI tools and the "
            "dashboard read: the features, segments, scores and marts tables of one refresh, "
            "replaced atomically. Its table snapshot_info lists what it holds.",
            (
                Column("published_at", "TIMESTAMP", "When the snapshot was published (UTC)."),
                Column("run_id", "VARCHAR", "Dagster run that published it."),
                Column("table_name", "VARCHAR", "A table in the snapshot."),
                Column("row_count", "BIGINT", "Rows of that table."),
            ),
        ),
        TableDoc(
            "marts.monthly_revenue",
            "Revenue, orders, customers and newcomers per calendar month, for seasonality.",
            (
                Column("month", "DATE", "First day of the month."),
                Column("year", "BIGINT", "Calendar year."),
                Column("month_of_year", "BIGINT", "1 = January ... 12 = December."),
                Column("revenue", "DOUBLE", "Purchase revenue in the month."),
                Column("returns_amount", "DOUBLE", "Value of returns in the month."),
                Column("net_revenue", "DOUBLE", "Revenue minus returns."),
                Column("orders", "BIGINT", "Distinct orders."),
                Column("customers", "BIGINT", "Distinct buying customers."),
                Column("new_customers", "BIGINT", "Customers whose first purchase is this month."),
                Column("avg_order_value", "DOUBLE", "Revenue / orders."),
                Column("revenue_yoy_growth", "DOUBLE", "Revenue vs the same month a year before."),
                Column("seasonality_index", "DOUBLE", "Revenue / average monthly revenue."),
            ),
        ),
        # --- models (scores) and their marts: pipeline/modelling, assets/models.py ---
        TableDoc(
            "scores.churn",
            "One row per customer: the risk of no purchase in the horizon after the snapshot, "
            "from a logistic regression on standardised behaviour features (registered "
            "champion customer_churn), with the top 3 reasons.",
            (
                Column("customer_id", "VARCHAR", "Customer identifier."),
                Column("churn_probability", "DOUBLE", "P(no purchase in the horizon), 0-1."),
                Column("churn_risk_pct", "DOUBLE", "100 x churn_probability, 0-100."),
                Column("churn_risk_band", "VARCHAR", "high (>= 70), medium (>= 30) or low."),
                Column(
                    "top_reasons",
                    "VARCHAR",
                    "Top 3 reasons: feature=value (contribution to the logit, up/down).",
                ),
                Column(
                    "reasons",
                    "STRUCT(feature VARCHAR, value DOUBLE, contribution DOUBLE, "
                    "direction VARCHAR)[]",
                    "The top reasons as records; contribution = coefficient x standardised value.",
                ),
                Column("model_name", "VARCHAR", "Registered MLflow model."),
                Column("model_version", "VARCHAR", "Registered version that scored."),
                Column("horizon_days", "BIGINT", "Length of the horizon, days."),
                Column("as_of", "TIMESTAMP", "Snapshot: features use purchases before it."),
                Column("horizon_end", "TIMESTAMP", "End of the horizon (exclusive)."),
            ),
        ),
        TableDoc(
            "scores.propensity",
            "One row per customer: P(at least one purchase in the horizon after the snapshot), "
            "calibrated, the expected orders and spend, and the top 3 reasons (registered "
            "champion purchase_propensity).",
            (
                Column("customer_id", "VARCHAR", "Customer identifier."),
                Column("purchase_probability", "DOUBLE", "P(purchase in the horizon), 0-1."),
                Column("propensity_decile", "BIGINT", "Decile of the probability, 10 = highest."),
                Column(
                    "expected_orders",
                    "DOUBLE",
                    "purchase_probability x BG/NBD orders of a buyer (E[X] / P(X > 0)).",
                ),
                Column(
                    "predicted_spend",
                    "DOUBLE",
                    "expected_orders x net order value so far (net spend / orders, capped "
                    "at the 99th percentile of customers).",
                ),
                Column("bgnbd_p_alive", "DOUBLE", "BG/NBD P(still active), trading clock."),
                Column(
                    "top_reasons",
                    "VARCHAR",
                    "Top 3 reasons: feature=value (contribution to the logit, up/down).",
                ),
                Column(
                    "reasons",
                    "STRUCT(feature VARCHAR, value DOUBLE, contribution DOUBLE, "
                    "direction VARCHAR)[]",
                    "The top reasons as records; contribution = coefficient x standardised value.",
                ),
                Column("model_name", "VARCHAR", "Registered MLflow model."),
                Column("model_version", "VARCHAR", "Registered version that scored."),
                Column(
                    "model_kind",
                    "VARCHAR",
                    "Selected candidate: logistic, gradient_boosting or bgnbd_trading_clock.",
                ),
                Column("horizon_days", "BIGINT", "Length of the horizon, days."),
                Column("as_of", "TIMESTAMP", "Snapshot: features use purchases before it."),
                Column("horizon_end", "TIMESTAMP", "End of the horizon (exclusive)."),
            ),
        ),
        TableDoc(
            "scores.product_propensity",
            "One row per customer and modelled product category: P(buying the category in "
            "the horizon after the snapshot) (registered champion "
            "product_category_propensity). Empty when the data has no product columns.",
            (
                Column("customer_id", "VARCHAR", "Customer identifier."),
                Column("category", "VARCHAR", "Product category (features.product_categories)."),
                Column("probability", "DOUBLE", "P(buys the category in the horizon), 0-1."),
                Column("category_rank", "BIGINT", "The category's rank for the customer, 1 = top."),
                Column("bought_before", "BOOLEAN", "The customer bought the category before."),
                Column("past_line_share", "DOUBLE", "Share of the customer's lines in it so far."),
                Column("model_name", "VARCHAR", "Registered MLflow model."),
                Column("model_version", "VARCHAR", "Registered version that scored."),
                Column("horizon_days", "BIGINT", "Length of the horizon, days."),
                Column("as_of", "TIMESTAMP", "Snapshot: features use purchases before it."),
            ),
        ),
        TableDoc(
            "scores.model_evaluation",
            "How good each model is, one row per model, candidate, dataset and metric: the "
            "validation figures of the version trained in the refresh (held-out customers at "
            "the cutoff, next to its baselines and candidates) and, on demo data, the written "
            "scores against what the customers really did (dataset truth).",
            (
                Column("model_name", "VARCHAR", "Registered MLflow model."),
                Column(
                    "model_version",
                    "VARCHAR",
                    "Version evaluated: the one trained in the refresh (validation), the "
                    "champion that wrote the scores (truth).",
                ),
                Column(
                    "champion_version",
                    "VARCHAR",
                    "Champion after the refresh: the version that scored the customers.",
                ),
                Column(
                    "candidate",
                    "VARCHAR",
                    "Predictions evaluated: the registered model, a baseline (bgnbd) or a "
                    "candidate the selection compared.",
                ),
                Column(
                    "is_registered",
                    "BOOLEAN",
                    "True for the registered model's own predictions.",
                ),
                Column(
                    "dataset",
                    "VARCHAR",
                    "validation (held-out customers at the cutoff) or truth (demo outcomes in "
                    "the horizon after the snapshot).",
                ),
                Column(
                    "metric",
                    "VARCHAR",
                    "roc_auc, pr_auc, brier, log_loss, ece, customers, outcome_rate or "
                    "mean_probability.",
                ),
                Column("value", "DOUBLE", "The figure (NaN when undefined, e.g. one outcome)."),
                Column(
                    "window_start",
                    "TIMESTAMP",
                    "Start of the horizon whose outcomes were evaluated (cutoff or snapshot).",
                ),
            ),
        ),
        TableDoc(
            "scores.calibration_curve",
            "Calibration of each model on the validation customers: per bin of predicted "
            "probability (10 equal-width bins), the mean prediction and the observed rate; a "
            "calibrated model lies on the diagonal.",
            (
                Column("model_name", "VARCHAR", "Registered MLflow model."),
                Column("model_version", "VARCHAR", "Version trained in the refresh."),
                Column("candidate", "VARCHAR", "Predictions binned (see scores.model_evaluation)."),
                Column("is_registered", "BOOLEAN", "True for the registered model's predictions."),
                Column("dataset", "VARCHAR", "validation (held-out customers at the cutoff)."),
                Column("bin", "BIGINT", "Probability bin, 0 = [0, 0.1) ... 9 = [0.9, 1]."),
                Column("bin_lower", "DOUBLE", "Lower edge of the bin."),
                Column("bin_upper", "DOUBLE", "Upper edge of the bin."),
                Column("mean_predicted", "DOUBLE", "Mean predicted probability in the bin."),
                Column("observed_rate", "DOUBLE", "Share of the bin's customers with the outcome."),
                Column("customers", "BIGINT", "Customers (or customer x category cells) in it."),
            ),
        ),
        TableDoc(
            "scores.churn_coefficients",
            "The churn champion's logistic-regression coefficients on standardised features, "
            "largest effect first: the change in the log-odds of churning for one standard "
            "deviation of the feature (positive raises the risk).",
            (
                Column("feature", "VARCHAR", "Model feature."),
                Column("coefficient", "DOUBLE", "Standardised coefficient (log-odds of churn)."),
                Column("scale", "VARCHAR", "Transform before standardising, e.g. log(1 + value)."),
                Column("coefficient_rank", "BIGINT", "1 = the largest absolute coefficient."),
                Column("model_name", "VARCHAR", "Registered MLflow model."),
                Column("model_version", "VARCHAR", "Champion version that scored scores.churn."),
            ),
        ),
        TableDoc(
            "marts.underperformers",
            "Predicted vs actual on the last complete horizon: every customer who had bought "
            "before it, the spend the propensity model expected (out of fold) and what they "
            "spent, classified under-performer / accurate / over-performer.",
            (
                Column("customer_id", "VARCHAR", "Customer identifier."),
                Column("window_start", "TIMESTAMP", "Start of the horizon (the cutoff)."),
                Column("window_end", "TIMESTAMP", "End of the horizon (exclusive)."),
                Column("purchase_probability", "DOUBLE", "Predicted P(purchase) at the cutoff."),
                Column("expected_orders", "DOUBLE", "Predicted orders in the horizon."),
                Column("predicted_spend", "DOUBLE", "Predicted net spend in the horizon."),
                Column("actual_orders", "BIGINT", "Orders placed in the horizon."),
                Column("actual_spend", "DOUBLE", "Net spend in the horizon (minus returns)."),
                Column("shortfall", "DOUBLE", "predicted_spend - actual_spend."),
                Column(
                    "tolerance",
                    "DOUBLE",
                    "max(tolerance share x predicted_spend, median net order value).",
                ),
                Column(
                    "performance",
                    "VARCHAR",
                    "under-performer (shortfall > tolerance), over-performer, or accurate.",
                ),
                Column("shortfall_rank", "BIGINT", "Rank by shortfall among under-performers."),
                Column("model_name", "VARCHAR", "Registered MLflow model."),
                Column("model_version", "VARCHAR", "Registered version that scored."),
            ),
        ),
        TableDoc(
            "marts.product_recommendations",
            "The product categories each customer is likely to buy next: categories whose "
            "probability in scores.product_propensity reaches the threshold (default 0.7), "
            "ranked per customer.",
            (
                Column("customer_id", "VARCHAR", "Customer identifier."),
                Column("category", "VARCHAR", "Recommended product category."),
                Column("probability", "DOUBLE", "P(buys the category in the horizon)."),
                Column("recommendation_rank", "BIGINT", "1 = the most likely category."),
                Column("bought_before", "BOOLEAN", "The customer bought the category before."),
                Column("threshold", "DOUBLE", "Probability threshold used."),
                Column("model_name", "VARCHAR", "Registered MLflow model."),
                Column("model_version", "VARCHAR", "Registered version that scored."),
                Column("as_of", "TIMESTAMP", "Snapshot of the scores."),
            ),
        ),
        TableDoc(
            "marts.customer_segments",
            "One row per customer with every label and score and the action from the plan: "
            "what marketing and BI tools read.",
            (
                Column("customer_id", "VARCHAR", "Customer identifier."),
                Column("country", "VARCHAR", "Customer country."),
                Column("recency_days", "BIGINT", "Days since the last purchase."),
                Column("frequency", "BIGINT", "Number of orders."),
                Column("monetary", "DOUBLE", "Net spend."),
                Column("tenure_days", "BIGINT", "Days since the first purchase."),
                Column("avg_order_value", "DOUBLE", "Average order value."),
                Column("r_score", "BIGINT", "Recency quintile, 5 = most recent."),
                Column("f_score", "BIGINT", "Frequency quintile."),
                Column("m_score", "BIGINT", "Monetary quintile."),
                Column("rfm_segment", "VARCHAR", "Named RFM segment."),
                Column("value_segment", "VARCHAR", "Low, Mid or High customer value."),
                Column("value_score", "DOUBLE", "Continuous value score behind the segment."),
                Column("purchase_style", "VARCHAR", "Regular, Bulk or Anomaly."),
                Column("style_reason", "VARCHAR", "Why the purchase style, in numbers."),
                Column(
                    "value_style_label", "VARCHAR", "Value x style label (VIP, Key Account...)."
                ),
                Column(
                    "persona",
                    "VARCHAR",
                    "Loyal Customers, Big Spenders, At Risk, New / Occasional.",
                ),
                Column("churn_probability", "DOUBLE", "P(no purchase in the horizon)."),
                Column("churn_risk_pct", "DOUBLE", "Churn risk, percent."),
                Column("churn_risk_band", "VARCHAR", "high, medium or low churn risk."),
                Column("purchase_probability", "DOUBLE", "P(purchase in the horizon)."),
                Column("propensity_decile", "BIGINT", "Decile of the purchase probability."),
                Column("expected_orders", "DOUBLE", "Expected orders in the horizon."),
                Column("expected_spend", "DOUBLE", "Expected spend in the horizon."),
                Column(
                    "performance",
                    "VARCHAR",
                    "over-performer, accurate or under-performer on the last complete horizon.",
                ),
                Column("shortfall", "DOUBLE", "Predicted minus actual spend on that horizon."),
                Column("propensity_reasons", "VARCHAR", "Top reasons for the propensity score."),
                Column("churn_reasons", "VARCHAR", "Top reasons for the churn risk."),
                Column("top_category", "VARCHAR", "Most likely next product category."),
                Column("top_category_probability", "DOUBLE", "Its probability."),
                Column("action", "VARCHAR", "Marketing action from the action plan."),
                Column("action_channel", "VARCHAR", "Channel of the action."),
                Column("action_priority", "BIGINT", "1 = most urgent."),
                Column("action_rule", "BIGINT", "Which rule of marts.action_plan assigned it."),
                Column("as_of", "TIMESTAMP", "Snapshot date of the features."),
            ),
        ),
        TableDoc(
            "marts.action_plan",
            "The action rules (first match wins) with the customers each one assigns.",
            (
                Column("rule_order", "BIGINT", "Order in which the rules are tried."),
                Column("action", "VARCHAR", "Marketing action."),
                Column("channel", "VARCHAR", "Channel (phone, email, account manager...)."),
                Column("priority", "BIGINT", "1 = most urgent."),
                Column("condition", "VARCHAR", "When the rule applies."),
                Column("description", "VARCHAR", "Why, for a marketer."),
                Column("customers", "BIGINT", "Customers assigned to the action."),
                Column("customers_pct", "DOUBLE", "Share of all customers, percent."),
                Column("expected_spend", "DOUBLE", "Their expected spend in the horizon."),
                Column("avg_churn_risk_pct", "DOUBLE", "Their average churn risk."),
                Column("example_customers", "VARCHAR[]", "Up to five customers, best first."),
            ),
        ),
        TableDoc(
            "marts.segment_summary",
            "Size, revenue share, average R/F/M, churn risk and propensity per segment, for "
            "each kind of segment.",
            (
                Column(
                    "segment_type",
                    "VARCHAR",
                    "rfm_segment, value_segment, purchase_style, "
                    "persona, value_style_label or action.",
                ),
                Column("segment", "VARCHAR", "The segment."),
                Column("customers", "BIGINT", "Customers in it."),
                Column("revenue", "DOUBLE", "Their net spend."),
                Column("revenue_share", "DOUBLE", "Share of the revenue within the segment type."),
                Column("avg_recency_days", "DOUBLE", "Average recency."),
                Column("avg_frequency", "DOUBLE", "Average number of orders."),
                Column("avg_monetary", "DOUBLE", "Average net spend."),
                Column("avg_churn_risk_pct", "DOUBLE", "Average churn risk, percent."),
                Column("avg_purchase_probability", "DOUBLE", "Average purchase probability."),
                Column("expected_spend", "DOUBLE", "Expected spend in the horizon."),
            ),
        ),
        TableDoc(
            "exports.segment_files",
            "CSV and Parquet files per action under DATA_DIR/exports/<run date>/ and the "
            "stable link DATA_DIR/exports/latest/, from marts.customer_segments.",
            (
                Column("customer_id", "VARCHAR", "Customer identifier."),
                Column("country", "VARCHAR", "Customer country."),
                Column("value_segment", "VARCHAR", "Low, Mid or High."),
                Column("purchase_style", "VARCHAR", "Regular, Bulk or Anomaly."),
                Column("persona", "VARCHAR", "Persona."),
                Column("rfm_segment", "VARCHAR", "Named RFM segment."),
                Column("churn_risk_pct", "DOUBLE", "Churn risk, percent."),
                Column("purchase_probability", "DOUBLE", "P(purchase in the horizon)."),
                Column("expected_spend", "DOUBLE", "Expected spend in the horizon."),
                Column("top_category", "VARCHAR", "Most likely next category."),
                Column("action", "VARCHAR", "Marketing action."),
                Column("action_channel", "VARCHAR", "Channel."),
            ),
        ),
        TableDoc(
            "marts.prediction_log",
            "Every live prediction for a new customer, append-only: inputs, outputs, model "
            "versions and when it was made.",
            (
                Column("prediction_id", "VARCHAR", "Identifier of the prediction."),
                Column(
                    "input_key",
                    "VARCHAR",
                    "Hash of the source and the customer's input "
                    "rows; the same input is never scored twice.",
                ),
                Column("customer_id", "VARCHAR", "Customer identifier."),
                Column("source", "VARCHAR", "File the customer came from."),
                Column("input_mode", "VARCHAR", "transactions or rfm."),
                Column("inputs", "VARCHAR", "The customer's input rows, as JSON."),
                Column(
                    "imputed_features",
                    "VARCHAR[]",
                    "Features taken from the median customer because the input lacked them.",
                ),
                Column("predicted_at", "TIMESTAMP", "When the prediction was made (UTC)."),
                Column("predicted_at_local", "TIMESTAMP", "The same time in display_timezone."),
                Column("display_timezone", "VARCHAR", "PIPELINE_TIMEZONE at prediction time."),
                Column("features_as_of", "TIMESTAMP", "Date the features were computed as of."),
                Column("value_segment", "VARCHAR", "Low, Mid or High."),
                Column("persona", "VARCHAR", "Persona."),
                Column("purchase_style", "VARCHAR", "Regular, Bulk or Anomaly (with quantities)."),
                Column("value_style_label", "VARCHAR", "Value x style label."),
                Column("churn_risk_pct", "DOUBLE", "Churn risk, percent."),
                Column("purchase_probability", "DOUBLE", "P(purchase in the horizon)."),
                Column("expected_spend", "DOUBLE", "Expected spend in the horizon."),
                Column("top_reasons", "VARCHAR", "Top reasons for the propensity."),
                Column("action", "VARCHAR", "Action from the action plan."),
                Column("action_channel", "VARCHAR", "Channel of the action."),
                Column("churn_model", "VARCHAR", "Churn model name and version."),
                Column("propensity_model", "VARCHAR", "Propensity model name and version."),
                Column("segment_models", "VARCHAR", "Segment models and versions."),
            ),
        ),
    )
}
