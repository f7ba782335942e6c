"""Issue 13 item 17: the cashier's header follows the connectivity watch and its
hysteresis, never a single failed call: a 1 s network cut that the watch rides out
shows no OFFLINE, not even for a moment, while a call made during the cut fails."""

from __future__ import annotations

import asyncio
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
from tests.conftest import make_settings
from tests.sync.tcpproxy import TcpProxy
from tests.tui.conftest import sign_in, wait_for

pytestmark = pytest.mark.anyio
NAME = "tui-blip"


@pytest.fixture
def proxy(db_url: str) -> Any:
    u = make_url(db_url)
    p = TcpProxy(u.host or "127.0.0.1", u.port or 5432)
    yield p
    p.close()


@pytest.fixture
def bctx(ctx: CoreContext, db_url: str, proxy: TcpProxy, tmp_path: Path,
         sandbox: SandboxServer) -> Any:
    url = make_url(db_url).set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)
    # The shipped hysteresis shape (3 failed probes to go offline), probes every 0.5 s.
    settings = make_settings(
        url, tmp_path, terminal__name=NAME, terminal__language="en",
        gateway__kind="sandbox", gateway__base_url=sandbox.base_url,
        printer__url=f"preview://{tmp_path / 'preview'}",
        database__connect_timeout_s=1, database__lock_timeout_ms=1000,
        database__call_deadline_s=1.0,
        sync__offline_after_failures=3, sync__online_after_successes=1,
        sync__probe_interval_s=0.5, sync__probe_timeout_s=1.0,
        logging__file=str(tmp_path / "tui.jsonl"))
    c = build_context(settings, url=url)
    yield c
    c.engine.dispose()


async def test_a_one_second_cut_does_not_flip_the_header(ctx, bctx, proxy) -> None:
    from boxoffice_tui.header import TerminalHeader

    svc = CounterSession(bctx, NAME)
    app = CashierApp(svc, language_code="en", heartbeat=False)
    stops: list[Callable[[], Any]] = []
    app.warm_up = lambda: stops.extend(start_peripherals(svc))
    shown: list[bool] = []
    watch_said: list[bool] = []
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.sync_state is not None
                           and app.sync_state["online"], timeout=20)
            await sign_in(pilot)
            real_refresh = app.refresh_status

            def spy() -> None:  # every header redraw, with what it shows
                shown.append(app.online)
                if app.sync_state is not None:
                    watch_said.append(bool(app.sync_state.get("online")))
                real_refresh()

            app.refresh_status = spy  # type: ignore[method-assign]
            failures: list[BaseException] = []
            proxy.cut()
            # A call made during the cut fails (the event list, read on every refresh).
            app.call_core(svc.events, failed=failures.append, quiet=True)
            await wait_for(pilot, lambda: bool(failures), timeout=10)
            await asyncio.sleep(0.5)  # the cut lasts about 1 s in all
            proxy.restore()
            await pilot.pause(1.5)
            header = str(app.screen.query_one(TerminalHeader).render())
            assert app.sync_state is not None and app.sync_state["online"]
            assert False not in watch_said, "the watch itself went offline: cut too long"
            assert app.online and False not in shown, shown
            assert "OFFLINE" not in header
    finally:
        for stop in reversed(stops):
            stop()
