"""Taking money at the counter: cash and card through core's sale saga (or from the lease
while offline), an exchange as one command, then the tickets to the printer."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from terminal.offline import OfflineSelling
from terminal.printer import CounterPrinting
from terminal.results import ExchangeRequest, OfflineCart, SaleOutcome

if TYPE_CHECKING:
    from core.outbox import CustomerContact
    from core.reservation import HoldResult
    from core.sales import Tender
    from terminal.card_input import CardInput


def customer_contact(email: str, language: str, consent: bool) -> CustomerContact | None:
    """The address a customer gave for the e-tickets, checked before the sale starts
    (core checks it again in the sale's transaction); None when none was given. Raises
    ``invalid_email`` or ``consent_required`` (catalogued, pt-BR/en/es)."""
    from core.outbox import CustomerContact, validated

    if not email.strip():
        return None
    return validated(CustomerContact(email.strip(), language, consent))


class CounterPayments(OfflineSelling, CounterPrinting):
    def pay_cash(self, key: uuid.UUID, hold: HoldResult | OfflineCart, tendered_minor: int,
                 customer_name: str | None = None,
                 exchange: ExchangeRequest | None = None,
                 contact: CustomerContact | None = None) -> SaleOutcome:
        from core.sales import CashTender

        if isinstance(hold, OfflineCart):
            return self.sell_offline(hold, "cash", tendered_minor=tendered_minor,
                                     customer_name=customer_name)
        return self._checkout(key, hold, CashTender(tendered_minor), customer_name, exchange,
                              contact)

    def pay_card(self, key: uuid.UUID, hold: HoldResult | OfflineCart, card: str | None,
                 customer_name: str | None = None,
                 exchange: ExchangeRequest | None = None,
                 contact: CustomerContact | None = None) -> SaleOutcome:
        """``card``: the typed test reference, in the sandbox only; with a real gateway
        None, and the terminal's card reader reads the customer's card. Refused before
        anything is written when this terminal can take no card (terminal.card_input)."""
        from core.sales import CardTender
        from terminal.card_input import card_from

        # Offline too: a card stored for later with no gateway would never be charged.
        pm, brand, last4 = card_from(self, card, hold.total_minor, hold.currency)
        if isinstance(hold, OfflineCart):
            return self.sell_offline(hold, "card", card_ref=pm, customer_name=customer_name)
        tender = CardTender(payment_method=pm, brand=brand, last4=last4)
        return self._checkout(key, hold, tender, customer_name, exchange, contact)

    def card_input(self) -> CardInput:
        """Which card input the counter's card dialog may offer (terminal.card_input)."""
        from terminal.card_input import card_input

        return card_input(self)

    def _checkout(self, key: uuid.UUID, hold: HoldResult, tender: Tender,
                  customer_name: str | None, exchange: ExchangeRequest | None,
                  contact: CustomerContact | None = None) -> SaleOutcome:
        """The sale saga (hold -> authorize -> confirm -> capture), then printing. An
        exchange sells the new hold and refunds the old order as one command."""
        from core import sales

        if exchange is None:
            # ``contact``: the customer's email for the e-tickets (core.outbox).
            res = sales.checkout(self.ctx, self.actor, key, hold.hold_id, tender,
                                 customer_name=customer_name, contact=contact)
            refunded = 0
        else:
            ex = sales.exchange(self.ctx, self.actor, key, uuid.UUID(exchange.order_id),
                                hold.hold_id, tender, reason_code=exchange.reason,
                                approver=exchange.supervisor())
            res, refunded = ex.sale, ex.refund.amount_minor
        order = res.order
        outcome = SaleOutcome(order.number, str(order.order_id), res.amount_minor, res.currency,
                              res.change_minor, "ok", res.brand, res.last4, refunded)
        return self._print(outcome)

    def release_on_decline(self) -> bool:
        return self.settings.sales.release_hold_on_decline
