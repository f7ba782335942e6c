"""The supervisor's console on the monitor: a supervisor signs in, pauses and resumes an
event, sets a price by hand (a second supervisor approves a big one), blocks and releases
seats on the seat map, changes a GA capacity; another terminal's session sees each change
at once (its next hold is refused, quoted the new price, or finds the seat blocked)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from boxoffice_tui.app import MonitorApp
from boxoffice_tui.screens.console import ConsoleScreen
from boxoffice_tui.screens.console_dialogs import (
    BlockDialog,
    CapacityDialog,
    ConfirmDialog,
    ConsoleSignIn,
    PriceDialog,
)
from boxoffice_tui.screens.console_seats import ConsoleSeatsScreen
from boxoffice_tui.screens.dialogs import SupervisorDialog
from boxoffice_tui.screens.monitor import MonitorScreen
from boxoffice_tui.widgets.seatmap import SeatMap
from core.errors import BoxOfficeError
from terminal.counter import CounterSession
from terminal.monitor import MonitorSession
from terminal.results import Approval
from tests.tui.conftest import build_session, rows, scalar, wait_for

pytestmark = [pytest.mark.db, pytest.mark.anyio]
SIZE = (120, 40)


@pytest.fixture(scope="module")
def second_supervisor(ctx: Any) -> str:
    """Dora, a second supervisor for the changes over the threshold (the owner adds her)."""
    from core.actors import create_operator
    from core.uow import unit_of_work

    with unit_of_work(ctx.engine) as conn:
        create_operator(conn, "dora", "Dora Reis", "supervisor", "4321")
    return "dora"


@pytest.fixture
def other_counter(tctx: Any) -> CounterSession:
    """Another terminal: the counter whose next hold must see the console's change."""
    from core.actors import authenticate

    svc = build_session(CounterSession, tctx, f"tui-other-{uuid.uuid4().hex[:6]}")
    svc.start()
    svc.operator = authenticate(tctx.engine, "ana", "1234")
    return svc


def monitor_app(tctx: Any) -> MonitorApp:
    return MonitorApp(build_session(MonitorSession, tctx, "tui-console"), language_code="en",
                      heartbeat=False)


async def open_console(pilot: Any, login: str = "carla", pin: str = "9999") -> ConsoleScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, ConsoleSignIn))
    await pilot.press(*login, "enter", *pin, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ConsoleScreen))
    screen = app.screen
    await wait_for(pilot, lambda: screen.events)
    return screen


async def select(pilot: Any, screen: ConsoleScreen, code: str) -> Any:
    """Move the events list's cursor onto ``code`` and wait for its detail."""
    from textual.widgets import DataTable

    idx = next(i for i, e in enumerate(screen.events) if e.code == code)
    screen.query_one("#events", DataTable).move_cursor(row=idx)
    await wait_for(pilot, lambda: screen.view is not None
                   and screen.view.detail.event.code == code)
    return screen.view.detail.event


def op_id(tctx: Any, login: str) -> int:
    return int(scalar(tctx, "select id from operators where login = :l", l=login))


def event_id(tctx: Any, code: str) -> int:
    return int(scalar(tctx, "select id from events where code = :c", c=code))


def last_sign_in(tctx: Any, login: str) -> Any:
    return scalar(tctx, "select last_sign_in_at from operators where login = :l", l=login)


async def test_the_console_needs_a_supervisor_and_records_the_sign_in(tctx: Any) -> None:
    before = scalar(tctx, "select now()")
    app = monitor_app(tctx)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsoleSignIn))
        dialog = app.screen
        await pilot.press(*"ana", "enter", *"1234", "enter")  # a cashier
        await wait_for(pilot, lambda: "supervisor" in str(
            dialog.query_one("#con-error").render()))
        assert app.services.operator is None and isinstance(app.screen, ConsoleSignIn)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        screen = await open_console(pilot)
        assert app.services.operator is not None and app.services.operator.login == "carla"
        assert "Carla" in str(screen.query_one("#console-who").render())
        # what exists, read-only: the rooms and the staff with their last sign-in
        await pilot.press("2")
        await wait_for(pilot, lambda: screen.query_one("#rooms").row_count >= 3)
        await pilot.press("3")
        await wait_for(pilot, lambda: screen.query_one("#staff").row_count >= 3)
        await pilot.press("1")
        await pilot.press("ctrl+o")  # sign out: back on the monitor, nobody signed in
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        assert app.services.operator is None
    assert last_sign_in(tctx, "carla") >= before


