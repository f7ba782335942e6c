"""Issue 13 item 13, the counter's side: refunding an order whose ticket was used at the
gate asks for a supervisor, and the dialog says when and at which gate it was used."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import text

from boxoffice_tui.screens.dialogs import SupervisorDialog
from boxoffice_tui.screens.events import EventsScreen
from boxoffice_tui.screens.orders import OrdersScreen
from core.tickets.checkin import check_in
from tests.tui.conftest import (  # noqa: F401 (fixtures)
    make_app,
    open_event,
    sign_in,
    tctx,
    terminal_overrides,
    wait_for,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def terminal_overrides(module_tmp: Any) -> dict[str, Any]:  # noqa: F811
    # Refunds under the amount limit need no supervisor: only the used ticket asks.
    return {"terminal__name": "tui-used", "terminal__language": "en",
            "printer__url": f"preview://{module_tmp / 'preview'}",
            "logging__file": str(module_tmp / "tui.jsonl")}


async def test_the_refund_dialog_says_when_and_where_the_ticket_was_used(
        make_app: Any, tctx: Any, terminal_logins: Any) -> None:  # noqa: F811
    from boxoffice_tui.screens.checkout import CashScreen

    app = make_app("tui-used")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "COMEDIA-HOJE")
        await pilot.press("1")
        await wait_for(pilot, lambda: screen.hold is not None)
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, CashScreen))
        await pilot.press("equals_sign", "enter")
        await wait_for(pilot, lambda: screen.last_sale is not None and app.screen is screen)
        number = screen.last_sale.order_number
        with tctx.engine.connect() as c:
            token = c.execute(text("select t.token from tickets t join orders o on"
                                   " o.id = t.order_id where o.number = :n"),
                              {"n": number}).scalar_one()
        # The gate checks the ticket in on its own login.
        gate_ctx = terminal_logins.new_context("gate-porta-2", "gate", tctx.settings)
        gate = replace(terminal_logins.actor("gate-porta-2", "gate"), channel="system")
        assert check_in(gate_ctx, gate, token, uuid.uuid4(), gate="porta-2").accepted
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, OrdersScreen))
        orders = app.screen
        await pilot.press(*str(number), "enter")
        await wait_for(pilot, lambda: orders.orders)
        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorDialog))
        dialog = app.screen
        assert dialog.need_pin
        shown = " ".join(str(w.render()) for w in dialog.query("Static, Label"))
        assert "porta-2" in shown and "already used" in shown, shown
