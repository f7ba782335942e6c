"""Snapshots of the main screens at 80x24 and 120x40: fixed demo data (event dates and
the monitor's figures pinned), a frozen clock, no animations, no cursor blink.

The counter runs on snap-counter's own cashier login and the monitor on snap-monitor's
monitor login (the names in their headers); the owner's ``ctx`` only seeded the demo."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from boxoffice_tui.app import CashierApp, MonitorApp
from core.actors import OperatorInfo
from core.app_context import CoreContext
from core.monitor import Alert, Approval, Occupancy, OpenHold, Snapshot, TerminalRow
from core.reservation import HoldLine, HoldResult
from core.sales import ShiftInfo
from terminal.counter import CounterSession
from terminal.monitor import MonitorSession
from tests.conftest import make_settings
from tests.logins import TerminalLogins
from tests.terminal_fixtures import wait_for

pytestmark = pytest.mark.db
FROZEN = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
SIZES = [(80, 24), (120, 40)]


class FixedServices(CounterSession):
    """The real database for seats and prices; dates and live figures pinned."""

    def events(self) -> list[Any]:
        evs = sorted(super().events(), key=lambda e: e.code)
        return [replace(e, starts_at=FROZEN + timedelta(days=i, hours=3))
                for i, e in enumerate(evs)]

    def printer_state(self) -> str:
        return "none"

    def find_orders(self, query: str) -> list[Any]:
        from core.monitor import OrderSummary

        return [OrderSummary(str(uuid.UUID(int=0xA1)), 100001, "SINATRA", "Tributo a Sinatra",
                             None, "partially_refunded", 75000, "BRL",
                             "ORQ C2, ORQ C3, ORQ C4", FROZEN)]

    def order_lines(self, order_id: str) -> list[Any]:
        from core.sales import OrderLineView

        return [OrderLineView(1, "ORQ", "C", 2, 1, 25000, "sold"),
                OrderLineView(2, "ORQ", "C", 3, 1, 25000, "refunded"),
                OrderLineView(3, "ORQ", "C", 4, 1, 25000, "sold")]

    def refund_needs_approval(self, order_id: str,
                              line_ids: list[int] | None = None) -> str | None:
        return "other shift"

    def monitor_snapshot(self) -> Snapshot:
        beat = FROZEN - timedelta(seconds=3)
        return Snapshot(
            sales_per_minute=[0, 1, 3, 2, 5, 8, 4, 2, 6, 9, 7, 3, 1, 0, 2, 4] * 4,
            revenue_by_tender={"card": 1_254_000, "cash": 348_000}, currency="BRL",
            occupancy=[Occupancy(1, "COMEDIA-HOJE", "Noite de Comédia", 1056, 412, 24),
                       Occupancy(2, "SINATRA", "Tributo a Sinatra", 1056, 87, 6),
                       Occupancy(5, "POKER-OPEN", "Texas Hold'em Open", 400, 312, 0),
                       Occupancy(6, "MAGICA", "Noite de Mágica", 1216, 2, 0)],
            terminals=[
                TerminalRow("counter-1", "cashier", beat, 3.0,
                            {"operator": "ana", "queue_depth": 0, "printer": "ok",
                             "breaker": "closed"}, False),
                TerminalRow("counter-2", "cashier", beat, 95.0,
                            {"operator": "bruno", "queue_depth": 4, "printer": "offline",
                             "breaker": "open"}, True),
                TerminalRow("kiosk-1", "kiosk", beat, 2.0,
                            {"queue_depth": 0, "printer": "ok", "breaker": "closed"}, False),
                TerminalRow("kiosk-2", "kiosk", beat, 600.0,
                            {"screen": "stopped", "stopped": "staff exit", "printer": "ok",
                             "breaker": "closed"}, False, True)],
            open_holds=[OpenHold("h1", "counter-1", "SINATRA", 2, 50000, "BRL", 421),
                        OpenHold("h2", "kiosk-1", "COMEDIA-HOJE", 4, 48000, "BRL", 95)],
            approvals=[Approval(str(uuid.UUID(int=7)), "shift_variance", "bruno", "counter-2",
                                -4500, {"expected_minor": 182000, "counted_minor": 177500},
                                beat)],
            alerts=[Alert("terminal_silent", "counter-2", {"seconds": 95}),
                    Alert("variance_waiting", "counter-2",
                          {"login": "bruno", "amount_minor": -4500})],
            as_of=FROZEN, refunds_by_tender={"card": 75_000})


class FixedMonitor(MonitorSession):
    """The monitor's own session (no shift in its header), with the same pinned figures."""

    printer_state = FixedServices.printer_state
    monitor_snapshot = FixedServices.monitor_snapshot


