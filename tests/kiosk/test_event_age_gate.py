"""The kiosk follows the event's own age gate and hold lifetime when the back office set
them (issue 12, stored by migration 0009); otherwise the kiosk's settings decide."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from kiosk.screens.choose import AgeScreen, QuantityScreen
from tests.kiosk.conftest import wait_for
from tests.kiosk.helpers import SIZE, pick_show, shown, tap, to_shows

pytestmark = [pytest.mark.db, pytest.mark.anyio]


def _set(owner: Any, code: str, **cols: Any) -> None:
    """What the back office sets on the event (with the owner's rights, not the kiosk's)."""
    sets = ", ".join(f"{c} = :{c}" for c in cols)
    with owner.engine.begin() as conn:
        conn.execute(text(f"update events set {sets} where code = :code"), cols | {"code": code})


async def test_the_events_age_gate_is_asked_even_when_the_kiosk_asks_none(
        make_app: Any, kctx: Any, ctx: Any) -> None:
    _set(ctx, "MAGICA", min_age=21)
    app = make_app(age_gate=False)
    async with app.run_test(size=SIZE) as pilot:
        await to_shows(pilot)
        await pick_show(pilot, "MAGICA")
        screen = await shown(pilot, AgeScreen)
        assert "21" in screen.title_text()
        assert app.steps()[:2] == ["shows", "age"]
        await tap(pilot, "#age-no")  # under 21: back to the start, nothing held
        await wait_for(pilot, lambda: app.purchase is None)
    _set(ctx, "MAGICA", min_age=None)


async def test_an_event_without_an_age_gate_skips_the_kiosks(make_app: Any,
                                                             kctx: Any, ctx: Any) -> None:
    _set(ctx, "BURLESCO", min_age=0)
    app = make_app(age_gate=True, min_age=18)
    async with app.run_test(size=SIZE) as pilot:
        await to_shows(pilot)
        await pick_show(pilot, "BURLESCO")
        await shown(pilot, QuantityScreen)
        assert "age" not in app.steps()
        await tap(pilot, "#back")
    _set(ctx, "BURLESCO", min_age=None)


async def test_the_kiosk_counts_down_the_events_hold_lifetime(make_app: Any,
                                                             kctx: Any, ctx: Any) -> None:
    from kiosk.app import HOLD_MARGIN_S

    _set(ctx, "POKER-OPEN", kiosk_hold_s=90)
    app = make_app(age_gate=False)
    async with app.run_test(size=SIZE) as pilot:
        await to_shows(pilot)
        await pick_show(pilot, "POKER-OPEN")
        await shown(pilot, QuantityScreen)
        await tap(pilot, "#qty-1")
        await wait_for(pilot, lambda: app.purchase is not None
                       and app.purchase.hold is not None)
        left = app.purchase.hold_deadline - app.clock()
        assert left == pytest.approx(90 - HOLD_MARGIN_S, abs=1.0)
        with kctx.engine.connect() as conn:
            lasts = conn.execute(text("select extract(epoch from expires_at - now()) from"
                                      " holds where id = :h"),
                                 {"h": app.purchase.hold.hold_id}).scalar_one()
        assert 85 <= float(lasts) <= 90
        await tap(pilot, "#back")
        await app.workers.wait_for_complete()
    _set(ctx, "POKER-OPEN", kiosk_hold_s=None)
