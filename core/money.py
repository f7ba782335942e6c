"""Money as integer minor units with an ISO 4217 currency; never floats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_SYMBOLS = {"BRL": "R$", "USD": "US$", "EUR": "€"}

# The largest amount any one figure may carry (R$ 100,000,000.00 in cents): far above any
# order, tender, float or refund a box office sees, far below the database's bigint, so a
# mistyped or hostile number is refused with a clear code before it reaches the driver or
# turns into a sale with 4.6e18 of change.
MAX_AMOUNT_MINOR = 10**10


def check_amount(value: Any, what: str = "amount") -> int:
    """``value`` as minor units if it is a whole number in 0..MAX_AMOUNT_MINOR; else
    ``invalid_amount`` naming ``what`` (floats, text and booleans are refused: money
    arrives as int minor units, parsed once by ``parse_minor``)."""
    from core.errors import BoxOfficeError

    if isinstance(value, bool) or not isinstance(value, int) \
            or not 0 <= value <= MAX_AMOUNT_MINOR:
        shown = value if isinstance(value, (int, float)) and abs(value) < 10**15 \
            else f"{str(value)[:20]}..."
        raise BoxOfficeError("invalid_amount", what=what, amount=shown,
                             max=MAX_AMOUNT_MINOR)
    return value


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int of minor units")
        if len(self.currency) != 3:
            raise ValueError("currency must be a three-letter code")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def format(self, lang: str = "pt-BR") -> str:
        return format_minor(self.minor, self.currency, lang)


def format_minor(minor: int, currency: str, lang: str = "pt-BR") -> str:
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 100)
    symbol = _SYMBOLS.get(currency, currency)
    if lang.lower().startswith(("pt", "es")):
        grouped = f"{units:,}".replace(",", ".")
        return f"{sign}{symbol} {grouped},{cents:02d}"
    return f"{sign}{symbol} {units:,}.{cents:02d}"


def parse_minor(text: str) -> int:
    """Parse '12,50', '12.50', '1.234,56' or '12' into minor units without floats."""
    t = text.strip().replace(" ", "")
    if not t:
        raise ValueError("empty amount")
    neg = t.startswith("-")
    t = t.lstrip("+-")
    if "," in t and "." in t:
        # The last separator is the decimal one.
        if t.rfind(",") > t.rfind("."):
            t = t.replace(".", "").replace(",", ".")
        else:
            t = t.replace(",", "")
    else:
        t = t.replace(",", ".")
    whole, _, frac = t.partition(".")
    if not whole:
        whole = "0"
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 2:
        raise ValueError(f"not an amount: {text!r}")
    value = int(whole) * 100 + int((frac + "00")[:2])
    return -value if neg else value
