"""A hypothesis state machine over holds, releases, expiry and confirmations, run against
the real database; the reservation invariants are checked after every step.

Two counters act on their own cashier logins and the sweeper on a worker login; the
owner's ``ctx`` makes the event, ages holds (the clock) and reads the invariants."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import text

from core.errors import BoxOfficeError
from core.reservation import (
    availability,
    expire_holds,
    extend_hold,
    hold_best_available,
    hold_general_admission,
    hold_seats,
    release_hold,
)
from core.sales import CashTender, checkout, open_shift
from tests.core.helpers import age_hold, invariants, make_event, seats_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def machine_env(ctx, terminal_logins):
    with ctx.engine.connect() as c:
        ana = c.execute(text("select id from operators where login = 'ana'")).scalar_one()
    own = {}
    for name, kind in (("sm-a", "cashier"), ("sm-b", "cashier"), ("sm-sweeper", "worker")):
        # A counter sells with its cashier signed in and her drawer open (a sale on a
        # terminal's login is a checkout with a tender, never a bare confirmation).
        actor = (terminal_logins.actor(name, kind, ana, "cashier") if kind == "cashier"
                 else terminal_logins.actor(name, kind))
        own[actor.terminal_id] = terminal_logins.context(name, kind, ctx.settings)
        own[name] = actor
        if kind == "cashier":
            open_shift(own[actor.terminal_id], actor, uuid.uuid4(), 0)
    return ctx, own


def test_reservation_state_machine(machine_env):
    ctx, own = machine_env
    actor_a, actor_b, sweeper = own["sm-a"], own["sm-b"], own["sm-sweeper"]

    def on(actor):
        """The actor's own terminal context (its login)."""
        return own[actor.terminal_id]

    class Reservations(RuleBasedStateMachine):
        @initialize()
        def setup(self):
            self.event, _, self.ga = make_event(ctx.engine, rows=2, per_row=6, ga_capacity=8)
            self.seats = seats_of(ctx.engine, self.event)
            # Insertion-ordered, so replays draw the same holds (hold ids are random).
            # hold id -> (actor, seats, GA places, total to pay)
            self.live: dict[uuid.UUID, tuple[object, frozenset[int], int, int]] = {}
            self.sold: set[int] = set()
            self.ga_sold = 0

        def _held(self) -> set[int]:
            return {s for (_a, seats, _q, _t) in self.live.values() for s in seats}

        def _ga_held(self) -> int:
            return sum(q for (_a, _s, q, _t) in self.live.values())

        @rule(data=st.data(), who=st.booleans())
        def hold_chosen(self, data, who):
            actor = actor_a if who else actor_b
            want = data.draw(st.lists(st.sampled_from(self.seats), min_size=1, max_size=4,
                                      unique=True))
            free = set(self.seats) - self.sold - self._held()
            try:
                h = hold_seats(on(actor), actor, uuid.uuid4(), self.event, want)
            except BoxOfficeError as e:
                assert e.code == "seat_unavailable"
                assert not set(want) <= free
                return
            assert set(want) <= free and set(h.seat_ids) == set(want)
            self.live[h.hold_id] = (actor, frozenset(want), 0, h.total_minor)

        @rule(k=st.integers(1, 3))
        def hold_best(self, k):
            free = set(self.seats) - self.sold - self._held()
            try:
                h = hold_best_available(on(actor_a), actor_a, uuid.uuid4(), self.event, k)
            except BoxOfficeError as e:
                assert e.code == "sold_out" and len(free) < k
                return
            assert set(h.seat_ids) <= free and len(h.seat_ids) == k
            self.live[h.hold_id] = (actor_a, frozenset(h.seat_ids), 0, h.total_minor)

        @rule(n=st.integers(1, 4))
        def hold_ga(self, n):
            left = 8 - self.ga_sold - self._ga_held()
            try:
                h = hold_general_admission(on(actor_b), actor_b, uuid.uuid4(), self.event,
                                           self.ga, n)
            except BoxOfficeError as e:
                assert e.code == "sold_out" and n > left
                return
            assert n <= left
            self.live[h.hold_id] = (actor_b, frozenset(), n, h.total_minor)

        @precondition(lambda self: self.live)
        @rule(data=st.data())
        def release(self, data):
            hid = data.draw(st.sampled_from(list(self.live)))
            actor, _s, _q, _t = self.live.pop(hid)
            assert release_hold(on(actor), actor, uuid.uuid4(), hid).status == "released"

        @precondition(lambda self: self.live)
        @rule(data=st.data())
        def confirm(self, data):
            hid = data.draw(st.sampled_from(list(self.live)))
            actor, seats, q, total = self.live.pop(hid)
            o = checkout(on(actor), actor, uuid.uuid4(), hid, CashTender(total)).order
            assert {ln.seat_id for ln in o.lines if ln.seat_id} == set(seats)
            self.sold |= seats
            self.ga_sold += q

        @precondition(lambda self: self.live)
        @rule(data=st.data(), sweep=st.booleans())
        def expire(self, data, sweep):
            hid = data.draw(st.sampled_from(list(self.live)))
            self.live.pop(hid)
            age_hold(ctx.engine, hid)
            if sweep:
                expire_holds(on(sweeper), sweeper, self.event)

        @precondition(lambda self: self.live)
        @rule(data=st.data())
        def extend(self, data):
            hid = data.draw(st.sampled_from(list(self.live)))
            actor, _seats, _q, _t = self.live[hid]
            try:
                extend_hold(on(actor), actor, uuid.uuid4(), hid)
            except BoxOfficeError as e:
                assert e.code == "extension_limit"

        @invariant()
        def database_agrees(self):
            if not hasattr(self, "event"):
                return
            assert invariants(ctx.engine) == []
            av = availability(ctx.engine, self.event)
            held, states = self._held(), dict(zip(av.seat_ids, av.states, strict=True))
            for s in self.seats:
                expected = "S" if s in self.sold else "H" if s in held else "A"
                assert states[s] == expected, (s, states[s], expected)
            g = av.ga[0]
            assert (g.sold, g.held) == (self.ga_sold, self._ga_held())

    Reservations.TestCase.settings = settings(
        max_examples=30, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    Reservations.TestCase().runTest()
