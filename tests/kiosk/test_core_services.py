"""The core services the kiosk added: releasing a terminal's own holds, the self-exclusion
list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.actors import Actor, authenticate
from core.errors import BoxOfficeError
from core.kiosk import active_holds, release_terminal_holds
from core.reservation import hold_best_available
from core.selfexclusion import add_exclusion, is_excluded, normalize
from tests.kiosk.conftest import scalar

pytestmark = pytest.mark.db


def _kiosk(ctx: Any, logins: Any, name: str) -> tuple[Any, Actor]:
    """Kiosk ``name``'s own login's context, and its actor."""
    return (logins.new_context(name, "kiosk", ctx.settings, pool_size=2),
            logins.actor(name, "kiosk"))


def test_release_terminal_holds_only_touches_this_terminal_and_is_idempotent(
        ctx: Any, terminal_logins: Any) -> None:
    kctx, mine = _kiosk(ctx, terminal_logins, "core-kiosk-a")
    octx, other = _kiosk(ctx, terminal_logins, "core-kiosk-b")
    ev = scalar(ctx, "select id from events where code = 'MAGICA'")
    h1 = hold_best_available(kctx, mine, uuid.uuid4(), ev, 2)
    h2 = hold_best_available(kctx, mine, uuid.uuid4(), ev, 1)
    theirs = hold_best_available(octx, other, uuid.uuid4(), ev, 1)
    assert set(active_holds(kctx, mine)) == {h1.hold_id, h2.hold_id}
    key = uuid.uuid4()
    assert release_terminal_holds(kctx, mine, key) == 2
    assert release_terminal_holds(kctx, mine, key) == 0
    for h in (h1, h2):
        assert scalar(ctx, "select status from holds where id = :h", h=h.hold_id) == "released"
    assert scalar(ctx, "select status from holds where id = :h", h=theirs.hold_id) == "active"
    free = scalar(ctx, "select count(*) from event_seats where event_id = :e and"
                  " seat_id = any(:s) and status = 'available'", e=ev,
                  s=list(h1.seat_ids + h2.seat_ids))
    assert free == 3


def test_self_exclusion_matches_normalized_identifiers_until_it_ends(
        ctx: Any, terminal_logins: Any) -> None:
    # The desk lists on a monitor login of its own, carla's PIN typed there for each
    # entry (``boxoffice kiosk exclude``); the kiosk asks on its own login.
    carla = scalar(ctx, "select id from operators where login = 'carla'")
    desk_ctx = terminal_logins.new_context("exclusion-desk-core", "monitor", ctx.settings,
                                           pool_size=1)
    desk = terminal_logins.actor("exclusion-desk-core", "monitor", carla, "supervisor")
    kiosk = terminal_logins.new_context("core-kiosk-x", "kiosk", ctx.settings, pool_size=1)
    assert normalize("123.456.789-09") == normalize("12345678909") == "12345678909"
    with pytest.raises(BoxOfficeError):
        normalize("1-2")
    key = uuid.uuid4()
    signed_in = authenticate(desk_ctx.engine, "carla", "9999")
    row = add_exclusion(desk_ctx.engine, desk, key, "123.456.789-09", approver=signed_in)
    assert add_exclusion(desk_ctx.engine, desk, key, "123.456.789-09",
                         approver=signed_in) == row  # same key: once
    assert is_excluded(kiosk.engine, "12345678909")
    assert not is_excluded(kiosk.engine, "12345678900")
    # Ending the exclusion (a later command for the same person) lifts it.
    add_exclusion(desk_ctx.engine, desk, uuid.uuid4(), "12345678909",
                  until=datetime.now(UTC) - timedelta(days=1),
                  approver=authenticate(desk_ctx.engine, "carla", "9999"))
    assert not is_excluded(kiosk.engine, "123.456.789-09")
    # Only the digest is stored.
    assert scalar(ctx, "select count(*) from self_exclusions where"
                  " position(convert_to('12345678909', 'UTF8') in identifier_hash) > 0") == 0
