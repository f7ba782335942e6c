"""The outbox on real terminal logins (migration 0010's grants and row security): a
kiosk sells with an email address on its own login and cannot read it back; the worker
login delivers the confirmation (it alone reads addresses)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from config.settings import MailSettings, OutboxSettings
from core.outbox import CustomerContact
from core.outbox.deliver import deliver_due
from core.outbox.mail import EmailSink
from core.payments import build_gateway
from core.reservation import hold_best_available
from core.sales import CardTender, checkout
from printing.eticket import install
from tests.payments.conftest import FAST_GATEWAY
from tests.security.conftest import (  # noqa: F401 - fixtures
    actor_for,
    provision,
    terminal_context,
    terminal_settings,
    terminals,
)


@pytest.fixture(scope="module")
def kiosk_ctx(terminals, sandbox, tmp_path_factory):  # noqa: F811
    t = terminals["kiosk"]
    tmp = tmp_path_factory.mktemp("kiosk")
    gw = {f"gateway__{k}": v for k, v in {**FAST_GATEWAY, "kind": "sandbox",
                                          "base_url": sandbox.base_url}.items()}
    c = terminal_context(t, tmp, terminal_settings(t, tmp, **gw))
    c.gateway = build_gateway(c.settings)
    yield c
    c.gateway.close()
    c.engine.dispose()


def test_kiosk_sale_with_email_on_its_login_and_worker_delivers(kiosk_ctx, terminals,  # noqa: F811
                                                                 smtp, tmp_path_factory):
    handler, port = smtp
    actor = actor_for(terminals["kiosk"])
    with kiosk_ctx.engine.connect() as c:
        ev = c.execute(text("select id from events where code = 'SINATRA'")).scalar_one()
    h = hold_best_available(kiosk_ctx, actor, uuid.uuid4(), ev, 1)
    sale = checkout(kiosk_ctx, actor, uuid.uuid4(), h.hold_id, CardTender("pm_card_visa"),
                    contact=CustomerContact("kiosk-buyer@example.com", "en", consent=True))
    with pytest.raises(DBAPIError) as e, kiosk_ctx.engine.connect() as c:
        c.execute(text("select email from order_contacts"))
    assert "permission denied" in str(e.value.orig)

    w = terminals["worker"]
    tmp = tmp_path_factory.mktemp("worker")
    wctx = terminal_context(w, tmp)
    install()
    sink = EmailSink(wctx.engine, MailSettings(host="127.0.0.1", port=port, starttls=False))
    res = deliver_due(wctx.engine, {"email": sink}, OutboxSettings(backoff_initial_s=0.05))
    wctx.engine.dispose()
    assert res.failed == 0 and res.sent >= 1
    [mail] = [m for m in handler.messages if m["To"] == "kiosk-buyer@example.com"]
    assert str(sale.order.number) in mail["Subject"]
    assert len([p for p in mail.iter_attachments()]) == 1


def test_a_cashier_cannot_put_its_address_on_a_kiosk_customers_order(kiosk_ctx, ctx,
                                                                       terminals,  # noqa: F811
                                                                       tmp_path_factory):
    """Row security on order_contacts (0013): the order must be the inserting terminal's
    own, or a cashier would receive a kiosk customer's refund and cancellation mail."""
    kactor = actor_for(terminals["kiosk"])
    with kiosk_ctx.engine.connect() as c:
        ev = c.execute(text("select id from events where code = 'SINATRA'")).scalar_one()
    h = hold_best_available(kiosk_ctx, kactor, uuid.uuid4(), ev, 1)
    sale = checkout(kiosk_ctx, kactor, uuid.uuid4(), h.hold_id, CardTender("pm_card_visa"))
    t = terminals["cashier"]
    cctx = terminal_context(t, tmp_path_factory.mktemp("cashier"))
    try:
        with pytest.raises(DBAPIError) as e, cctx.engine.begin() as c:
            c.execute(text("insert into order_contacts (order_id, terminal_id, email, language,"
                           " consent_text) values (:o, :t, 'thief@example.com', 'en', 'x')"),
                      {"o": sale.order.order_id, "t": t.terminal_id})
        assert "row-level security" in str(e.value.orig)
    finally:
        cctx.engine.dispose()
    with ctx.engine.connect() as c:
        n = c.execute(text("select count(*) from order_contacts where order_id = :o"),
                      {"o": sale.order.order_id}).scalar_one()
    assert n == 0


def test_monitor_lists_and_retries_parked_messages_on_its_login(ctx, terminals,  # noqa: F811
                                                                tmp_path):
    from core.outbox import admin, enqueue

    with ctx.engine.begin() as c:
        mid = enqueue(c, "price.changed", {"tier_id": 1}, terminal_id=None)
        c.execute(text("update outbox set parked_at = now(), last_error = 'x'"
                       " where message_id = :m"), {"m": mid})
    mon = terminal_context(terminals["monitor"], tmp_path)
    try:
        [row] = [r for r in admin.list_messages(mon.engine, "parked")
                 if r.message_id == str(mid)]
        assert admin.retry(mon.engine, [row.id]) == [row.id]
        with pytest.raises(DBAPIError), mon.engine.begin() as c:
            c.execute(text("update outbox set sent_at = now() where id = :i"), {"i": row.id})
    finally:
        mon.engine.dispose()
