"""The cashier app driven by key presses (Textual pilot) against the real database,
the sandbox card gateway and the preview printer."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from boxoffice_tui.screens.checkout import CardScreen, CashScreen
from boxoffice_tui.screens.dialogs import SupervisorDialog
from boxoffice_tui.screens.events import EventsScreen
from boxoffice_tui.screens.orders import OrdersScreen
from boxoffice_tui.screens.signin import OpenShiftScreen, SignInScreen
from boxoffice_tui.widgets.seatmap import SeatMap
from core.reservation import hold_seats
from core.sales import CashTender, checkout, open_shift
from tests.tui.conftest import open_event, rows, scalar, sign_in, wait_for

pytestmark = [pytest.mark.db, pytest.mark.anyio]
SIZE = (100, 30)


def _text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def _pay_cash(pilot: Any, tendered: str | None = None) -> Any:
    app = pilot.app
    sale = app.screen
    await pilot.press("f5")
    await wait_for(pilot, lambda: isinstance(app.screen, CashScreen))
    if tendered is None:
        await pilot.press("equals_sign")
    else:
        await pilot.press(*tendered)
    await pilot.press("enter")
    await wait_for(pilot, lambda: sale.last_sale is not None and app.screen is sale)
    return sale.last_sale


async def test_sign_in_lock_out_and_open_shift(make_app: Any, tctx: Any) -> None:
    app = make_app("tui-signin")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SignInScreen)
        # bruno gets it wrong five times: the fifth locks him out, and the message says so
        for _ in range(5):
            await pilot.press(*"bruno", "enter", *"0000", "enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            app.screen.query_one("#login").value = ""
            app.screen.query_one("#login").focus()
        await pilot.press(*"bruno", "enter", *"2345", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "locked until" in _text(app.screen, "#signin-error")
        assert isinstance(app.screen, SignInScreen)

        app.screen.query_one("#login").value = ""
        app.screen.query_one("#login").focus()
        await pilot.press(*"ana", "enter", *"9999", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert _text(app.screen, "#signin-error") == "Wrong operator or PIN."

        app.screen.query_one("#login").value = ""
        app.screen.query_one("#login").focus()
        await pilot.press(*"ana", "enter", *"1234", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OpenShiftScreen))
        app.screen.query_one("#float").value = ""
        await pilot.press(*"150,00", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
        header = _text(app.screen, "TerminalHeader")
        assert "Ana Souza" in header and "tui-signin" in header and "online" in header
    shift = rows(tctx, "select s.status, s.opening_float_minor from shifts s join terminals t"
                       " on t.id = s.terminal_id where t.name = 'tui-signin'")
    assert [tuple(r) for r in shift] == [("open", 15000)]


async def test_cash_sale_of_two_chosen_seats_prints_and_sells(make_app: Any, tctx: Any,
                                                              spooler: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "COMEDIA-HOJE")
        smap = screen.query_one(SeatMap)
        await pilot.press("space", "right", "space")
        assert len(smap.picked) == 2
        # a click toggles too: un-pick the second seat with the mouse, pick it again
        second = smap.picked[1]
        x = 7 + smap._col[smap._index[second]] * 2 - int(smap.scroll_offset.x)
        y = 2 + smap._row[smap._index[second]] - int(smap.scroll_offset.y)
        await pilot.click(SeatMap, offset=(x, y))
        assert smap.picked == (smap.picked[0],) and second not in smap.picked
        await pilot.click(SeatMap, offset=(x, y))
        assert second in smap.picked
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.hold is not None)
        seats = screen.hold.seat_ids
        assert len(seats) == 2 and all(smap.state_of(s) == "mine" for s in seats)
        assert "Hold expires in" in _text(screen, "#countdown")
        # 300,00 tendered for 240,00: the change is shown large before confirming
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, CashScreen))
        await pilot.press(*"30000")
        # English decimal mark (issue 15 item 7; this used to expect "60,00")
        assert str(app.screen.query_one("#change").value) == "60.00"
        await pilot.press("tab")  # Tab moves to the optional customer name
        assert app.screen.focused is app.screen.query_one("#customer")
        await pilot.press(*"Maria Silva")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.last_sale is not None and app.screen is screen)
        outcome = screen.last_sale
        # ...and the order is found by the customer's name
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, OrdersScreen))
        orders = app.screen
        await pilot.press(*"maria", "enter")
        await wait_for(pilot, lambda: orders.orders)
        assert [o.number for o in orders.orders] == [outcome.order_number]
        await pilot.press("escape")
        assert outcome.change_minor == 6000 and outcome.print_jobs
        assert all(smap.state_of(s) == "sold" for s in seats)
    sold = rows(tctx, "select es.status, o.number from event_seats es join orders o on"
                      " o.id = es.order_id where es.seat_id = any(:s) and o.number = :n",
                s=list(seats), n=outcome.order_number)
    assert [r.status for r in sold] == ["sold", "sold"]
    assert spooler.wait_idle(10)
    for job in outcome.print_jobs:
        assert spooler.job(job).state == "printed"
    pngs = list((tctx.settings.terminal.data_dir / "preview").glob("*ticket*.png"))
    assert len(pngs) >= 2


async def test_best_available_sale(make_app: Any, tctx: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "SINATRA")
        await pilot.press("3")
        await wait_for(pilot, lambda: screen.hold is not None)
        assert screen.hold.quantity == 3
        await pilot.press("plus")  # one more: re-held as best 4
        await wait_for(pilot, lambda: screen.hold is not None and screen.hold.quantity == 4)
        before = screen.hold.expires_at
        await pilot.press("t")  # extend once...
        await wait_for(pilot, lambda: screen.extensions == 1)
        assert screen.hold.expires_at > before
        await pilot.press("t")  # ...and only once
        await wait_for(pilot, lambda: "extended" in (app.last_error or ""))
        assert screen.extensions == 1
        outcome = await _pay_cash(pilot)
        assert outcome.change_minor == 0
    n = scalar(tctx, "select count(*) from order_lines ol join orders o on o.id = ol.order_id"
                     " where o.number = :n and ol.status = 'sold'", n=outcome.order_number)
    assert n == 4


async def test_card_sale_through_the_sandbox(make_app: Any, tctx: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "MAGICA")
        await pilot.press("2")
        await wait_for(pilot, lambda: screen.hold is not None)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, CardScreen))
        card = app.screen
        await pilot.press("enter")
        await wait_for(pilot, lambda: card.state == "approved")
        assert "complete" in _text(card, "#card-result")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.last_sale is not None)
        number = screen.last_sale.order_number
    sale = rows(tctx, "select s.tender, s.state, s.intent_id from sales s join orders o on"
                      " o.id = s.order_id where o.number = :n", n=number)
    assert len(sale) == 1 and sale[0].tender == "card" and sale[0].intent_id


async def test_card_decline_keeps_the_hold(make_app: Any, tctx: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "MAGICA")
        await pilot.press("2")
        await wait_for(pilot, lambda: screen.hold is not None)
        hold_id = screen.hold.hold_id
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, CardScreen))
        card = app.screen
        card.query_one("#card-input").value = "pm_card_chargeDeclined"
        await pilot.press("enter")
        await wait_for(pilot, lambda: card.state in ("declined", "failed"))
        assert card.state == "declined", card.error_code
        assert "declined" in _text(card, "#card-result").lower()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.hold is not None and screen.hold.hold_id == hold_id
    assert scalar(tctx, "select status from holds where id = :h", h=hold_id) == "active"


async def test_open_breaker_disables_card(make_app: Any, tctx: Any) -> None:
    app = make_app()
    breaker = tctx.gateway.breaker
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "MAGICA")
        await pilot.press("1")
        await wait_for(pilot, lambda: screen.hold is not None)
        breaker.force("open")
        try:
            await wait_for(pilot, lambda: "cash only" in _text(screen, "#card-state"))
            assert "Card unavailable, cash only" in _text(screen, "#card-state")
            await pilot.press("f6")
            await pilot.pause()
            assert app.screen is screen  # no card dialog
            assert "cash only" in (app.last_error or "")
        finally:
            breaker.force("closed")
        await wait_for(pilot, lambda: _text(screen, "#card-state") == "")


async def test_refund_with_supervisor_approval(make_app: Any, tctx: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "COMEDIA-HOJE")
        await pilot.press("2")
        await wait_for(pilot, lambda: screen.hold is not None)
        seats = screen.hold.seat_ids
        outcome = await _pay_cash(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, OrdersScreen))
        orders = app.screen
        await pilot.press(*str(outcome.order_number), "enter")
        await wait_for(pilot, lambda: orders.orders)
        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorDialog))
        dialog = app.screen
        assert dialog.need_pin  # refund_approval_over_minor = 0 in these tests
        await pilot.press(*"carla", "enter", *"1111", "enter")  # wrong PIN first
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Wrong operator or PIN" in _text(dialog, "#approval-error")
        await pilot.press(*"9999", "enter")
        await wait_for(pilot, lambda: orders.last_refund is not None)
        assert orders.last_refund.amount_minor == outcome.total_minor
    status = scalar(tctx, "select status from orders where number = :n", n=outcome.order_number)
    assert status == "refunded"
    free = rows(tctx, "select status from event_seats where seat_id = any(:s) and event_id ="
                      " (select event_id from orders where number = :n)", s=list(seats),
                n=outcome.order_number)
    assert [r.status for r in free] == ["available", "available"]
    approvals = scalar(tctx, "select count(*) from approvals a join operators o on"
                             " o.id = a.approved_by where o.login = 'carla'"
                             " and a.entity_id = (select id::text from orders where number = :n)",
                       n=outcome.order_number)
    assert approvals == 1


async def test_hold_expiring_on_screen(make_app: Any, ctx: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "SINATRA")
        await pilot.press("2")
        await wait_for(pilot, lambda: screen.hold is not None)
        hold = screen.hold
        # Time passes on the database clock (the one that decides expiry): the owner's.
        with ctx.engine.begin() as conn:
            from sqlalchemy import text

            conn.execute(text("update holds set expires_at = now() - interval '1 second'"
                              " where id = :h"), {"h": hold.hold_id})
            conn.execute(text("update event_seats set hold_expires_at = now() - interval"
                              " '1 second' where hold_id = :h"), {"h": hold.hold_id})
        await wait_for(pilot, lambda: screen.hold is None, timeout=5)
        assert "expired" in _text(screen, "#countdown")
        smap = screen.query_one(SeatMap)
        await wait_for(pilot, lambda: all(smap.state_of(s) != "mine" for s in hold.seat_ids))
        assert all(smap.state_of(s) in ("available", "accessible", "companion")
                   for s in hold.seat_ids)


async def test_seat_sold_by_another_terminal_turns_sold(make_app: Any, tctx: Any,
                                                      ctx: Any, terminal_logins: Any) -> None:
    # The other terminal's sale is the scene: another counter on its own login, bruno
    # signed in with his drawer open, sells for cash; the app under test runs on its own.
    bruno = scalar(tctx, "select id from operators where login = 'bruno'")
    other = terminal_logins.actor("tui-other-counter", "cashier", bruno, "cashier")
    octx = terminal_logins.context("tui-other-counter", "cashier", tctx.settings)
    open_shift(octx, other, uuid.uuid4(), 0)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "MAGICA")
        smap = screen.query_one(SeatMap)
        seat = screen.data.availability.seat_ids[screen.data.availability.states.index("A")]
        assert smap.state_of(seat) in ("available", "accessible", "companion")
        hold = hold_seats(octx, other, uuid.uuid4(), screen.event.id, [seat])
        checkout(octx, other, uuid.uuid4(), hold.hold_id, CashTender(hold.total_minor))
        t0 = time.perf_counter()
        await wait_for(pilot, lambda: smap.state_of(seat) == "sold", timeout=3)
        assert time.perf_counter() - t0 < 1.0


async def test_exchange_sells_new_seats_and_refunds_the_old_order(make_app: Any,
                                                                   tctx: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "SINATRA")
        await pilot.press("1")
        await wait_for(pilot, lambda: screen.hold is not None)
        old = await _pay_cash(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
        await wait_for(pilot, lambda: app.cached_events)
        # Ctrl+P finds the order too; here the lookup is opened with F3.
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, OrdersScreen))
        orders = app.screen
        await pilot.press(*str(old.order_number), "enter")
        await wait_for(pilot, lambda: orders.orders)
        await pilot.press("f7")  # the first duplicate is the cashier's call
        await wait_for(pilot, lambda: scalar(
            tctx, "select max(t.reprint_count) from tickets t join orders o on"
                  " o.id = t.order_id where o.number = :n", n=old.order_number) == 1)
        await pilot.press("f11")
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorDialog))
        await pilot.press(*"carla", "enter", *"9999", "enter")
        from boxoffice_tui.screens.sale import SaleScreen

        await wait_for(pilot, lambda: isinstance(app.screen, SaleScreen))
        sale = app.screen
        assert sale.exchange is not None
        await wait_for(pilot, lambda: sale.data is not None)
        await pilot.press("2")
        await wait_for(pilot, lambda: sale.hold is not None)
        new = await _pay_cash(pilot)
        assert new.refunded_minor == old.total_minor
    statuses = dict(rows(tctx, "select number, status from orders where number = any(:n)",
                         n=[old.order_number, new.order_number]))
    assert statuses == {old.order_number: "refunded", new.order_number: "paid"}


async def test_big_room_scrolls_to_keep_the_cursor_visible(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "SINATRA")
        smap = screen.query_one(SeatMap)
        assert smap.virtual_size.height > smap.size.height  # the room is taller than the view
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown", "end")
        await pilot.pause()
        i = smap.cursor
        assert smap._row[i] > smap.size.height  # far below the first screenful
        top, left = int(smap.scroll_offset.y), int(smap.scroll_offset.x)
        assert top <= smap._row[i] + 2 < top + smap.size.height
        assert left <= smap._col[i] * 2 < left + smap.size.width - 7


@pytest.mark.redis
async def test_with_redis_a_remote_sale_is_pushed_not_polled(make_app: Any, tctx: Any,
                                                              ctx: Any, redis_url: str,
                                                              redis_prefix: str,
                                                              monkeypatch: Any,
                                                              terminal_logins: Any) -> None:
    """With Redis configured the seat map is told about changes (pub/sub); the poll is
    slowed to 30 s here, so only the push can turn the seat within the second."""
    from core.app_context import CoreContext
    from core.live import LiveSeats

    settings = tctx.settings.model_copy(update={"redis": tctx.settings.redis.model_copy(
        update={"key_prefix": redis_prefix})})
    feed_ctx = CoreContext(settings=settings, engine=tctx.engine)
    feed_ctx.gateway = tctx.gateway
    feed_ctx.listeners.append(LiveSeats(feed_ctx, url=redis_url))
    import boxoffice_tui.screens.sale as sale_mod

    monkeypatch.setattr(sale_mod, "POLL_S", 30.0)
    # The other terminal's sale (a counter on its own login, bruno's drawer open)
    # publishes to the same Redis.
    bruno = scalar(tctx, "select id from operators where login = 'bruno'")
    other = terminal_logins.actor("tui-redis-other", "cashier", bruno, "cashier")
    other_ctx = terminal_logins.new_context("tui-redis-other", "cashier", settings,
                                            pool_size=2)
    other_ctx.listeners.append(LiveSeats(other_ctx, url=redis_url))
    open_shift(other_ctx, other, uuid.uuid4(), 0)
    app = make_app()
    app.services._ctx = feed_ctx
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        screen = await open_event(pilot, "MAGICA")
        assert screen.poll_s == 30.0
        await wait_for(pilot, lambda: screen._unsubscribe is not None)
        smap = screen.query_one(SeatMap)
        avail = screen.data.availability
        seat = next(s for s, st in zip(avail.seat_ids, avail.states, strict=True)
                    if st == "A" and smap.state_of(s) == "available")
        hold = hold_seats(other_ctx, other, uuid.uuid4(), screen.event.id, [seat])
        checkout(other_ctx, other, uuid.uuid4(), hold.hold_id, CashTender(hold.total_minor))
        t0 = time.perf_counter()
        await wait_for(pilot, lambda: smap.state_of(seat) == "sold", timeout=3)
        assert time.perf_counter() - t0 < 1.0
        assert screen.pushed >= 1


async def test_the_kept_sale_screen_shows_each_event_afresh(make_app: Any, tctx: Any) -> None:
    """The app keeps one composed sale screen and shows every event on it: nothing of
    the previous event (map, hold, GA panel, a late load) may leak into the next."""
    from boxoffice_tui.i18n import t

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await wait_for(pilot, lambda: app._sale_screen is not None
                       and app._sale_screen.is_mounted)  # composed while the list shows
        kept = app._sale_screen
        screen = await open_event(pilot, "SINATRA")
        assert screen is kept
        sinatra = screen.query_one(SeatMap)
        n_sinatra = sinatra.seat_count
        await pilot.press("2")
        await wait_for(pilot, lambda: screen.hold is not None)
        held = screen.hold.seat_ids
        assert all(sinatra.state_of(s) == "mine" for s in held)

        await pilot.press("escape")  # back releases the hold
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
        await pilot.press("escape")  # clear the filter
        screen = await open_event(pilot, "POKER-OPEN")  # general admission
        assert screen is kept and screen.event.code == "POKER-OPEN"
        assert not screen.query_one(SeatMap).display
        assert screen.query_one("#ga-panel").display and screen.ga_section is not None
        assert screen.hold is None and screen.extensions == 0

        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
        await pilot.press("escape")
        screen = await open_event(pilot, "SINATRA")
        assert screen is kept
        smap = screen.query_one(SeatMap)
        assert smap.display and not screen.query_one("#ga-panel").display
        assert smap.seat_count == n_sinatra and smap.picked == () and smap.mine == ()
        assert str(screen.query_one("#cart-lines").render()) == t("cart_empty")
        assert screen.query_one(SeatMap).has_focus
        # the released seats read free again, from the database
        await wait_for(pilot, lambda: all(smap.state_of(s) != "held" for s in held))
        # a kept screen that is hidden stops polling
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
        polls = kept.polls
        await pilot.pause(1.2)
        assert kept.polls == polls
