"""Seedable generator of realistic demo retail transactions in the UCI "Online Retail" layout.

The pipeline's embedded default runs on this data. :func:`generate_transactions` returns Arrow
tables, :func:`write_demo_data` writes the landing file and the latent truth per customer, and
``python -m pipeline.demo --rows 1000000 --data-dir data`` does the same from a shell.
Plain numpy + pyarrow (DuckDB only to write CSV); no Dagster import, no per-row Python loops.
Defaults live in :class:`Behaviour` and :class:`DirtRates` (``parameters``).

Modules, in the order the data flows: ``trading_calendar`` (operational time to minutes),
``catalogue`` (products and prices), ``population`` (customers, acquisition, their orders and
guest orders), ``baskets`` (lines, quantities, prices), ``dirt`` (cancellations, non-product
lines), ``simulation`` (one chunk of customers to rows and truth), ``assembly`` (invoice
numbers, duplicates, the transactions table), ``truth`` (the truth table), ``generator``
(chunks until the rows fit), ``writers`` (files) and ``cli``.

Columns, exactly as in UCI: InvoiceNo, StockCode, Description, Quantity, InvoiceDate,
UnitPrice, CustomerID, Country. In CSV, InvoiceDate reads ``12/1/2010 8:26`` (month/day/year,
24 h, no zero padding) and a guest row has an empty CustomerID. Customer ids are integers
counting up from 12346 (5 digits up to ~87,000 customers, about 12 million rows); invoice
numbers increase with time and have 6 digits (7 beyond 900,000 invoices, ~18 million rows).

Behavioural model (the latent truth per customer goes to ``customer_truth.parquet``)
-------------------------------------------------------------------------------
* Acquisition: the first purchase falls uniformly in the first 80 % of the observed period.
* Purchasing follows the BG/NBD story: orders arrive as a Poisson process with rate
  lambda ~ Gamma(shape 0.9, mean 7 orders a year); after each purchase, the first included,
  the customer drops out for good with probability p ~ Beta(0.7, 3.5). ``dropout_ts`` is the
  time of the purchase after which they left (null if still active at the end of the horizon).
  Time runs on a trading calendar (no Saturdays, a Christmas break, a busy autumn, shop hours
  7:00-20:00 peaking around noon); lambda is the rate averaged over that calendar.
* Basket: an order has 1 + Poisson(mu) lines, mu ~ Gamma(shape 1.5, mean 20) per customer
  (UCI averages ~21 lines per invoice). Each line draws a category from the customer's
  preferences (a Dirichlet over 12 categories; Christmas items mostly from August to
  December), then a product by popularity within the category; a product appears at most
  once per order.
* Quantity: regular customers buy 1-12 per line (fewer of expensive items); bulk buyers (8 %)
  24-600, mostly multiples of 12, at a tier discount.
* Anomalous customers (2 %): some lines of thousands to tens of thousands of units, mostly
  cancelled within hours, and some lines at odd unit prices.
* Country: 90 % United Kingdom, the rest from a weighted list of (mostly European) countries.
* Catalogue: ~3,000 stock codes (5 digits, some with a letter suffix as in 85123A) in 12
  categories. Each description contains its category word in capitals (``PINK SPOTTY
  T-LIGHT CANDLES``); base prices are log-normal by category (mostly 0.4-15) and rise 5 %
  a year.

Dirt, as in the real files (rates in :class:`DirtRates`)
--------------------------------------------------------
* guest orders without CustomerID (~20 % of lines), from one-off anonymous shoppers;
* cancellations: ~2 % of orders get a later invoice "C" + number that takes back some of
  their lines with negative quantities;
* zero prices (~0.2 % of product lines) and "Adjust bad debt" rows (stock code B, negative
  price, invoice "A" + number as in UCI, no CustomerID; a handful per million rows, at least 1);
* non-product stock codes (~0.5 % of lines): POST, DOT, C2, BANK CHARGES, M (some negative),
  D (discounts, negative on a C invoice), AMAZONFEE (some negative);
* exact duplicate lines (~1 %);
* extreme quantities and odd prices from the anomalous customers.

Time and truth
--------------
Customers are simulated up to ``end_date + horizon_days``; only transactions on or before
``end_date`` (the last trading day, inclusive) are written. The truth table has one row per
customer that appears with a CustomerID: the latent parameters above, and outcomes for the
observed period and for the holdout window (the ``horizon_days`` days after ``end_date``).
Orders count purchase invoices; spend is net product revenue (purchase lines minus
cancellations dated in the window; duplicates and non-product lines excluded).
The same ``(n_rows, seed, parameters)`` always gives the same output.
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
from pipeline.demo.truth import TRUTH_COLUMNS
from pipeline.demo.writers import DemoSummary, write_demo_data

__all__ = [
    "CATALOGUE_FILE",
    "CATEGORIES",
    "COUNTRIES",
    "DEFAULT_END_DATE",
    "DEFAULT_HORIZON_DAYS",
    "DEFAULT_START_DATE",
    "EXCEL_MAX_ROWS",
    "FILE_FORMATS",
    "FIRST_CUSTOMER_ID",
    "LANDING_STEM",
    "NON_PRODUCT_LINES",
    "TRUTH_COLUMNS",
    "TRUTH_FILE",
    "UCI_COLUMNS",
    "Behaviour",
    "DemoData",
    "DemoSummary",
    "DirtRates",
    "generate_transactions",
    "main",
    "write_demo_data",
]
