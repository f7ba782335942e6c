"""Messages are written in the same transaction as the change they announce."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from core.errors import BoxOfficeError
from core.outbox import CustomerContact, enqueue
from core.sales import CardTender, CashTender, checkout, open_shift, refund
from tests.payments.conftest import hold


def _rows(ctx, kind: str | None = None) -> list:
    with ctx.engine.connect() as c:
        return c.execute(text("select topic, channel, message_id, payload, terminal_id"
                              " from outbox where cast(:k as text) is null or topic = :k"
                              " order by id"), {"k": kind}).all()


@pytest.fixture(scope="module")
def shift(cashier_pctx, cashier):
    return open_shift(cashier_pctx, cashier, uuid.uuid4(), 50_000)


def test_cash_sale_writes_its_message_with_the_order(pctx, cashier_pctx, cashier, shift):
    before = len(_rows(pctx, "sale.completed"))
    h = hold(cashier_pctx, cashier, n=2)
    res = checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    rows = _rows(pctx, "sale.completed")[before:]
    assert [(r.topic, r.channel) for r in rows] == [("sale.completed", "broker")]
    p = rows[0].payload
    assert p["order_id"] == str(res.order.order_id) and p["total_minor"] == h.total_minor
    assert p["ticket_serials"] == list(res.ticket_serials) and p["tender"] == "cash"
    assert rows[0].terminal_id == cashier.terminal_id


def test_repeated_checkout_writes_one_message(pctx, cashier_pctx, cashier, shift):
    before = len(_rows(pctx, "sale.completed"))
    h = hold(cashier_pctx, cashier)
    key = uuid.uuid4()
    checkout(cashier_pctx, cashier, key, h.hold_id, CashTender(h.total_minor))
    checkout(cashier_pctx, cashier, key, h.hold_id, CashTender(h.total_minor))
    assert len(_rows(pctx, "sale.completed")) == before + 1


def test_a_failed_sale_writes_nothing(pctx, cashier_pctx, cashier, shift):
    before = len(_rows(pctx))
    h = hold(cashier_pctx, cashier)
    with pytest.raises(BoxOfficeError) as e:
        checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id, CashTender(h.total_minor - 1))
    assert e.value.code == "tender_insufficient"
    with pytest.raises(BoxOfficeError) as e:
        checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id,
                 CardTender("pm_card_chargeDeclined"))
    assert e.value.code == "card_declined"
    assert len(_rows(pctx)) == before


def test_card_sale_with_email_writes_broker_and_email_copies_and_the_contact(pctx, kiosk_pctx,
                                                                             kiosk):
    h = hold(kiosk_pctx, kiosk)
    res = checkout(kiosk_pctx, kiosk, uuid.uuid4(), h.hold_id, CardTender("pm_card_visa"),
                   contact=CustomerContact("Maria.Silva@Example.COM", "es", consent=True))
    rows = [r for r in _rows(pctx, "sale.completed")
            if r.payload["order_id"] == str(res.order.order_id)]
    assert sorted(r.channel for r in rows) == ["broker", "email"]
    assert rows[0].message_id == rows[1].message_id
    assert "@" not in str(rows[0].payload)  # the address is not in the message
    with pctx.engine.connect() as c:
        contact = c.execute(text("select email, language, consent_text from order_contacts"
                                 " where order_id = :o"), {"o": res.order.order_id}).one()
    assert contact.email == "Maria.Silva@example.com" and contact.language == "es"
    assert contact.consent_text == "eticket-email-v1"


@pytest.mark.parametrize("contact,code", [
    (CustomerContact("not-an-address", "en", consent=True), "invalid_email"),
    (CustomerContact("a@b", "en", consent=True), "invalid_email"),
    (CustomerContact("ok@example.com", "en", consent=False), "consent_required"),
    (CustomerContact("ok@example.com", "fr", consent=True), "invalid_input"),
])
def test_bad_contact_is_refused_before_anything_happens(pctx, cashier_pctx, cashier, shift, contact,
                                                        code):
    before = len(_rows(pctx))
    h = hold(cashier_pctx, cashier)
    with pytest.raises(BoxOfficeError) as e:
        checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id, CashTender(h.total_minor),
                 contact=contact)
    assert e.value.code == code
    assert len(_rows(pctx)) == before
    assert "ok@example.com" not in repr(contact)


def test_refund_writes_refund_completed_with_a_customer_copy(pctx, cashier_pctx, cashier, shift):
    h = hold(cashier_pctx, cashier)
    sale = checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    r = refund(cashier_pctx, cashier, uuid.uuid4(), sale.order.order_id,
               reason_code="customer_request")
    rows = [x for x in _rows(pctx, "refund.completed")
            if x.payload["refund_id"] == str(r.refund_id)]
    assert sorted(x.channel for x in rows) == ["broker", "email"]
    assert rows[0].payload["amount_minor"] == h.total_minor


def test_enqueue_rolls_back_with_its_transaction(pctx, cashier_pctx, cashier):
    before = len(_rows(pctx))
    with pytest.raises(RuntimeError), pctx.engine.begin() as c:
        enqueue(c, "price.changed", {"tier_id": 1}, terminal_id=cashier.terminal_id)
        raise RuntimeError("the change failed")
    assert len(_rows(pctx)) == before
    with pytest.raises(BoxOfficeError), pctx.engine.begin() as c:
        enqueue(c, "sale.exploded", {}, terminal_id=None)


def test_a_comp_is_announced_as_a_sale_with_tender_comp(pctx, terminal_logins):
    from core.backoffice.inventory import issue_comp
    from tests.payments.conftest import operator_id

    # The back office comps on its admin login, carla signed in.
    desk = terminal_logins.context("write-desk", "admin", pctx.settings)
    carla = terminal_logins.actor("write-desk", "admin", operator_id(pctx, "carla"),
                                  "supervisor")
    comp = issue_comp(desk, carla, uuid.uuid4(), "MAGICA", reason="press",
                      ga_section=None, quantity=0, seat_ids=_free_seats(pctx, "MAGICA", 2))
    [row] = [r for r in _rows(pctx, "sale.completed")
             if r.payload["order_id"] == str(comp.order_id)]
    assert row.payload["tender"] == "comp" and row.payload["ticket_serials"] == \
        list(comp.serials)


def _free_seats(pctx, code: str, n: int) -> list[int]:
    with pctx.engine.connect() as c:
        return [r[0] for r in c.execute(text(
            "select es.seat_id from event_seats es join events e on e.id = es.event_id"
            " where e.code = :c and es.status = 'available' order by es.seat_id desc limit :n"),
            {"c": code, "n": n})]


def test_a_failed_contact_insert_does_not_show_the_address(pctx, cashier_pctx, cashier):
    from sqlalchemy.exc import DBAPIError

    from core.outbox import record_contact

    with pctx.engine.connect() as c:
        order_id = c.execute(text("select order_id from order_contacts limit 1")).scalar_one()
    with pytest.raises(DBAPIError) as e, pctx.engine.begin() as c:
        record_contact(c, order_id, cashier.terminal_id,
                       CustomerContact("secret.person@example.com", "en", consent=True))
    assert "secret.person" not in str(e.value) and "unique" in str(e.value).lower()
