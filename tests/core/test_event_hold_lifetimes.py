"""Per-event hold lifetimes (issue 12, stored by migration 0009): a hold lasts the event's
own lifetime for its channel when the back office set one, else the terminal's setting;
chosen seats, best available and general admission alike, counter and kiosk apart."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

from core.reservation import (
    hold_best_available,
    hold_general_admission,
    hold_seats,
    release_hold,
    upcoming_events,
)
from tests.core.helpers import event_id, key, seats_of, section_id

pytestmark = pytest.mark.db


def _set(ctx: Any, code: str, counter: int | None, kiosk: int | None) -> int:
    eid = event_id(ctx.engine, code)
    with ctx.engine.begin() as conn:
        conn.execute(text("update events set counter_hold_s = :c, kiosk_hold_s = :k"
                          " where id = :e"), {"c": counter, "k": kiosk, "e": eid})
    return eid


def _lasts(ctx: Any, expires_at: datetime) -> float:
    with ctx.engine.connect() as conn:
        now = conn.execute(text("select now()")).scalar_one()
    return (expires_at - now).total_seconds()


@pytest.fixture(scope="module")
def kiosk(terminal_logins: Any) -> Any:
    return terminal_logins.actor("kiosk-lifetimes", "kiosk")


@pytest.fixture(scope="module")
def kiosk_ctx(ctx: Any, terminal_logins: Any) -> Any:
    """The kiosk's own login (as ``cashier_ctx`` is counter-1's): terminals act on theirs."""
    return terminal_logins.new_context("kiosk-lifetimes", "kiosk", ctx.settings)


def test_the_events_lifetime_per_channel_decides(ctx: Any, counter: Any, kiosk: Any,
                                                 cashier_ctx: Any, kiosk_ctx: Any) -> None:
    eid = _set(ctx, "MAGICA", 90, 45)
    a, b = seats_of(ctx.engine, eid, "BAL")[:2]
    at_counter = hold_seats(cashier_ctx, counter, key(), eid, [a])
    at_kiosk = hold_seats(kiosk_ctx, kiosk, key(), eid, [b])
    best = hold_best_available(cashier_ctx, counter, key(), eid, 2)
    assert 85 <= _lasts(ctx, at_counter.expires_at) <= 90
    assert 40 <= _lasts(ctx, at_kiosk.expires_at) <= 45
    assert 85 <= _lasts(ctx, best.expires_at) <= 90
    with ctx.engine.connect() as conn:  # the seats' own expiry says the same
        seat_exp = conn.execute(text("select hold_expires_at from event_seats where"
                                     " event_id = :e and seat_id = :s"),
                                {"e": eid, "s": b}).scalar_one()
    assert seat_exp == at_kiosk.expires_at
    for h in (at_counter, at_kiosk, best):
        if h is at_kiosk:
            release_hold(kiosk_ctx, kiosk, key(), h.hold_id)
        else:
            release_hold(cashier_ctx, counter, key(), h.hold_id)


def test_general_admission_uses_it_too(ctx: Any, counter: Any, kiosk: Any,
                                       cashier_ctx: Any, kiosk_ctx: Any) -> None:
    eid = _set(ctx, "POKER-OPEN", 120, 30)
    sec = section_id(ctx.engine, eid, "ENTRADA")
    h1 = hold_general_admission(cashier_ctx, counter, key(), eid, sec, 2)
    h2 = hold_general_admission(kiosk_ctx, kiosk, key(), eid, sec, 1)
    assert 115 <= _lasts(ctx, h1.expires_at) <= 120
    assert 25 <= _lasts(ctx, h2.expires_at) <= 30
    release_hold(cashier_ctx, counter, key(), h1.hold_id)
    release_hold(kiosk_ctx, kiosk, key(), h2.hold_id)


def test_without_one_the_terminal_setting_applies(ctx: Any, counter: Any, kiosk: Any,
                                                  cashier_ctx: Any, kiosk_ctx: Any) -> None:
    eid = _set(ctx, "SINATRA", None, 50)  # only the kiosk's set
    a, b = seats_of(ctx.engine, eid, "MEZ")[:2]
    at_counter = hold_seats(cashier_ctx, counter, key(), eid, [a])
    at_kiosk = hold_seats(kiosk_ctx, kiosk, key(), eid, [b])
    ttl = ctx.settings.holds.counter_ttl_s
    assert ttl - 5 <= _lasts(ctx, at_counter.expires_at) <= ttl
    assert 45 <= _lasts(ctx, at_kiosk.expires_at) <= 50
    release_hold(cashier_ctx, counter, key(), at_counter.hold_id)
    release_hold(kiosk_ctx, kiosk, key(), at_kiosk.hold_id)


def test_the_catalogue_carries_age_gate_and_kiosk_lifetime(ctx: Any) -> None:
    eid = _set(ctx, "BURLESCO", None, 75)
    with ctx.engine.begin() as conn:
        conn.execute(text("update events set min_age = 21 where id = :e"), {"e": eid})
    ev = next(e for e in upcoming_events(ctx.engine) if e.id == eid)
    assert (ev.min_age, ev.kiosk_hold_s) == (21, 75)
    other = next(e for e in upcoming_events(ctx.engine) if e.code == "COMEDIA-HOJE")
    assert (other.min_age, other.kiosk_hold_s) == (None, None)
