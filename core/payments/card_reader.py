"""Card readers: our software never sees a card number, only the payment-method
reference a reader hands back for an amount.

The project ships no driver for a real reader. A site plugs its own in as an installed
package that declares an entry point in the group ``boxoffice.card_readers``: a callable
taking the terminal's ``Settings`` and returning a ``CardReader``. With a real gateway
(``gateway.kind = "stripe"``) and no reader installed, cards are refused with
``card_reader_missing``; the simulated reader and its test cards belong to the sandbox
(the demo) only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from config import Settings

READER_ENTRY_POINTS = "boxoffice.card_readers"


@dataclass(frozen=True, slots=True)
class CardPresentation:
    """What a reader yields: a gateway payment-method reference plus display data."""

    payment_method: str
    brand: str
    last4: str


class CardReader(Protocol):
    def present(self, amount_minor: int, currency: str) -> CardPresentation:
        """Wait for the customer's card and return its reference (raises on cancel)."""
        ...


def installed_card_reader(settings: Settings) -> CardReader | None:
    """The reader a site installed (entry point group ``boxoffice.card_readers``), built
    for these settings; None when there is none. Several installed is a configuration
    error (which one would charge the customer?), refused as ``card_reader_missing``."""
    from importlib.metadata import entry_points

    found = list(entry_points(group=READER_ENTRY_POINTS))
    if not found:
        return None
    if len(found) > 1:
        from core.errors import BoxOfficeError

        raise BoxOfficeError("card_reader_missing")
    reader: CardReader = found[0].load()(settings)
    return reader


@dataclass(frozen=True, slots=True)
class TestCard:
    label: str
    payment_method: str
    number: str
    brand: str
    outcome: str


# Stripe's documented test payment methods and their card numbers.
TEST_CARDS: tuple[TestCard, ...] = (
    TestCard("Visa (approved)", "pm_card_visa", "4242424242424242", "visa", "approved"),
    TestCard("Mastercard (approved)", "pm_card_mastercard", "5555555555554444", "mastercard",
             "approved"),
    TestCard("Declined", "pm_card_chargeDeclined", "4000000000000002", "visa", "card_declined"),
    TestCard("Insufficient funds", "pm_card_chargeDeclinedInsufficientFunds",
             "4000000000009995", "visa", "insufficient_funds"),
    TestCard("Expired card", "pm_card_chargeDeclinedExpiredCard", "4000000000000069", "visa",
             "expired_card"),
)


class SimulatedCardReader:
    """The demo's reader: the person at the screen picks one of the test cards.

    ``chooser`` is given the amount and the cards and returns the chosen index; by
    default the approved Visa is presented."""

    def __init__(self, chooser: Callable[[int, str, tuple[TestCard, ...]], int] | None = None
                 ) -> None:
        self._chooser = chooser

    def present(self, amount_minor: int, currency: str) -> CardPresentation:
        i = self._chooser(amount_minor, currency, TEST_CARDS) if self._chooser else 0
        card = TEST_CARDS[i]
        return CardPresentation(card.payment_method, card.brand, card.number[-4:])

    @staticmethod
    def card(payment_method: str) -> CardPresentation:
        """The presentation for a named test payment method (tests, benchmark)."""
        for c in TEST_CARDS:
            if c.payment_method == payment_method:
                return CardPresentation(c.payment_method, c.brand, c.number[-4:])
        return CardPresentation(payment_method, "card", "0000")