async def test_the_console_speaks_portuguese_after_ctrl_l(tctx: Any) -> None:
    from textual.widgets import DataTable

    app = monitor_app(tctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_console(pilot)
        await select(pilot, screen, "SINATRA")
        headers = [str(c.label) for c in screen.query_one("#events", DataTable)
                   .ordered_columns]
        assert headers[:3] == ["code", "when", "status"]
        await pilot.press("ctrl+l")
        await pilot.pause()
        headers = [str(c.label) for c in screen.query_one("#events", DataTable)
                   .ordered_columns]
        assert headers[:3] == ["código", "quando", "situação"]
        assert "Preços" in str(screen.query_one("#console-detail").render())
        footer = {b.binding.description for b in screen.active_bindings.values()}
        assert "Pausar/retomar" in footer and "Assentos" in footer
        await pilot.press("ctrl+l")


def test_a_sign_in_on_any_terminal_is_recorded_once_and_a_wrong_pin_not(tctx: Any) -> None:
    """The database stamps the time in bo_authenticate (migration 0009), for the
    counter's sign-in and the console's alike; a refused PIN leaves it alone."""
    counter = build_session(CounterSession, tctx, "tui-sign-in-counter")
    monitor = build_session(MonitorSession, tctx, "tui-sign-in-monitor")
    before = scalar(tctx, "select now()")
    counter.sign_in("bruno", "2345")
    monitor.supervisor_sign_in("carla", "9999")
    bruno, carla = last_sign_in(tctx, "bruno"), last_sign_in(tctx, "carla")
    assert bruno >= before and carla >= before
    with pytest.raises(BoxOfficeError):
        counter.sign_in("bruno", "0000")
    assert last_sign_in(tctx, "bruno") == bruno
    with pytest.raises(BoxOfficeError) as err:  # a cashier on the console: refused
        monitor.supervisor_sign_in("bruno", "2345")
    assert err.value.code == "not_authorized" and monitor.operator is not None
    counter.sign_out()
    monitor.supervisor_sign_out()
    assert monitor.operator is None


async def test_pause_and_resume_from_the_console(tctx: Any,
                                                 other_counter: CounterSession) -> None:
    app = monitor_app(tctx)
    eid = event_id(tctx, "MAGICA")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_console(pilot)
        await select(pilot, screen, "MAGICA")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("enter")
        await wait_for(pilot, lambda: scalar(
            tctx, "select status from events where id = :e", e=eid) == "paused")
        # another terminal: its next hold is refused at once
        t0 = time.perf_counter()
        with pytest.raises(BoxOfficeError) as err:
            other_counter.hold_best(uuid.uuid4(), eid, 2)
        assert err.value.code == "event_paused" and time.perf_counter() - t0 < 1.0
        await wait_for(pilot, lambda: screen.view is not None
                       and screen.view.detail.event.status == "paused")
        assert "PAUSED" in str(screen.query_one("#console-detail").render())
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("enter")
        await wait_for(pilot, lambda: scalar(
            tctx, "select status from events where id = :e", e=eid) == "on_sale")
    hold = other_counter.hold_best(uuid.uuid4(), eid, 2)
    assert hold.quantity == 2
    other_counter.release(uuid.uuid4(), hold.hold_id)
    audit = rows(tctx, "select payload::jsonb as p from audit_log where action ="
                       " 'event_status' order by seq")
    carla = op_id(tctx, "carla")
    mine = {p["data"]["status"] for p in (r.p for r in audit)
            if p["id"] == str(eid) and p["operator"] == carla}
    assert mine == {"paused", "on_sale"}


async def test_price_override_and_a_second_supervisor(tctx: Any, second_supervisor: str,
                                                      other_counter: CounterSession) -> None:
    app = monitor_app(tctx)
    eid = event_id(tctx, "SINATRA")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_console(pilot)
        await select(pilot, screen, "SINATRA")
        tiers = {tr.section: tr for tr in screen.view.detail.tiers}
        old = tiers["BAL"].current_minor
        small = old + 1000  # within the 20 % threshold
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, PriceDialog))
        app.screen.query_one("#price-section").value = "BAL"
        await pilot.pause()
        await pilot.press(*str(small // 100), "enter", *"strong demand", "enter")
        await wait_for(pilot, lambda: scalar(
            tctx, "select current_minor from price_tiers pt join sections s on s.id ="
                  " pt.section_id where pt.event_id = :e and s.code = 'BAL'", e=eid) == small)
        # another terminal's next hold in that section pays the new price
        bal = rows(tctx, "select es.seat_id from event_seats es join sections s on s.id ="
                         " es.section_id where es.event_id = :e and s.code = 'BAL' and"
                         " es.status = 'available' order by es.seat_id limit 1", e=eid)
        hold = other_counter.hold_seats(uuid.uuid4(), eid, [bal[0].seat_id])
        assert hold.total_minor == small
        other_counter.release(uuid.uuid4(), hold.hold_id)

        big = tiers["BAL"].ceiling_minor  # far over the threshold
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, PriceDialog))
        app.screen.query_one("#price-section").value = "BAL"
        await pilot.pause()
        await pilot.press(*str(big // 100), "enter", *"last rows", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorDialog))
        assert scalar(tctx, "select count(*) from price_requests where event_id = :e and"
                            " status = 'pending'", e=eid) == 1
        first = app.screen
        await pilot.press(*"carla", "enter", *"9999", "enter")  # not their own change
        await wait_for(pilot, lambda: app.last_error is not None
                       and isinstance(app.screen, SupervisorDialog) and app.screen is not first)
        assert scalar(tctx, "select status from price_requests where event_id = :e",
                      e=eid) == "pending"
        await pilot.press(*second_supervisor, "enter", *"4321", "enter")
        await wait_for(pilot, lambda: scalar(
            tctx, "select status from price_requests where event_id = :e", e=eid)
            == "approved")
    last = rows(tctx, "select pc.new_minor, o.login as by, a.login as appr from price_changes"
                      " pc join price_tiers pt on pt.id = pc.tier_id join operators o on"
                      " o.id = pc.operator_id left join operators a on a.id = pc.approved_by"
                      " where pt.event_id = :e order by pc.id", e=eid)
    assert [(r.new_minor, r.by, r.appr) for r in last][-2:] == \
        [(small, "carla", None), (big, "carla", "dora")]


async def test_block_and_release_seats_from_the_console_seat_map(
        tctx: Any, other_counter: CounterSession) -> None:
    app = monitor_app(tctx)
    eid = event_id(tctx, "COMEDIA-HOJE")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_console(pilot)
        await select(pilot, screen, "COMEDIA-HOJE")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsoleSeatsScreen))
        seats = app.screen
        smap = seats.query_one(SeatMap)
        await wait_for(pilot, lambda: smap.seat_count > 0)
        await pilot.press("down", "r")  # the cursor's whole row at once
        picked = smap.picked
        assert len(picked) > 10
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BlockDialog))
        await pilot.press(*"house seats", "enter")
        await wait_for(pilot, lambda: scalar(
            tctx, "select count(*) from event_seats where event_id = :e and status ="
                  " 'blocked'", e=eid) == len(picked))
        # another terminal: the seats read blocked and its hold is refused
        avail = other_counter.availability(eid)
        assert {avail.state_of(s) for s in picked} == {"B"}
        with pytest.raises(BoxOfficeError):
            other_counter.hold_seats(uuid.uuid4(), eid, [picked[0]])
        await wait_for(pilot, lambda: all(smap.state_of(s) == "blocked" for s in picked))
        assert smap.picked == ()
        reason = rows(tctx, "select kind, reason from seat_blocks where event_id = :e"
                            " and seat_id = :s", e=eid, s=picked[0])[0]
        assert (reason.kind, reason.reason) == ("house", "house seats")
        # two of them back on sale (picked blocked seats, u), then the rest (l: all)
        smap.move_cursor_to(picked[0])
        await pilot.press("space", "right", "space", "u")
        await wait_for(pilot, lambda: smap.state_of(picked[0]) != "blocked"
                       and smap.state_of(picked[1]) != "blocked")
        assert scalar(tctx, "select count(*) from event_seats where event_id = :e and status ="
                            " 'blocked'", e=eid) == len(picked) - 2
        hold = other_counter.hold_seats(uuid.uuid4(), eid, [picked[0]])
        other_counter.release(uuid.uuid4(), hold.hold_id)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, BlockDialog))
        await pilot.press("enter")  # all kinds
        await wait_for(pilot, lambda: scalar(
            tctx, "select count(*) from event_seats where event_id = :e and status ="
                  " 'blocked'", e=eid) == 0)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsoleScreen))


