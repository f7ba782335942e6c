"""Snapshots of the supervisor console's screens at 80x24 and 120x40: the demo casino on
a database of their own (nothing sells here), event dates and sign-in times pinned, a
supervisor signed in, on snap-monitor's own monitor login (the owner's ``ctx`` only
seeded the demo)."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from boxoffice_tui.app import MonitorApp
from core.actors import OperatorInfo
from core.app_context import CoreContext
from terminal.monitor import ConsoleView, MonitorSession
from tests.conftest import make_settings
from tests.logins import TerminalLogins
from tests.terminal_fixtures import wait_for

pytestmark = pytest.mark.db
FROZEN = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
SIZES = [(80, 24), (120, 40)]


class PinnedMonitor(MonitorSession):
    """The real database for events, prices, seats and staff; times pinned."""

    def printer_state(self) -> str:
        return "none"

    def _when(self, code: str) -> datetime:
        return FROZEN + timedelta(days=sorted(self._codes).index(code), hours=3)

    def console_events(self) -> list[Any]:
        evs = super().console_events()
        self._codes = [e.code for e in evs]
        return sorted((replace(e, starts_at=self._when(e.code)) for e in evs),
                      key=lambda e: e.starts_at)

    def console_view(self, event_id: int) -> ConsoleView:
        view = super().console_view(event_id)
        ev = replace(view.detail.event, starts_at=self._when(view.detail.event.code))
        return replace(view, detail=replace(view.detail, event=ev))

    def staff(self) -> list[Any]:
        return [replace(o, last_sign_in_at=FROZEN if o.login == "carla" else None)
                for o in super().staff()]


@pytest.fixture(scope="module")
def sctx(ctx: CoreContext, db_url: str, module_tmp: Path,
         terminal_logins: TerminalLogins) -> CoreContext:
    """snap-monitor's own context, on its monitor login."""
    settings = make_settings(db_url, module_tmp, terminal__name="snap-monitor",
                             terminal__language="en")
    return terminal_logins.new_context("snap-monitor", "monitor", settings, pool_size=2)


class SnapshotMonitor(MonitorApp):
    clock_zone = "UTC"  # the header's clock, whatever the machine's zone


def _app(sctx: CoreContext, signed_in: bool = True) -> MonitorApp:
    svc = PinnedMonitor(sctx, "snap-monitor")
    if signed_in:
        svc.operator = OperatorInfo(3, "carla", "Carla Mendes", "supervisor")
    return SnapshotMonitor(svc, clock=lambda: FROZEN, language_code="en", heartbeat=False)


async def _settle(pilot: Any) -> None:
    from textual.widgets import Input
    from textual.worker import WorkerCancelled

    for inp in pilot.app.screen.query(Input):
        inp.cursor_blink = False
    # Each worker on its own: an exclusive load replaced by a newer one (the console's
    # view reloads when F1 lands mid-load on a busy machine) ends cancelled, which would
    # end a wait on all of them at once before the newer one finished.
    for worker in list(pilot.app.workers):
        with contextlib.suppress(WorkerCancelled):
            await worker.wait()
    await pilot.pause()
    await pilot.pause()


async def _console(pilot: Any, code: str = "SINATRA") -> Any:
    from textual.widgets import DataTable

    from boxoffice_tui.screens.console import ConsoleScreen

    app = pilot.app
    while app.screen.__class__.__name__ != "MonitorScreen":
        await pilot.pause(0.02)
    await pilot.press("c")
    while not isinstance(app.screen, ConsoleScreen) or not app.screen.events:
        await pilot.pause(0.02)
    screen = app.screen
    idx = next(i for i, e in enumerate(screen.events) if e.code == code)
    screen.query_one("#events", DataTable).move_cursor(row=idx)
    while screen.view is None or screen.view.detail.event.code != code:
        await pilot.pause(0.02)
    await _measured(pilot, screen, "events", "COMEDIA-HOJE")
    await _settle(pilot)
    return screen


