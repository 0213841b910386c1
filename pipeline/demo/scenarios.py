"""Named demo scenarios: the behaviour, the dirt and the columns each one writes.

| scenario   | what it shows                                                                  |
|------------|--------------------------------------------------------------------------------|
| `retail`   | the default: a UCI-like online retailer, new customers every month through the |
|            | last day, guests, cancellations, duplicates, rare monster orders               |
| `cohort`   | one cohort acquired in the first quarter, no later acquisition; no products:   |
|            | the file has no StockCode or Description (amounts, dates and customers only)   |
| `seasonal` | a strongly seasonal retailer: November about twelve times February, and more   |
|            | Christmas items in customers' baskets                                          |

Every scenario writes the same truth file (one row per customer, see ``truth``), so the
model and segment tests can compare with it whatever the scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pipeline.demo.parameters import UCI_COLUMNS, Behaviour, DirtRates

DEFAULT_SCENARIO = "retail"
COHORT_ACQUISITION_DAYS = 91  # the cohort: customers acquired in the first quarter


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    behaviour: Behaviour
    dirt: DirtRates
    columns: tuple[str, ...] = UCI_COLUMNS  # the columns the landing file holds


SCENARIOS: dict[str, Scenario] = {
    "retail": Scenario(
        "retail",
        "a UCI-like online retailer, new customers every month through the last day",
        Behaviour(),
        DirtRates(),
    ),
    "cohort": Scenario(
        "cohort",
        f"one cohort acquired in the first {COHORT_ACQUISITION_DAYS} days, no later "
        "acquisition, no product columns",
        Behaviour(acquisition_days=COHORT_ACQUISITION_DAYS),
        # Without stock codes, postage and fees cannot be told from products: none written.
        DirtRates(non_product_lines=0.0, bad_debt_rows=0.0),
        tuple(c for c in UCI_COLUMNS if c not in ("StockCode", "Description")),
    ),
    "seasonal": Scenario(
        "seasonal",
        "a strongly seasonal retailer (November about twelve times February)",
        Behaviour(seasonality=3.0, christmas_weight=3.0),
        DirtRates(),
    ),
}


def resolve_scenario(name: str, behaviour: Behaviour | None, dirt: DirtRates | None) -> Scenario:
    """The named scenario, with the caller's behaviour or dirt in place of its own."""
    if name not in SCENARIOS:
        raise ValueError(f"scenario must be one of {tuple(SCENARIOS)}, got {name!r}")
    chosen = SCENARIOS[name]
    return replace(chosen, behaviour=behaviour or chosen.behaviour, dirt=dirt or chosen.dirt)
