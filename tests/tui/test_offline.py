"""The cashier keeps selling through a database outage: the app's database link goes
through a loopback TCP proxy the test cuts and restores (tests/sync/tcpproxy.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from boxoffice_tui.app import CashierApp
from core.app_context import CoreContext, build_context
from core.payments.sandbox import SandboxServer
from terminal.bootstrap import start_peripherals
from terminal.counter import CounterSession
from terminal.results import OfflineCart
from tests.conftest import make_settings
from tests.logins import psycopg_url
from tests.sync.helpers import event_id, lease_invariants, sold_per_seat
from tests.sync.tcpproxy import TcpProxy
from tests.tui.conftest import open_event, rows, scalar, sign_in, wait_for

pytestmark = pytest.mark.anyio
SIZE = (120, 40)
NAME = "tui-offline"


@pytest.fixture
def proxy(db_url: str) -> Any:
    u = make_url(db_url)
    p = TcpProxy(u.host or "127.0.0.1", u.port or 5432)
    yield p
    p.close()


def _lease_granted_once(ctx: CoreContext, logins: Any) -> None:
    """A supervisor granted this counter its configured lease once (carla's PIN typed at
    the counter) and it was given back: on its login, the lease taken at start is then a
    renewal the database grants without a PIN, as on a real floor's second day."""
    import uuid

    from core.actors import authenticate
    from core.leases import return_lease, take_lease
    from tests.core.helpers import section_id

    own = logins.context(NAME, "cashier", ctx.settings)
    actor = logins.actor(NAME, "cashier")
    ev = event_id(ctx.engine, "MAGICA")
    info = take_lease(own, actor, uuid.uuid4(), ev, section_id=section_id(ctx.engine, ev, "BAL"),
                      quantity=6, approver=authenticate(own.engine, "carla", "9999"))
    return_lease(own, actor, uuid.uuid4(), info.lease_id)


@pytest.fixture
def octx(ctx: CoreContext, db_url: str, proxy: TcpProxy, tmp_path: Path,
         sandbox: SandboxServer, terminal_logins: Any) -> Any:
    """The counter's own context (its cashier login), connected through the proxy, with
    a configured lease and quick hysteresis (one failed / good probe switches) so the
    test stays short."""
    login = psycopg_url(terminal_logins.login(NAME, "cashier").url)
    url = make_url(login).set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)
    _lease_granted_once(ctx, terminal_logins)
    settings = make_settings(
        url, tmp_path, terminal__name=NAME, terminal__language="en",
        gateway__kind="sandbox", gateway__base_url=sandbox.base_url,
        printer__url=f"preview://{tmp_path / 'preview'}",
        database__connect_timeout_s=1, database__lock_timeout_ms=1000,
        sync__offline_after_failures=1, sync__online_after_successes=1,
        sync__probe_interval_s=0.2, sync__probe_timeout_s=1.0,
        sync__auto_leases=[{"event": "MAGICA", "section": "BAL", "quantity": 6}],
        sync__floor_limit_minor=10000,
        logging__file=str(tmp_path / "tui.jsonl"))
    c = build_context(settings, url=url)
    yield c
    c.engine.dispose()


def _header(app: CashierApp) -> str:
    from boxoffice_tui.header import TerminalHeader

    return str(app.screen.query_one(TerminalHeader).render())


