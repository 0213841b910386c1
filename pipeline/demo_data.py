"""Seedable generator of realistic demo retail transactions in the UCI "Online Retail" layout.

The pipeline's embedded default runs on this data. :func:`generate_transactions` returns Arrow
tables, :func:`write_demo_data` writes the landing file and the latent truth per customer, and
``python -m pipeline.demo_data --rows 1000000 --data-dir data`` does the same from a shell.
Plain numpy + pyarrow (DuckDB only to write CSV); no Dagster import, no per-row Python loops.
Defaults live in :class:`Behaviour` and :class:`DirtRates`; 10 million rows take ~10 s.

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

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

UCI_COLUMNS: tuple[str, ...] = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
UCI_DATE_FORMAT = "%-m/%-d/%Y %-H:%M"  # DuckDB strftime: 12/1/2010 8:26
DEFAULT_START_DATE = date(2009, 12, 1)
DEFAULT_END_DATE = date(2011, 12, 9)
DEFAULT_HORIZON_DAYS = 90
FIRST_CUSTOMER_ID = 12346
FIRST_INVOICE_NO = 489434  # the first invoice of UCI Online Retail II (2009-12-01)
EXCEL_MAX_ROWS = 1_048_575  # data rows that fit under the header of one Excel sheet
LANDING_STEM = "online_retail_demo"
TRUTH_FILE = "customer_truth.parquet"
CATALOGUE_FILE = "product_catalogue.parquet"
FILE_FORMATS = ("csv", "parquet", "xlsx")

CATEGORIES: tuple[str, ...] = (
    "BAGS",
    "CANDLES",
    "CHRISTMAS",
    "KITCHEN",
    "LIGHTS",
    "CARDS",
    "TOYS",
    "GARDEN",
    "VINTAGE",
    "HOME DECOR",
    "JEWELLERY",
    "STATIONERY",
)
_XMAS = CATEGORIES.index("CHRISTMAS")
# Share of catalogue and of demand per category, and the median base price per category.
_CATEGORY_SHARE = np.array([12, 8, 9, 11, 7, 7, 7, 6, 8, 11, 6, 8], dtype=np.float64)
_CATEGORY_MEDIAN_PRICE = np.array(
    [1.9, 1.5, 1.4, 3.2, 4.0, 0.6, 2.4, 3.6, 4.2, 3.8, 2.2, 0.9], dtype=np.float64
)
# Each noun carries its category word, so every description names its category.
_NOUNS: tuple[tuple[str, ...], ...] = (
    (
        "JUMBO SHOPPER BAGS",
        "LUNCH BAGS",
        "GIFT BAGS",
        "TOTE BAGS",
        "STORAGE BAGS",
        "CHARLOTTE BAGS",
    ),
    (
        "T-LIGHT CANDLES",
        "PILLAR CANDLES",
        "SCENTED CANDLES",
        "FLOATING CANDLES",
        "TEA CANDLES",
        "BIRTHDAY CANDLES",
    ),
    (
        "CHRISTMAS BAUBLE",
        "CHRISTMAS STOCKING",
        "CHRISTMAS TREE DECORATION",
        "CHRISTMAS GARLAND",
        "CHRISTMAS CRACKERS",
        "CHRISTMAS WREATH",
    ),
    (
        "KITCHEN SCALES",
        "KITCHEN APRON",
        "KITCHEN TEA TOWELS",
        "KITCHEN STORAGE JAR",
        "KITCHEN TIMER",
        "KITCHEN CAKE TINS",
    ),
    (
        "FAIRY LIGHTS",
        "STRING LIGHTS",
        "NIGHT LIGHTS",
        "LANTERN LIGHTS",
        "LED LIGHTS",
        "BALL LIGHTS",
    ),
    (
        "GREETING CARDS",
        "BIRTHDAY CARDS",
        "PLAYING CARDS",
        "POST CARDS",
        "GIFT TAG CARDS",
        "THANK YOU CARDS",
    ),
    ("PULL-ALONG TOYS", "SPINNING TOYS", "BATH TOYS", "SOFT TOYS", "WIND-UP TOYS", "PUZZLE TOYS"),
    (
        "GARDEN MARKER",
        "GARDEN THERMOMETER",
        "GARDEN PLANTER",
        "GARDEN KNEELER",
        "GARDEN TOOL SET",
        "GARDEN BIRD FEEDER",
    ),
    (
        "VINTAGE DOORMAT",
        "VINTAGE PHOTO FRAME",
        "VINTAGE WALL CLOCK",
        "VINTAGE TIN SIGN",
        "VINTAGE PICNIC BASKET",
        "VINTAGE TEA SET",
    ),
    (
        "HOME DECOR CUSHION COVER",
        "HOME DECOR WALL ART",
        "HOME DECOR DOOR STOP",
        "HOME DECOR COAT RACK",
        "HOME DECOR MIRROR",
        "HOME DECOR VASE",
    ),
    (
        "JEWELLERY BOX",
        "JEWELLERY STAND",
        "BEAD JEWELLERY SET",
        "JEWELLERY TRINKET DISH",
        "JEWELLERY CHARM BRACELET",
        "JEWELLERY HAIR CLIPS",
    ),
    (
        "STATIONERY SET",
        "STATIONERY NOTEBOOK",
        "STATIONERY PENCIL CASE",
        "STATIONERY WRAPPING PAPER",
        "STATIONERY STICKER SHEET",
        "STATIONERY ERASERS",
    ),
)
_ADJECTIVES: tuple[str, ...] = (
    "HANGING",
    "HEART",
    "RETROSPOT",
    "REGENCY",
    "ANTIQUE",
    "STAR",
    "SPOTTY",
    "FLORAL",
    "PAISLEY",
    "GINGHAM",
    "ENAMEL",
    "WOODEN",
    "GLASS",
    "METAL",
    "CERAMIC",
    "FELT",
    "ZINC",
    "LACE",
    "PARISIENNE",
    "SCANDINAVIAN",
    "FRENCH",
    "BAROQUE",
    "SKULL",
    "OWL",
    "BIRD",
    "ROSE",
    "DAISY",
    "POLKADOT",
    "STRIPY",
    "DOILY",
)
_COLOURS: tuple[str, ...] = (
    "WHITE",
    "RED",
    "PINK",
    "BLUE",
    "GREEN",
    "IVORY",
    "CREAM",
    "BLACK",
    "SILVER",
    "GOLD",
    "PURPLE",
    "ORANGE",
    "YELLOW",
    "PASTEL",
    "TURQUOISE",
    "LILAC",
)
_SUFFIXES = np.array(list("AAAABBBCCDEFGHLMNPS"))

# Non-product stock codes: (code, description, weight among non-product lines).
NON_PRODUCT_LINES: tuple[tuple[str, str, float], ...] = (
    ("POST", "POSTAGE", 0.40),
    ("DOT", "DOTCOM POSTAGE", 0.16),
    ("M", "Manual", 0.14),
    ("D", "Discount", 0.10),
    ("C2", "CARRIAGE", 0.08),
    ("BANK CHARGES", "Bank Charges", 0.06),
    ("AMAZONFEE", "AMAZON FEE", 0.06),
)
BAD_DEBT_CODE, BAD_DEBT_DESCRIPTION = "B", "Adjust bad debt"
(_POST, _DOT, _MANUAL, _DISCOUNT, _CARRIAGE, _BANK, _AMAZON) = range(len(NON_PRODUCT_LINES))

COUNTRIES: tuple[str, ...] = (
    "United Kingdom",
    "Germany",
    "France",
    "EIRE",
    "Spain",
    "Netherlands",
    "Belgium",
    "Switzerland",
    "Portugal",
    "Australia",
    "Norway",
    "Italy",
    "Channel Islands",
    "Finland",
    "Cyprus",
    "Sweden",
    "Austria",
    "Denmark",
    "Poland",
    "Japan",
    "USA",
    "Canada",
    "Greece",
    "Iceland",
)
# Relative weights of the countries after the United Kingdom.
_FOREIGN_WEIGHTS = np.array(
    [22, 20, 8, 6, 5, 6, 5, 5, 3, 3, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1], dtype=np.float64
)

# Trading calendar: relative demand by weekday (Monday first; no trading on Saturdays),
# by month, and by hour of the day from 7:00 to 20:00.
_WEEKDAY_WEIGHT = np.array([1.0, 1.1, 1.1, 1.25, 0.85, 0.0, 0.65])
_MONTH_WEIGHT = np.array([0.75, 0.7, 0.9, 0.8, 0.95, 0.9, 0.9, 0.95, 1.25, 1.35, 1.6, 1.1])
_HOUR_WEIGHT = np.array([2, 7, 10, 13, 14, 15, 13, 11, 7, 4, 2, 1.5, 0.5])
_FIRST_HOUR = 7

_REGULAR_QTY = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12, 24])
_REGULAR_QTY_P = np.array([0.24, 0.17, 0.08, 0.10, 0.03, 0.14, 0.04, 0.04, 0.13, 0.03])
_BULK_QTY = np.array(
    [24, 25, 36, 48, 50, 72, 96, 100, 120, 144, 192, 200, 240, 288, 300, 384, 400, 480, 576, 600]
)
_BULK_QTY_P = np.array([14, 3, 10, 12, 3, 9, 8, 4, 5, 7, 4, 3, 4, 3, 2, 2, 2, 2, 2, 1], dtype=float)
_BULK_QTY_P /= _BULK_QTY_P.sum()

_MAX_CHUNK_CUSTOMERS = 4000
_PRIOR_ROWS_PER_CUSTOMER = 140.0  # first guess of written rows per registered customer


@dataclass(frozen=True)
class DirtRates:
    """How dirty the output is, as shares of lines (or orders) as in the real UCI files."""

    guest_lines: float = 0.20  # lines from guest orders, written without CustomerID
    cancelled_orders: float = 0.02  # orders later taken back (partly) on a "C" invoice
    cancelled_line_share: float = 0.4  # share of a cancelled order's lines it takes back
    zero_price_lines: float = 0.002  # product lines with UnitPrice 0
    non_product_lines: float = 0.005  # POST, DOT, M, D, C2, BANK CHARGES, AMAZONFEE
    duplicate_lines: float = 0.01  # exact copies of a line
    bad_debt_rows: float = 5e-6  # "Adjust bad debt" rows (at least one when > 0)

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not 0.0 <= value < 1.0:
                raise ValueError(f"DirtRates.{name} must be in [0, 1), got {value!r}")


@dataclass(frozen=True)
class Behaviour:
    """Distributions of the latent customer truth (see the module docstring)."""

    orders_per_year_mean: float = 7.0  # lambda ~ Gamma(shape, mean / shape)
    orders_per_year_shape: float = 0.9
    dropout_a: float = 0.7  # p ~ Beta(a, b): drop-out probability after each purchase
    dropout_b: float = 3.5
    extra_lines_mean: float = 20.0  # lines per order = 1 + Poisson(mu), mu ~ Gamma
    extra_lines_shape: float = 1.5
    bulk_share: float = 0.08
    anomalous_share: float = 0.02
    acquisition_share: float = 0.8  # acquisitions spread over this share of the period
    preference_concentration: float = 3.0  # Dirichlet alpha = concentration * category share
    uk_share: float = 0.9
    n_products: int = 3000

    def __post_init__(self) -> None:
        positive = (
            "orders_per_year_mean",
            "orders_per_year_shape",
            "dropout_a",
            "dropout_b",
            "extra_lines_mean",
            "extra_lines_shape",
            "preference_concentration",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"Behaviour.{name} must be positive")
        for name in ("bulk_share", "anomalous_share", "uk_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"Behaviour.{name} must be in [0, 1]")
        if not 0.0 < self.acquisition_share <= 1.0:
            raise ValueError("Behaviour.acquisition_share must be in (0, 1]")
        if not 100 <= self.n_products <= 60_000:
            raise ValueError("Behaviour.n_products must be between 100 and 60,000")


@dataclass(frozen=True)
class DemoData:
    """Generated data: the transactions as written, the truth per customer, the catalogue."""

    transactions: pa.Table  # UCI columns; InvoiceDate timestamp[us], CustomerID int32 (nulls)
    truth: pa.Table  # one row per customer with a CustomerID (see TRUTH_COLUMNS)
    catalogue: pa.Table  # stock_code, description, category, base_price
    seed: int
    start_date: date
    end_date: date  # last day written (inclusive)
    horizon_days: int
    n_invoices: int

    @property
    def observation_end(self) -> datetime:
        """Exclusive end of the written period: midnight after ``end_date``."""
        return datetime.combine(self.end_date + timedelta(days=1), datetime.min.time())

    @property
    def horizon_end(self) -> datetime:
        """Exclusive end of the holdout window the truth's ``future_*`` columns cover."""
        return self.observation_end + timedelta(days=self.horizon_days)


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`write_demo_data` wrote."""

    transactions_path: Path
    truth_path: Path
    catalogue_path: Path
    file_format: str
    n_rows: int
    n_customers: int  # customers with a CustomerID (= truth rows)
    n_invoices: int
    seed: int
    start_date: date
    end_date: date
    horizon_days: int
    seconds: float
    removed_files: tuple[Path, ...] = field(default=())  # earlier demo files in other formats

    def line(self) -> str:
        return (
            f"wrote {self.n_rows:,} rows, {self.n_customers:,} customers, "
            f"{self.n_invoices:,} invoices to {self.transactions_path} "
            f"(truth: {self.truth_path}) in {self.seconds:.1f} s"
        )


TRUTH_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "country",
    "acquisition_ts",
    "purchase_rate_per_year",
    "dropout_prob",
    "dropout_ts",
    "alive_at_end",
    "is_bulk",
    "is_anomalous",
    "mean_lines_per_order",
    "preferred_categories",
    "category_preferences",
    "n_orders_observed",
    "spend_observed",
    "future_orders",
    "future_spend",
    "purchased_in_horizon",
    "future_categories",
)


# --------------------------------------------------------------------------------------------
# Calendar and catalogue
# --------------------------------------------------------------------------------------------


class _Calendar:
    """Maps operational time (days of average demand) to calendar minutes since the start.

    Simulating in operational time and mapping through the inverse cumulative demand puts
    weekly, yearly and daily seasonality on a homogeneous Poisson process.
    """

    def __init__(self, start: date, end: date, horizon_days: int) -> None:
        self.n_obs_days = (end - start).days + 1
        self.n_days = self.n_obs_days + horizon_days
        day = np.arange(self.n_days).astype("timedelta64[D]") + np.datetime64(start, "D")
        weekday = (day.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        month = day.astype("datetime64[M]").astype(np.int64) % 12  # 0 = January
        day_of_month = (day - day.astype("datetime64[M]")).astype(np.int64) + 1
        closed = ((month == 11) & (day_of_month >= 23)) | ((month == 0) & (day_of_month <= 3))
        weight = _WEEKDAY_WEIGHT[weekday] * _MONTH_WEIGHT[month] * ~closed
        if weight[: self.n_obs_days].sum() <= 0:
            raise ValueError("the period from start_date to end_date has no trading day")
        self.weight = weight / weight.mean()
        self.cum = np.cumsum(self.weight)
        self.u_obs = float(self.cum[self.n_obs_days - 1])
        self.u_total = float(self.cum[-1])
        self.month = month.astype(np.int8)
        self.cutoff_min = self.n_obs_days * 1440
        self.end_min = self.n_days * 1440
        hour_cdf = np.concatenate(([0.0], np.cumsum(_HOUR_WEIGHT)))
        self._hour_cdf = hour_cdf / hour_cdf[-1]
        self._hour_min = (_FIRST_HOUR + np.arange(len(hour_cdf))) * 60.0

    def to_minutes(self, u: np.ndarray) -> np.ndarray:
        u = np.clip(u, 0.0, np.nextafter(self.u_total, 0.0))
        # The first day whose cumulative demand exceeds u: it always has demand > 0.
        d = np.minimum(np.searchsorted(self.cum, u, side="right"), self.n_days - 1)
        frac = np.clip((u - (self.cum[d] - self.weight[d])) / self.weight[d], 0.0, 1.0)
        minute_of_day = np.minimum(np.interp(frac, self._hour_cdf, self._hour_min), 1199.0)
        return d.astype(np.int64) * 1440 + minute_of_day.astype(np.int64)


@dataclass(frozen=True)
class _Catalogue:
    category: np.ndarray  # int8 per product; products are sorted by category
    base_price: np.ndarray
    cdf: np.ndarray  # category + cumulative popularity within the category
    first: np.ndarray  # first product index per category
    last: np.ndarray  # last product index per category
    codes: pa.Array  # stock codes: products, then NON_PRODUCT_LINES, then BAD_DEBT_CODE
    descriptions: pa.Array

    @property
    def n_products(self) -> int:
        return len(self.category)

    def draw(self, rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
        product = np.searchsorted(self.cdf, category + rng.random(len(category)), side="right")
        return np.clip(product, self.first[category], self.last[category]).astype(np.int32)

    def table(self) -> pa.Table:
        n = self.n_products
        return pa.table(
            {
                "stock_code": self.codes.slice(0, n),
                "description": self.descriptions.slice(0, n),
                "category": pc.take(pa.array(CATEGORIES), pa.array(self.category)),
                "base_price": pa.array(self.base_price),
            }
        )


def _largest_remainder(total: int, weights: np.ndarray, at_least_one: bool) -> np.ndarray:
    share = weights / weights.sum() * total
    counts = np.floor(share).astype(np.int64)
    counts[np.argsort(counts - share)[: total - counts.sum()]] += 1
    if at_least_one and total >= len(weights):
        while (counts == 0).any():
            counts[np.argmax(counts)] -= 1
            counts[np.argmin(counts)] += 1
    return counts


def _build_catalogue(rng: np.random.Generator, n_products: int) -> _Catalogue:
    n_cat = len(CATEGORIES)
    per_category = _largest_remainder(n_products, _CATEGORY_SHARE, at_least_one=True)
    category = np.repeat(np.arange(n_cat, dtype=np.int8), per_category)
    first = np.cumsum(per_category) - per_category
    last = first + per_category - 1
    # Descriptions: distinct colour + adjective + noun combinations within each category.
    n_combi = len(_COLOURS) * len(_ADJECTIVES) * len(_NOUNS[0])
    combi = np.concatenate([rng.choice(n_combi, size=k, replace=k > n_combi) for k in per_category])
    colour, rest = np.divmod(combi, len(_ADJECTIVES) * len(_NOUNS[0]))
    adjective, noun = np.divmod(rest, len(_NOUNS[0]))
    nouns = pa.array([noun_text for nouns in _NOUNS for noun_text in nouns])
    descriptions = pc.binary_join_element_wise(
        pc.take(pa.array(_COLOURS), pa.array(colour)),
        pc.take(pa.array(_ADJECTIVES), pa.array(adjective)),
        pc.take(nouns, pa.array(category.astype(np.int64) * len(_NOUNS[0]) + noun)),
        " ",
    )
    # A few carry a comma, as in UCI ("..., SET OF 6"), so CSV readers must honour quotes.
    packs = np.array(["", ", SET OF 3", ", SET OF 6", " , ASSORTED"], dtype=object)
    pack = np.where(rng.random(n_products) < 0.03, rng.integers(1, len(packs), n_products), 0)
    descriptions = pc.binary_join_element_wise(descriptions, pa.array(packs[pack]), "")
    # Stock codes: distinct 5-digit numbers, ~12 % with a letter suffix (85123A).
    number = rng.choice(np.arange(10002, 90000), size=n_products, replace=False)
    suffix = np.where(rng.random(n_products) < 0.12, rng.choice(_SUFFIXES, n_products), "")
    codes = pc.binary_join_element_wise(
        pc.cast(pa.array(number), pa.string()), pa.array(suffix.astype(object)), ""
    )
    # Base prices: log-normal around the category median, on a 0.05 grid (0.85, 2.95, ...).
    median = _CATEGORY_MEDIAN_PRICE[category]
    raw = np.clip(median * np.exp(rng.normal(0.0, 0.6, n_products)), 0.1, 60.0)
    grid = np.round(raw * 20.0) / 20.0
    base_price = np.round(np.where(grid >= 1.0, grid - 0.05, np.maximum(grid, 0.1)), 2)
    # Popularity: Zipf within each category, in random order.
    popularity = np.empty(n_products)
    for c in range(n_cat):
        k = per_category[c]
        weights = 1.0 / (1.0 + rng.permutation(k)) ** 0.9
        cum = np.cumsum(weights) / weights.sum()
        cum[-1] = 1.0
        popularity[first[c] : last[c] + 1] = cum
    cdf = category + popularity
    extra_codes = [code for code, _, _ in NON_PRODUCT_LINES] + [BAD_DEBT_CODE]
    extra_descriptions = [text for _, text, _ in NON_PRODUCT_LINES] + [BAD_DEBT_DESCRIPTION]
    return _Catalogue(
        category=category,
        base_price=base_price,
        cdf=cdf,
        first=first,
        last=last,
        codes=pa.concat_arrays([codes, pa.array(extra_codes)]),
        descriptions=pa.concat_arrays([descriptions, pa.array(extra_descriptions)]),
    )


# --------------------------------------------------------------------------------------------
# Simulation of one chunk of customers
# --------------------------------------------------------------------------------------------


@dataclass
class _Chunk:
    """Written rows of one chunk of customers, its invoices, and its customers' truth."""

    n_registered: int  # owners [0, n_registered) are customers, the rest are guest orders
    owner_country: np.ndarray
    rows_per_owner: np.ndarray
    # Rows (only those written); ``event`` indexes the chunk's events.
    event: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    price: np.ndarray
    owner: np.ndarray
    # Events (invoices): calendar minute and kind (0 purchase, 1 cancellation).
    event_minute: np.ndarray
    event_kind: np.ndarray
    # Truth of the registered customers.
    truth: dict[str, np.ndarray]

    def keep(self, keep_owner: np.ndarray) -> _Chunk:
        rows = keep_owner[self.owner]
        return _Chunk(
            n_registered=self.n_registered,
            owner_country=self.owner_country,
            rows_per_owner=np.where(keep_owner, self.rows_per_owner, 0),
            event=self.event[rows],
            product=self.product[rows],
            quantity=self.quantity[rows],
            price=self.price[rows],
            owner=self.owner[rows],
            event_minute=self.event_minute,
            event_kind=self.event_kind,
            truth=self.truth,
        )


