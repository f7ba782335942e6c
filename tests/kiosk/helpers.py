"""Pilot steps through the kiosk, by clicks (touch) like a customer."""

from __future__ import annotations

from typing import Any

from kiosk.screens.attract import AttractScreen, on_sale
from kiosk.screens.checkout import SummaryScreen
from kiosk.screens.choose import AgeScreen, QuantityScreen, ShowsScreen
from kiosk.screens.seats import SeatsScreen
from tests.kiosk.conftest import wait_for

SIZE = (120, 40)


async def shown(pilot: Any, cls: type) -> Any:
    """Wait until a screen of ``cls`` is on top and composed; returns it."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, cls) and app.screen.is_mounted
                   and len(app.screen.children) > 0)
    await pilot.pause()
    return app.screen


async def tap(pilot: Any, selector: str) -> None:
    """Touch a button once it is on screen and enabled (screens compose asynchronously)."""
    app = pilot.app

    def ready() -> bool:
        found = app.screen.query(selector)
        if not found:
            return False
        w = found.first()
        return w.region.area > 0 and not getattr(w, "disabled", False)

    await wait_for(pilot, ready)
    await pilot.pause()
    await pilot.click(selector)


async def started(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.started and isinstance(app.screen, AttractScreen))
    await pilot.pause()


async def to_shows(pilot: Any) -> None:
    await started(pilot)
    await tap(pilot, "#start")
    await shown(pilot, ShowsScreen)


async def pick_show(pilot: Any, code: str) -> None:
    app = pilot.app
    i = next(i for i, e in enumerate(on_sale(app.events_cache)) if e.code == code)
    await tap(pilot, f"#show-{i}")
    await wait_for(pilot, lambda: not isinstance(app.screen, ShowsScreen))


async def to_quantity(pilot: Any, code: str = "SINATRA") -> None:
    await to_shows(pilot)
    await pick_show(pilot, code)
    if isinstance(pilot.app.screen, AgeScreen):
        await tap(pilot, "#age-yes")
    await shown(pilot, QuantityScreen)


async def to_seats(pilot: Any, code: str = "SINATRA", n: int = 2) -> None:
    await to_quantity(pilot, code)
    await tap(pilot, f"#qty-{n}")
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, SeatsScreen) and app.screen.loaded)


async def to_summary(pilot: Any, code: str = "SINATRA", n: int = 2) -> None:
    await to_seats(pilot, code, n)
    await tap(pilot, "#keep")
    await shown(pilot, SummaryScreen)
