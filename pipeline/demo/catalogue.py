"""The product catalogue: stock codes, descriptions that name their category, base prices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.demo.sampling import largest_remainder

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
XMAS = CATEGORIES.index("CHRISTMAS")
# Share of catalogue and of demand per category, and the median base price per category.
CATEGORY_SHARE = np.array([12, 8, 9, 11, 7, 7, 7, 6, 8, 11, 6, 8], dtype=np.float64)
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
(POST, DOT, MANUAL, DISCOUNT, CARRIAGE, BANK, AMAZON) = range(len(NON_PRODUCT_LINES))


@dataclass(frozen=True)
class Catalogue:
    """Products sorted by category, with the extra codes after them."""

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
        """A product of each given category, by popularity within the category."""
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


def _descriptions(
    rng: np.random.Generator, category: np.ndarray, per_category: np.ndarray
) -> pa.Array:
    """Distinct colour + adjective + noun combinations within each category."""
    n_products = len(category)
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
    return pc.binary_join_element_wise(descriptions, pa.array(packs[pack]), "")


def _stock_codes(rng: np.random.Generator, n_products: int) -> pa.Array:
    """Distinct 5-digit numbers, ~12 % with a letter suffix (85123A)."""
    number = rng.choice(np.arange(10002, 90000), size=n_products, replace=False)
    suffix = np.where(rng.random(n_products) < 0.12, rng.choice(_SUFFIXES, n_products), "")
    return pc.binary_join_element_wise(
        pc.cast(pa.array(number), pa.string()), pa.array(suffix.astype(object)), ""
    )


def _base_prices(rng: np.random.Generator, category: np.ndarray) -> np.ndarray:
    """Log-normal around the category median, on a 0.05 grid (0.85, 2.95, ...)."""
    median = _CATEGORY_MEDIAN_PRICE[category]
    raw = np.clip(median * np.exp(rng.normal(0.0, 0.6, len(category))), 0.1, 60.0)
    grid = np.round(raw * 20.0) / 20.0
    return np.round(np.where(grid >= 1.0, grid - 0.05, np.maximum(grid, 0.1)), 2)


def _popularity(
    rng: np.random.Generator, per_category: np.ndarray, first: np.ndarray, last: np.ndarray
) -> np.ndarray:
    """Cumulative popularity within each category: Zipf, in random order."""
    popularity = np.empty(int(per_category.sum()))
    for c, k in enumerate(per_category):
        weights = 1.0 / (1.0 + rng.permutation(k)) ** 0.9
        cum = np.cumsum(weights) / weights.sum()
        cum[-1] = 1.0
        popularity[first[c] : last[c] + 1] = cum
    return popularity


def build_catalogue(rng: np.random.Generator, n_products: int) -> Catalogue:
    per_category = largest_remainder(n_products, CATEGORY_SHARE, at_least_one=True)
    category = np.repeat(np.arange(len(CATEGORIES), dtype=np.int8), per_category)
    first = np.cumsum(per_category) - per_category
    last = first + per_category - 1
    descriptions = _descriptions(rng, category, per_category)
    codes = _stock_codes(rng, n_products)
    base_price = _base_prices(rng, category)
    cdf = category + _popularity(rng, per_category, first, last)
    extra_codes = [code for code, _, _ in NON_PRODUCT_LINES] + [BAD_DEBT_CODE]
    extra_descriptions = [text for _, text, _ in NON_PRODUCT_LINES] + [BAD_DEBT_DESCRIPTION]
    return Catalogue(
        category=category,
        base_price=base_price,
        cdf=cdf,
        first=first,
        last=last,
        codes=pa.concat_arrays([codes, pa.array(extra_codes)]),
        descriptions=pa.concat_arrays([descriptions, pa.array(extra_descriptions)]),
    )