class SnapshotCashier(CashierApp):
    clock_zone = "UTC"  # the header's clock, whatever the machine's zone

    def format_when(self, ts: datetime, tz: str | None = None) -> str:
        # The venue's zone when known (fixed demo data), never the machine's.
        if tz:
            return super().format_when(ts, tz)
        return ts.astimezone(UTC).strftime("%d/%m %H:%M" if self.lang == "pt-BR"
                                           else "%b %d %H:%M")


class SnapshotMonitor(MonitorApp):
    clock_zone = "UTC"


@pytest.fixture(scope="module")
def sctx(ctx: CoreContext, db_url: str, module_tmp: Path,
         terminal_logins: TerminalLogins) -> CoreContext:
    """snap-counter's own context, on its cashier login."""
    settings = make_settings(db_url, module_tmp, terminal__name="snap-counter",
                             terminal__language="en")
    return terminal_logins.new_context("snap-counter", "cashier", settings, pool_size=2)


@pytest.fixture(scope="module")
def mctx(sctx: CoreContext, terminal_logins: TerminalLogins) -> CoreContext:
    """snap-monitor's own context, on its monitor login."""
    return terminal_logins.new_context("snap-monitor", "monitor", sctx.settings, pool_size=2)


def _services(sctx: CoreContext, signed_in: bool = True) -> FixedServices:
    svc = FixedServices(sctx, "snap-counter")
    if signed_in:
        svc.operator = OperatorInfo(1, "ana", "Ana Souza", "cashier")
        svc.shift = ShiftInfo(uuid.UUID(int=0x5EED), 1, 1, "open", "BRL", 20000)
    return svc


def _app(sctx: CoreContext, signed_in: bool = True, lang: str = "en") -> SnapshotCashier:
    return SnapshotCashier(_services(sctx, signed_in), clock=lambda: FROZEN,
                           language_code=lang, heartbeat=False)


async def _settle(pilot: Any) -> None:
    from textual.widgets import Input

    for inp in pilot.app.screen.query(Input):
        inp.cursor_blink = False
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()  # tables size their columns on the refresh after rows arrive


async def _events(pilot: Any) -> Any:
    from boxoffice_tui.screens.events import EventsScreen

    app = pilot.app
    await pilot.pause()
    await app.switch_screen(EventsScreen())
    while not app.screen.events:
        await pilot.pause(0.02)
    await _settle(pilot)
    return app.screen


