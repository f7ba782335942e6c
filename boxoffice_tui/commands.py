"""Command palette: find events (open their seat map) and orders (open the lookup)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import Hit, Hits, Provider

if TYPE_CHECKING:
    from boxoffice_tui.app import CashierApp


class EventCommands(Provider):
    async def search(self, query: str) -> Hits:
        app: CashierApp = self.app  # type: ignore[assignment]
        if app.services.operator is None:
            return
        matcher = self.matcher(query)
        for ev in app.cached_events:
            text = f"{ev.code} {ev.name}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(app.open_event, ev),
                          help=f"{ev.venue} · {app.format_when(ev.starts_at, ev.timezone)}")


class OrderCommands(Provider):
    async def search(self, query: str) -> Hits:
        app: CashierApp = self.app  # type: ignore[assignment]
        q = query.strip()
        if app.services.operator is None or len(q) < 2:
            return
        label = f"Order / Pedido: {q}"
        yield Hit(0.5, label, partial(app.action_orders, q),
                  help="serial, QR, number or name / serial, QR, número ou nome")
