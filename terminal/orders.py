"""Finding a sold order at the counter (number, name, ticket serial, scanned QR) and
what can be done with it: refund, reprint."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from terminal.printer import CounterPrinting

if TYPE_CHECKING:
    from core.monitor import OrderSummary
    from core.sales import OrderLineView, RefundResult
    from terminal.results import Approval


class Orders(CounterPrinting):
    def find_orders(self, query: str) -> list[OrderSummary]:
        """By order number, customer name, ticket serial or a scanned QR token."""
        from core.monitor import find_orders

        q = query.strip()
        oid = self._order_from_ticket(q)
        return find_orders(self.ctx.engine, str(oid) if oid else q)

    def _order_from_ticket(self, q: str) -> uuid.UUID | None:
        from core.tickets.views import ticket_views

        if not q:
            return None
        digits = q.replace(" ", "")
        # Serials are printed as 9 digits in groups of three; order numbers are shorter.
        serial: int | None = int(digits) if digits.isdigit() and len(digits) >= 9 else None
        if serial is None and len(q) > 20:
            try:  # a scanned QR token: its (signed) claims carry the serial
                from core.tickets.token import parse

                serial = int(parse(q).claims.serial)
            except Exception:
                serial = None
        if serial is None:
            return None
        try:
            views = ticket_views(self.ctx.engine, serials=[serial])
        except Exception:
            return None
        return views[0].order_id if views else None

    def order_lines(self, order_id: str) -> list[OrderLineView]:
        """The order's tickets (lines), to choose which to refund."""
        from core.sales import order_lines

        return order_lines(self.ctx, uuid.UUID(order_id))

    def refund_needs_approval(self, order_id: str,
                              line_ids: list[int] | None = None) -> str | None:
        from core.sales import refund_needs_approval

        return refund_needs_approval(self.ctx, self.actor, uuid.UUID(order_id), line_ids)

    def refund(self, key: uuid.UUID, order_id: str, approval: Approval,
               line_ids: list[int] | None = None) -> RefundResult:
        """``approval`` carries the reason code and, when needed, the supervisor's login
        and PIN; core checks the PIN again and records the approval with the refund.
        ``line_ids``: only these tickets (None: the whole order)."""
        from core.sales import refund

        return refund(self.ctx, self.actor, key, uuid.UUID(order_id),
                      reason_code=approval.reason, line_ids=line_ids,
                      approver=approval.supervisor())
