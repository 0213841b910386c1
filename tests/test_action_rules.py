"""Action rules: loading, validation and first-match assignment in SQL."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.action_rules import (
    DEFAULT_RULES_PATH,
    ActionRulesError,
    action_case_sql,
    load_action_plan,
)

RULES = """
rules:
  - action: Urgent VIP call
    channel: phone
    priority: 1
    when: {value_segment: [High], churn_risk_pct: {min: 60}}
  - action: Account manager
    channel: account manager
    priority: 2
    when: {value_style_label: [Key Account]}
  - action: Reactivation offer
    priority: 3
    when: {persona: [At Risk], churn_risk_pct: {min: 30, max: 100}}
  - action: Category cross-sell
    priority: 4
    when: {top_category: [BAGS]}
default: {action: Newsletter, channel: email, priority: 5}
"""


@pytest.fixture
def plan(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return load_action_plan(path)


def assign(plan, rows: list[dict], columns: list[str]) -> list[str]:
    connection = duckdb.connect()
    values = ", ".join(
        "("
        + ", ".join(repr(row.get(c)) if row.get(c) is not None else "NULL" for c in columns)
        + ")"
        for row in rows
    )
    connection.execute(f"CREATE TABLE customers ({', '.join(f'{c} VARCHAR' for c in columns)})")
    connection.execute(f"INSERT INTO customers VALUES {values}")
    case, parameters = action_case_sql(plan, set(columns))
    casted = case.replace('"churn_risk_pct"', 'CAST("churn_risk_pct" AS DOUBLE)')
    indexes = [
        r[0] for r in connection.execute(f"SELECT {casted} FROM customers", parameters).fetchall()
    ]
    return [plan.all_rules[i].action for i in indexes]


def test_first_matching_rule_wins(plan):
    columns = ["value_segment", "churn_risk_pct", "value_style_label", "persona", "top_category"]
    rows = [
        {"value_segment": "High", "churn_risk_pct": "75", "value_style_label": "Key Account"},
        {"value_segment": "High", "churn_risk_pct": "10", "value_style_label": "Key Account"},
        {"value_segment": "Low", "churn_risk_pct": "45", "persona": "At Risk"},
        {"value_segment": "Low", "churn_risk_pct": "20", "persona": "At Risk"},
        {"value_segment": "Mid", "churn_risk_pct": "5", "top_category": "BAGS"},
        {"value_segment": "Mid", "churn_risk_pct": None},
    ]
    assert assign(plan, rows, columns) == [
        "Urgent VIP call",
        "Account manager",
        "Reactivation offer",
        "Newsletter",
        "Category cross-sell",
        "Newsletter",
    ]


def test_conditions_on_missing_columns_never_hold(plan):
    # A file without products: no top_category column, the rest still works.
    rows = [{"value_segment": "Mid", "churn_risk_pct": "5", "persona": "At Risk"}]
    assert assign(plan, rows, ["value_segment", "churn_risk_pct", "persona"]) == ["Newsletter"]


def test_rule_descriptions_read_like_conditions(plan):
    assert plan.rules[0].describe() == "value_segment in (High) and churn_risk_pct >= 60"
    assert plan.default.describe() == "everyone else"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: {}", "expected a top-level 'rules:' list"),
        ("rules:\n  - channel: email", "a rule needs at least an 'action'"),
        ("rules:\n  - action: X", "has no 'when' conditions"),
        ("rules:\n  - action: X\n    when: {a: {above: 3}}", "takes min and/or max"),
        ("rules:\n  - action: X\n    when: {a: {min: lots}}", "bounds must be numbers"),
        ("rules:\n  - action: X\n    priority: first\n    when: {a: [1]}", "whole number"),
    ],
)
def test_bad_rule_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ActionRulesError, match=message):
        load_action_plan(path)


def test_shipped_rules_load():
    plan = load_action_plan(DEFAULT_RULES_PATH)
    assert plan.rules and plan.default.action


@pytest.mark.parametrize(
    ("actions", "clash"),
    [
        (["Win-back offer", "Win back offer!"], "win_back_offer"),
        (["All customers"], "all_customers"),
        (["VIP call", "vip CALL"], "vip_call"),
    ],
)
def test_actions_whose_exports_share_a_file_are_refused(tmp_path, actions, clash):
    """Two actions exported under one file name would overwrite each other's customers."""
    rules = "".join(
        f"  - action: {action!r}\n    when: {{value_segment: [High]}}\n" for action in actions
    )
    path = tmp_path / "rules.yaml"
    path.write_text(f"rules:\n{rules}")
    with pytest.raises(ActionRulesError, match=rf"exported as {clash}\.csv") as raised:
        load_action_plan(path)
    assert "rename one" in str(raised.value)


def test_the_same_action_in_two_rules_shares_its_export(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  - action: Call\n    when: {value_segment: [High]}\n"
        "  - action: Call\n    when: {persona: [At Risk]}\n"
    )
    assert [rule.action for rule in load_action_plan(path).rules] == ["Call", "Call"]