async def test_ga_capacity_from_the_console(tctx: Any,
                                           other_counter: CounterSession) -> None:
    app = monitor_app(tctx)
    eid = event_id(tctx, "POKER-OPEN")
    sec = int(scalar(tctx, "select section_id from ga_inventory where event_id = :e", e=eid))
    other_counter.hold_ga(uuid.uuid4(), eid, sec, 3)  # places taken: the floor of a change
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_console(pilot)
        await select(pilot, screen, "POKER-OPEN")
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, CapacityDialog))
        app.screen.query_one("#cap-value").value = ""
        await pilot.press(*"450", "enter")
        await wait_for(pilot, lambda: scalar(
            tctx, "select capacity from ga_inventory where event_id = :e", e=eid) == 450)
        await wait_for(pilot, lambda: screen.view is not None
                       and screen.view.ga[0].capacity == 450)
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, CapacityDialog))
        app.screen.query_one("#cap-value").value = ""
        await pilot.press("1", "enter")  # below what is held: refused, nothing changes
        await wait_for(pilot, lambda: app.last_error is not None)
        assert "below" in app.last_error or "3" in app.last_error
    assert scalar(tctx, "select capacity from ga_inventory where event_id = :e", e=eid) == 450


@pytest.mark.redis
async def test_another_terminal_is_told_within_a_second(tctx: Any, redis_url: str,
                                                        redis_prefix: str) -> None:
    """With Redis, a block from the console reaches another terminal's subscription (the
    feed seat maps listen to) well within a second of the commit."""
    import threading

    from core.app_context import CoreContext
    from core.live import LiveSeats

    settings = tctx.settings.model_copy(update={"redis": tctx.settings.redis.model_copy(
        update={"key_prefix": redis_prefix})})

    def feed_ctx() -> CoreContext:
        c = CoreContext(settings=settings, engine=tctx.engine)
        c.gateway = tctx.gateway
        c.listeners.append(LiveSeats(c, url=redis_url))
        return c

    other = build_session(CounterSession, feed_ctx(), "tui-feed-other")
    eid = event_id(tctx, "MAGICA")
    told = threading.Event()
    stop = other.subscribe(eid, lambda _change: told.set())
    app = MonitorApp(build_session(MonitorSession, feed_ctx(), "tui-console-feed"),
                     language_code="en", heartbeat=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_console(pilot)
            await select(pilot, screen, "MAGICA")
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, ConsoleSeatsScreen))
            smap = app.screen.query_one(SeatMap)
            await wait_for(pilot, lambda: smap.seat_count > 0)
            await pilot.press("space", "b")
            await wait_for(pilot, lambda: isinstance(app.screen, BlockDialog))
            told.clear()
            await pilot.press(*"press", "enter")
            t0 = time.perf_counter()
            await wait_for(pilot, lambda: scalar(
                tctx, "select count(*) from event_seats where event_id = :e and status ="
                      " 'blocked'", e=eid) == 1)
            await wait_for(pilot, told.is_set, timeout=3)
            assert time.perf_counter() - t0 < 1.0
            assert other.availability(eid).states.count("B") == 1
    finally:
        stop()


