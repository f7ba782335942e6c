"""What a cashier at a queue stumbled on (issue 15, cashier items): single-ticket refunds,
the X report, closing a shift, keys that work where the docs promise them, the card
dialog, the seat line, the event filter and the language of every label."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input

from boxoffice_tui.i18n import set_language
from boxoffice_tui.screens.checkout import CardScreen, CashScreen
from boxoffice_tui.screens.dialogs import ReportDialog, SupervisorDialog
from boxoffice_tui.screens.events import EventsScreen
from boxoffice_tui.screens.orders import OrdersScreen
from boxoffice_tui.screens.sale import SaleScreen
from boxoffice_tui.screens.signin import SignInScreen
from boxoffice_tui.widgets.seatmap import SeatMap
from tests.tui.conftest import open_event, rows, scalar, sign_in, wait_for

pytestmark = [pytest.mark.db, pytest.mark.anyio]
SIZE = (100, 30)


def _text(node: Any, selector: str) -> str:
    return str(node.query_one(selector).render())


def _footer(screen: Any) -> dict[str, tuple[str, bool]]:
    """Key -> (label, enabled) as the footer shows them."""
    return {b.binding.key: (b.binding.description, b.enabled)
            for b in screen.active_bindings.values() if b.binding.show}


async def _sell_cash(pilot: Any, code: str, n: int) -> tuple[SaleScreen, Any]:
    app = pilot.app
    screen = await open_event(pilot, code)
    await pilot.press(str(n))
    await wait_for(pilot, lambda: screen.hold is not None)
    await pilot.press("f5")
    await wait_for(pilot, lambda: isinstance(app.screen, CashScreen))
    await pilot.press("equals_sign", "enter")
    await wait_for(pilot, lambda: screen.last_sale is not None and app.screen is screen)
    return screen, screen.last_sale


async def test_refund_one_ticket_chosen_on_the_order_screen(make_app: Any, tctx: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        sale, outcome = await _sell_cash(pilot, "COMEDIA-HOJE", 2)
        assert "complete" in _text(sale, "#last-sale")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, OrdersScreen))
        orders = app.screen
        await pilot.press(*str(outcome.order_number), "enter")
        await wait_for(pilot, lambda: len(orders.lines) == 2)
        assert "Space" in _text(orders, "#order-detail")
        await pilot.press("space")  # into the tickets
        await pilot.press("space")  # choose the first
        assert len(orders.chosen) == 1
        chosen = next(iter(orders.chosen))
        price = next(ln.unit_price_minor for ln in orders.lines if ln.line_id == chosen)
        assert "1 ticket(s) chosen" in _text(orders, "#order-detail")
        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorDialog))
        dialog = app.screen
        assert "1 ticket(s)" in _text(dialog, "#approval-title")
        # no real person's login as the example
        assert dialog.query_one("#sup-login", Input).placeholder == "supervisor's login"
        await pilot.press(*"carla", "enter", *"9999", "enter")
        await wait_for(pilot, lambda: orders.last_refund is not None)
        assert orders.last_refund.amount_minor == price
        await wait_for(pilot, lambda: orders.lines_of is not None and
                       sorted(ln.status for ln in orders.lines) == ["refunded", "sold"])
        # the sale screen no longer calls that sale complete
        assert "refunded" in _text(sale, "#last-sale")
    status = scalar(tctx, "select status from orders where number = :n", n=outcome.order_number)
    assert status == "partially_refunded"
    lines = rows(tctx, "select ol.id, ol.status from order_lines ol join orders o on"
                       " o.id = ol.order_id where o.number = :n order by ol.id",
                 n=outcome.order_number)
    assert {r.id: r.status for r in lines}[chosen] == "refunded"
    assert sorted(r.status for r in lines) == ["refunded", "sold"]


async def test_x_report_from_the_sale_screen_is_a_blind_report(make_app: Any) -> None:
    app = make_app("tui-xreport")
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, float_text="200,00")
        sale, _ = await _sell_cash(pilot, "COMEDIA-HOJE", 1)
        assert "f8" not in _footer(sale) or _footer(sale)["f8"][1]
        await pilot.press("f8")  # "at any time": from the seat map too
        await wait_for(pilot, lambda: isinstance(app.screen, ReportDialog))
        body = _text(app.screen, "#report-body")
        for word in ("Opened", "Opening float", "R$ 200.00", "Cash", "Sales", "Refunds",
                     "Net", "Total"):
            assert word in body, word
        # money formatted, no raw fields, and no expected cash before the blind count
        for raw in ("_minor", "shift_id", "terminal_id", "None", "expected", "Expected"):
            assert raw not in body, raw
        assert max(len(line) for line in body.splitlines()) <= 58  # fits the dialog


async def test_closing_the_shift_ends_the_session(make_app: Any, tctx: Any) -> None:
    app = make_app("tui-close")
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, float_text="100,00")
        await pilot.press("f10")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "CloseShiftDialog")
        await pilot.press(*"100,00", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportDialog))
        body = _text(app.screen, "#report-body")
        assert "Expected" in body and "R$ 100.00" in body  # shown only after the count
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        assert app.services.operator is None and app.services.shift is None
        assert "no shift" in _text(app.screen, "TerminalHeader")
    assert scalar(tctx, "select s.status from shifts s join terminals t on t.id = s.terminal_id"
                        " where t.name = 'tui-close'") == "closed"


async def test_without_a_shift_the_sale_screen_says_so_before_a_seat(make_app: Any) -> None:
    app = make_app("tui-noshift")
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        # The session learns the shift is gone (closed on its way out, or from the
        # back office) while the cashier is still on the events list.
        app.services.shift = None
        screen = await open_event(pilot, "SINATRA")
        assert "No open shift" in _text(screen, "#cart-lines")
        await pilot.press("space", "enter")
        await pilot.pause()
        assert screen.hold is None
        assert "No open shift" in (app.last_error or "")


async def test_card_dialog_after_the_answer(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "MAGICA")
        await pilot.press("1")
        await wait_for(pilot, lambda: screen.hold is not None)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, CardScreen))
        card = app.screen
        assert _footer(card)["enter"] == ("Confirm", True)
        assert _footer(card)["escape"][1]
        card.query_one("#card-input", Input).value = "pm_card_chargeDeclined"
        await pilot.press("enter")
        await wait_for(pilot, lambda: card.state == "declined")
        result = _text(card, "#card-result").lower()
        assert result.count("declined") == 1, result
        assert "another card" in result
        assert _footer(card)["enter"][0] == "Close" and "escape" not in _footer(card)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)

        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, CardScreen))
        card = app.screen
        await pilot.press("enter")  # the sandbox's Visa ending 4242
        await wait_for(pilot, lambda: card.state == "approved")
        result = _text(card, "#card-result")
        assert "4242" in result and "Visa" in result, result
        assert _footer(card)["enter"][0] == "Close" and "escape" not in _footer(card)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.last_sale is not None)


async def test_refund_without_approval_is_not_titled_approval(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await app.push_screen(SupervisorDialog("Refund #12", need_pin=False))
        await pilot.pause()
        assert _text(app.screen, "#approval-title") == "Refund #12"
        await pilot.press("escape")
        await app.push_screen(SupervisorDialog("Refund #12"))
        await pilot.pause()
        assert _text(app.screen, "#approval-title") == "Supervisor approval: Refund #12"


async def test_seat_line_follows_the_pick(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "SINATRA")
        smap = screen.query_one(SeatMap)
        await pilot.press("down", "down")
        assert "free" in _text(screen, "#seat-info")
        await pilot.press("space")
        await wait_for(pilot, lambda: smap.picked)
        assert "picked" in _text(screen, "#seat-info")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.hold is not None)
        assert "in cart" in _text(screen, "#seat-info")
        await pilot.press("delete")
        await wait_for(pilot, lambda: screen.hold is None)


async def test_typing_goes_to_the_filter_after_a_seat_map(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        events = app.screen
        await open_event(pilot, "MAGICA")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is events)
        await pilot.press(*"comed")
        assert events.query_one("#event-filter", Input).value == "comed"
        # from the list too: the first letter takes the focus to the filter
        events.query_one("#events").focus()
        await pilot.pause()
        await pilot.press("i")
        assert events.query_one("#event-filter", Input).value == "comedi"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SaleScreen))
        assert app.screen.shown.code == "COMEDIA-HOJE"


async def test_labels_follow_the_language(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "SINATRA")
        assert "STAGE" in screen.query_one(SeatMap)._stage
        await pilot.press("1")
        await wait_for(pilot, lambda: screen.hold is not None)
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, CashScreen))
        cash = app.screen
        assert cash.query_one("#change").value == "0.00"  # English decimal mark
        assert _footer(cash)["equals_sign"][0] == "Exact"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("ctrl+l")  # Português
        await pilot.pause()
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, CashScreen))
        cash = app.screen
        assert cash.query_one("#change").value == "0,00"
        assert _footer(cash)["equals_sign"][0] == "Valor exato"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("delete")
        await wait_for(pilot, lambda: screen.hold is None)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
        _, outcome = await _sell_cash(pilot, "SINATRA", 1)
        await pilot.press("escape", "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, OrdersScreen))
        orders = app.screen
        await pilot.press(*str(outcome.order_number), "enter")
        await wait_for(pilot, lambda: orders.lines)
        table = orders.query_one("#orders")
        assert str(table.get_cell_at((0, 3))) == "pago"
        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorDialog))
        shown = str(app.screen.query_one("#reason").query_one("#label").render())
        assert shown == "pedido do cliente"
        await pilot.press("escape")
    set_language("en")
