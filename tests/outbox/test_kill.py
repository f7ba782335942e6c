"""Delivery survives kill -9 of the worker: a real ``boxoffice worker`` process is killed
(SIGKILL, by itself, right after RabbitMQ took a message and before the row was marked
sent: the worst moment); a new worker sends that message again with the same id, and a
deduplicating receiver sees every message exactly once. The workers run on a worker
login (their config file's URL); the owner's ``pctx`` writes the messages and reads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

from sqlalchemy import text

from core.outbox import enqueue
from tests.logins import psycopg_url
from tests.outbox.conftest import settings_file

WORKER = [sys.executable, "-m", "boxoffice_cli.main", "worker", "--interval", "0.2"]


def _env(config, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    return {**env, "BOXOFFICE_CONFIG": str(config), **extra}


def test_worker_killed_mid_delivery_loses_nothing(pctx, exchange, receiver, tmp_path,
                                                  terminal_logins):
    with pctx.engine.begin() as c:
        c.execute(text("update outbox set sent_at = now() where sent_at is null"))
        ids = [enqueue(c, "ticket.checked_in", {"serial": i, "event_id": 1, "gate": "A"},
                       terminal_id=None) for i in range(20)]
    worker = terminal_logins.login("kill-worker", "worker")
    config = settings_file(tmp_path, psycopg_url(worker.url), exchange, None, lease_s=1)
    first = subprocess.run(WORKER, env=_env(config, BOXOFFICE_TEST_CRASH_AT="outbox_after_send"),
                           capture_output=True, timeout=120)
    assert first.returncode == -signal.SIGKILL, first.stderr.decode()[-2000:]
    receiver.wait_for(1)
    with pctx.engine.connect() as c:
        unsent = c.execute(text("select count(*) from outbox where sent_at is null")).scalar()
    assert unsent == 20  # it died before recording the one it sent

    second = subprocess.Popen(WORKER, env=_env(config), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        got = receiver.wait_for(20, timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert set(got) == {str(i) for i in ids}
    receiver.drain(0.3)
    # At least once: the message in flight at the kill came twice, with the same id.
    seen = [mid for mid, _, _ in receiver.raw]
    assert len(seen) == 21 and len(set(seen)) == 20
    dup = next(m for m in set(seen) if seen.count(m) == 2)
    assert uuid.UUID(dup) == ids[0]
    with pctx.engine.connect() as c:
        assert c.execute(text("select count(*) from outbox where sent_at is null")).scalar() == 0
