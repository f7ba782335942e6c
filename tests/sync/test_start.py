"""What a terminal does when it starts online: leases from its config, leases a
supervisor took for it; and one journal per terminal.

The terminal acts on its own cashier login, as a real one does: its configured leases
are asked at start, and the first of each needs a supervisor's PIN typed on that login
(0014); a renewal after the return does not. The lease a supervisor takes for it comes
from her monitor login with her PIN typed there. The owner's ``ctx`` only reads."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from config.settings import LeaseSpec
from core.actors import OperatorInfo
from core.errors import BoxOfficeError
from core.leases import take_lease
from sync.journal import Journal
from sync.terminal import lease_label
from tests.sync.conftest import logins_of, make_terminal, supervisor
from tests.sync.helpers import event_id, lease_invariants, section_id

pytestmark = pytest.mark.usefixtures("sync_logins")

SPEC = [{"event": "MAGICA", "section": "BAL", "quantity": 3},
        {"event": "POKER-OPEN", "section": "ENTRADA", "quantity": 7}]


def _grants(ctx, terminal_id: int) -> list[tuple[str, str | None]]:
    """How each of the terminal's leases was granted, and by whom (owner's read)."""
    with ctx.engine.connect() as c:
        return [(r.grant_kind, r.login) for r in c.execute(text(
            "select l.grant_kind, o.login from leases l"
            " left join operators o on o.id = l.approved_by"
            " where l.terminal_id = :t order by l.grant_kind, l.event_id"),
            {"t": terminal_id})]


def test_auto_leases_and_supervisor_lease_are_picked_up(ctx, db_url, tmp_path):
    magica = event_id(ctx.engine, "MAGICA")
    poker = event_id(ctx.engine, "POKER-OPEN")
    term = make_terminal(ctx, db_url, None, tmp_path, "start-a", sync__auto_leases=SPEC)
    tid = term.actor.terminal_id
    # A supervisor takes a lease for this terminal from her monitor, her PIN typed there.
    mc = logins_of(ctx).context("start-sup", "monitor", ctx.settings)
    carla = supervisor(mc.engine)
    sup = logins_of(ctx).actor("start-sup", "monitor", carla.id, carla.role)
    given = take_lease(mc, sup, uuid.uuid4(), magica, terminal_id=tid,
                       section_id=section_id(ctx.engine, magica, "MEZ"), quantity=2,
                       approver=carla)
    # Started with nobody to type a PIN: the configured leases wait for a supervisor,
    # the one she took is picked up.
    term.start(background=False)
    assert {x.info.lease_id for x in term.leases.all()} == {given.lease_id}
    waiting = term.take_auto_leases()
    assert waiting.taken == 0
    assert [lease_label(x) for x in waiting.needs_supervisor] == [
        "MAGICA BAL ×3", "POKER-OPEN ENTRADA ×7"]
    # One fresh proof per lease, minted on the terminal's own login as its F4 does.
    asked: list[str] = []

    def approve(spec: LeaseSpec) -> OperatorInfo:
        asked.append(lease_label(spec))
        return supervisor(term.ctx.engine)

    got = term.take_auto_leases(approve)
    assert (got.taken, got.needs_supervisor) == (2, ())
    assert asked == ["MAGICA BAL ×3", "POKER-OPEN ENTRADA ×7"]
    leases = {(x.info.event_id, x.info.kind, x.info.units) for x in term.leases.all()}
    assert leases == {(magica, "seats", 3), (poker, "ga", 7), (magica, "seats", 2)}
    assert term.leases.get(given.lease_id) is not None
    assert _grants(ctx, tid) == [("approved", "carla")] * 3
    term.start(background=False)  # a restart takes nothing twice
    assert len(term.leases.all()) == 3
    assert term.take_auto_leases(approve).taken == 0 and len(asked) == 2
    term.sell_from_lease(magica, seat_ids=[given.seats[0].seat_id], method="cash")
    assert term.journal.counts()["applied"] == 1
    assert term.journal.prune(3600) == 0  # applied just now: kept
    assert term.journal.prune(-1) == 1
    # Returned on reconnect, the configured leases are renewed with no supervisor: the
    # database grants the same event and section again, no more than she approved.
    assert term.return_leases() == 3
    assert term.take_auto_leases().taken == 2
    assert sorted(g for g in _grants(ctx, tid) if g[0] == "renewal") == [
        ("renewal", None), ("renewal", None)]
    assert lease_invariants(ctx.engine) == []
    term.stop()
    with pytest.raises(BoxOfficeError) as e:  # another terminal's journal is not ours
        other = logins_of(ctx).actor("start-b")
        Journal(term.journal.path).remember_terminal_id(other.terminal_id)
    assert e.value.code == "journal_unavailable"


def test_a_lease_no_supervisor_was_shown_takes_no_proof(ctx, db_url, tmp_path):
    """The approver is asked per lease and may say no: that lease stays waiting, the
    others are taken; a cashier's own PIN proves nothing (no proof for a cashier)."""
    term = make_terminal(ctx, db_url, None, tmp_path, "start-c", sync__auto_leases=SPEC)
    term.watch.probe_once()
    only_poker = term.take_auto_leases(
        lambda spec: supervisor(term.ctx.engine) if spec.event == "POKER-OPEN" else None)
    assert only_poker.taken == 1
    assert [lease_label(x) for x in only_poker.needs_supervisor] == ["MAGICA BAL ×3"]
    with pytest.raises(BoxOfficeError) as e:  # the database refuses a cashier approver
        term.take_auto_leases(lambda spec: supervisor(term.ctx.engine, "ana", "1234"))
    assert e.value.code == "database_refused"
    assert [x.info.event_id for x in term.leases.all()] == [
        event_id(ctx.engine, "POKER-OPEN")]
    term.stop()
