"""A terminal's login, in an attacker's hands, can do no more than its kind's flows.

Each attack runs as a real login of every terminal kind (provisioned in this module's
database) and must be refused by PostgreSQL itself: a permission error, a row-security
violation or a definer function's refusal."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from core.provisioning import login_for
from tests.printing.conftest import sell
from tests.security.conftest import raw_engine

KINDS = ("cashier", "kiosk", "monitor", "gate", "worker")


@pytest.fixture(scope="module")
def sold(ctx, counter):
    """A paid order, a canceled one, and the ids an attacker would aim at."""
    order, tickets = sell(ctx, counter, seats=1)
    canceled, _ = sell(ctx, counter, seats=1)
    with ctx.engine.begin() as c:
        c.execute(text("update orders set status = 'canceled' where id = :i"),
                  {"i": canceled.order_id})
        tier = c.execute(text("select id from price_tiers limit 1")).scalar_one()
    return {"order": order.order_id, "canceled": canceled.order_id, "tier": tier,
            "ticket": tickets[0], "counter": counter.terminal_id}


def _refused(engine, sql: str, **params) -> str:
    """Run ``sql`` in one transaction; it must fail. Returns the error text."""
    with pytest.raises(DBAPIError) as e, engine.begin() as c:
        for stmt in sql.split(";;"):
            c.execute(text(stmt), params)
    return str(e.value.orig)


DENIED = ("permission denied", "row-level security", "must be owner", "append-only",
          "foreign_terminal", "not_authorized", "status_change_refused")


def _assert_denied(msg: str) -> None:
    assert any(d in msg for d in DENIED), msg


@pytest.mark.parametrize("kind", KINDS)
def test_login_is_a_plain_member_of_its_kind(ctx, terminals, kind):
    t = terminals[kind]
    with ctx.engine.connect() as c:
        db = c.execute(text("select current_database()")).scalar_one()
        r = c.execute(text(
            "select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin,"
            " pg_has_role(rolname, :g, 'MEMBER') as member,"
            " exists (select 1 from pg_tables where tableowner = rolname) as owns"
            " from pg_roles where rolname = :r"), {"r": t.login, "g": f"boxoffice_{kind}"}).one()
    assert t.login == login_for(db, t.name) and t.login.startswith("bo_")
    assert r.rolcanlogin and r.member
    assert not (r.rolsuper or r.rolbypassrls or r.rolcreaterole or r.rolcreatedb or r.owns)
    with raw_engine(t).connect() as c:
        assert c.execute(text("select bo_my_terminal()")).scalar_one() == t.terminal_id


ATTACKS = {
    "raise_price": "update price_tiers set current_minor = 1, base_minor = 1 where id = :tier",
    "mint_key": "insert into ticket_keys (key_id, terminal_id, public_key)"
                " values ('deadbeef', :counter, '\\x00')",
    "mint_ticket": "insert into tickets (serial, order_id, line_id, unit, event_id, section_id,"
                   " unit_price_minor, currency, tier_id, key_id, token, terminal_id, status,"
                   " print_count, reprint_count) select 999999999, order_id, line_id, 2,"
                   " event_id, section_id, 0, currency, tier_id, key_id, 'x', :counter,"
                   " 'valid', 0, 0 from tickets where order_id = :order limit 1",
    "unrefund_order": "update orders set status = 'paid' where id = :canceled",
    "promote_operator": "update operators set role = 'admin'",
    "read_pin_hash": "select pin_hash from operators",
    "read_secrets": "select value from bo_secrets",
    "drop_table": "drop table orders cascade",
    "truncate": "truncate holds cascade",
    "create_table": "create table public.evil (x int)",
    "alter_table": "alter table orders disable row level security",
    "audit_update": "update audit_log set payload = 'x'",
    "audit_delete": "delete from audit_log",
    "audit_maintenance": "set local boxoffice.audit_maintenance = 'on';; delete from audit_log",
    "audit_truncate": "truncate audit_log",
    "audit_disable_trigger": "alter table audit_log disable trigger user",
    "audit_insert": "insert into audit_log (chain, seq, at_us, action, payload, prev_hash, hash)"
                    " values ('x', 1, 0, 'x', 'x', '\\x00', '\\x00')",
    "audit_heads": "update audit_heads set seq = 0",
    "audit_other_chain": "select audit_link('counter-1', 'forged', '{}')",
    "set_operator": "select bo_set_operator('mallory', 'M', 'admin', '1234')",
    "reset_pin": "select bo_reset_pin(1, '1234')",
    "terminal_map": "insert into terminal_logins (login, terminal_id, kind)"
                    " values ('mallory', :counter, 'cashier')",
    "unvoid_ticket": "update tickets set status = 'valid' where status = 'void'"
                     " and serial >= 0;; select 1/0",
    "another_terminals_key": "select bo_register_ticket_key(:counter, 'cafebabe', '\\x01')",
    "block_seats": "update event_seats set status = 'blocked' where status = 'available'",
    # Outbox and customer contacts (migration 0010): a terminal writes messages only as
    # itself, reads none, cannot mark one sent; nobody but the worker reads an address.
    "outbox_as_other_terminal": "insert into outbox (topic, payload, message_id, channel,"
                                " terminal_id) values ('sale.completed', '{}',"
                                " gen_random_uuid(), 'broker', :counter)",
    "outbox_read": "select payload from outbox",
    "outbox_mark_sent": "update outbox set sent_at = now(), last_error = 'x'",
    "outbox_unpark": "update outbox set parked_at = null, next_attempt_at = now()",
    "contacts_read": "select email from order_contacts",
    "contacts_for_other_terminal": "insert into order_contacts (order_id, terminal_id, email,"
                                   " language, consent_text) values (:order, :counter,"
                                   " 'x@example.com', 'en', 'v1')",
    "contacts_rewrite": "update order_contacts set email = 'mallory@example.com'",
    # The sales history is written by the database's own triggers; nobody writes it.
    "history_insert": "insert into sales_history (at, kind, order_id, line_id, event_id,"
                      " section_id, terminal_id, tender, currency, units, amount_minor)"
                      " values (now(), 'sale', :order, 1, 1, 1, :counter, 'cash', 'BRL', 1, 1)",
    "history_rewrite": "update sales_history set amount_minor = 0",
    "history_partition": "select bo_history_partition('2030-01-01')",
    "approve_directly": "insert into approvals (id, kind, terminal_id, approved_by, reason_code,"
                        " entity, entity_id) select gen_random_uuid(), 'refund', :counter, id,"
                        " 'other', 'order', 'x' from operators limit 1",
}
# Some are a kind's own flow: the monitor blocks seats and overrides prices, the worker's
# pricing rules move prices (inside the tier's floor and ceiling).
ALLOWED = {("monitor", "raise_price"), ("worker", "raise_price"), ("monitor", "block_seats"),
           # The worker delivers the outbox and writes to customers; the monitor shows the
           # queue and sends parked messages again (boxoffice outbox list|retry).
           ("worker", "outbox_read"), ("worker", "outbox_mark_sent"),
           ("worker", "outbox_unpark"), ("worker", "contacts_read"),
           ("monitor", "outbox_read"), ("monitor", "outbox_unpark")}


# A kind's own flow is not an attack on it: those pairs are left out rather than skipped
# (CI treats a skipped test as a database test that did not run).
REFUSED = [(k, a) for a in sorted(ATTACKS) for k in KINDS if (k, a) not in ALLOWED]


@pytest.mark.parametrize(("kind", "attack"), REFUSED)
def test_attack_is_refused(ctx, terminals, sold, kind, attack):
    engine = raw_engine(terminals[kind])
    params = {k: v for k, v in sold.items() if k in ("tier", "order", "canceled", "counter")}
    sql = ATTACKS[attack]
    if attack == "unvoid_ticket":
        # Void a ticket as the owner, then try to bring it back.
        with ctx.engine.begin() as c:
            c.execute(text("update tickets set status = 'void' where serial = :s"),
                      {"s": sold["ticket"].serial})
        sql = "update tickets set status = 'valid' where serial = :serial"
        params = {"serial": sold["ticket"].serial}
        with engine.begin() as c:
            try:
                n = c.execute(text(sql), params).rowcount
            except DBAPIError as exc:
                _assert_denied(str(exc.orig))
                return
        # Row security may hide the row instead (a kiosk's update sees its own tickets).
        assert n == 0
        return
    if attack == "unrefund_order" and kind == "kiosk":
        # The kiosk's update policy hides another terminal's order: nothing changes.
        with engine.begin() as c:
            assert c.execute(text(sql), params).rowcount == 0
        return
    _assert_denied(_refused(engine, sql, **params))
    engine.dispose()


def test_monitor_price_change_stays_inside_the_columns_it_may_touch(terminals, sold):
    engine = raw_engine(terminals["monitor"])
    _assert_denied(_refused(engine, "update price_tiers set base_minor = 1 where id = :tier",
                            tier=sold["tier"]))
    _assert_denied(_refused(engine, "update price_tiers set floor_minor = 0 where id = :tier",
                            tier=sold["tier"]))


@pytest.mark.parametrize("kind", ("kiosk", "cashier"))
def test_seller_cannot_hold_or_sell_as_another_terminal(terminals, sold, ctx, kind):
    engine = raw_engine(terminals[kind])
    with ctx.engine.connect() as c:
        ev = c.execute(text("select id from events limit 1")).scalar_one()
    _assert_denied(_refused(
        engine, "insert into holds (id, event_id, terminal_id, channel, status, expires_at,"
        " extensions, total_minor, currency) values (:id, :ev, :counter, 'counter', 'active',"
        " now() + interval '5 minutes', 0, 0, 'BRL')",
        id=uuid.uuid4(), ev=ev, counter=sold["counter"]))
    _assert_denied(_refused(engine, "select bo_register_terminal('counter-1', 'cashier')"))


@pytest.mark.parametrize("kind", ("kiosk", "cashier", "gate", "monitor"))
def test_command_results_of_other_terminals_are_out_of_reach(ctx, terminals, sold, kind):
    """A retrying terminal trusts its stored result: nobody else may read or rewrite it."""
    with ctx.engine.connect() as c:
        assert c.execute(text("select count(*) from command_log where terminal_id <> :t"),
                         {"t": terminals[kind].terminal_id}).scalar_one() > 0
    with raw_engine(terminals[kind]).begin() as c:
        assert c.execute(text("select count(*) from command_log where terminal_id <> :t"),
                         {"t": terminals[kind].terminal_id}).scalar_one() == 0
        assert c.execute(text("update command_log set result = '{}' where terminal_id <> :t"),
                         {"t": terminals[kind].terminal_id}).rowcount == 0


def test_kiosk_cannot_take_cash(terminals, ctx):
    engine = raw_engine(terminals["kiosk"])
    t = terminals["kiosk"]
    with ctx.engine.begin() as c:
        ev = c.execute(text("select id from events limit 1")).scalar_one()
        hid = uuid.uuid4()
        c.execute(text("insert into holds (id, event_id, terminal_id, channel, status,"
                       " expires_at, extensions, total_minor, currency) values (:id, :ev, :t,"
                       " 'kiosk', 'active', now() + interval '5 minutes', 0, 0, 'BRL')"),
                  {"id": hid, "ev": ev, "t": t.terminal_id})
    _assert_denied(_refused(
        engine, "insert into sales (id, key, hold_id, terminal_id, channel, tender, state,"
        " version, amount_minor, currency, attempts) values (gen_random_uuid(),"
        " gen_random_uuid(), :h, :t, 'kiosk', 'cash', 'completed', 0, 0, 'BRL', 0)",
        h=hid, t=t.terminal_id))


def test_gate_and_kiosk_cannot_call_the_approval_function(terminals):
    for kind in ("gate", "kiosk", "worker"):
        msg = _refused(raw_engine(terminals[kind]),
                       "select bo_record_approval(gen_random_uuid(), 'refund', null, null, 1,"
                       " 'other', 'order', 'x', 0, null)")
        assert "permission denied" in msg, (kind, msg)


def test_a_login_cannot_reach_another_database(pg_admin_url, template_db, terminals):
    """Group roles are shared by the server's databases; a login is granted CONNECT on
    its own database only (provisioning revokes PUBLIC's CONNECT there)."""
    from sqlalchemy.engine import make_url

    from core.provisioning import drop_login, provision_terminal
    from tests.conftest import drop_database, fresh_database
    from tests.security.conftest import psycopg_url

    other = fresh_database(pg_admin_url, template_db)
    owner = create_engine(psycopg_url(make_url(pg_admin_url).set(database=other)
                                      .render_as_string(hide_password=False)),
                          poolclass=NullPool)
    try:
        theirs = provision_terminal(owner, "sec-kiosk-1", "kiosk")  # same name, other db
        assert theirs.login != terminals["kiosk"].login
        url = make_url(psycopg_url(terminals["kiosk"].url)).set(database=other)
        with pytest.raises(DBAPIError, match="permission denied"):
            create_engine(url, poolclass=NullPool).connect().close()
        drop_login(owner, theirs.login)
    finally:
        owner.dispose()
        drop_database(pg_admin_url, other)