async def _measured(pilot: Any, screen: Any, table_id: str, first: str) -> None:
    """The table sized its first column to its rows (a table does that when idle after
    rows arrive, not when they are added)."""
    from textual.widgets import DataTable

    table = screen.query_one(f"#{table_id}", DataTable)
    while not table.ordered_columns or table.ordered_columns[0].content_width < len(first):
        await pilot.pause(0.02)


@pytest.mark.parametrize("size", SIZES)
def test_console(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    assert snap_compare(_app(sctx), terminal_size=size, run_before=_console)


@pytest.mark.parametrize("size", SIZES)
def test_console_staff(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        screen = await _console(pilot)
        await pilot.press("3")
        while screen.query_one("#staff").row_count < 3:
            await pilot.pause(0.02)
        await _measured(pilot, screen, "staff", "carla")
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_console_seat_map(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    from boxoffice_tui.screens.console_seats import ConsoleSeatsScreen
    from boxoffice_tui.widgets.seatmap import SeatMap

    async def run_before(pilot: Any) -> None:
        await _console(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConsoleSeatsScreen))
        smap = pilot.app.screen.query_one(SeatMap)
        while not smap.seat_count:
            await pilot.pause(0.02)
        await pilot.press("down", "r", "down", "right", "space")
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)


def test_console_price_dialog(snap_compare: Any, sctx: CoreContext) -> None:
    async def run_before(pilot: Any) -> None:
        await _console(pilot)
        await pilot.press("o")
        await pilot.press(*"280")
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=(80, 24), run_before=run_before)


# --- the console's dialogs, each at 80x24 and 120x40 -----------------------------------


def test_console_price_dialog_120x40(snap_compare: Any, sctx: CoreContext) -> None:
    async def run_before(pilot: Any) -> None:
        await _console(pilot)
        await pilot.press("o")
        await pilot.press(*"280")
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=(120, 40), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_console_sign_in(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    """``c`` on the monitor with nobody signed in: the supervisor's sign-in."""
    from boxoffice_tui.screens.console_dialogs import ConsoleSignIn

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        while app.screen.__class__.__name__ != "MonitorScreen":
            await pilot.pause(0.02)
        await pilot.press("c")
        while not isinstance(app.screen, ConsoleSignIn):
            await pilot.pause(0.02)
        await _settle(pilot)

    assert snap_compare(_app(sctx, signed_in=False), terminal_size=size,
                        run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_console_pause_confirm(snap_compare: Any, sctx: CoreContext,
                               size: tuple[int, int]) -> None:
    """``p`` on an event on sale asks before pausing it (Esc leaves it on sale)."""
    from boxoffice_tui.screens.console_dialogs import ConfirmDialog

    async def run_before(pilot: Any) -> None:
        await _console(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog))
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_console_capacity(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    """``g`` on the poker tournament: its general-admission capacity."""
    from boxoffice_tui.screens.console_dialogs import CapacityDialog

    async def run_before(pilot: Any) -> None:
        await _console(pilot, "POKER-OPEN")
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CapacityDialog))
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_console_block(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    """Two seats picked on the console's seat map, ``b``: kind and reason."""
    from boxoffice_tui.screens.console_dialogs import BlockDialog
    from boxoffice_tui.screens.console_seats import ConsoleSeatsScreen
    from boxoffice_tui.widgets.seatmap import SeatMap

    async def run_before(pilot: Any) -> None:
        await _console(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConsoleSeatsScreen))
        smap = pilot.app.screen.query_one(SeatMap)
        while not smap.seat_count:
            await pilot.pause(0.02)
        await pilot.press("space", "right", "space", "b")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BlockDialog))
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_console_help(snap_compare: Any, sctx: CoreContext, size: tuple[int, int]) -> None:
    """F1 on the console: the monitor face's keys, not the counter's."""
    async def run_before(pilot: Any) -> None:
        await _console(pilot)
        await pilot.press("f1")
        await _settle(pilot)

    assert snap_compare(_app(sctx), terminal_size=size, run_before=run_before)
