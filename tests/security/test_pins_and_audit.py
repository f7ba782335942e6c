"""PINs are checked inside the database (escalating lock-out, an unknown login answered
like a known one, the hash never readable), and the audit chain is keyed: deleting a row
and recomputing the plain hashes, as an attacker without the key would, is detected."""

from __future__ import annotations

import hashlib
import statistics
import time
import uuid

import pytest
from sqlalchemy import text

from core import audit
from core.actors import authenticate, create_operator
from core.errors import BoxOfficeError
from core.reservation import hold_best_available
from tests.security.conftest import actor_for, raw_engine, terminal_context


def _fail(engine, login: str, n: int) -> list[str]:
    codes = []
    for _ in range(n):
        with pytest.raises(BoxOfficeError) as e:
            authenticate(engine, login, "0000")
        codes.append(e.value.code)
    return codes


def _locked_minutes(ctx, login: str) -> float:
    with ctx.engine.connect() as c:
        return float(c.execute(text(
            "select extract(epoch from locked_until - now()) / 60 from operators"
            " where login = :l"), {"l": login}).scalar_one())


def _unlock(ctx, login: str) -> None:
    with ctx.engine.begin() as c:
        c.execute(text("update operators set locked_until = now() - interval '1 second'"
                       " where login = :l"), {"l": login})


def test_lockout_escalates_and_a_good_pin_resets_it(ctx, terminals):
    with ctx.engine.begin() as c:
        create_operator(c, "lock-me", "Lock Me", "cashier", "4321")
    engine = raw_engine(terminals["cashier"])
    assert _fail(engine, "lock-me", 5) == ["invalid_pin"] * 5
    # Locked now: even the right PIN is refused until the time is up.
    with pytest.raises(BoxOfficeError) as e:
        authenticate(engine, "lock-me", "4321")
    assert e.value.code == "operator_locked"
    assert 4.5 < _locked_minutes(ctx, "lock-me") <= 5
    _unlock(ctx, "lock-me")
    _fail(engine, "lock-me", 5)
    assert 9.5 < _locked_minutes(ctx, "lock-me") <= 10  # the second lock-out is longer
    _unlock(ctx, "lock-me")
    _fail(engine, "lock-me", 5)
    assert 19.5 < _locked_minutes(ctx, "lock-me") <= 20
    _unlock(ctx, "lock-me")
    assert authenticate(engine, "lock-me", "4321").login == "lock-me"
    _fail(engine, "lock-me", 5)
    assert _locked_minutes(ctx, "lock-me") <= 5  # back to the first step


def test_unknown_login_is_locked_out_too(terminals):
    engine = raw_engine(terminals["gate"])
    codes = _fail(engine, f"nobody-{uuid.uuid4().hex[:6]}", 6)
    assert codes == ["invalid_pin"] * 5 + ["operator_locked"]


def test_unknown_login_answers_in_the_time_of_a_known_one(ctx, terminals):
    with ctx.engine.begin() as c:
        create_operator(c, "timing", "Timing", "cashier", "5678")
    engine = raw_engine(terminals["kiosk"])

    def one(login: str) -> float:
        t0 = time.perf_counter()
        with pytest.raises(BoxOfficeError):
            authenticate(engine, login, "0000")
        return time.perf_counter() - t0

    known, unknown = [], []
    for i in range(40):
        # Spread over fresh logins so neither side hits a lock-out.
        if i % 4 == 0:
            _unlock(ctx, "timing")
        known.append(one("timing"))
        unknown.append(one(f"ghost-{i}"))
    k, u = statistics.median(known), statistics.median(unknown)
    assert abs(k - u) < max(0.5 * min(k, u), 0.002), (k, u)


def test_pin_hash_is_keyed_and_unreadable(ctx, terminals):
    with ctx.engine.connect() as c:
        h = c.execute(text("select pin_hash from operators where login = 'ana'")).scalar_one()
    assert h.startswith("bo1$")
    salt, digest = h.split("$")[1:]
    # Without the database's pepper the digest is not the plain hash of salt and PIN.
    assert hashlib.sha256(bytes.fromhex(salt) + b"1234").hexdigest() != digest
    for kind, t in terminals.items():
        with pytest.raises(Exception, match="permission denied"), raw_engine(t).connect() as c:
            c.execute(text("select pin_hash from operators"))
        del kind