@pytest.mark.parametrize("size", SIZES)
def test_sign_in(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    assert snap_compare(_app(sctx, signed_in=False), terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES)
def test_events(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    assert snap_compare(_app(sctx), terminal_size=size, run_before=_events)


def test_events_in_portuguese(snap_compare: Any, sctx: CoreContext) -> None:
    """Portuguese words are longer: the availability column's title and the footer's six
    keys must still fit at 80 columns (the language key once pushed the last one off)."""
    assert snap_compare(_app(sctx, lang="pt-BR"), terminal_size=(80, 24),
                        run_before=_events)


@pytest.mark.parametrize("size", SIZES)
def test_seat_map(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    from boxoffice_tui.screens.sale import SaleScreen
    from boxoffice_tui.widgets.seatmap import SeatMap

    async def run_before(pilot: Any) -> None:
        events = await _events(pilot)
        ev = next(e for e in events.events if e.code == "SINATRA")
        screen = SaleScreen(ev)
        await pilot.app.push_screen(screen)
        smap = screen.query_one(SeatMap)
        while not smap.seat_count:
            await pilot.pause(0.02)
        await pilot.press("down", "down", "right", "space", "right", "space")
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)


def test_seat_map_in_portuguese(snap_compare: Any, sctx: CoreContext) -> None:
    """Every word on the sale screen in Portuguese (footer, legend, seat line, stage)."""
    from boxoffice_tui.screens.sale import SaleScreen
    from boxoffice_tui.widgets.seatmap import SeatMap

    async def run_before(pilot: Any) -> None:
        events = await _events(pilot)
        ev = next(e for e in events.events if e.code == "SINATRA")
        screen = SaleScreen(ev)
        await pilot.app.push_screen(screen)
        smap = screen.query_one(SeatMap)
        while not smap.seat_count:
            await pilot.pause(0.02)
        await pilot.press("down", "down", "right", "space")
        await _settle(pilot)

    assert snap_compare(_app(sctx, lang="pt-BR"), terminal_size=(80, 24),
                        run_before=run_before)


def test_cash_checkout(snap_compare: Any, sctx: CoreContext) -> None:
    from boxoffice_tui.screens.checkout import CashScreen

    hold = HoldResult(uuid.UUID(int=1), 1, FROZEN + timedelta(minutes=10), 50000, "BRL",
                      (HoldLine(1, 10, 1, 25000, 1), HoldLine(1, 11, 1, 25000, 1)))

    async def run_before(pilot: Any) -> None:
        await _events(pilot)
        await pilot.app.push_screen(CashScreen(hold))
        await pilot.press(*"60000")
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_x_report(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    """The X report as a report: local time, money, by tender, no expected cash."""
    from boxoffice_tui.screens.dialogs import ReportDialog, shift_report_text
    from core.sales import ShiftReport, TenderTotals

    rep = ShiftReport("X", uuid.UUID(int=0x5EED), 1, 1, "open", "BRL", FROZEN, None, 20000,
                      {"cash": TenderTotals(4, 98000, 1, 25000),
                       "card": TenderTotals(7, 1254000, 1, 75000)},
                      {"float": 20000, "sale": 98000, "refund": -25000}, 93000)

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await _events(pilot)
        await app.push_screen(ReportDialog("X report", shift_report_text(
            rep, app.lang, lambda ts: ts.astimezone(UTC).strftime("%b %d %H:%M"))))
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_orders(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    """An order found, its tickets listed, one chosen for a refund (Space, Space)."""
    from boxoffice_tui.screens.orders import OrdersScreen

    async def run_before(pilot: Any) -> None:
        await _events(pilot)
        screen = OrdersScreen("100001")
        await pilot.app.push_screen(screen)
        while len(screen.lines) < 3:
            await pilot.pause(0.02)
        await pilot.press("space", "space")
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)


def test_help_in_portuguese(snap_compare: Any, sctx: CoreContext) -> None:
    async def run_before(pilot: Any) -> None:
        await _events(pilot)
        await pilot.press("f1")
        await _settle(pilot)

    assert snap_compare(_app(sctx, lang="pt-BR"), terminal_size=(80, 24),
                        run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_monitor(snap_compare: Any, mctx: CoreContext, size: tuple[int, int]) -> None:
    app = SnapshotMonitor(FixedMonitor(mctx, "snap-monitor"), clock=lambda: FROZEN,
                     language_code="en", heartbeat=False)

    async def run_before(pilot: Any) -> None:
        await _monitor_drawn(pilot)
        await _settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def _monitor_drawn(pilot: Any) -> None:
    """The monitor showed its snapshot and its tables sized their columns to the rows
    (a table does that when idle after rows arrive, not when they are added)."""
    from textual.widgets import DataTable

    def drawn() -> bool:
        screen = pilot.app.screen
        if screen.__class__.__name__ != "MonitorScreen" or not screen.refreshes:
            return False
        first = {"occupancy": "COMEDIA-HOJE", "terminals": "counter-1", "holds": "counter-1"}
        return all(screen.query_one(f"#{tid}", DataTable).ordered_columns[0].content_width
                   >= len(text) for tid, text in first.items())

    while not drawn():
        await pilot.pause(0.02)


def test_monitor_switched_to_portuguese(snap_compare: Any, mctx: CoreContext) -> None:
    """ctrl+l on a running monitor: titles, column headers and states in pt-BR."""
    app = SnapshotMonitor(FixedMonitor(mctx, "snap-monitor"), clock=lambda: FROZEN,
                     language_code="en", heartbeat=False)

    async def run_before(pilot: Any) -> None:
        await _monitor_drawn(pilot)
        await pilot.press("ctrl+l")
        await _monitor_drawn(pilot)
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


@pytest.mark.anyio
async def test_monitor_headers_follow_the_language(mctx: CoreContext) -> None:
    from textual.widgets import DataTable, Label

    from boxoffice_tui.screens.monitor import COLUMNS, TITLES

    app = SnapshotMonitor(FixedMonitor(mctx, "snap-monitor"), clock=lambda: FROZEN,
                     language_code="en", heartbeat=False)

    def headers() -> list[str]:
        return [str(c.label) for tid in COLUMNS
                for c in app.screen.query_one(f"#{tid}", DataTable).ordered_columns]

    def titles() -> list[str]:
        return [str(app.screen.query_one(f"#{lid}", Label).render()) for lid in TITLES]

    async with app.run_test(size=(120, 40)) as pilot:
        while app.screen.__class__.__name__ != "MonitorScreen" or not app.screen.refreshes:
            await pilot.pause(0.02)
        en_headers, en_titles = headers(), titles()
        assert "printer" in en_headers and "Alerts" in en_titles
        stale_en = str(app.screen.query_one("#terminals", DataTable).get_cell_at((1, 4)))
        await pilot.press("ctrl+l")
        await pilot.pause()
        pt_headers, pt_titles = headers(), titles()
        assert "impressora" in pt_headers and "Alertas" in pt_titles
        # every header with words changed; only "" and "%" read the same in both
        assert [h for h, p in zip(en_headers, pt_headers, strict=True) if h == p] == \
            [h for h in en_headers if h in ("", "%", "terminal")]
        assert all(e != p for e, p in zip(en_titles, pt_titles, strict=True))
        stale_pt = str(app.screen.query_one("#terminals", DataTable).get_cell_at((1, 4)))
        assert (stale_en, stale_pt) == ("STALE", "SEM SINAL")
        # the approvals table keeps its rows (approve still works after the switch)
        assert app.screen.query_one("#approvals", DataTable).row_count == 1
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert headers() == en_headers and titles() == en_titles


# --- the screens and dialogs not shown above, each at 80x24 and 120x40 ------------------


@pytest.mark.parametrize("size", SIZES)
def test_open_shift(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    """A real sign-in (bruno's PIN checked by the database) on a terminal with no open
    shift asks for the opening float."""
    from boxoffice_tui.screens.signin import OpenShiftScreen

    async def run_before(pilot: Any) -> None:
        await pilot.pause()
        await pilot.press(*"bruno", "enter", *"2345", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, OpenShiftScreen))
        await _settle(pilot)

    assert snap_compare(_app(sctx, signed_in=False), terminal_size=size,
                        run_before=run_before)


def _hold() -> HoldResult:
    return HoldResult(uuid.UUID(int=1), 1, FROZEN + timedelta(minutes=10), 50000, "BRL",
                      (HoldLine(1, 10, 1, 25000, 1), HoldLine(1, 11, 1, 25000, 1)))


def test_cash_checkout_120x40(snap_compare: Any, sctx: CoreContext) -> None:
    from boxoffice_tui.screens.checkout import CashScreen

    async def run_before(pilot: Any) -> None:
        await _events(pilot)
        await pilot.app.push_screen(CashScreen(_hold()))
        await pilot.press(*"60000")
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=(120, 40), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_card_checkout(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    """The card dialog before it is sent (the gateway is never asked here)."""
    from boxoffice_tui.screens.checkout import CardScreen

    async def run_before(pilot: Any) -> None:
        await _events(pilot)
        await pilot.app.push_screen(CardScreen(_hold()))
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_refund_approval(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    """F9 on a chosen ticket of an order sold in another shift: the supervisor's dialog."""
    from boxoffice_tui.screens.dialogs import SupervisorDialog
    from boxoffice_tui.screens.orders import OrdersScreen

    async def run_before(pilot: Any) -> None:
        await _events(pilot)
        screen = OrdersScreen("100001")
        await pilot.app.push_screen(screen)
        while len(screen.lines) < 3:
            await pilot.pause(0.02)
        await pilot.press("space", "space", "f9")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SupervisorDialog))
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_close_shift(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    """F10 from the events: the blind count."""
    from boxoffice_tui.screens.dialogs import CloseShiftDialog

    async def run_before(pilot: Any) -> None:
        await _events(pilot)
        await pilot.press("f10")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CloseShiftDialog))
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await _events(pilot)
        await pilot.press("f1")
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)


def _monitor(mctx: CoreContext, **kwargs: Any) -> SnapshotMonitor:
    return SnapshotMonitor(FixedMonitor(mctx, "snap-monitor"), clock=lambda: FROZEN,
                           language_code="en", heartbeat=False, **kwargs)


@pytest.mark.parametrize("size", SIZES)
def test_monitor_sign_in(snap_compare: Any, mctx: CoreContext, size: tuple[int, int]) -> None:
    """What a tablet shows first (``monitor --web``)."""
    async def run_before(pilot: Any) -> None:
        while pilot.app.screen.__class__.__name__ != "MonitorSignInScreen":
            await pilot.pause(0.02)
        await _settle(pilot)

    assert snap_compare(_monitor(mctx, sign_in_first=True), terminal_size=size,
                        run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_monitor_help(snap_compare: Any, mctx: CoreContext, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await _monitor_drawn(pilot)
        await pilot.press("f1")
        await _settle(pilot)

    assert snap_compare(_monitor(mctx), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_monitor_approval(snap_compare: Any, mctx: CoreContext, size: tuple[int, int]) -> None:
    """``a`` on the pending variance: its figures in the title, login and PIN."""
    from boxoffice_tui.screens.dialogs import SupervisorDialog

    async def run_before(pilot: Any) -> None:
        await _monitor_drawn(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SupervisorDialog))
        await _settle(pilot)

    assert snap_compare(_monitor(mctx), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_events_offline(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    """Selling from the lease: the header line in red with the queue and lease, and the
    alarm's sentence wrapped under it (whole at 80 columns too)."""
    async def run_before(pilot: Any) -> None:
        await _events(pilot)
        pilot.app.apply_sync({"online": False, "queue_depth": 2, "flagged": 0,
                              "leases": [{"lease_id": 1, "status": "active", "remaining": 6}]})
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)
