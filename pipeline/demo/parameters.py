"""Parameters of the demo generator: the layout, the default period, behaviour and dirt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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
MAX_CHUNK_CUSTOMERS = 4000


@dataclass(frozen=True)
class DirtRates:
    """How dirty the output is, as shares of lines (or orders) as in the real UCI files."""

    guest_lines: float = 0.25  # lines from guest orders, written without CustomerID
    cancelled_orders: float = 0.15  # orders later taken back (partly) on a "C" invoice
    cancelled_lines_extra: float = 1.3  # a "C" invoice takes back 1 + Poisson(this) lines
    zero_price_lines: float = 0.002  # product lines with UnitPrice 0
    non_product_lines: float = 0.005  # POST, DOT, M, D, C2, BANK CHARGES, AMAZONFEE
    duplicate_lines: float = 0.01  # exact copies of a line
    bad_debt_rows: float = 5e-6  # "Adjust bad debt" rows (at least one when > 0)

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if name == "cancelled_lines_extra":
                if not 0.0 <= value <= 50.0:
                    raise ValueError(f"DirtRates.{name} must be in [0, 50], got {value!r}")
            elif not 0.0 <= value < 1.0:
                raise ValueError(f"DirtRates.{name} must be in [0, 1), got {value!r}")


@dataclass(frozen=True)
class Behaviour:
    """Distributions of the latent customer truth (see the package docstring)."""

    orders_per_year_mean: float = 9.0  # lambda ~ Gamma(shape, mean / shape)
    orders_per_year_shape: float = 0.9
    dropout_a: float = 0.7  # p ~ Beta(a, b): drop-out probability after each purchase
    dropout_b: float = 3.5
    extra_lines_mean: float = 20.0  # lines per order = 1 + Poisson(mu), mu ~ Gamma
    extra_lines_shape: float = 1.5
    bulk_share: float = 0.08
    anomalous_share: float = 0.02
    # Customers are acquired from the first day through the last, as demand comes (more in
    # the autumn); with acquisition_days, only in the first that many days of the period.
    acquisition_days: int | None = None
    seasonality: float = 1.0  # exponent on the monthly demand weights (0: none)
    christmas_weight: float = 1.0  # weight of Christmas items in customers' preferences
    monster_line_rate: float = 0.008  # anomalous customers' cheap lines of 1,000+ units
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
            "christmas_weight",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"Behaviour.{name} must be positive")
        for name in ("bulk_share", "anomalous_share", "uk_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"Behaviour.{name} must be in [0, 1]")
        if self.acquisition_days is not None and self.acquisition_days < 1:
            raise ValueError("Behaviour.acquisition_days must be at least 1 (or None)")
        if not 0.0 <= self.seasonality <= 5.0:
            raise ValueError("Behaviour.seasonality must be in [0, 5]")
        if not 0.0 <= self.monster_line_rate <= 1.0:
            raise ValueError("Behaviour.monster_line_rate must be in [0, 1]")
        if not 100 <= self.n_products <= 60_000:
            raise ValueError("Behaviour.n_products must be between 100 and 60,000")