def _draw_countries(rng: np.random.Generator, n: int, uk_share: float) -> np.ndarray:
    weights = np.concatenate(
        ([uk_share], (1 - uk_share) * _FOREIGN_WEIGHTS / _FOREIGN_WEIGHTS.sum())
    )
    return rng.choice(len(COUNTRIES), size=n, p=weights / weights.sum()).astype(np.int8)


def _draw_from_rows(rng: np.random.Generator, cum: np.ndarray, row: np.ndarray) -> np.ndarray:
    """One categorical draw per element of ``row`` from the probability rows of ``cum``.

    ``cum`` holds cumulative probabilities per row (last column exactly 1); offsetting each
    row by its index turns all rows into one sorted array, so a single searchsorted suffices.
    """
    n_rows, n_cols = cum.shape
    flat = (cum + np.arange(n_rows)[:, None]).ravel()
    position = np.searchsorted(flat, row + rng.random(len(row)), side="right")
    return np.clip(position - row.astype(np.int64) * n_cols, 0, n_cols - 1).astype(np.int8)


def _cumulative(prob: np.ndarray) -> np.ndarray:
    cum = np.cumsum(prob, axis=1)
    cum /= cum[:, -1:]
    cum[:, -1] = 1.0
    return cum


def _segment_cumsum(values: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative sums restarting at each segment, and each segment's total."""
    total = np.concatenate(([0.0], np.cumsum(values)))
    start = np.cumsum(lengths) - lengths
    base = total[start]
    within = total[1:] - np.repeat(base, lengths)
    return within, total[start + lengths] - base


def _simulate_chunk(
    rng: np.random.Generator,
    n_customers: int,
    cal: _Calendar,
    cat: _Catalogue,
    beh: Behaviour,
    dirt: DirtRates,
) -> _Chunk:
    c = n_customers
    # ---- latent customer truth
    acq_u = rng.uniform(0.0, beh.acquisition_share * cal.u_obs, c)
    shape = beh.orders_per_year_shape
    rate_year = rng.gamma(shape, beh.orders_per_year_mean / shape, c)
    p = np.clip(rng.beta(beh.dropout_a, beh.dropout_b, c), 1e-9, 1.0)
    n_purchases = rng.geometric(p)  # purchases until drop-out, the first included
    span = cal.u_total - acq_u
    k = rng.poisson(rate_year / 365.25 * span)  # repeat-purchase chances until the end
    m = np.minimum(n_purchases - 1, k)  # repeat purchases made
    drops = n_purchases - 1 <= k
    mu = rng.gamma(beh.extra_lines_shape, beh.extra_lines_mean / beh.extra_lines_shape, c)
    bulk = rng.random(c) < beh.bulk_share
    anomalous = rng.random(c) < beh.anomalous_share
    alpha = beh.preference_concentration * _CATEGORY_SHARE / _CATEGORY_SHARE.sum()
    preference = rng.dirichlet(alpha, c)
    country = _draw_countries(rng, c, beh.uk_share)

    # ---- repeat purchase times: the first m of k uniform order statistics on (acq, end],
    # from exponential spacings: U_(j) = S_j / S_(k+1), with S_(k+1) = S_m + Gamma(k - m + 1).
    rep_owner = np.repeat(np.arange(c), m)
    s_within, s_m = _segment_cumsum(rng.standard_exponential(len(rep_owner)), m)
    s_total = s_m + rng.standard_gamma((k - m + 1).astype(np.float64))
    rep_u = acq_u[rep_owner] + span[rep_owner] * s_within / s_total[rep_owner]
    last_rep = np.concatenate((rep_u, [0.0]))[np.where(m > 0, np.cumsum(m) - 1, len(rep_u))]
    dropout_u = np.where(m > 0, last_rep, acq_u)

    reg_order_owner = np.concatenate((np.arange(c), rep_owner))
    reg_order_u = np.concatenate((acq_u, rep_u))
    reg_order_min = cal.to_minutes(reg_order_u)
    reg_lines = 1 + rng.poisson(mu[reg_order_owner])

    # ---- guest orders: one-off anonymous shoppers, sized to the guest share of lines
    observed_lines = reg_lines[reg_order_min < cal.cutoff_min].sum()
    share = dirt.guest_lines
    n_guest = int(round(observed_lines * share / (1.0 - share) / (1.0 + beh.extra_lines_mean)))
    guest_u = rng.uniform(0.0, cal.u_obs, n_guest)
    guest_mu = rng.gamma(
        beh.extra_lines_shape, beh.extra_lines_mean / beh.extra_lines_shape, n_guest
    )
    n_owner = c + n_guest
    owner_pref = np.vstack((preference, rng.dirichlet(alpha, n_guest)))
    owner_country = np.concatenate((country, _draw_countries(rng, n_guest, beh.uk_share)))
    owner_bulk = np.concatenate((bulk, np.zeros(n_guest, bool)))
    owner_anomalous = np.concatenate((anomalous, np.zeros(n_guest, bool)))

    order_owner = np.concatenate((reg_order_owner, c + np.arange(n_guest))).astype(np.int32)
    order_u = np.concatenate((reg_order_u, guest_u))
    order_min = np.concatenate((reg_order_min, cal.to_minutes(guest_u)))
    n_lines = np.concatenate((reg_lines, 1 + rng.poisson(guest_mu)))
    n_orders = len(order_owner)
    order_observed = order_min < cal.cutoff_min

    # ---- order lines: category from the owner's preferences, then product by popularity
    line_order = np.repeat(np.arange(n_orders, dtype=np.int32), n_lines)
    n_total_lines = len(line_order)
    position = np.arange(n_total_lines) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
    line_owner = order_owner[line_order]
    cum_pref = _cumulative(owner_pref)
    category = _draw_from_rows(rng, cum_pref, line_owner)
    month = cal.month[order_min // 1440][line_order]
    off_season = (category == _XMAS) & (month < 7) & (rng.random(n_total_lines) < 0.85)
    category[off_season] = _draw_from_rows(rng, cum_pref, line_owner[off_season])
    product = cat.draw(rng, category)
    keep = np.ones(n_total_lines, bool)
    for attempt in range(4):  # a product at most once per order: redraw, finally drop
        pair = line_order.astype(np.int64) * cat.n_products + product
        ordering = np.argsort((pair << 20) | position)  # ties broken by position
        sorted_pair = pair[ordering]
        repeated = ordering[1:][sorted_pair[1:] == sorted_pair[:-1]]  # never position 0
        if len(repeated) == 0:
            break
        if attempt == 3:
            keep[repeated] = False
        else:
            product[repeated] = cat.draw(rng, category[repeated])

    # ---- quantities and prices
    is_bulk = owner_bulk[line_owner]
    quantity = np.where(
        is_bulk,
        rng.choice(_BULK_QTY, n_total_lines, p=_BULK_QTY_P),
        rng.choice(_REGULAR_QTY, n_total_lines, p=_REGULAR_QTY_P),
    )
    base = cat.base_price[product]
    quantity = np.where(~is_bulk & (base >= 8.0), -(-quantity // 4), quantity)
    is_anomalous = owner_anomalous[line_owner]
    extreme = is_anomalous & (rng.random(n_total_lines) < 0.06)
    quantity[extreme] = np.round(np.exp(rng.uniform(np.log(1000), np.log(80000), extreme.sum())))
    tier = np.where(quantity >= 100, 0.8, np.where(quantity >= 24, 0.9, 1.0))
    price_list_year = order_min[line_order] // (365 * 1440)  # prices change once a year
    price = np.maximum(np.round(base * tier * 1.05**price_list_year, 2), 0.01)
    odd = is_anomalous & (rng.random(n_total_lines) < 0.12)
    price[odd] = np.maximum(np.round(base[odd] * np.exp(rng.normal(0.0, 2.0, odd.sum())), 3), 0.001)
    price[rng.random(n_total_lines) < dirt.zero_price_lines] = 0.0
    quantity = quantity.astype(np.int32)

    # ---- cancellations: some lines of ~2 % of orders, and most extreme lines
    cancelled = rng.random(n_orders) < dirt.cancelled_orders
    cancelled_orders = np.flatnonzero(cancelled)
    cancel_event = np.full(n_orders, -1, np.int64)
    cancel_event[cancelled_orders] = n_orders + np.arange(len(cancelled_orders))
    cancel_u = order_u[cancelled_orders] + rng.exponential(2.0, len(cancelled_orders))
    taken_back = (
        cancelled[line_order]
        & keep
        & ((position == 0) | (rng.random(n_total_lines) < dirt.cancelled_line_share))
    )
    back_qty = quantity[taken_back]
    partial = (rng.random(len(back_qty)) < 0.25) & (back_qty > 1)
    back_qty = np.where(
        partial, np.ceil(back_qty * rng.uniform(0.2, 0.9, len(back_qty))), back_qty
    ).astype(np.int32)
    undone = np.flatnonzero(extreme & keep & (rng.random(n_total_lines) < 0.7))
    undo_event = n_orders + len(cancelled_orders) + np.arange(len(undone))
    undo_u = order_u[line_order[undone]] + rng.exponential(0.03, len(undone))

    # ---- non-product lines on observed orders
    observed_idx = np.flatnonzero(order_observed)
    n_np = rng.binomial(int(n_lines[observed_idx].sum()), dirt.non_product_lines)
    np_weights = np.array([w for _, _, w in NON_PRODUCT_LINES])
    kind = np.repeat(np.arange(len(np_weights)), _largest_remainder(n_np, np_weights, True))
    kind = rng.permutation(kind)
    guest_orders = observed_idx[order_owner[observed_idx] >= c]
    foreign_orders = observed_idx[owner_country[order_owner[observed_idx]] != 0]
    np_order = observed_idx[rng.integers(0, max(len(observed_idx), 1), n_np)]
    for pool, kinds in ((guest_orders, (_DOT, _AMAZON)), (foreign_orders, (_POST,))):
        if len(pool):
            mask = np.isin(kind, kinds) & (rng.random(n_np) < 0.85)
            np_order[mask] = pool[rng.integers(0, len(pool), mask.sum())]
    np_qty = np.ones(n_np, np.int32)
    np_qty[kind == _POST] = rng.choice([1, 2, 3], (kind == _POST).sum(), p=[0.7, 0.2, 0.1])
    negative = (
        (kind == _DISCOUNT)
        | ((kind == _MANUAL) & (rng.random(n_np) < 0.3))
        | ((kind == _AMAZON) & (rng.random(n_np) < 0.5))
    )
    np_qty[negative] = -1
    log_price = {
        _POST: (np.log(18.0), np.log(18.0)),
        _DOT: (np.log(10.0), np.log(1500.0)),
        _MANUAL: (np.log(0.5), np.log(500.0)),
        _DISCOUNT: (np.log(2.0), np.log(150.0)),
        _CARRIAGE: (np.log(50.0), np.log(50.0)),
        _BANK: (np.log(15.0), np.log(15.0)),
        _AMAZON: (np.log(100.0), np.log(8000.0)),
    }
    low = np.array([log_price[i][0] for i in range(len(np_weights))])[kind]
    high = np.array([log_price[i][1] for i in range(len(np_weights))])[kind]
    np_price = np.round(np.exp(rng.uniform(low, high)), 2)
    np_event = np_order.astype(np.int64)
    first_np_event = n_orders + len(cancelled_orders) + len(undone)
    np_event[negative] = first_np_event + np.arange(negative.sum())
    np_neg_u = order_u[np_order[negative]] + rng.exponential(0.01, negative.sum())

    # ---- events (invoices)
    event_u_extra = np.concatenate((cancel_u, undo_u, np_neg_u))
    event_minute = np.concatenate((order_min, cal.to_minutes(event_u_extra)))
    event_kind = np.concatenate((np.zeros(n_orders, np.int8), np.ones(len(event_u_extra), np.int8)))

    # ---- all rows (purchases, cancellations, undone extremes, non-product lines)
    kept = np.flatnonzero(keep)
    back = np.flatnonzero(taken_back)
    row_event = np.concatenate(
        (line_order[kept], cancel_event[line_order[back]], undo_event, np_event)
    )
    row_product = np.concatenate(
        (product[kept], product[back], product[undone], cat.n_products + kind)
    ).astype(np.int32)
    row_qty = np.concatenate((quantity[kept], -back_qty, -quantity[undone], np_qty))
    row_price = np.concatenate((price[kept], price[back], price[undone], np_price))
    row_owner = np.concatenate(
        (line_owner[kept], line_owner[back], line_owner[undone], order_owner[np_order])
    )
    n_product_rows = len(kept) + len(back) + len(undone)
    row_minute = event_minute[row_event]
    written = row_minute < cal.cutoff_min

    # ---- truth of the registered customers
    registered = row_owner < c
    in_horizon = ~written & (row_minute < cal.end_min)
    amount = row_qty.astype(np.float64) * row_price
    product_row = np.arange(len(row_event)) < n_product_rows

    def per_customer(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights[mask]
        return np.bincount(row_owner[mask], weights=w, minlength=c)[:c]

    reg_orders = order_owner < c
    future_line = (line_owner < c) & keep & (order_min[line_order] >= cal.cutoff_min)
    pair = np.unique(line_owner[future_line].astype(np.int64) * 16 + category[future_line])
    future_mask = np.bincount(pair // 16, weights=2.0 ** (pair % 16), minlength=c)[:c]
    dropout_min = np.where(drops, cal.to_minutes(dropout_u), -1)
    truth = {
        "country": country,
        "acquisition_min": reg_order_min[:c],
        "purchase_rate_per_year": rate_year,
        "dropout_prob": p,
        "dropout_min": dropout_min,
        "is_bulk": bulk,
        "is_anomalous": anomalous,
        "mean_lines_per_order": 1.0 + mu,
        "preference": preference.astype(np.float32),
        "n_orders_observed": np.bincount(order_owner[reg_orders & order_observed], minlength=c),
        "spend_observed": per_customer(registered & written & product_row, amount),
        "future_orders": np.bincount(order_owner[reg_orders & ~order_observed], minlength=c),
        "future_spend": per_customer(registered & in_horizon & product_row, amount),
        "future_mask": future_mask.astype(np.int64),
    }
    return _Chunk(
        n_registered=c,
        owner_country=owner_country,
        rows_per_owner=np.bincount(row_owner[written], minlength=n_owner),
        event=row_event[written],
        product=row_product[written],
        quantity=row_qty[written].astype(np.int32),
        price=row_price[written],
        owner=row_owner[written].astype(np.int32),
        event_minute=event_minute,
        event_kind=event_kind,
        truth=truth,
    )


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _as_date(value: date | datetime | str, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise ValueError(f"{name} must be a date like 2011-12-09, got {value!r}") from error


def _category_strings(codes: np.ndarray, decode: Callable[[int], str]) -> pa.Array:
    """Strings for integer codes, computing each distinct code once."""
    unique, inverse = np.unique(codes, return_inverse=True)
    return pc.take(pa.array([decode(int(u)) for u in unique], pa.string()), pa.array(inverse))


def _top3(code: int) -> str:
    return ",".join(CATEGORIES[(code // 12**i) % 12] for i in (2, 1, 0))


def _mask_categories(mask: int) -> str:
    return ",".join(name for bit, name in enumerate(CATEGORIES) if mask >> bit & 1)


def _timestamps(epoch_min: int, minutes: np.ndarray) -> pa.Array:
    return pa.array((epoch_min + minutes) * 60_000_000, pa.int64()).cast(pa.timestamp("us"))


def generate_transactions(
    n_rows: int,
    seed: int = 42,
    *,
    start_date: date | str = DEFAULT_START_DATE,
    end_date: date | str = DEFAULT_END_DATE,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    dirt: DirtRates | None = None,
    behaviour: Behaviour | None = None,
    chunk_customers: int = _MAX_CHUNK_CUSTOMERS,
    progress: bool = False,
) -> DemoData:
    """Generate about ``n_rows`` transaction rows (within a fraction of a percent for
    n_rows in the thousands and more) with the latent truth of every customer.

    ``end_date`` is the last day written (inclusive); ``horizon_days`` the holdout window
    after it that the truth's ``future_*`` columns describe. Customers are simulated in
    chunks of at most ``chunk_customers`` (a tqdm bar follows them when ``progress``); the
    output depends on ``(n_rows, seed, parameters)`` only.
    """
    bar = _progress_bar(n_rows) if progress else None
    try:
        return _generate(
            n_rows,
            seed,
            start_date=start_date,
            end_date=end_date,
            horizon_days=horizon_days,
            dirt=dirt,
            behaviour=behaviour,
            chunk_customers=chunk_customers,
            bar=bar,
        )
    finally:
        if bar is not None:
            bar.close()


def _progress_bar(n_rows: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=n_rows, unit="rows", unit_scale=True, desc="demo data: simulating")


def _generate(
    n_rows: int,
    seed: int,
    *,
    start_date: date | str,
    end_date: date | str,
    horizon_days: int,
    dirt: DirtRates | None,
    behaviour: Behaviour | None,
    chunk_customers: int,
    bar: Any,
) -> DemoData:
    if isinstance(n_rows, bool) or not isinstance(n_rows, int | np.integer) or n_rows < 1:
        raise ValueError(f"n_rows must be a positive integer, got {n_rows!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if horizon_days < 0:
        raise ValueError("horizon_days must be >= 0")
    if chunk_customers < 1:
        raise ValueError("chunk_customers must be >= 1")
    start = _as_date(start_date, "start_date")
    end = _as_date(end_date, "end_date")
    if end <= start:
        raise ValueError(f"end_date {end} must be after start_date {start}")
    dirt = dirt or DirtRates()
    beh = behaviour or Behaviour()
    n_rows, seed = int(n_rows), int(seed)

    cal = _Calendar(start, end, horizon_days)
    cat = _build_catalogue(
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,))), beh.n_products
    )
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
    n_bad_debt = round(n_rows * dirt.bad_debt_rows)
    if dirt.bad_debt_rows > 0 and n_rows >= 1000:
        n_bad_debt = max(n_bad_debt, 1)
    target = max(1, round(n_rows / (1.0 + dirt.duplicate_lines)) - n_bad_debt)

    chunks: list[_Chunk] = []
    owner_cid: list[np.ndarray] = []
    got, n_customers, simulated, rows_per_customer = 0, 0, 0, _PRIOR_ROWS_PER_CUSTOMER
    while got < target:
        remaining = target - got
        size = int(min(chunk_customers, np.ceil(remaining / rows_per_customer * 1.05) + 8))
        chunk_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, len(chunks))))
        chunk = _simulate_chunk(chunk_rng, size, cal, cat, beh, dirt)
        rows = int(chunk.rows_per_owner.sum())
        simulated += size
        rows_per_customer = max((got + rows) / simulated, 1.0)
        if rows > remaining:
            chunk = chunk.keep(_trim(chunk_rng, chunk, remaining))
            rows = int(chunk.rows_per_owner.sum())
            got = target  # stop here, whether a little under or not
        else:
            got += rows
        cid = np.full(len(chunk.rows_per_owner), -1, np.int64)
        customers = np.flatnonzero(chunk.rows_per_owner[: chunk.n_registered] > 0)
        cid[customers] = FIRST_CUSTOMER_ID + n_customers + np.arange(len(customers))
        n_customers += len(customers)
        chunks.append(chunk)
        owner_cid.append(cid)
        if bar is not None:
            bar.update(min(rows, n_rows - bar.n))
    if bar is not None:
        bar.update(max(n_rows - bar.n, 0))
        bar.set_description("demo data: assembling")
    transactions, truth, n_invoices = _assemble(
        chunks, owner_cid, cal, cat, rng, n_bad_debt, dirt, start
    )
    return DemoData(
        transactions=transactions,
        truth=truth,
        catalogue=cat.table(),
        seed=seed,
        start_date=start,
        end_date=end,
        horizon_days=horizon_days,
        n_invoices=n_invoices,
    )


def _trim(rng: np.random.Generator, chunk: _Chunk, room: int) -> np.ndarray:
    """Owners to keep from the last chunk: customers and guest orders in their proportions."""
    customers = chunk.rows_per_owner[: chunk.n_registered]
    guests = chunk.rows_per_owner[chunk.n_registered :]
    guest_room = round(room * guests.sum() / max(customers.sum() + guests.sum(), 1))
    return np.concatenate(
        (_fill(rng, customers, room - guest_room), _fill(rng, guests, guest_room))
    )


def _fill(rng: np.random.Generator, rows_per_owner: np.ndarray, room: int) -> np.ndarray:
    """Which owners (customers or guest orders) to keep so their rows just fit in ``room``.

    Whole owners in random order while they fit, then the later ones that still fit the gap,
    so the row count lands just under the target rather than one big customer over it.
    """
    order = rng.permutation(len(rows_per_owner))
    rows = rows_per_owner[order]
    cum = np.cumsum(rows)
    n_fit = int(np.searchsorted(cum, room, side="right"))
    take = np.zeros(len(order), bool)
    take[:n_fit] = True
    gap = room - (int(cum[n_fit - 1]) if n_fit else 0)
    rest = np.arange(n_fit, len(order))
    small = rest[(rows[rest] <= gap) & (rows[rest] > 0)]
    take[small[np.cumsum(rows[small]) <= gap]] = True
    if room > 0 and rows.any() and not take.any():  # nothing fits: the smallest owner
        take[np.argmin(np.where(rows > 0, rows, np.iinfo(np.int64).max))] = True
    keep = np.zeros(len(order), bool)
    keep[order[take]] = True
    return keep


def _assemble(
    chunks: list[_Chunk],
    owner_cid: list[np.ndarray],
    cal: _Calendar,
    cat: _Catalogue,
    rng: np.random.Generator,
    n_bad_debt: int,
    dirt: DirtRates,
    start: date,
) -> tuple[pa.Table, pa.Table, int]:
    event_offset = np.cumsum([0] + [len(ch.event_minute) for ch in chunks])
    n_events = int(event_offset[-1])
    bad_minute = cal.to_minutes(rng.uniform(0.0, cal.u_obs, n_bad_debt))
    event_minute = np.concatenate([ch.event_minute for ch in chunks] + [bad_minute])
    event_kind = np.concatenate(
        [ch.event_kind for ch in chunks] + [np.full(n_bad_debt, 2, np.int8)]
    )
    row_event = np.concatenate(
        [ch.event + off for ch, off in zip(chunks, event_offset[:-1], strict=True)]
        + [n_events + np.arange(n_bad_debt)]
    )
    product = np.concatenate(
        [ch.product for ch in chunks] + [np.full(n_bad_debt, len(cat.codes) - 1, np.int32)]
    )
    quantity = np.concatenate([ch.quantity for ch in chunks] + [np.ones(n_bad_debt, np.int32)])
    bad_price = -np.round(np.exp(rng.uniform(np.log(1000), np.log(20000), n_bad_debt)), 2)
    price = np.concatenate([ch.price for ch in chunks] + [bad_price])
    customer = np.concatenate(
        [cid[ch.owner] for ch, cid in zip(chunks, owner_cid, strict=True)]
        + [np.full(n_bad_debt, -1, np.int64)]
    )
    country = np.concatenate(
        [ch.owner_country[ch.owner] for ch in chunks] + [np.zeros(n_bad_debt, np.int8)]
    )

    # Invoice numbers follow time (purchases before cancellations in the same minute).
    used = np.zeros(len(event_minute), bool)
    used[row_event] = True
    used_idx = np.flatnonzero(used)
    order = np.lexsort((rng.random(len(used_idx)), event_kind[used_idx], event_minute[used_idx]))
    rank = np.empty(len(event_minute), np.int64)
    rank[used_idx[order]] = np.arange(len(used_idx))
    n_invoices = len(used_idx)
    # 6 digits from UCI's first number, or lower when there are many (7 beyond 900,000)
    first_no = max(100_000, min(FIRST_INVOICE_NO, 1_000_000 - n_invoices))
    invoice_kind = event_kind[used_idx[order]]
    invoice_no = pc.binary_join_element_wise(
        pc.take(pa.array(["", "C", "A"]), pa.array(invoice_kind)),
        pc.cast(pa.array(first_no + np.arange(n_invoices)), pa.string()),
        "",
    )
    # Rows in invoice order, lines in their generated order; duplicates next to the original.
    row_rank = rank[row_event]
    row_order = np.argsort((row_rank << 32) | np.arange(len(row_rank)))
    n = len(row_order)
    dup = rng.choice(n, size=rng.binomial(n, dirt.duplicate_lines), replace=False)
    row_order = row_order[np.sort(np.concatenate((np.arange(n), dup)))]

    row_rank = row_rank[row_order]
    customer = customer[row_order]
    epoch_min = int((np.datetime64(start, "m") - np.datetime64(0, "m")).astype(np.int64))
    transactions = pa.table(
        {
            "InvoiceNo": pc.take(invoice_no, pa.array(row_rank)),
            "StockCode": pc.take(cat.codes, pa.array(product[row_order])),
            "Description": pc.take(cat.descriptions, pa.array(product[row_order])),
            "Quantity": pa.array(quantity[row_order], pa.int32()),
            "InvoiceDate": _timestamps(epoch_min, event_minute[row_event[row_order]]),
            "UnitPrice": pa.array(price[row_order], pa.float64()),
            "CustomerID": pa.array(customer, pa.int32(), mask=customer < 0),
            "Country": pc.take(pa.array(COUNTRIES), pa.array(country[row_order])),
        }
    )

    # Truth: customers with a CustomerID, in id order.
    ids_per_chunk = [cid[: ch.n_registered] for ch, cid in zip(chunks, owner_cid, strict=True)]
    t = {
        name: np.concatenate(
            [ch.truth[name][ids >= 0] for ch, ids in zip(chunks, ids_per_chunk, strict=True)]
        )
        for name in chunks[0].truth
    }
    ids = np.concatenate([ids[ids >= 0] for ids in ids_per_chunk])
    pref = t["preference"]
    top = np.argsort(-pref, axis=1, kind="stable")[:, :3].astype(np.int64)
    dropout = t["dropout_min"]
    future_orders = t["future_orders"].astype(np.int32)
    truth = pa.table(
        {
            "customer_id": pc.cast(pa.array(ids), pa.string()),
            "country": pc.take(pa.array(COUNTRIES), pa.array(t["country"])),
            "acquisition_ts": _timestamps(epoch_min, t["acquisition_min"]),
            "purchase_rate_per_year": pa.array(t["purchase_rate_per_year"]),
            "dropout_prob": pa.array(t["dropout_prob"]),
            "dropout_ts": pa.array(
                (epoch_min + dropout) * 60_000_000, pa.int64(), mask=dropout < 0
            ).cast(pa.timestamp("us")),
            "alive_at_end": pa.array((dropout < 0) | (dropout >= cal.cutoff_min)),
            "is_bulk": pa.array(t["is_bulk"]),
            "is_anomalous": pa.array(t["is_anomalous"]),
            "mean_lines_per_order": pa.array(t["mean_lines_per_order"]),
            "preferred_categories": _category_strings(
                top[:, 0] * 144 + top[:, 1] * 12 + top[:, 2], _top3
            ),
            "category_preferences": pa.ListArray.from_arrays(
                pa.array(np.arange(len(pref) + 1, dtype=np.int32) * len(CATEGORIES)),
                pa.array(pref.ravel()),
            ),
            "n_orders_observed": pa.array(t["n_orders_observed"].astype(np.int32)),
            "spend_observed": pa.array(np.round(t["spend_observed"], 2)),
            "future_orders": pa.array(future_orders),
            "future_spend": pa.array(np.round(t["future_spend"], 2)),
            "purchased_in_horizon": pa.array(future_orders > 0),
            "future_categories": _category_strings(t["future_mask"], _mask_categories),
        }
    )
    return transactions, truth, n_invoices


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a hidden temporary file in the same folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_csv(table: pa.Table, path: Path) -> None:
    import duckdb

    with duckdb.connect() as con:
        con.register("demo_transactions", table)
        con.sql(
            "SELECT InvoiceNo, StockCode, Description, Quantity,"
            " strftime(InvoiceDate, '%-m/%-d/%Y %-H:%M') AS InvoiceDate,"
            " UnitPrice, CustomerID, Country FROM demo_transactions"
        ).write_csv(str(path), header=True, sep=",")


def _write_xlsx(table: pa.Table, path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Online Retail")
    sheet.append(list(UCI_COLUMNS))
    for batch in table.to_batches(max_chunksize=50_000):
        for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
            sheet.append(row)
    workbook.save(path)


def write_demo_data(
    landing_dir: Path,
    truth_dir: Path,
    n_rows: int,
    seed: int = 42,
    file_format: str = "csv",
    *,
    start_date: date | str = DEFAULT_START_DATE,
    end_date: date | str = DEFAULT_END_DATE,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    dirt: DirtRates | None = None,
    behaviour: Behaviour | None = None,
    chunk_customers: int = _MAX_CHUNK_CUSTOMERS,
    progress: bool = False,
) -> DemoSummary:
    """Generate and write ``landing_dir/online_retail_demo.<format>`` plus the truth files.

    Writes ``truth_dir/customer_truth.parquet`` and ``truth_dir/product_catalogue.parquet``.
    Every file is replaced atomically; a demo landing file left in another format is removed
    so the pipeline never loads the demo twice.
    """
    began = time.perf_counter()
    file_format = file_format.lower().lstrip(".")
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {FILE_FORMATS}, got {file_format!r}")
    if file_format == "xlsx" and n_rows > EXCEL_MAX_ROWS:
        raise ValueError(
            f"xlsx holds at most {EXCEL_MAX_ROWS:,} rows per sheet; asked for {n_rows:,} rows "
            "(use csv or parquet)"
        )
    bar = _progress_bar(n_rows) if progress else None
    try:
        data = _generate(
            n_rows,
            seed,
            start_date=start_date,
            end_date=end_date,
            horizon_days=horizon_days,
            dirt=dirt,
            behaviour=behaviour,
            chunk_customers=chunk_customers,
            bar=bar,
        )
        table = data.transactions
        if file_format == "xlsx" and table.num_rows > EXCEL_MAX_ROWS:
            raise ValueError(
                f"generated {table.num_rows:,} rows, more than the {EXCEL_MAX_ROWS:,} an xlsx "
                "sheet holds; ask for fewer rows"
            )
        if bar is not None:
            bar.set_description(f"demo data: writing {file_format}")
        landing_dir, truth_dir = Path(landing_dir), Path(truth_dir)
        # The truth first: whatever reacts to the landing file finds the truth in place.
        truth_path = truth_dir / TRUTH_FILE
        catalogue_path = truth_dir / CATALOGUE_FILE
        _atomic_write(truth_path, lambda tmp: pq.write_table(data.truth, tmp))
        _atomic_write(catalogue_path, lambda tmp: pq.write_table(data.catalogue, tmp))
        transactions_path = landing_dir / f"{LANDING_STEM}.{file_format}"
        writers: dict[str, Callable[[Path], None]] = {
            "csv": lambda tmp: _write_csv(table, tmp),
            "parquet": lambda tmp: pq.write_table(table, tmp),
            "xlsx": lambda tmp: _write_xlsx(table, tmp),
        }
        _atomic_write(transactions_path, writers[file_format])
        removed = []
        for other in FILE_FORMATS:
            stale = landing_dir / f"{LANDING_STEM}.{other}"
            if other != file_format and stale.exists():
                stale.unlink()
                removed.append(stale)
        if bar is not None:
            bar.set_description("demo data: written")
    finally:
        if bar is not None:
            bar.close()
    return DemoSummary(
        transactions_path=transactions_path,
        truth_path=truth_path,
        catalogue_path=catalogue_path,
        file_format=file_format,
        n_rows=table.num_rows,
        n_customers=data.truth.num_rows,
        n_invoices=data.n_invoices,
        seed=data.seed,
        start_date=data.start_date,
        end_date=data.end_date,
        horizon_days=data.horizon_days,
        seconds=time.perf_counter() - began,
        removed_files=tuple(removed),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.demo_data",
        description="Generate demo retail transactions (UCI Online Retail layout) and the "
        "latent truth per customer.",
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--format", choices=FILE_FORMATS, default="csv", dest="file_format")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="writes <data-dir>/landing and <data-dir>/demo (default: $DATA_DIR or ./data)",
    )
    parser.add_argument("--start", default=DEFAULT_START_DATE.isoformat(), help="first day")
    parser.add_argument("--end", default=DEFAULT_END_DATE.isoformat(), help="last day written")
    parser.add_argument("--horizon-days", type=int, default=DEFAULT_HORIZON_DAYS)
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )
    args = parser.parse_args(argv)
    data_dir = args.data_dir
    if data_dir is None:
        data_dir = Path(os.environ.get("DATA_DIR") or "data")
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        summary = write_demo_data(
            data_dir / "landing",
            data_dir / "demo",
            args.rows,
            args.seed,
            args.file_format,
            start_date=args.start,
            end_date=args.end,
            horizon_days=args.horizon_days,
            progress=progress,
        )
    except ValueError as error:
        parser.error(str(error))
    print(summary.line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
