"""Seedable generator of realistic demo retail transactions in the UCI "Online Retail" layout.

The pipeline's embedded default runs on this data. :func:`generate_transactions` returns Arrow
tables, :func:`write_demo_data` writes the landing file and the latent truth per customer, and
``python -m pipeline.demo --rows 1000000 --data-dir data`` does the same from a shell.
Plain numpy + pyarrow (DuckDB only to write CSV); no Dagster import, no per-row Python loops.
Defaults live in :class:`Behaviour` and :class:`DirtRates` (``parameters``).

Modules, in the order the data flows: ``scenarios`` (named presets), ``trading_calendar``
(operational time to minutes), ``catalogue`` (products and prices), ``population``
(customers, acquisition, their orders and guest orders), ``baskets`` (lines, quantities,
prices), ``dirt`` (cancellations, non-product lines), ``simulation`` (one chunk of
customers to rows and truth), ``assembly`` (invoice numbers, duplicates, the transactions
table), ``truth`` (the truth table), ``generator`` (chunks until the rows fit), ``writers``
(files), ``realism`` (the figures against ``targets.yaml``) and ``cli``.

Columns, exactly as in UCI: InvoiceNo, StockCode, Description, Quantity, InvoiceDate,
UnitPrice, CustomerID, Country. In CSV, InvoiceDate reads ``12/1/2010 8:26`` (month/day/year,
24 h, no zero padding) and a guest row has an empty CustomerID. Customer ids are integers
counting up from 12346 (5 digits up to ~87,000 customers, about 12 million rows); invoice
numbers increase with time and have 6 digits (7 beyond 900,000 invoices, ~18 million rows).

Behavioural model (the latent truth per customer goes to ``customer_truth.parquet``)
-------------------------------------------------------------------------------
The default scenario, ``retail``, imitates the UCI "Online Retail" file; ``targets.yaml``
holds its figures (guests, cancellations, duplicates, prices, quantities, new customers,
returns, the largest line) and the bounds ``realism.py`` and its test hold the demo to.
``scenarios.py`` adds ``cohort`` (one quarter's cohort, no product columns) and
``seasonal`` (a strongly seasonal retailer).

* Acquisition: the first purchase falls anywhere from the first day through the last, as
  demand comes (more in the autumn, none on Saturdays): new customers every month, and
  customers with a tenure of days at the end. ``Behaviour.acquisition_days`` confines it
  to the first days of the period (the ``cohort`` scenario).
* Purchasing follows the BG/NBD story: orders arrive as a Poisson process with rate
  lambda ~ Gamma(shape 0.9, mean 9 orders a year); after each purchase, the first included,
  the customer drops out for good with probability p ~ Beta(0.7, 3.5). ``dropout_ts`` is the
  time of the purchase after which they left (null if still active at the end of the horizon).
  Time runs on a trading calendar (no Saturdays, a Christmas break, a busy autumn, shop hours
  7:00-20:00 peaking around noon); lambda is the rate averaged over that calendar.
  ``Behaviour.seasonality`` sharpens the monthly demand (3 in the ``seasonal`` scenario).
* Basket: an order has 1 + Poisson(mu) lines, mu ~ Gamma(shape 1.5, mean 20) per customer
  (UCI averages ~21 lines per invoice). Each line draws a category from the customer's
  preferences (a Dirichlet over 12 categories; Christmas items mostly from August to
  December), then a product by popularity within the category; a product appears at most
  once per order.
* Quantity: regular customers buy 1-24 per line, median 3 as in UCI (a quarter as many of
  items above GBP 8); bulk buyers (8 %) mostly two to four dozen, rarely hundreds, at a
  tier discount.
* Anomalous customers (2 %): lines at odd unit prices (far below list, or far above it on
  one unit) and, rarely, a monster line: 1,000 to 80,995 units (Pareto-tailed) of a cheap
  product, mostly cancelled within minutes, as UCI's largest line (80,995 at GBP 2.08).
* Country: 90 % United Kingdom, the rest from a weighted list of (mostly European) countries.
* Catalogue: ~3,000 stock codes (5 digits, some with a letter suffix as in 85123A) in 12
  categories. Each description contains its category word in capitals (``PINK SPOTTY
  T-LIGHT CANDLES``); base prices are log-normal by category (mostly 0.4-15) and rise 5 %
  a year.

Dirt, as in the real files (rates in :class:`DirtRates`)
--------------------------------------------------------
* guest orders without CustomerID (~25 % of lines), from one-off anonymous shoppers;
* cancellations: ~15 % of orders get a later invoice "C" + number that takes back a few of
  their lines (1 + Poisson(1.3), the largest amounts first, some in part) with negative
  quantities: ~1.7 % of lines, ~5 % of a month's revenue;
* zero prices (~0.2 % of product lines) and "Adjust bad debt" rows (stock code B, negative
  price, invoice "A" + number as in UCI, no CustomerID; a handful per million rows, at least 1);
* non-product stock codes (~0.5 % of lines): POST, DOT, C2, BANK CHARGES, M (some negative),
  D (discounts, negative on a C invoice), AMAZONFEE (some negative);
* exact duplicate lines (~1 %);
* monster quantities and odd prices from the anomalous customers.

Time and truth
--------------
Customers are simulated up to ``end_date + horizon_days``; only transactions on or before
``end_date`` (the last trading day, inclusive) are written. The truth table has one row per
customer that appears with a CustomerID: the latent parameters above, and outcomes for the
observed period and for the holdout window (the ``horizon_days`` days after ``end_date``).
Orders count purchase invoices; spend is net product revenue (purchase lines minus
cancellations dated in the window; duplicates and non-product lines excluded).
The same ``(n_rows, seed, scenario, parameters)`` always gives the same output. The truth
file's Parquet metadata names its scenario.
"""

from pipeline.demo.catalogue import CATEGORIES, NON_PRODUCT_LINES
from pipeline.demo.cli import main
from pipeline.demo.generator import DemoData, generate_transactions
from pipeline.demo.parameters import (
    CATALOGUE_FILE,
    DEFAULT_END_DATE,
    DEFAULT_HORIZON_DAYS,
    DEFAULT_START_DATE,
    EXCEL_MAX_ROWS,
    FILE_FORMATS,
    FIRST_CUSTOMER_ID,
    LANDING_STEM,
    TRUTH_FILE,
    UCI_COLUMNS,
    Behaviour,
    DirtRates,
)
from pipeline.demo.population import COUNTRIES
from pipeline.demo.scenarios import DEFAULT_SCENARIO, SCENARIOS, Scenario
from pipeline.demo.truth import TRUTH_COLUMNS
from pipeline.demo.writers import DemoSummary, write_demo_data

__all__ = [
    "CATALOGUE_FILE",
    "CATEGORIES",
    "COUNTRIES",
    "DEFAULT_END_DATE",
    "DEFAULT_HORIZON_DAYS",
    "DEFAULT_SCENARIO",
    "DEFAULT_START_DATE",
    "EXCEL_MAX_ROWS",
    "FILE_FORMATS",
    "FIRST_CUSTOMER_ID",
    "LANDING_STEM",
    "NON_PRODUCT_LINES",
    "SCENARIOS",
    "TRUTH_COLUMNS",
    "TRUTH_FILE",
    "UCI_COLUMNS",
    "Behaviour",
    "DemoData",
    "DemoSummary",
    "DirtRates",
    "Scenario",
    "generate_transactions",
    "main",
    "write_demo_data",
]
