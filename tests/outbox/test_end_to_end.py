"""The issue's "done when", in one run: a counter sale with an email address, the broker
down (RabbitMQ application stopped) while a real worker process is killed with SIGKILL
right after the mail server took the email; the broker comes back, a new worker runs.
A deduplicating receiver sees one email with the scannable tickets and one
``sale.completed`` on RabbitMQ, carrying the same id.

The counter sells on its own cashier login and both worker processes run on a worker
login (their config file's URL); the owner's ``pctx`` reads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

from sqlalchemy import text

from core.outbox import CustomerContact
from core.sales import CashTender, checkout, open_shift
from tests.logins import psycopg_url
from tests.outbox.conftest import settings_file
from tests.outbox.test_broker_restart import DurableReceiver, _rabbitmqctl
from tests.outbox.test_email import _qr
from tests.payments.conftest import hold, operator_id

WORKER = [sys.executable, "-m", "boxoffice_cli.main", "worker", "--interval", "0.2"]


def test_sale_email_and_event_exactly_once_across_kill_and_broker_restart(
        pctx, smtp, exchange, tmp_path, terminal_logins):
    handler, port = smtp
    with pctx.engine.begin() as c:
        c.execute(text("update outbox set sent_at = now() where sent_at is null"))
    a = terminal_logins.actor("e2e-counter", "cashier", operator_id(pctx, "ana"), "cashier")
    own = terminal_logins.new_context("e2e-counter", "cashier", pctx.settings, pool_size=2,
                                      gateway=pctx.gateway)
    open_shift(own, a, uuid.uuid4(), 10_000)
    receiver = DurableReceiver(exchange)
    h = hold(own, a, "COMEDIA-HOJE", 2)
    address = f"e2e-{uuid.uuid4().hex[:6]}@example.com"
    sale = checkout(own, a, uuid.uuid4(), h.hold_id, CashTender(h.total_minor),
                    contact=CustomerContact(address, "pt-BR", consent=True))
    worker = terminal_logins.login("e2e-worker", "worker")
    config = settings_file(tmp_path, psycopg_url(worker.url), exchange, port, lease_s=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env["BOXOFFICE_CONFIG"] = str(config)
    _rabbitmqctl("stop_app")
    try:
        first = subprocess.run(WORKER, env={**env,
                                            "BOXOFFICE_TEST_CRASH_AT": "outbox_after_send"},
                               capture_output=True, timeout=120)
        assert first.returncode == -signal.SIGKILL, first.stderr.decode()[-2000:]
    finally:
        _rabbitmqctl("start_app")
        _rabbitmqctl("await_startup")
    second = subprocess.Popen(WORKER, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        with pctx.engine.connect() as c:
            mid = c.execute(text("select message_id from outbox where topic = 'sale.completed'"
                                 " and payload->>'order_id' = :o limit 1"),
                            {"o": str(sale.order.order_id)}).scalar_one()
        receiver.wait_for({str(mid)}, timeout=90)
        handler.wait_for(len(handler.messages) + 1, timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
        receiver.close()
    mails = [m for m in handler.messages if m["To"] == address]
    assert len(mails) == 2  # sent, killed before recording it, sent again ...
    assert {m["Message-ID"] for m in mails} == {f"<{mid}@boxoffice>"}  # ... as the same one
    tokens = sorted(t for p in mails[0].iter_attachments() for t in _qr(p.get_content()))
    assert tokens == sorted(t.token for t in _tokens(pctx, sale.order.order_id))
    # On RabbitMQ: the sale under the email's id (other events, e.g. the pricing job's,
    # may be there too); a redelivery would carry the same id and be dropped.
    assert str(mid) in receiver.unique and receiver.raw.count(str(mid)) >= 1


def _tokens(pctx, order_id):
    with pctx.engine.connect() as c:
        return c.execute(text("select token from tickets where order_id = :o"),
                         {"o": order_id}).all()
