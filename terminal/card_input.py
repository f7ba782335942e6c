"""Which card input a face may offer, decided from the terminal's gateway (issue 11 item
6: a typed card reference exists only in the demo).

- ``sandbox`` (the demo, or an explicit config the monitor flags): the simulated reader,
  whose test cards the person at the screen picks or types as ``pm_...`` tokens.
- ``reader``: a real gateway (``stripe``) and a card reader the site installed
  (``core.payments.card_reader``): the customer presents the card, the reader hands back
  the payment-method reference; nothing is typed.
- ``off``: no card at all, with the catalogued reason: ``card_payments_off`` (no gateway)
  or ``card_reader_missing`` (a real gateway but no reader to read the card).

Faces ask about their session (``card_input(session)``, ``session.card_input()`` at the
counter) and show only what it allows; the payment calls check the same decision again,
before anything is written or sent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from core.errors import BoxOfficeError

if TYPE_CHECKING:
    from core.outbox import CustomerContact
    from core.payments.card_reader import CardReader
    from core.reservation import HoldResult
    from core.sales import CheckoutResult
    from terminal.base import SessionBase
    from terminal.kiosk import KioskSession

CardInputKind = Literal["sandbox", "reader", "off"]


@dataclass(frozen=True, slots=True)
class CardInput:
    kind: CardInputKind
    # The catalogued code that says why card is refused (``kind == "off"`` only).
    refusal: str | None = None

    @property
    def typed(self) -> bool:
        """Whether a typed card reference (or a test-card button) may be offered."""
        return self.kind == "sandbox"

    def refuse(self) -> None:
        """Raise the refusal when no card can be taken here."""
        if self.refusal == "card_payments_off":
            from core.payments import CardPaymentsOff

            raise CardPaymentsOff()
        if self.refusal is not None:
            raise BoxOfficeError(self.refusal)


def reader_of(session: SessionBase) -> CardReader | None:
    """The session's card reader: one given by the code that built the session (a
    site's launcher, a test: ``session.card_reader = ...``), otherwise the one a site
    installed, looked up once."""
    reader: CardReader | None = getattr(session, "card_reader", None)
    if reader is None and not getattr(session, "_card_reader_looked_up", False):
        from core.payments.card_reader import installed_card_reader

        session._card_reader_looked_up = True  # type: ignore[attr-defined]
        reader = installed_card_reader(session.settings)
        session.card_reader = reader  # type: ignore[attr-defined]
    return reader


def card_input(session: SessionBase) -> CardInput:
    """What a face may offer for a card payment on ``session``'s terminal. Reads the
    settings and the installed reader only: never the database, never the gateway."""
    kind = session.settings.gateway.kind
    if kind == "none":
        return CardInput("off", "card_payments_off")
    if kind == "sandbox":
        return CardInput("sandbox")
    try:
        reader = reader_of(session)
    except BoxOfficeError as exc:  # several readers installed: none is trusted
        return CardInput("off", exc.code)
    if reader is None:
        return CardInput("off", "card_reader_missing")
    return CardInput("reader")


def card_from(session: SessionBase, typed: str | None, amount_minor: int,
              currency: str) -> tuple[str, str | None, str | None]:
    """The card to charge as (payment method, brand, last 4): the typed test reference
    in the sandbox, otherwise what the reader hands back (this waits for the customer's
    card). Refuses before anything is written or sent: no card at all here, or a typed
    reference with a real gateway (``card_typed_refused``)."""
    from core.payments.card_reader import TEST_CARDS

    view = card_input(session)
    view.refuse()
    if view.kind == "sandbox":
        pm = typed or "pm_card_visa"
        # For the gateway's documented test cards the brand and last four digits are
        # known, so the receipt and the dialog can show them.
        known = next((c for c in TEST_CARDS if c.payment_method == pm), None)
        return pm, known.brand if known else None, known.number[-4:] if known else None
    if typed:
        raise BoxOfficeError("card_typed_refused")
    reader = reader_of(session)
    assert reader is not None  # card_input said "reader"
    card = reader.present(amount_minor, currency)
    return card.payment_method, card.brand, card.last4


def pay_at_kiosk(session: KioskSession, key: uuid.UUID, hold: HoldResult,
                 test_card: str | None, contact: CustomerContact | None = None
                 ) -> CheckoutResult:
    """A kiosk sale by card: in the sandbox the test card the customer tapped (the
    session's own ``pay``); with a real gateway the card presented on the reader. The
    readiness check comes first, before the reader is woken or anything is written."""
    view = card_input(session)
    view.refuse()
    if view.kind == "sandbox":
        assert test_card is not None
        return session.pay(key, hold, test_card, contact=contact)
    if test_card:
        raise BoxOfficeError("card_typed_refused")
    from core.sales import CardTender, checkout

    ready = session.readiness()
    if not ready.ok:
        raise BoxOfficeError("kiosk_not_ready", reason=",".join(ready.reasons))
    pm, brand, last4 = card_from(session, None, hold.total_minor, hold.currency)
    return checkout(session.ctx, session.actor, key, hold.hold_id,
                    CardTender(pm, brand, last4), contact=contact)
