"""Fixtures for the cashier app: the module's database with the demo, a sandbox card
gateway on loopback, a preview printer spooler writing PNGs, and pilot helpers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from boxoffice_tui.app import CashierApp
from boxoffice_tui.services import Services
from core.app_context import CoreContext
from core.payments import build_gateway
from core.payments.sandbox import SandboxServer
from tests.conftest import make_settings

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
TERMINAL = "tui-counter"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed=11) as sb:
        yield sb


@pytest.fixture(scope="module")
def tctx(ctx: CoreContext, db_url: str, module_tmp: Path,
         sandbox: SandboxServer) -> Iterator[CoreContext]:
    """The module's context as the counter terminal sees it: sandbox gateway, preview
    printer in the module's folder, refunds always needing a supervisor."""
    settings = make_settings(
        db_url, module_tmp, terminal__name=TERMINAL, terminal__language="en",
        gateway__kind="sandbox", gateway__base_url=sandbox.base_url,
        gateway__read_timeout_s=2.0, gateway__retry_attempts=2,
        printer__url=f"preview://{module_tmp / 'preview'}",
        sales__refund_approval_over_minor=0, terminal__heartbeat_s=0.5,
        holds__counter_ttl_s=240,
        logging__file=str(module_tmp / "tui.jsonl"))
    c = CoreContext(settings=settings, engine=ctx.engine)
    c.gateway = build_gateway(settings)
    yield c
    c.gateway.close()


@pytest.fixture(scope="module")
def spooler(tctx: CoreContext) -> Iterator[Any]:
    from printing.spooler import start_spooler

    sp = start_spooler(tctx, tctx.settings)
    yield sp
    sp.close()


@pytest.fixture
def make_app(tctx: CoreContext, spooler: Any) -> Callable[..., CashierApp]:
    def make(name: str = TERMINAL) -> CashierApp:
        svc = Services(tctx, name)
        svc.extras["spooler"] = spooler
        return CashierApp(svc, language_code="en", heartbeat=False)

    return make


async def wait_for(pilot: Any, pred: Callable[[], Any], timeout: float = 10.0) -> float:
    """Let the app run until ``pred()`` holds; returns the seconds it took."""
    t0 = time.perf_counter()
    while not pred():
        if time.perf_counter() - t0 > timeout:
            raise AssertionError(f"condition not reached in {timeout} s")
        await pilot.pause(0.02)
    return time.perf_counter() - t0


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


def scalar(ctx: CoreContext, sql: str, **params: Any) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(ctx: CoreContext, sql: str, **params: Any) -> list[Any]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(text(sql), params))


@pytest.fixture
def anyio_backend() -> str:
    # Pilot tests are coroutines; anyio's pytest plugin (installed with httpx) runs them.
    return "asyncio"