async def test_cash_and_card_sales_from_the_lease_through_an_outage(
        ctx: CoreContext, octx: CoreContext, proxy: TcpProxy, tmp_path: Path) -> None:
    from boxoffice_tui.screens.checkout import CardScreen, CashScreen
    from boxoffice_tui.screens.events import EventsScreen
    from boxoffice_tui.screens.sale import SaleScreen
    from boxoffice_tui.widgets.seatmap import SeatMap

    svc = CounterSession(octx, NAME)
    app = CashierApp(svc, language_code="en", heartbeat=False)
    stops: list[Callable[[], Any]] = []
    # What run_cashier does: spooler, gateway and offline selling start in the warm-up.
    app.warm_up = lambda: stops.extend(start_peripherals(svc))
    ev = event_id(ctx.engine, "MAGICA")
    try:
        async with app.run_test(size=SIZE) as pilot:
            # The configured lease is taken at start, while online.
            await wait_for(pilot, lambda: app.sync_state is not None and any(
                x["remaining"] == 6 for x in app.sync_state["leases"]), timeout=20)
            await sign_in(pilot)
            assert "online" in _header(app) and "lease 6" in _header(app)
            await pilot.press("f4")  # take the configured leases now: it has them already
            await wait_for(pilot, lambda: any("0 lease(s) taken; 6 place(s)" in n.message
                                              for n in app._notifications))
            screen = await open_event(pilot, "MAGICA")
            smap = screen.query_one(SeatMap)
            await wait_for(pilot, lambda: len(screen.lease_seats) == 6)
            leased = sorted(screen.lease_seats)
            assert all(smap.state_of(s) == "lease_mine" for s in leased)
            assert "my lease" in str(screen.query_one("#legend").render())

            proxy.cut()
            await wait_for(pilot, lambda: app.selling_offline and smap.lease_only)
            head = _header(app)
            assert "OFFLINE" in head and "selling from this terminal's lease only" in head

            # Back to the list and into the event again: offline, the map comes from the
            # last online read and the lease book.
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, SaleScreen)
                           and app.screen.data is not None)
            screen = app.screen
            smap = screen.query_one(SeatMap)
            await wait_for(pilot, lambda: smap.lease_only and len(screen.lease_seats) == 6)
            assert all(smap.state_of(s) == "lease_mine" for s in leased)

            # A free seat outside the lease is refused with the clear message.
            outside = next(s for s in smap._seat_ids
                           if s not in screen.lease_seats and smap.state_of(s) == "available")
            smap.move_cursor_to(outside)
            await pilot.press("space")
            await wait_for(pilot, lambda: app.last_error is not None)
            assert "only this terminal's leased seats can be sold now" in app.last_error
            assert smap.picked == ()

            # Two leased seats, sold for cash, offline.
            for s in leased[:2]:
                smap.move_cursor_to(s)
                await pilot.press("space")
            assert smap.picked == tuple(leased[:2])
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(screen.hold, OfflineCart))
            assert screen.hold.total_minor == 2 * 8000
            await pilot.press("f5")
            await wait_for(pilot, lambda: isinstance(app.screen, CashScreen))
            await pilot.press(*"20000", "enter")
            await wait_for(pilot, lambda: screen.last_sale is not None and app.screen is screen)
            sale = screen.last_sale
            assert sale.offline and sale.order_number > 0 and sale.change_minor == 4000
            last = str(screen.query_one("#last-sale").render())
            assert f"#{sale.order_number}" in last or str(sale.order_number) in last
            assert "OFFLINE sale" in last
            assert all(smap.state_of(s) == "sold" for s in leased[:2])
            await wait_for(pilot, lambda: app.sync_state["queue_depth"] == 1)
            assert "queue 1" in _header(app) and "lease 4" in _header(app)
            state = app.terminal_state()
            assert state["online"] is False and state["sync"]["queue_depth"] == 1
            # Tickets signed by this terminal went through the spooler with no database.
            spooler = svc.spooler
            assert sale.print_jobs and spooler.wait_idle(10)
            assert all(spooler.job(j).state == "printed" for j in sale.print_jobs)
            assert len(list((tmp_path / "preview").glob("*ticket*.png"))) == 2
            assert scalar(ctx, "select count(*) from orders where id = :o",
                          o=sale.order_id) == 0

            # Card offline: store-and-forward only under the floor limit (100,00 here),
            # with the risk shown to the cashier.
            for s in leased[2:4]:
                smap.move_cursor_to(s)
                await pilot.press("space")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(screen.hold, OfflineCart))
            await pilot.press("f6")
            await wait_for(pilot, lambda: isinstance(app.screen, CardScreen))
            card = app.screen
            await wait_for(pilot, lambda: "charged when back online" in str(
                card.query_one("#card-saf").render()))
            await pilot.press("enter")
            await wait_for(pilot, lambda: card.state == "failed")
            assert "limited to R$" in str(card.query_one("#card-result").render())
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)
            await pilot.press("delete")
            smap.move_cursor_to(leased[2])
            await pilot.press("space", "enter")
            await wait_for(pilot, lambda: isinstance(screen.hold, OfflineCart)
                           and screen.hold.seat_ids == (leased[2],))
            await pilot.press("f6")
            await wait_for(pilot, lambda: isinstance(app.screen, CardScreen))
            card = app.screen
            await wait_for(pilot, lambda: "at risk on this terminal: R$" in str(
                card.query_one("#card-saf").render()))
            await pilot.press("enter")
            await wait_for(pilot, lambda: card.state == "approved")
            assert "card will be charged when back online" in str(
                card.query_one("#card-result").render())
            await pilot.press("escape")
            await wait_for(pilot, lambda: screen.last_sale is not None
                           and screen.last_sale.order_id != sale.order_id)
            card_sale = screen.last_sale
            assert card_sale.offline and card_sale.card_risk_minor == 8000
            await wait_for(pilot, lambda: app.sync_state["queue_depth"] == 2)
            assert "lease 3" in _header(app)

            proxy.restore()
            await wait_for(pilot, lambda: app.sync_state["online"] and not app.selling_offline,
                           timeout=20)
            await wait_for(pilot, lambda: app.sync_state["queue_depth"] == 0, timeout=20)
            assert "online" in _header(app) and "queue 0" in _header(app)
            # The stored card was charged through the sandbox gateway on reconnect.
            await wait_for(pilot, lambda: svc.sync.stored_card_total() == 0)
    finally:
        for stop in reversed(stops):
            with contextlib.suppress(Exception):
                stop()

    # Central database: the sale once, each seat sold once, the lease bookkeeping sound.
    assert scalar(ctx, "select count(*) from orders where id = :o", o=sale.order_id) == 1
    assert scalar(ctx, "select number from orders where id = :o",
                  o=sale.order_id) == sale.order_number
    sold = sold_per_seat(ctx.engine, ev)
    assert [sold.get(s) for s in leased[:2]] == [1, 1]
    assert rows(ctx, "select status from event_seats where event_id = :e and seat_id = any(:s)",
                e=ev, s=leased[:2]) == [("sold",), ("sold",)]
    assert scalar(ctx, "select count(*) from lease_sales where order_id = :o",
                  o=sale.order_id) == 1
    assert scalar(ctx, "select count(*) from lease_sales where order_id = :o and flag is null",
                  o=card_sale.order_id) == 1
    assert sold.get(leased[2]) == 1 and sold.get(leased[3]) is None
    assert lease_invariants(ctx.engine) == []
