"""Action plan rules: which marketing action each customer gets, from segments and scores.

The rules live in a YAML file a marketer can read and change (``action_rules.yaml`` beside
this module, or ``DATA_DIR/action_rules.yaml`` when present). Rules are tried in order and
the first whose conditions all hold assigns the action; ``default`` catches the rest::

    rules:
      - action: Urgent VIP call
        channel: phone
        priority: 1
        when:
          value_segment: [High]          # the column's value is one of these
          churn_risk_pct: {min: 60}      # a number within [min, max] (either bound optional)
    default: {action: Newsletter, channel: email, priority: 5}

Conditions compile to one SQL CASE with quoted identifiers and bound values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline.sql_text import quote_identifier

DEFAULT_RULES_PATH = Path(__file__).with_name("action_rules.yaml")
# The export of every customer; no action may export under this name.
ALL_CUSTOMERS_EXPORT = "all_customers"


class ActionRulesError(ValueError):
    """The action rules file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Condition:
    column: str
    allowed: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def describe(self) -> str:
        if self.allowed:
            return f"{self.column} in ({', '.join(self.allowed)})"
        bounds = []
        if self.minimum is not None:
            bounds.append(f"{self.column} >= {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"{self.column} <= {self.maximum:g}")
        return " and ".join(bounds)


@dataclass(frozen=True)
class ActionRule:
    action: str
    channel: str
    priority: int
    conditions: tuple[Condition, ...] = field(default_factory=tuple)
    description: str = ""

    def describe(self) -> str:
        return " and ".join(c.describe() for c in self.conditions) or "everyone else"


@dataclass(frozen=True)
class ActionPlan:
    rules: tuple[ActionRule, ...]
    default: ActionRule

    @property
    def all_rules(self) -> tuple[ActionRule, ...]:
        return (*self.rules, self.default)

    def columns(self) -> set[str]:
        return {c.column for rule in self.rules for c in rule.conditions}


def export_name(action: str) -> str:
    """The file name (without extension) of an action's export: lower case, runs of other
    characters as one underscore ('Win-back offer!' -> 'win_back_offer')."""
    return re.sub(r"[^a-z0-9]+", "_", action.lower()).strip("_") or "action"


def _check_export_names(rules: tuple[ActionRule, ...], path: Path) -> None:
    """Two actions whose exports would share a file name would overwrite each other."""
    owners = {ALL_CUSTOMERS_EXPORT: "the export of every customer"}
    for rule in rules:
        name = export_name(rule.action)
        owner = owners.setdefault(name, f"action '{rule.action}'")
        if owner != f"action '{rule.action}'":
            raise ActionRulesError(
                f"{path}: action '{rule.action}' would be exported as {name}.csv, the file "
                f"of {owner}; rename one of them so that each export has its own file"
            )


def _condition(column: str, spec: object, where: str) -> Condition:
    if isinstance(spec, list):
        if not spec:
            raise ActionRulesError(f"{where}: {column} lists no values")
        return Condition(column, allowed=tuple(str(v) for v in spec))
    if isinstance(spec, dict):
        unknown = set(spec) - {"min", "max"}
        if unknown or not spec:
            raise ActionRulesError(f"{where}: {column} takes min and/or max, got {spec}")
        try:
            minimum = float(spec["min"]) if "min" in spec else None
            maximum = float(spec["max"]) if "max" in spec else None
        except (TypeError, ValueError) as error:
            raise ActionRulesError(f"{where}: {column} bounds must be numbers") from error
        return Condition(column, minimum=minimum, maximum=maximum)
    return Condition(column, allowed=(str(spec),))


def _rule(entry: object, where: str, with_conditions: bool = True) -> ActionRule:
    if not isinstance(entry, dict) or "action" not in entry:
        raise ActionRulesError(f"{where}: a rule needs at least an 'action'")
    when = entry.get("when") or {}
    if with_conditions and not when:
        raise ActionRulesError(f"{where}: rule '{entry['action']}' has no 'when' conditions")
    if not isinstance(when, dict):
        raise ActionRulesError(f"{where}: 'when' must map columns to conditions")
    try:
        priority = int(entry.get("priority", 5))
    except (TypeError, ValueError) as error:
        raise ActionRulesError(f"{where}: priority must be a whole number") from error
    return ActionRule(
        action=str(entry["action"]),
        channel=str(entry.get("channel", "email")),
        priority=priority,
        conditions=tuple(_condition(str(c), spec, where) for c, spec in when.items()),
        description=str(entry.get("description", "")),
    )


def load_action_plan(path: Path = DEFAULT_RULES_PATH) -> ActionPlan:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ActionRulesError(f"cannot read action rules {path}: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise ActionRulesError(f"{path}: expected a top-level 'rules:' list")
    rules = tuple(_rule(entry, f"{path}: rules[{i}]") for i, entry in enumerate(document["rules"]))
    default = _rule(
        document.get("default") or {"action": "No action", "channel": "none", "priority": 9},
        f"{path}: default",
        with_conditions=False,
    )
    _check_export_names((*rules, default), path)
    return ActionPlan(rules, default)


def load_configured_plan(user_rules_path: Path) -> ActionPlan:
    """The marketer's rules (``DATA_DIR/action_rules.yaml``) if present, else the shipped
    defaults."""
    return load_action_plan(user_rules_path if user_rules_path.exists() else DEFAULT_RULES_PATH)


def action_case_sql(plan: ActionPlan, available_columns: set[str]) -> tuple[str, dict]:
    """SQL returning the index of the first matching rule (the default's index otherwise),
    and its parameters. A condition on a column the table lacks never holds, so a file
    without products or a skipped model does not stop the plan."""
    parameters: dict[str, object] = {}
    branches = []
    for index, rule in enumerate(plan.rules):
        tests = []
        for c_index, condition in enumerate(rule.conditions):
            if condition.column not in available_columns:
                tests.append("false")
                continue
            column = quote_identifier(condition.column)
            name = f"r{index}_c{c_index}"
            if condition.allowed:
                parameters[name] = list(condition.allowed)
                tests.append(f"list_contains(${name}::VARCHAR[], CAST({column} AS VARCHAR))")
            else:
                if condition.minimum is not None:
                    parameters[name + "_min"] = condition.minimum
                    tests.append(f"{column} >= ${name}_min")
                if condition.maximum is not None:
                    parameters[name + "_max"] = condition.maximum
                    tests.append(f"{column} <= ${name}_max")
        branches.append(f"WHEN {' AND '.join(tests)} THEN {index}")
    return f"CASE {' '.join(branches)} ELSE {len(plan.rules)} END", parameters
