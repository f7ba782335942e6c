"""Snapshots of every kiosk screen at 80x24 and 120x40, normal and high contrast: show
dates pinned, a frozen clock (countdowns), no animations, no cursor blink, UTC times."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.app_context import CoreContext
from core.reservation import HoldResult
from core.sales import CheckoutResult
from kiosk.app import Purchase
from terminal.kiosk import KioskSession
from terminal.results import EventShape, Readiness
from tests.kiosk.conftest import TERMINAL, wait_for

pytestmark = pytest.mark.db
FROZEN = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
SIZES = [(80, 24), (120, 40)]
SCREENS = ["attract", "shows", "age", "quantity", "seats", "identify", "summary", "payment",
           "printing", "thanks", "collect", "out_of_service", "still_there", "staff", "keys"]


class FixedServices(KioskSession):
    """The real database for seats and prices; show dates pinned."""

    forced: tuple[str, ...] = ()

    def events(self) -> list[Any]:
        evs = sorted(super().events(), key=lambda e: e.code)
        return [replace(e, starts_at=FROZEN + timedelta(days=i, hours=3))
                for i, e in enumerate(evs)]

    def readiness(self) -> Readiness:
        if self.forced:
            return Readiness(self.forced, "offline", "open")
        return Readiness((), "ok", "closed")


@pytest.fixture(scope="module")
def labels(kctx: CoreContext, snap_hold: HoldResult) -> tuple[str, ...]:
    from core.reservation import seat_layout

    by_id = {s.seat_id: s for s in seat_layout(kctx.engine, snap_hold.event_id)}
    return tuple(f"{by_id[i].section_code} {by_id[i].row_label}{by_id[i].number}"
                 for i in snap_hold.seat_ids)


@pytest.fixture(scope="module")
def snap_hold(kctx: CoreContext) -> HoldResult:
    """The two best SINATRA seats as a kiosk would hold them (released at once, so every
    snapshot sees the same free room)."""
    svc = KioskSession(kctx, TERMINAL)
    ev = next(e for e in svc.events() if e.code == "SINATRA")
    hold = svc.hold_best(uuid.uuid4(), ev.id, 2)
    svc.release(uuid.uuid4(), hold.hold_id)
    return hold


def _sale(hold: HoldResult) -> CheckoutResult:
    from core.reservation import OrderLineResult

    order_lines = tuple(OrderLineResult(i + 1, ln.section_id, ln.seat_id, ln.qty,
                                        ln.unit_price_minor, ln.tier_id)
                        for i, ln in enumerate(hold.lines))
    from core.reservation import OrderResult

    order = OrderResult(uuid.UUID(int=1), 1042, hold.event_id, hold.hold_id, hold.total_minor,
                        hold.currency, "pi_snapshot", order_lines)
    return CheckoutResult(uuid.UUID(int=2), order, "card", hold.total_minor, hold.currency,
                          ticket_serials=(100000001, 100000002))


@pytest.mark.parametrize("contrast", [False, True], ids=["normal", "contrast"])
@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("name", SCREENS)
def test_screen(snap_compare: Any, make_app: Any, snap_hold: HoldResult,
                labels: tuple[str, ...], name: str,
                size: tuple[int, int], contrast: bool) -> None:
    from kiosk.screens.checkout import CollectScreen, PrintingScreen, ThanksScreen
    from kiosk.screens.dialogs import StaffExitDialog, StillThereDialog
    from kiosk.screens.seats import SeatsScreen
    from kiosk.screens.service import OutOfServiceScreen

    app = make_app(FixedServices, self_exclusion=True)
    app.tz = UTC
    if name == "out_of_service":
        app.services.forced = ("printer", "card")

    async def run_before(pilot: Any) -> None:
        await wait_for(pilot, lambda: app.started)
        app.set_high_contrast(contrast)
        ev = next(e for e in app.events_cache if e.code == "SINATRA")
        if name not in ("attract", "shows", "out_of_service", "staff", "keys"):
            app.purchase = Purchase(ev, EventShape(True), 2, age_ok=True, identified=True,
                                    seat_labels=labels)
            app.set_hold(snap_hold)
        screen: Any = None
        if name in ("shows", "age", "quantity", "seats", "identify", "summary", "payment"):
            app.open_step(name)
            if name == "seats":
                await wait_for(pilot, lambda: isinstance(app.screen, SeatsScreen)
                               and app.screen.loaded)
        elif name in ("printing", "thanks", "collect"):
            app.purchase.sale = _sale(snap_hold)
            screen = (PrintingScreen() if name == "printing" else
                      ThanksScreen() if name == "thanks" else CollectScreen())
            app.go(screen)
        elif name == "out_of_service":
            app.poll_health()
            await wait_for(pilot, lambda: isinstance(app.screen, OutOfServiceScreen))
        elif name == "still_there":
            app.open_step("summary")
            await pilot.pause()
            app.push_screen(StillThereDialog(app.clock() + 20))
        elif name == "staff":
            app.push_screen(StaffExitDialog())
        elif name == "keys":
            await pilot.press("f1")  # over the start screen, as a customer would
        await pilot.pause()
        await pilot.pause()
        from textual.widgets import Input

        for inp in app.screen.query(Input):
            inp.cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
