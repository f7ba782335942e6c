"""A stolen ticket key stops working: check-in matches key id, event and place as well
as the serial; a revoked key's later tokens are refused online and offline; an offline
gate refuses serials its signed snapshot says were never issued."""

from __future__ import annotations

import stat
import time
import uuid
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.errors import BoxOfficeError
from core.provisioning import revoke_terminal
from core.reservation import confirm_in, hold_best_available
from core.tickets import GateChecker, OfflineGate, export_snapshot
from core.tickets.issue import issue_tickets_in
from core.tickets.keys import TicketSigner, key_path, register_signer
from core.tickets.offline import snapshot_public_key
from core.tickets.token import encode, parse
from core.uow import unit_of_work
from tests.printing.conftest import event_id, sell
from tests.security.conftest import actor_for, raw_engine, terminal_context


def _forge(token: str, signer: TicketSigner, **changes: int | str) -> str:
    claims = replace(parse(token).claims, key_id=signer.key_id, **changes)
    payload = claims.pack()
    return encode(payload, signer.sign(payload))


def test_another_terminals_key_cannot_vouch_for_a_real_serial(ctx, counter):
    _, [ticket] = sell(ctx, counter, seats=1)
    other = TicketSigner(Ed25519PrivateKey.generate())
    register_signer(ctx.engine, "sec-other-terminal", "cashier", other)
    forged = _forge(ticket.token, other)
    gate = GateChecker(ctx, counter, "G")
    r = gate.scan(forged, uuid.uuid4())
    assert not r.accepted and r.reason == "unknown_ticket"
    assert gate.scan(ticket.token, uuid.uuid4()).accepted  # the real one still enters


def test_the_right_key_for_another_place_is_refused(ctx, counter):
    _, [a, b] = sell(ctx, counter, seats=2)
    forged = _forge(a.token, ctx.signer(), place_id=parse(b.token).claims.place_id)
    r = GateChecker(ctx, counter, "G").scan(forged, uuid.uuid4())
    assert not r.accepted and r.reason == "unknown_ticket"


@pytest.fixture(scope="module")
def stolen(ctx, provision, tmp_path_factory):
    """A kiosk that sold a ticket, then was stolen and revoked; the thief kept its key."""
    t = provision("kiosk", "sec-kiosk-lost")
    tmp = tmp_path_factory.mktemp("lost")
    k = terminal_context(t, tmp)
    signer = k.signer()
    # The kiosk holds; the owner stands in for its payment (a kiosk login sells only
    # against a recorded authorization, tests/security/test_sale_authority.py).
    actor = actor_for(t)
    hold = hold_best_available(k, actor, uuid.uuid4(), event_id(ctx, "COMEDIA-HOJE"), 1)
    with unit_of_work(ctx.engine) as conn:
        order = confirm_in(conn, actor, hold.hold_id, "cash:stolen")
        [before] = issue_tickets_in(conn, actor, order, signer)
    k.engine.dispose()
    time.sleep(1.1)  # token times are whole seconds: the revocation comes strictly later
    revoke_terminal(ctx.engine, t.name)
    return t, signer, before, tmp


def test_key_files_are_private(stolen):
    t, _, _, tmp = stolen
    path = key_path(tmp, t.name)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_revoked_key_later_tokens_refused_online_earlier_ones_kept(ctx, counter, stolen):
    _, signer, before, _ = stolen
    gate = GateChecker(ctx, counter, "ONLINE-REV")
    # Signed after the revocation (the thief's clock says now), for a fresh serial.
    fresh = _forge(before.token, signer, serial=parse(before.token).claims.serial + 7,
                   issued_at=int(time.time()))
    r = gate.scan(fresh, uuid.uuid4())
    assert not r.accepted and r.reason == "key_revoked"
    assert gate.scan(before.token, uuid.uuid4()).accepted  # sold before: still good


def test_offline_gate_refuses_revoked_key_and_never_issued_serials(ctx, counter, stolen,
                                                                   tmp_path):
    _, signer, before, _ = stolen
    _, [ok] = sell(ctx, counter, seats=1)
    snap = export_snapshot(ctx.engine)
    gate = OfflineGate(snap, tmp_path / "g.sqlite3", "OFF",
                       trusted_key=snapshot_public_key(ctx.engine))
    try:
        late = _forge(before.token, signer, issued_at=int(time.time()))
        assert gate.scan(late).reason == "key_revoked"
        never = _forge(ok.token, ctx.signer(), serial=100_000_999 + 10**7)
        r = gate.scan(never)
        assert not r.accepted and r.reason == "never_issued"
        assert gate.scan(ok.token).accepted
    finally:
        gate.close()


def test_snapshot_must_carry_the_box_offices_signature(ctx, terminals, tmp_path):
    trusted = snapshot_public_key(ctx.engine)
    snap = export_snapshot(ctx.engine)
    tampered = {**snap, "keys": {**snap["keys"], "deadbeef": "AAAA"}}
    with pytest.raises(BoxOfficeError) as e:
        OfflineGate(tampered, tmp_path / "t.sqlite3", "T", trusted_key=trusted)
    assert e.value.code == "snapshot_untrusted"
    # A gate's login can export a snapshot but cannot sign one.
    unsigned = export_snapshot(raw_engine(terminals["gate"]))
    assert "signature" not in unsigned
    with pytest.raises(BoxOfficeError):
        OfflineGate(unsigned, tmp_path / "u.sqlite3", "U", trusted_key=trusted)
    with pytest.raises(BoxOfficeError):
        snapshot_public_key(raw_engine(terminals["gate"]))
