"""Model quality on demo data with known truth: the champion's scores vs plain BG/NBD.

    python benchmarks/model_quality.py                     # the 1M refresh (make bench)
    python benchmarks/model_quality.py --rows 10000000
    python benchmarks/model_quality.py --scenarios retail cohort seasonal   # no Dagster

The demo generator writes each customer's real outcome in the 90 days after the history
(DATA_DIR/demo/customer_truth.parquet). When the snapshot is the day after the history and
the horizon is 90 days, the asset scores/truth_evaluation compares the score tables the
refresh wrote (made with models:/NAME@champion) and plain BG/NBD and Pareto/NBD fits on the
same histories with that truth (pipeline/modelling/truth_report.py) and puts one table per
model in its metadata (keyed by the model's name). This script reads them
from the newest refresh run that has them in refresh.py's kept state
(BENCH_DATA_DIR/refresh-<rows>/; a refresh runs first when there is none) and prints them
with the differences to the baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    DEFAULT_DATA_DIR,
    log,
    machine_info,
    markdown_table,
    print_machine,
)
from live_scoring import ensure_refreshed  # noqa: E402
from refresh import read_runs  # noqa: E402

TRUTH_ASSET = "scores/truth_evaluation"
# Target -> the metadata key of its model's table on TRUTH_ASSET.
MODELS = {
    "purchase in the horizon": "purchase_propensity",
    "churn (no purchase in the horizon)": "customer_churn",
    "product category bought in the horizon": "product_category_propensity",
}
METRICS = ("roc_auc", "pr_auc", "brier", "log_loss", "ece")
HIGHER_IS_BETTER = {"roc_auc": True, "pr_auc": True, "brier": False, "log_loss": False}


def markdown_rows(text: str) -> list[dict[str, str]]:
    """The first Markdown table in ``text`` as a list of {header: cell}."""
    rows, headers = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            if headers:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if headers is None:
            headers = cells
        elif not set("".join(cells)) <= set("-: "):
            rows.append(dict(zip(headers, cells, strict=False)))
    return rows


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except (AttributeError, ValueError):
        return None


def baseline_verdicts(rows: list[dict]) -> list[str]:
    """The first row (the champion's scores) against each later row (the baselines)."""
    verdicts = []
    champion = rows[0] if rows else {}
    for baseline in rows[1:]:
        parts = []
        for metric in ("roc_auc", "brier"):
            a, b = _number(champion.get(metric)), _number(baseline.get(metric))
            if a is None or b is None:
                continue
            better = a > b if HIGHER_IS_BETTER[metric] else a < b
            parts.append(
                f"{metric} {a:.4f} vs {b:.4f} ({a - b:+.4f}: "
                f"{'better' if better else 'worse' if a != b else 'equal'})"
            )
        verdicts.append(f"{champion.get('model')} vs {baseline.get('model')}: " + "; ".join(parts))
    return verdicts


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def run_scenarios(args, info: dict) -> int:
    """Each scenario's figures (benchmarks/model_scenarios.py), and the target's verdict:
    the model beats both baselines on Brier, and is at most 0.002 behind either on ROC-AUC."""
    from model_scenarios import scenario_data, scenario_quality, value_quality

    if args.value_year:
        figures = {}
        for scenario in args.scenarios:
            folder = scenario_data(args.data_dir, scenario, args.rows, args.seed, args.timeout, 365)
            figures[scenario] = value_quality(folder)
            print(f"\n## {scenario}: 12-month value against 365 days of truth\n")
            print(json.dumps(figures[scenario], indent=2))
        if args.json:
            args.json.write_text(json.dumps({"machine": info, "value": figures}, indent=2))
        return 0
    figures, met = {}, True
    for scenario in args.scenarios:
        folder = scenario_data(args.data_dir, scenario, args.rows, args.seed, args.timeout)
        log(f"{scenario}: loading, training and scoring")
        result = scenario_quality(folder)
        figures[scenario] = result
        rows = result["propensity"]
        print(
            f"\n## {scenario}: {args.rows:,} rows requested, {result['customers']:,} customers "
            f"(selected {result['selected']}, calibrated on the {result['calibration']}; "
            f"{result['windows']} windows, {result['training_rows']:,} training rows)\n"
        )
        print(
            markdown_table(
                ["model", *METRICS, "customers"],
                [[r["model"], *(_cell(r[m]) for m in METRICS), r["customers"]] for r in rows],
            )
        )
        spend = result["spend"]
        print("\nSpend in the horizon:\n")
        print(markdown_table(list(spend[0]), [[_cell(v) for v in r.values()] for r in spend]))
        seconds = ", ".join(f"{k} {v:.1f} s" for k, v in result["seconds"].items())
        print(f"\nseconds: {seconds}\n")
        champion = rows[0]
        for baseline in rows[1:]:
            ok = champion["brier"] < baseline["brier"] and (
                champion["roc_auc"] >= baseline["roc_auc"] - 0.002
            )
            met &= ok
            print(
                f"- vs {baseline['model']}: Brier {champion['brier']:.4f} vs "
                f"{baseline['brier']:.4f}, ROC-AUC {champion['roc_auc']:.4f} vs "
                f"{baseline['roc_auc']:.4f}: {'target met' if ok else 'target missed'}"
            )
    print(f"\nTarget in every scenario: {'met' if met else 'missed'}")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "scenarios": figures}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="size of the refreshed state")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--scenarios",
        nargs="+",
        choices=("retail", "cohort", "seasonal"),
        help="train and compare on each demo scenario's own data, without Dagster "
        "(benchmarks/model_scenarios.py), instead of reading the refresh run",
    )
    parser.add_argument("--seed", type=int, default=42, help="generator seed (--scenarios)")
    parser.add_argument(
        "--value-year",
        action="store_true",
        help="with --scenarios: generate a 365-day truth and compare the 12-month CLV with it",
    )
    args = parser.parse_args(argv)

    info = machine_info()
    print_machine(info)
    if args.scenarios:
        return run_scenarios(args, info)
    folder = ensure_refreshed(args.data_dir, args.rows, args.timeout)
    run = next(
        (
            r
            for r in read_runs(folder / "home", "refresh")
            if r.status == "SUCCESS"
            and MODELS["purchase in the horizon"] in r.metadata.get(TRUTH_ASSET, {})
        ),
        None,
    )
    if run is None:
        notes = {
            r.run_id: r.metadata.get(TRUTH_ASSET, {}).get("truth_note")
            for r in read_runs(folder / "home", "refresh")
        }
        print(f"\nno refresh run in {folder / 'home'} compared with the demo truth: {notes}")
        return 1
    truth = run.metadata[TRUTH_ASSET]
    propensity = run.metadata.get("scores/propensity", {})
    print(
        f"\n## Model quality against the demo truth ({args.rows:,} rows requested; refresh run "
        f"{run.run_id}, {truth.get('truth_note')})\n"
    )
    print(
        f"as of {truth.get('as_of')}, horizon {propensity.get('horizon_days')} days; "
        f"propensity champion: {propensity.get('model')} (selected candidate: "
        f"{run.metadata.get('models/purchase_propensity', {}).get('selected_candidate')})\n"
    )
    table, figures, verdicts = [], {}, []
    for target, model in MODELS.items():
        rows = markdown_rows(str(truth.get(model, "")))
        figures[target] = rows
        for row in rows:
            table.append(
                [target, row.get("model", "?"), *(row.get(m, "-") for m in METRICS)]
                + [row.get("customers", "-")]
            )
        verdicts += [f"{target}: {line}" for line in baseline_verdicts(rows)]
    print(markdown_table(["target", "model", *METRICS, "customers"], table))
    spend = str(truth.get(MODELS["purchase in the horizon"], ""))
    if "spend in the horizon" in spend:
        spend_rows = markdown_rows(spend.split("spend in the horizon", 1)[1])
        figures["spend in the horizon"] = spend_rows
        if spend_rows:
            headers = list(spend_rows[0])
            print("\nSpend in the horizon (predicted vs the truth):\n")
            print(markdown_table(headers, [[r.get(h, "") for h in headers] for r in spend_rows]))
    print("\n### Champion vs the plain BG/NBD and Pareto/NBD baselines\n")
    for line in verdicts:
        print(f"- {line}")
    print(
        "\nroc_auc, pr_auc: higher is better; brier, log_loss, ece (expected calibration "
        "error): lower is better."
    )
    if args.json:
        payload = {"machine": info, "run_id": run.run_id, "figures": figures}
        args.json.write_text(json.dumps(payload, indent=2))
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
