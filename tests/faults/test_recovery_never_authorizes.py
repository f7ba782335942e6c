"""Issue 13 item 14: recovery never creates an authorization the customer was not there
for. A sale whose customer was told it failed (every authorize failed: "take cash"), or
that stopped before its authorization was asked, is settled by looking its intents up at
the gateway and voiding them; a call that can create one (replaying authorize with its
key) is never made. Against the sandbox gateway with its faults switched on.

The kiosk sells on its own login and the recovery runs where ``boxoffice worker`` runs it,
on a worker login; the owner's ``pctx`` reads the sale rows."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from core.errors import BoxOfficeError
from core.sales import CardTender, checkout, recover_stuck_sales
from core.sales.saga import _begin_card
from tests.payments.conftest import hold


@pytest.fixture(scope="module")
def worker_pctx(pctx, terminal_logins):
    """The worker's own context (its login), with the sandbox gateway."""
    return terminal_logins.new_context("recovery-worker", "worker", pctx.settings,
                                       gateway=pctx.gateway)


def _intents(sandbox, sale_id) -> list[dict]:
    return [i for i in sandbox.ledger()["intents"]
            if i["metadata"].get("sale_id") == str(sale_id)]


def _sale(pctx, key):
    with pctx.engine.connect() as c:
        return c.execute(text("select * from sales where key = :k"), {"k": key}).one()


def _requests(sandbox) -> int:
    return sandbox.ledger()["stats"]["executed"]


def test_a_sale_whose_authorizations_all_failed_is_voided_without_a_new_one(
        pctx, kiosk_pctx, kiosk, sandbox, worker_pctx):
    h = hold(kiosk_pctx, kiosk, "MAGICA")
    key = uuid.uuid4()
    sandbox.set_faults(error_rate=1.0)  # 500 before executing: nothing was ever made
    with pytest.raises(BoxOfficeError) as exc:
        checkout(kiosk_pctx, kiosk, key, h.hold_id, CardTender("pm_card_visa"))
    assert exc.value.code in ("gateway_unavailable", "gateway_timeout")
    sale = _sale(pctx, key)
    assert sale.state == "voiding" and sale.intent_id is None
    sandbox.set_faults(error_rate=0.0)  # the gateway is back; the customer has left
    recover_stuck_sales(worker_pctx, older_than_s=0)
    assert _intents(sandbox, sale.id) == []  # no authorization, not even a canceled one
    assert _sale(pctx, key).state == "voided"


def test_an_authorization_whose_answer_was_lost_is_found_and_voided(pctx, kiosk_pctx, kiosk,
                                                                     sandbox, worker_pctx):
    h = hold(kiosk_pctx, kiosk, "MAGICA")
    key = uuid.uuid4()
    sandbox.set_faults(ambiguous_rate=1.0)  # executed, answer dropped, every time
    with pytest.raises(BoxOfficeError):
        checkout(kiosk_pctx, kiosk, key, h.hold_id, CardTender("pm_card_visa"))
    sale = _sale(pctx, key)
    made = _intents(sandbox, sale.id)
    # Made once (every retry replayed its key); the live compensation may already have
    # cancelled it, its answer lost too.
    assert len(made) == 1 and made[0]["status"] in ("requires_capture", "canceled")
    assert sale.state == "voiding"
    sandbox.set_faults(ambiguous_rate=0.0)
    recover_stuck_sales(worker_pctx, older_than_s=0)
    after = _intents(sandbox, sale.id)
    assert [(i["id"], i["status"]) for i in after] == [(made[0]["id"], "canceled")]
    row = _sale(pctx, key)
    assert row.state == "voided" and row.intent_id == made[0]["id"]


def test_a_sale_stopped_before_its_authorization_is_not_authorized_by_recovery(
        pctx, kiosk_pctx, kiosk, sandbox, worker_pctx):
    # The saga's write-ahead row, as a process leaves it when it dies before the call.
    h = hold(kiosk_pctx, kiosk, "MAGICA")
    key = uuid.uuid4()
    sale = _begin_card(kiosk_pctx, kiosk, key, h.hold_id, CardTender("pm_card_visa"))
    assert sale.state == "authorizing"
    recover_stuck_sales(worker_pctx, older_than_s=0)
    assert _intents(sandbox, sale.id) == []
    assert _sale(pctx, key).state == "voided"


def test_the_customer_at_the_counter_still_resumes_forward(kiosk_pctx, kiosk, sandbox):
    # Live (the same checkout repeated while the customer is there) still authorizes.
    h = hold(kiosk_pctx, kiosk, "MAGICA")
    key = uuid.uuid4()
    sale = _begin_card(kiosk_pctx, kiosk, key, h.hold_id, CardTender("pm_card_visa"))
    done = checkout(kiosk_pctx, kiosk, key, h.hold_id, CardTender("pm_card_visa"))
    assert done.sale_id == sale.id
    assert [i["status"] for i in _intents(sandbox, sale.id)] == ["succeeded"]


def test_an_authorization_landing_after_the_sweeper_settled_the_sale_is_voided(
        pctx, kiosk, sandbox, kiosk_pctx, worker_pctx):
    # The live call was still authorizing when the sweeper settled the sale (it found no
    # intent yet): the live call, losing the row to the sweeper, cancels what it made.
    from core.sales.saga import _authorize
    from core.sales.sale_rows import TakenOver

    h = hold(kiosk_pctx, kiosk, "MAGICA")
    key = uuid.uuid4()
    stale = _begin_card(kiosk_pctx, kiosk, key, h.hold_id, CardTender("pm_card_visa"))
    recover_stuck_sales(worker_pctx, older_than_s=0)
    assert _sale(pctx, key).state == "voided"
    with pytest.raises(TakenOver):  # drive() then follows the row the sweeper left
        _authorize(kiosk_pctx, kiosk, pctx.payment_gateway(), stale, False, compensate=False)
    assert [i["status"] for i in _intents(sandbox, stale.id)] == ["canceled"]
    assert _sale(pctx, key).state == "voided"
