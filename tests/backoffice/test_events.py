"""Events: create from a room, clone a weekly show x12, publish, sell, pause, reschedule
(the gate still accepts the same ticket), and the checks that keep bad events out."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from core.backoffice.events import (
    EventSpec,
    TierSpec,
    clone_event,
    create_event,
    get_event,
    list_events,
    publish,
    reschedule,
    set_sales,
)
from core.errors import BoxOfficeError
from core.reservation import hold_best_available, hold_general_admission, hold_seats
from core.sales import CashTender, checkout, open_shift
from core.tickets.checkin import check_in
from tests.backoffice.conftest import event_id, local, make_show
from tests.conftest import make_actor

TIERS = (TierSpec("ORQ", 20000, 15000, 40000), TierSpec("MEZ", 15000),
         TierSpec("BAL", 9000), TierSpec("PISTA", 5000))


def test_create_clone_publish(bctx, actx, carla, hall):
    starts = local(days=2, hour=21)
    spec = EventSpec(code="JAZZ-1", name="Jazz às Quintas", room=hall, starts_at=starts,
                     tiers=TIERS, min_age=18, counter_hold_s=300, kiosk_hold_s=120)
    key = uuid.uuid4()
    ev = create_event(actx, carla, key, spec)
    assert create_event(actx, carla, key, spec) == ev  # a retry creates nothing more
    assert ev.status == "draft" and ev.capacity == 0 and ev.min_age == 18
    assert ev.local(ev.starts_at) == starts.strftime("%Y-%m-%d %H:%M")
    assert ev.starts_at.utcoffset() is not None
    with pytest.raises(BoxOfficeError) as e:
        create_event(actx, carla, uuid.uuid4(), spec)
    assert e.value.code == "event_exists"

    clones = clone_event(actx, carla, uuid.uuid4(), "JAZZ-1", count=12, every_days=7)
    assert len(clones) == 12
    tz = ZoneInfo("America/Sao_Paulo")
    for n, c in enumerate(clones, 1):
        assert c.starts_at.astimezone(tz).replace(tzinfo=None) == starts + timedelta(weeks=n)
        assert c.code == "JAZZ-1-" + (starts + timedelta(weeks=n)).strftime("%Y%m%d")
        assert c.status == "draft" and c.min_age == 18
    detail = get_event(bctx.engine, clones[-1].code)
    assert [(t.section, t.current_minor) for t in detail.tiers] == \
        [("ORQ", 20000), ("MEZ", 15000), ("BAL", 9000), ("PISTA", 5000)]
    with pytest.raises(BoxOfficeError) as e:  # the same clones again: codes taken
        clone_event(actx, carla, uuid.uuid4(), "JAZZ-1", count=12)
    assert e.value.code == "event_exists"

    pub = publish(actx, carla, uuid.uuid4(), "JAZZ-1")
    assert pub.status == "on_sale" and pub.capacity == 2300
    with pytest.raises(BoxOfficeError) as e:
        publish(actx, carla, uuid.uuid4(), "JAZZ-1")
    assert e.value.code == "event_state"
    with bctx.engine.connect() as c:
        analyzed = c.execute(text("select last_analyze is not null or last_autoanalyze is not"
                                  " null from pg_stat_user_tables where relname ="
                                  " 'event_seats'")).scalar_one()
    assert analyzed
    listed = {e.code for e in list_events(bctx.engine, room=hall)}
    assert {"JAZZ-1", clones[0].code} <= listed


def test_event_checks(bctx, actx, carla, hall):
    def spec(**kw):
        base = dict(code="X-" + uuid.uuid4().hex[:5], name="X", room=hall,
                    starts_at=local(), tiers=TIERS)
        return EventSpec(**{**base, **kw})

    cases = [
        (spec(tiers=TIERS[:2]), "missing_price_tiers"),
        (spec(tiers=(*TIERS, TierSpec("NOPE", 100))), "unknown_section"),
        (spec(room="NO-SUCH-ROOM"), "unknown_room"),
        (spec(tiers=(TierSpec("ORQ", 20000, 25000, 40000), *TIERS[1:])), "invalid_input"),
        (spec(tiers=(TierSpec("ORQ", 20050), *TIERS[1:])), "price_not_whole"),
        (spec(doors_at=local() + timedelta(hours=1)), "invalid_input"),
        (spec(min_age=150), "invalid_input"),
    ]
    for s, code in cases:
        with pytest.raises(BoxOfficeError) as e:
            create_event(actx, carla, uuid.uuid4(), s)
        assert e.value.code == code, (s, e.value)
    cashier = make_actor(bctx, "bo-cashier-ev")
    with pytest.raises(BoxOfficeError) as e:
        create_event(bctx, cashier, uuid.uuid4(), spec())
    assert e.value.code == "not_authorized"


def test_sell_pause_resume_reschedule_gate_still_accepts(bctx, actx, carla, hall, sellers):
    code = make_show(actx, carla, hall, days=2)
    ev = event_id(bctx, code)
    cc, cashier = sellers("bo-counter-1")
    with bctx.engine.connect() as c:
        ana = c.execute(text("select id from operators where login = 'ana'")).scalar_one()
    from dataclasses import replace

    cashier = replace(cashier, operator_id=ana, role="cashier")
    open_shift(cc, cashier, uuid.uuid4(), 10_000)
    h = hold_best_available(cc, cashier, uuid.uuid4(), ev, 2)
    sale = checkout(cc, cashier, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    assert len(sale.ticket_serials) == 2

    set_sales(actx, carla, uuid.uuid4(), code, "pause")
    with pytest.raises(BoxOfficeError) as e:
        hold_best_available(cc, cashier, uuid.uuid4(), ev, 1)
    assert e.value.code == "event_paused"
    with pytest.raises(BoxOfficeError) as e:
        set_sales(actx, carla, uuid.uuid4(), code, "pause")
    assert e.value.code == "event_state"
    set_sales(actx, carla, uuid.uuid4(), code, "resume")
    hold_general_admission(cc, cashier, uuid.uuid4(), ev,
                           next(s for s in _sections(bctx, ev) if s[1] == "PISTA")[0], 1)

    with bctx.engine.connect() as c:
        token = c.execute(text("select token from tickets where order_id = :o limit 1"),
                          {"o": sale.order.order_id}).scalar_one()
    gc, gate = sellers("bo-gate-1", "gate")  # the gate scans on its own login
    assert check_in(gc, gate, token, uuid.uuid4(), gate="g1").reason == "wrong_day"
    soon = datetime.now(ZoneInfo("America/Sao_Paulo")) + timedelta(minutes=30)
    moved = reschedule(actx, carla, uuid.uuid4(), code, soon.replace(tzinfo=None,
                                                                     second=0, microsecond=0))
    assert abs((moved.starts_at - soon).total_seconds()) < 60
    assert moved.doors_at == moved.starts_at - timedelta(minutes=45)
    res = check_in(gc, gate, token, uuid.uuid4(), gate="g1")
    assert res.accepted, res

    set_sales(actx, carla, uuid.uuid4(), code, "close")
    with pytest.raises(BoxOfficeError) as e:
        hold_seats(cc, cashier, uuid.uuid4(), ev, [h.seat_ids[0] + 100])
    assert e.value.code in ("sales_closed", "seat_unavailable")


def _sections(ctx, ev):
    with ctx.engine.connect() as c:
        return c.execute(text("select s.id, s.code from sections s join events e on"
                              " e.venue_id = s.venue_id where e.id = :e"), {"e": ev}).all()


def test_seeding_is_safe_to_repeat(bctx, system, tmp_path):
    """What `boxoffice demo` can seed through: the system actor, run twice."""
    from core.backoffice import venue_files
    from core.backoffice.seeding import ensure_event, ensure_rooms
    from tests.backoffice.conftest import hall_spec

    spec_file = tmp_path / "seed.toml"
    spec_file.write_text(hall_spec("SEED-HALL"))
    first = ensure_rooms(bctx, system, venue_files.load(spec_file))
    again = ensure_rooms(bctx, system, venue_files.load(spec_file))
    assert first[0].created and again == first
    spec = EventSpec(code="SEED-1", name="Seeded", room="SEED-HALL", starts_at=local(),
                     tiers=TIERS)
    ev, made = ensure_event(bctx, system, spec)
    ev2, made2 = ensure_event(bctx, system, spec)
    assert made and not made2 and ev2.id == ev.id and ev.status == "on_sale"
