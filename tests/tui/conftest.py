"""Fixtures for the cashier app: the module's database with the demo, a sandbox card
gateway on loopback, a preview printer spooler writing PNGs, and pilot helpers."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from boxoffice_tui.app import CashierApp
from core.app_context import CoreContext
from printing.spooler import Spooler
from terminal.counter import CounterSession
from tests.terminal_fixtures import build_session, rows, scalar, wait_for

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
TERMINAL = "tui-counter"


@pytest.fixture(scope="module")
def terminal_overrides(module_tmp: Path) -> dict[str, Any]:
    """The counter terminal: preview printer in the module's folder, refunds always
    needing a supervisor."""
    return {"terminal__name": TERMINAL, "printer__url": f"preview://{module_tmp / 'preview'}",
            "sales__refund_approval_over_minor": 0, "holds__counter_ttl_s": 240,
            "logging__file": str(module_tmp / "tui.jsonl")}


@pytest.fixture(scope="module")
def tctx(terminal_ctx: CoreContext) -> CoreContext:
    return terminal_ctx


@pytest.fixture
def make_app(tctx: CoreContext, spooler: Spooler) -> Callable[..., CashierApp]:
    def make(name: str = TERMINAL) -> CashierApp:
        svc = build_session(CounterSession, tctx, name, spooler=spooler)
        return CashierApp(svc, language_code="en", heartbeat=False)

    return make


async def sign_in(pilot: Any, login: str = "ana", pin: str = "1234",
                  float_text: str = "200,00") -> None:
    """Sign in and, if the terminal has no open shift yet, open one."""
    from boxoffice_tui.screens.events import EventsScreen
    from boxoffice_tui.screens.signin import OpenShiftScreen

    app = pilot.app
    await pilot.pause()
    await pilot.press(*login, "enter", *pin, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, OpenShiftScreen | EventsScreen))
    if isinstance(app.screen, OpenShiftScreen):
        app.screen.query_one("#float").value = ""
        await pilot.press(*float_text, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventsScreen))
    await wait_for(pilot, lambda: app.screen.events)


async def open_event(pilot: Any, code: str) -> Any:
    """From the events list, filter to ``code`` and open its seat map."""
    from boxoffice_tui.screens.sale import SaleScreen
    from boxoffice_tui.widgets.seatmap import SeatMap

    app = pilot.app
    await pilot.press(*code.lower(), "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, SaleScreen))
    screen = app.screen
    smap = screen.query_one(SeatMap)
    await wait_for(pilot, lambda: screen.data is not None)
    if smap.display:
        await wait_for(pilot, lambda: smap.seat_count > 0)
    return screen


@pytest.fixture
def anyio_backend() -> str:
    # Pilot tests are coroutines; anyio's pytest plugin (installed with httpx) runs them.
    return "asyncio"


__all__ = ["TERMINAL", "open_event", "rows", "scalar", "sign_in", "wait_for"]
