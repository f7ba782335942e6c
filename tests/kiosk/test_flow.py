"""The customer's way through the kiosk, by touch, against the real database, sandbox
gateway and a loopback TCP printer."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.screens.attract import AttractScreen
from kiosk.screens.checkout import (
    CollectScreen,
    PaymentScreen,
    SummaryScreen,
    ThanksScreen,
)
from kiosk.screens.choose import AgeScreen, QuantityScreen, ShowsScreen
from kiosk.screens.seats import SeatsScreen
from tests.kiosk.conftest import rows, scalar, wait_for
from tests.kiosk.helpers import (
    SIZE,
    shown,
    started,
    tap,
    to_quantity,
    to_seats,
    to_shows,
    to_summary,
)

pytestmark = [pytest.mark.db, pytest.mark.anyio]


def hold_status(kctx: Any, hold_id: Any) -> str:
    return scalar(kctx, "select status from holds where id = :h", h=hold_id)


async def test_whole_flow_prints_tickets_and_sells_the_seats(make_app: Any, kctx: Any,
                                                            printer: Any) -> None:
    app = make_app()
    before = printer.count
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot, "SINATRA", 2)
        hold = app.purchase.hold
        seat_ids = list(hold.seat_ids)
        assert len(seat_ids) == 2
        assert "Total" in str(app.screen.query_one("#total").render())
        await tap(pilot, "#pay")
        await shown(pilot, PaymentScreen)
        await tap(pilot, "#card-0")  # Visa (approved)
        await shown(pilot, ThanksScreen)
        sale = app.purchase.sale
        states = rows(kctx, "select status, order_id from event_seats where seat_id = any(:s)"
                      " and event_id = :e", s=seat_ids, e=hold.event_id)
        assert {s for s, _ in states} == {"sold"}
        assert {str(o) for _, o in states} == {str(sale.order.order_id)}
        assert scalar(kctx, "select status from orders where id = :o",
                      o=sale.order.order_id) == "paid"
        assert scalar(kctx, "select state from sales where order_id = :o",
                      o=sale.order.order_id) == "completed"
        # Two tickets and the receipt reached the printer's port.
        assert printer.count - before == 3
        assert app.last_sale["order"] == sale.order.number
        await tap(pilot, "#done")
        await shown(pilot, AttractScreen)
        assert app.purchase is None


async def test_general_admission_skips_the_seat_map(make_app: Any, kctx: Any) -> None:
    app = make_app(age_gate=False)
    async with app.run_test(size=SIZE) as pilot:
        await to_quantity(pilot, "POKER-OPEN")
        await tap(pilot, "#qty-3")
        await shown(pilot, SummaryScreen)
        assert app.purchase.hold.quantity == 3
        assert "seats" not in app.steps()
        await tap(pilot, "#back")
        await shown(pilot, QuantityScreen)
        await app.workers.wait_for_complete()


@pytest.mark.parametrize("step", ["shows", "age", "quantity", "seats", "summary", "payment"])
async def test_cancel_at_each_step_releases_the_hold(make_app: Any, kctx: Any,
                                                     step: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        if step == "shows":
            await to_shows(pilot)
        elif step == "age":
            await to_shows(pilot)
            await tap(pilot, "#show-0")
            await shown(pilot, AgeScreen)
        elif step == "quantity":
            await to_quantity(pilot)
        elif step == "seats":
            await to_seats(pilot)
        else:
            await to_summary(pilot)
            if step == "payment":
                await tap(pilot, "#pay")
                await shown(pilot, PaymentScreen)
        hold = app.purchase.hold if app.purchase else None
        await tap(pilot, "#cancel")
        await shown(pilot, AttractScreen)
        await app.workers.wait_for_complete()
        if hold is not None:
            assert hold_status(kctx, hold.hold_id) == "released"
        assert app.purchase is None


async def test_back_walks_back_and_releases_when_leaving_the_seats(make_app: Any,
                                                                   kctx: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot)
        hold = app.purchase.hold
        await tap(pilot, "#back")
        await shown(pilot, SeatsScreen)
        assert hold_status(kctx, hold.hold_id) == "active"
        await pilot.press("escape")  # Escape is Back too
        await shown(pilot, QuantityScreen)
        await app.workers.wait_for_complete()
        assert hold_status(kctx, hold.hold_id) == "released"
        await tap(pilot, "#back")
        await shown(pilot, AgeScreen)
        await tap(pilot, "#back")
        await shown(pilot, ShowsScreen)
        await tap(pilot, "#back")
        await shown(pilot, AttractScreen)


async def test_pick_other_seats_by_keyboard(make_app: Any, kctx: Any) -> None:
    from boxoffice_tui.widgets.seatmap import SeatMap

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await to_seats(pilot, "SINATRA", 1)
        old = app.purchase.hold
        await tap(pilot, "#choose")
        smap = app.screen.query_one(SeatMap)
        assert smap.has_focus
        # Walk to a free seat that is not ours and pick it.
        await pilot.press("down", "down", "right", "right", "space")
        assert len(smap.picked) == 1
        picked = smap.picked[0]
        await tap(pilot, "#confirm-picked")
        await wait_for(pilot, lambda: app.purchase.hold.hold_id != old.hold_id)
        await app.workers.wait_for_complete()
        assert app.purchase.hold.seat_ids == (picked,)
        assert hold_status(kctx, old.hold_id) == "released"
        await tap(pilot, "#cancel")
        await shown(pilot, AttractScreen)
        await app.workers.wait_for_complete()


async def test_declined_card_keeps_the_hold_for_another_card(make_app: Any,
                                                            kctx: Any) -> None:
    app = make_app(age_gate=False)
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot, "COMEDIA-HOJE", 1)
        await tap(pilot, "#pay")
        await shown(pilot, PaymentScreen)
        await tap(pilot, "#card-2")  # declined
        status = app.screen.query_one("#status")
        await wait_for(pilot, lambda: "declined" in str(status.render()))
        assert hold_status(kctx, app.purchase.hold.hold_id) == "active"
        await tap(pilot, "#card-1")  # Mastercard (approved)
        await shown(pilot, ThanksScreen)


async def test_start_releases_the_kiosks_leftover_holds(make_app: Any, kctx: Any) -> None:
    import uuid

    from core.actors import Actor, register_terminal
    from core.reservation import hold_best_available
    from tests.kiosk.conftest import TERMINAL

    tid = register_terminal(kctx.engine, TERMINAL, "kiosk")
    ev = scalar(kctx, "select id from events where code = 'MAGICA'")
    left = hold_best_available(kctx, Actor(tid, TERMINAL, channel="kiosk"), uuid.uuid4(), ev, 2)
    assert hold_status(kctx, left.hold_id) == "active"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert hold_status(kctx, left.hold_id) == "released"
        assert app.services.released_at_start >= 1


async def test_heartbeat_reports_screen_printer_breaker_and_last_sale(make_app: Any,
                                                                      kctx: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        app.last_sale = {"order": 42}
        app.beat()
        await app.workers.wait_for_complete()
        state = scalar(kctx, "select state from terminals where name = :n",
                       n=app.services.terminal_name)
        assert state["screen"] == "attract"
        assert state["printer"] == "ok"
        assert state["breaker"] == "closed"
        assert state["last_sale"] == {"order": 42}
        assert state["kind"] == "kiosk"


async def test_print_failure_after_payment_shows_where_to_collect(make_app: Any, kctx: Any,
                                                                  printer: Any) -> None:
    app = make_app(age_gate=False)
    async with app.run_test(size=SIZE) as pilot:
        await to_summary(pilot, "COMEDIA-HOJE", 1)
        await tap(pilot, "#pay")
        await shown(pilot, PaymentScreen)
        printer.off()  # the printer dies between the check and the print
        await tap(pilot, "#card-0")
        await shown(pilot, CollectScreen)
        sale = app.purchase.sale
        text = str(app.screen.query_one(".explain").render())
        assert str(sale.order.number) in text
        assert "Box office counter" in text
        assert scalar(kctx, "select status from orders where id = :o",
                      o=sale.order.order_id) == "paid"
        # Back at attract, the kiosk knows the printer is down and stops selling.
        await tap(pilot, "#done")
        from kiosk.screens.service import OutOfServiceScreen

        await shown(pilot, OutOfServiceScreen)
        assert "printer" in app.readiness.reasons
        # The customer was sent to the counter: the tickets must not print here later.
        assert not [j for j in app.services.spooler.pending()
                    if j.state in ("queued", "printing")]
        printed_before = [j for j in printer.jobs if j]
        printer.on()
        # The spooler knocks without printing and the kiosk sells again.
        await shown(pilot, AttractScreen)
        assert [j for j in printer.jobs if j] == printed_before


async def test_language_and_high_contrast_from_the_attract_screen(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await tap(pilot, "#lang-es")
        await wait_for(pilot, lambda: "Compre sus entradas" in str(
            app.screen.query_one("#title").render()))
        assert "● Español" in str(app.screen.query_one("#lang-es").label)
        await tap(pilot, "#contrast")
        await wait_for(pilot, lambda: app.has_class("-hc"))
        # The state is said in words, not only by colour.
        await wait_for(pilot, lambda: "SÍ" in str(app.screen.query_one("#contrast").label))
        await tap(pilot, "#start")
        screen = await shown(pilot, ShowsScreen)
        assert "Elija el espectáculo" in str(screen.query_one("#title").render())
        assert "Volver" in str(screen.query_one("#back").label)


def test_cli_exclude_puts_an_identifier_on_the_list(kctx: Any, terminal_logins: Any,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Any) -> None:
    from boxoffice_cli.main import main
    from core.selfexclusion import is_excluded
    from tests.logins import psycopg_url

    # The exclusion desk: a monitor's own login, as its config file gives it.
    desk = terminal_logins.login("kiosk-admin", "monitor")
    monkeypatch.setenv("BOXOFFICE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("BOXOFFICE_DATABASE__URL", psycopg_url(desk.url))
    monkeypatch.setenv("BOXOFFICE_TERMINAL__DATA_DIR", str(tmp_path))
    import io

    # The supervisor's PIN comes from standard input (a script), never an argument.
    monkeypatch.setattr("sys.stdin", io.StringIO("9999\n9999\n"))
    assert not is_excluded(kctx.engine, "AB-998877")
    assert main(["kiosk", "exclude", "ab 998877", "--source", "court",
                 "--supervisor", "carla"]) == 0
    assert is_excluded(kctx.engine, "AB-998877")
    # An exclusion that ended (database clock) no longer refuses the sale.
    assert main(["kiosk", "exclude", "CD-112233", "--until", "2020-01-01T00:00:00+00:00",
                 "--supervisor", "carla"]) == 0
    assert not is_excluded(kctx.engine, "CD112233")
    assert main(["kiosk", "exclude", "x9", "--supervisor", "carla"]) == 1  # too short
