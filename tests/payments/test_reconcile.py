"""Reconciliation rules (``core.sales.reconcile.verdict``), one per gateway answer, and
``boxoffice payments reconcile`` run as the real command on the worker's own login."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from core.payments import build_gateway
from core.payments.gateway import Intent
from core.payments.sandbox import SandboxServer
from core.provisioning import drop_login, provision_terminal
from core.reservation import confirm_in, hold_best_available
from core.sales import CardTender, checkout, tickets_bridge
from core.sales.reconcile import AUTH_WINDOW_S, verdict
from core.uow import unit_of_work
from tests.payments.conftest import FAST_GATEWAY
from tests.security.conftest import (
    actor_for,
    psycopg_url,
    raw_engine,
    terminal_context,
    terminal_settings,
)

HOLD = uuid.uuid4()
SALE = uuid.uuid4()


def _row(**kw):
    base = {"intent_id": "pi_1", "amount_minor": 5000, "currency": "BRL", "hold_id": HOLD,
            "terminal_id": 7, "refunded_minor": 0, "age_s": 30.0, "order_status": "paid"}
    return SimpleNamespace(**{**base, **kw})


def _intent(status: str = "succeeded", **kw) -> Intent:
    base = {"id": "pi_1", "status": status, "amount_minor": 5000, "currency": "BRL",
            "amount_received_minor": 5000 if status == "succeeded" else 0,
            "metadata": {"sale_id": str(SALE), "hold_id": str(HOLD), "terminal_id": "7"}}
    return Intent(**{**base, **kw})


@pytest.mark.parametrize(("row", "intent", "sale_ok", "want"), [
    (_row(), _intent(), True, ("ok", "captured")),
    (_row(), _intent("requires_capture"), True, ("authorized", "awaiting_capture")),
    (_row(age_s=AUTH_WINDOW_S + 1), _intent("requires_capture"), True,
     ("unverified", "authorization_expired")),
    (_row(), None, True, ("unverified", "intent_missing")),
    (_row(), _intent(amount_minor=1), True, ("unverified", "amount_mismatch")),
    (_row(), _intent(currency="USD"), True, ("unverified", "amount_mismatch")),
    (_row(), _intent(amount_received_minor=10), True, ("unverified", "amount_mismatch")),
    (_row(), _intent(metadata={"sale_id": str(SALE), "hold_id": str(uuid.uuid4()),
                               "terminal_id": "7"}), True,
     ("unverified", "metadata_mismatch")),
    (_row(), _intent(metadata={"sale_id": str(SALE), "hold_id": str(HOLD),
                               "terminal_id": "8"}), True,
     ("unverified", "metadata_mismatch")),
    (_row(), _intent(), False, ("unverified", "metadata_mismatch")),
    (_row(), _intent(amount_refunded_minor=5000), True, ("unverified", "refunded_at_gateway")),
    (_row(refunded_minor=5000), _intent(amount_refunded_minor=5000), True, ("ok", "captured")),
    (_row(), _intent("canceled"), True, ("unverified", "intent_canceled")),
    (_row(order_status="canceled"), _intent("canceled"), True, ("ok", "order_canceled")),
    (_row(), _intent("requires_payment_method"), True,
     ("unverified", "intent_requires_payment_method")),
])
def test_verdict(row, intent, sale_ok, want):
    v = verdict(row, intent, sale_ok)
    assert (v.result, v.reason) == want


# --- the command -------------------------------------------------------------------------

CLI = [sys.executable, "-m", "boxoffice_cli.main"]


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(seed=17) as sb:
        yield sb


@pytest.fixture(scope="module")
def logins(ctx):
    made = [provision_terminal(ctx.engine, "cli-rec-kiosk", "kiosk"),
            provision_terminal(ctx.engine, "cli-rec-worker", "worker")]
    yield made
    for t in made:
        drop_login(ctx.engine, t.login)


def _env(worker, sandbox, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    return {**env, "BOXOFFICE_CONFIG": str(tmp_path / "none.toml"),
            "BOXOFFICE_DATABASE__URL": psycopg_url(worker.url),
            "BOXOFFICE_TERMINAL__NAME": worker.name,
            "BOXOFFICE_TERMINAL__DATA_DIR": str(tmp_path),
            "BOXOFFICE_GATEWAY__KIND": "sandbox",
            "BOXOFFICE_GATEWAY__BASE_URL": sandbox.base_url}


def test_payments_reconcile_command(ctx, logins, sandbox, tmp_path):
    kiosk, worker = logins
    gw = {f"gateway__{k}": v for k, v in
          {**FAST_GATEWAY, "kind": "sandbox", "base_url": sandbox.base_url}.items()}
    k = terminal_context(kiosk, tmp_path, terminal_settings(kiosk, tmp_path, **gw))
    k.gateway = build_gateway(k.settings)
    actor = actor_for(kiosk)
    with k.engine.connect() as c:
        ev = c.execute(text("select id from events where code = 'COMEDIA-HOJE'")).scalar_one()
    try:
        real = checkout(k, actor, uuid.uuid4(), hold_best_available(
            k, actor, uuid.uuid4(), ev, 1).hold_id, CardTender("pm_card_visa"))
        # An invented authorization, recorded and sold on by the kiosk's own login.
        h = hold_best_available(k, actor, uuid.uuid4(), ev, 1)
        sale = uuid.uuid4()
        with raw_engine(kiosk).begin() as c:
            c.execute(text(
                "insert into sales (id, key, hold_id, terminal_id, channel, tender, state,"
                " version, amount_minor, currency, attempts, intent_id) values (:s,"
                " gen_random_uuid(), :h, :t, 'kiosk', 'card', 'authorized', 0, :a, 'BRL', 0,"
                " 'pi_madeup')"),
                {"s": sale, "h": h.hold_id, "t": kiosk.terminal_id, "a": h.total_minor})
            c.execute(text(
                "insert into payments (sale_id, kind, method, status, amount_minor, currency,"
                " gateway_ref) values (:s, 'charge', 'card', 'authorized', :a, 'BRL',"
                " 'pi_madeup')"), {"s": sale, "a": h.total_minor})
        tickets_bridge.prepare(k)
        with unit_of_work(k.engine) as c:
            forged = confirm_in(c, actor, h.hold_id, "pi_madeup", sale_id=sale,
                                expected_total_minor=h.total_minor)
            tickets_bridge.issue(c, k, actor, forged)
    finally:
        k.gateway.close()
        k.engine.dispose()

    run = subprocess.run([*CLI, "payments", "reconcile", "--json"],
                         env=_env(worker, sandbox, tmp_path), capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1, run.stderr  # one payment did not reconcile
    doc = json.loads(run.stdout)
    assert doc["examined"] == 2 and doc["ok"] == 1 and doc["unverified"] == 1
    assert doc["unverified_orders"] == [str(forged.order_id)] and doc["tickets_voided"] == 1
    with ctx.engine.connect() as c:
        got = dict(c.execute(text("select order_id, result from payment_checks")).all())
    assert got == {real.order.order_id: "ok", forged.order_id: "unverified"}

    again = subprocess.run([*CLI, "payments", "reconcile"], env=_env(worker, sandbox, tmp_path),
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "examined" in again.stdout and "Traceback" not in again.stderr

    # The kiosk's login is not the worker's: no verdicts from it.
    env = {**_env(worker, sandbox, tmp_path), "BOXOFFICE_DATABASE__URL": psycopg_url(kiosk.url),
           "BOXOFFICE_TERMINAL__NAME": kiosk.name}
    with ctx.engine.begin() as c:  # something to check again
        c.execute(text("update payment_checks set result = 'authorized'"
                       " where order_id = :o"), {"o": real.order.order_id})
    refused = subprocess.run([*CLI, "payments", "reconcile"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