def test_kiosk_pin_failure_is_on_the_record_for_the_monitor(ctx, terminals):
    engine = raw_engine(terminals["kiosk"])
    _fail(engine, "carla", 1)
    with ctx.engine.connect() as c:
        n = c.execute(text("select count(*) from audit_log where chain = :c and"
                           " action = 'pin_failed'"), {"c": terminals["kiosk"].name}).scalar_one()
    assert n >= 1
    _unlock(ctx, "carla")


def test_a_kiosk_guessing_unknown_logins_alerts_the_monitor(ctx, terminals):
    """Someone at a kiosk tries staff PINs under logins that do not exist ("admin"): each
    failure is on the kiosk's audit chain (without the typed login) and the monitor's
    snapshot, read on the monitor's own login, carries a kiosk_pin_failed alert; the
    fifth failure locks that login and the alert says so."""
    from core.monitor import snapshot

    kiosk = terminals["kiosk"]
    login = f"admin-{uuid.uuid4().hex[:6]}"
    assert _fail(raw_engine(kiosk), login, 5) == ["invalid_pin"] * 5
    with ctx.engine.connect() as c:
        rows = c.execute(text("select payload from audit_log where chain = :c and"
                              " action = 'pin_failed' order by seq"),
                         {"c": kiosk.name}).scalars().all()
    assert all(login not in p for p in rows)
    assert sum('"lockout" : true' in p for p in rows) >= 1
    # A cashier's failures at the counter are not a floor alarm.
    _fail(raw_engine(terminals["cashier"]), f"nobody-{uuid.uuid4().hex[:6]}", 1)

    monitor = raw_engine(terminals["monitor"])
    try:
        alerts = [a for a in snapshot(monitor).alerts if a.code == "kiosk_pin_failed"]
    finally:
        monitor.dispose()
    assert [a.terminal for a in alerts] == [kiosk.name]
    assert alerts[0].data["count"] >= 5 and alerts[0].data["lockout"] is True


def test_recomputed_plain_chain_after_a_deletion_is_detected(ctx, terminals, tmp_path):
    """The attack of issue 11: delete a row, recompute the SHA-256 chain and the head.
    A terminal cannot even delete; here the attacker has table access (a stolen backup
    restored, a DBA account) but not the key, and verify still finds it."""
    t = terminals["cashier"]
    c = terminal_context(t, tmp_path)
    actor = actor_for(t)
    with ctx.engine.connect() as conn:
        ev = conn.execute(text("select id from events where code = 'MAGICA'")).scalar_one()
    for _ in range(4):
        hold_best_available(c, actor, uuid.uuid4(), ev, 1)
    c.engine.dispose()
    checked, problems = audit.verify(ctx.engine)
    assert problems == [] and checked >= 4
    with pytest.raises(BoxOfficeError) as e:
        audit.verify(raw_engine(t))  # verify needs the owner's rights
    assert e.value.code == "owner_required"

    chain = t.name
    with ctx.engine.begin() as conn:
        conn.execute(text("set local boxoffice.audit_maintenance = 'on'"))
        rows = conn.execute(text("select id, seq, at_us, action, payload from audit_log"
                                 " where chain = :c order by seq"), {"c": chain}).all()
        conn.execute(text("delete from audit_log where id = :i"), {"i": rows[1].id})
        prev = b"\x00" * 32
        for new_seq, r in enumerate([r for r in rows if r.id != rows[1].id], start=1):
            h = hashlib.sha256(prev + f"|{new_seq}|{r.at_us}|{r.action}|".encode()
                               + r.payload.encode()).digest()
            conn.execute(text("update audit_log set seq = :s, prev_hash = :p, hash = :h"
                              " where id = :i"), {"s": new_seq, "p": prev, "h": h, "i": r.id})
            prev = h
        conn.execute(text("update audit_heads set seq = :s, hash = :h where chain = :c"),
                     {"s": len(rows) - 1, "h": prev, "c": chain})
    _, problems = audit.verify(ctx.engine)
    assert problems and all(p.chain == chain for p in problems)
    assert any("altered" in p.problem for p in problems)