def test_the_console_session_on_a_monitor_login(ctx: Any, tmp_path: Any,
                                                second_supervisor: str) -> None:
    """Everything the console reads and does, on a monitor terminal's own database login
    (migration 0008's restricted role), not the suite's superuser."""
    from core.provisioning import drop_login, provision_terminal
    from tests.security.conftest import terminal_context

    t = provision_terminal(ctx.engine, "tui-console-login", "monitor")
    c = terminal_context(t, tmp_path)
    try:
        svc = MonitorSession(c, t.name)
        svc.supervisor_sign_in("carla", "9999")
        eid = event_id(ctx, "MAGICA")
        ga = event_id(ctx, "POKER-OPEN")
        # what the console shows
        assert any(e.id == eid for e in svc.console_events())
        view = svc.console_view(eid)
        assert view.detail.tiers and svc.console_view(ga).ga
        assert svc.rooms() and any(o.login == "carla" for o in svc.staff())
        data = svc.seat_map(eid)
        free = [s for s, st in zip(data.availability.seat_ids, data.availability.states,
                                   strict=True) if st == "A"][-2:]
        # what it does
        assert svc.set_sales(uuid.uuid4(), eid, "pause").status == "paused"
        assert svc.set_sales(uuid.uuid4(), eid, "resume").status == "on_sale"
        assert svc.block_seats(uuid.uuid4(), eid, free, "press", "cameras").changed == \
            tuple(free)
        assert svc.unblock_seats(uuid.uuid4(), eid, free[:1]).changed == tuple(free[:1])
        assert svc.release_blocked(uuid.uuid4(), eid, "press").changed == tuple(free[1:])
        cap = svc.console_view(ga).ga[0].capacity
        assert svc.set_ga_capacity(uuid.uuid4(), ga, "ENTRADA", cap + 5).capacity == cap + 5
        assert svc.set_ga_capacity(uuid.uuid4(), ga, "ENTRADA", cap).capacity == cap
        tier = view.detail.tiers[0]
        res = svc.override_price(uuid.uuid4(), eid, tier.section, tier.current_minor + 100,
                                 "test")
        assert res.status == "applied"
        svc.override_price(uuid.uuid4(), eid, tier.section, tier.current_minor, "back")
        big = svc.override_price(uuid.uuid4(), eid, tier.section, tier.ceiling_minor, "rush")
        assert big.status == "pending" and big.request_id is not None
        # the second supervisor rejects it here (their PIN): nothing changes
        no = svc.decide_price(uuid.uuid4(), big.request_id, False,
                              Approval(None, "", second_supervisor, "4321"))
        assert no.status == "rejected"
        assert svc.console_view(eid).detail.tiers[0].current_minor == tier.current_minor
    finally:
        c.engine.dispose()
        drop_login(ctx.engine, t.login)


def test_a_second_supervisor_approves_on_a_monitor_login(ctx: Any, tmp_path: Any,
                                                         second_supervisor: str) -> None:
    from core.provisioning import drop_login, provision_terminal
    from tests.security.conftest import terminal_context

    t = provision_terminal(ctx.engine, "tui-console-login-2", "monitor")
    c = terminal_context(t, tmp_path)
    try:
        svc = MonitorSession(c, t.name)
        svc.supervisor_sign_in("carla", "9999")
        eid = event_id(ctx, "MAGICA")
        tier = svc.console_view(eid).detail.tiers[-1]
        big = svc.override_price(uuid.uuid4(), eid, tier.section, tier.ceiling_minor, "rush")
        assert big.status == "pending" and big.request_id is not None
        second = Approval(None, "", second_supervisor, "4321")
        done = svc.decide_price(uuid.uuid4(), big.request_id, True, second)
        assert (done.status, done.new_minor) == ("applied", tier.ceiling_minor)
    finally:
        c.engine.dispose()
        drop_login(ctx.engine, t.login)
