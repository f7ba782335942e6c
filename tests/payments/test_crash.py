"""Crash: a process running a checkout is killed (SIGKILL) between authorize and confirm,
and between confirm and capture; recover_stuck_sales() then leaves the database and the
sandbox's ledger consistent.

The kiosk (and its crashing child process) sells on the kiosk's own login, the recovery
runs on a worker login as ``boxoffice worker`` runs it; the owner's ``pctx`` reads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from core.sales import recover_stuck_sales
from core.sales.saga import CRASH_ENV
from tests.payments.conftest import hold

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def worker_pctx(pctx, terminal_logins):
    """The worker's own context (its login), with the sandbox gateway."""
    return terminal_logins.new_context("crash-worker", "worker", pctx.settings,
                                       gateway=pctx.gateway)


def _run_child(tctx, actor, hold_id, key, step: str) -> int:
    """The checkout in a child process on ``tctx``'s settings (the terminal's login)."""
    settings = tctx.settings.model_dump(mode="json")
    settings["database"]["url"] = tctx.settings.database.url.get_secret_value()
    settings["gateway"]["secret_key"] = None
    payload = {"settings": settings, "db_url": settings["database"]["url"],
               "terminal_id": actor.terminal_id, "terminal_name": actor.terminal_name,
               "key": str(key), "hold_id": str(hold_id)}
    proc = subprocess.run([sys.executable, "-m", "tests.payments.crash_child",
                           json.dumps(payload)], cwd=ROOT, env={**os.environ, CRASH_ENV: step},
                          capture_output=True, timeout=60)
    return proc.returncode


def _sale(pctx, key):
    with pctx.engine.connect() as c:
        return c.execute(text("select s.*, o.status as order_status from sales s left join"
                              " orders o on o.id = s.order_id where s.key = :k"),
                         {"k": key}).one()


def _intents(sandbox, sale_id):
    return [i for i in sandbox.ledger()["intents"] if i["metadata"].get("sale_id") ==
            str(sale_id)]


@pytest.mark.parametrize("step, stuck_state", [
    ("before_record_authorize", "authorizing"),
    # The authorization is recorded with the confirmation in one call (0015), so a
    # process killed after the gateway said yes leaves the sale 'authorizing' too; the
    # recovery finds the intent by its key and voids it.
    ("after_authorize", "authorizing"),
])
def test_killed_before_confirm_is_voided(pctx, kiosk, kiosk_pctx, worker_pctx, sandbox, step,
                                         stuck_state):
    h = hold(kiosk_pctx, kiosk, "MAGICA")
    key = uuid.uuid4()
    assert _run_child(kiosk_pctx, kiosk, h.hold_id, key, step) == -signal.SIGKILL
    sale = _sale(pctx, key)
    assert sale.state == stuck_state
    pis = _intents(sandbox, sale.id)
    assert [p["status"] for p in pis] == ["requires_capture"]  # money held on the card
    # A sale idle for less than the threshold may still be driven by its terminal.
    recover_stuck_sales(worker_pctx, older_than_s=3600)
    assert _sale(pctx, key).state == stuck_state

    rep = recover_stuck_sales(worker_pctx, older_than_s=0)
    assert rep.voided >= 1 and rep.still_stuck == 0
    sale = _sale(pctx, key)
    assert sale.state == "voided" and sale.order_id is None
    pis = _intents(sandbox, sale.id)
    assert [p["status"] for p in pis] == ["canceled"]  # the same intent, released
    with pctx.engine.connect() as c:
        sold = c.execute(text("select count(*) from event_seats where status = 'sold'"
                              " and seat_id = any(:s) and event_id = :e"),
                         {"s": list(h.seat_ids), "e": h.event_id}).scalar_one()
    assert sold == 0


def test_killed_between_confirm_and_capture_is_captured(pctx, kiosk, kiosk_pctx, worker_pctx,
                                                        sandbox):
    h = hold(kiosk_pctx, kiosk, "MAGICA", n=2)
    key = uuid.uuid4()
    assert _run_child(kiosk_pctx, kiosk, h.hold_id, key, "after_confirm") == -signal.SIGKILL
    sale = _sale(pctx, key)
    assert sale.state == "capturing" and sale.order_status == "paid"
    assert [p["status"] for p in _intents(sandbox, sale.id)] == ["requires_capture"]

    rep = recover_stuck_sales(worker_pctx, older_than_s=0)
    assert rep.completed >= 1 and rep.still_stuck == 0
    sale = _sale(pctx, key)
    assert sale.state == "completed" and sale.order_status == "paid"
    pis = _intents(sandbox, sale.id)
    assert [(p["status"], p["amount_received"]) for p in pis] == [("succeeded", h.total_minor)]
    with pctx.engine.connect() as c:
        tickets = c.execute(text("select status from tickets where order_id = :o"),
                            {"o": sale.order_id}).scalars().all()
    assert tickets == ["valid", "valid"]
    # Repeating the checkout from the restarted terminal returns the finished sale.
    from core.sales import CardTender, checkout

    res = checkout(kiosk_pctx, kiosk, key, h.hold_id, CardTender("pm_card_visa"))
    assert res.order.order_id == sale.order_id and not res.capture_pending
