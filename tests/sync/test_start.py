"""What a terminal does when it starts online: leases from its config, leases a
supervisor took for it; and one journal per terminal."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from core.errors import BoxOfficeError
from core.leases import take_lease
from sync.journal import Journal
from tests.conftest import make_actor
from tests.sync.conftest import make_terminal
from tests.sync.helpers import event_id, section_id

pytestmark = pytest.mark.usefixtures("sync_logins")


def test_auto_leases_and_supervisor_lease_are_picked_up(ctx, db_url, tmp_path):
    magica = event_id(ctx.engine, "MAGICA")
    spec = [{"event": "MAGICA", "section": "BAL", "quantity": 3},
            {"event": "POKER-OPEN", "section": "ENTRADA", "quantity": 7}]
    # On the owner's: a cashier login's first lease of a section needs a supervisor's
    # proof (0014: auto leases only renew), so [[sync.auto_leases]] takes none there.
    term = make_terminal(ctx, db_url, None, tmp_path, "start-a", sync__auto_leases=spec,
                         on_owner=True)
    sup = replace(make_actor(ctx, "start-sup"), role="supervisor")
    given = take_lease(ctx, sup, uuid.uuid4(), magica, terminal_id=term.actor.terminal_id,
                       section_id=section_id(ctx.engine, magica, "MEZ"), quantity=2)
    term.start(background=False)
    leases = {(x.info.event_id, x.info.kind, x.info.units) for x in term.leases.all()}
    poker = event_id(ctx.engine, "POKER-OPEN")
    assert leases == {(magica, "seats", 3), (poker, "ga", 7), (magica, "seats", 2)}
    assert term.leases.get(given.lease_id) is not None
    term.start(background=False)  # a restart takes nothing twice
    assert len(term.leases.all()) == 3
    term.sell_from_lease(magica, seat_ids=[given.seats[0].seat_id], method="cash")
    assert term.journal.counts()["applied"] == 1
    assert term.journal.prune(3600) == 0  # applied just now: kept
    assert term.journal.prune(-1) == 1
    term.stop()
    with pytest.raises(BoxOfficeError) as e:  # another terminal's journal is not ours
        other = make_actor(ctx, "start-b")
        Journal(term.journal.path).remember_terminal_id(other.terminal_id)
    assert e.value.code == "journal_unavailable"
