"""``boxoffice events tail`` (the example consumer) and ``boxoffice outbox list|retry``,
run as the real command: clear errors, no tracebacks. The commands are the operator's
(the owner's URL); the deliveries between them are the worker's, on a worker login."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import text

from core.outbox import enqueue
from core.outbox.job import close_sinks, deliver_outbox
from tests.outbox.conftest import octx_for, settings_file

CLI = [sys.executable, "-m", "boxoffice_cli.main"]


def _env(config) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    return {**env, "BOXOFFICE_CONFIG": str(config)}


def test_events_tail_prints_each_event_once(pctx, db_url, exchange, tmp_path,
                                           terminal_logins):
    with pctx.engine.begin() as c:
        c.execute(text("update outbox set sent_at = now() where sent_at is null"))
    config = settings_file(tmp_path, db_url, exchange, None)
    tail = subprocess.Popen([*CLI, "events", "tail", "--json", "--count", "3", "--key",
                             "sale.*", "--key", "event.*"], env=_env(config),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "listening on" in tail.stderr.readline()
        with pctx.engine.begin() as c:
            ids = [enqueue(c, "sale.completed", {"i": 1}, terminal_id=None),
                   enqueue(c, "ticket.checked_in", {"i": 2}, terminal_id=None),
                   enqueue(c, "event.paused", {"event_id": 1}, terminal_id=None)]
        ctx = octx_for(terminal_logins.context("cli-worker", "worker", pctx.settings),
                       exchange, None)
        deliver_outbox(ctx)
        # Send the sale again (what a worker killed after sending does): the tail drops it.
        with pctx.engine.begin() as c:
            c.execute(text("update outbox set sent_at = null where message_id = :m"),
                      {"m": ids[0]})
        deliver_outbox(ctx)
        with pctx.engine.begin() as c:
            enqueue(c, "event.canceled", {"event_id": 1}, terminal_id=None)
        deliver_outbox(ctx)
        close_sinks(ctx)
        out, err = tail.communicate(timeout=60)
    finally:
        tail.kill()
    docs = [json.loads(line) for line in out.splitlines()]
    assert [d["type"] for d in docs] == ["sale.completed", "event.paused", "event.canceled"]
    assert docs[0]["id"] == str(ids[0]) and tail.returncode == 0, err


def test_outbox_list_and_retry(pctx, db_url, exchange, tmp_path):
    config = settings_file(tmp_path, db_url, exchange, None)
    with pctx.engine.begin() as c:
        mid = enqueue(c, "price.changed", {"tier_id": 9}, terminal_id=None)
        c.execute(text("update outbox set parked_at = now(), attempts = 5,"
                       " last_error = 'AMQPConnectionError: refused' where message_id = :m"),
                  {"m": mid})
        oid = c.execute(text("select id from outbox where message_id = :m"),
                        {"m": mid}).scalar_one()
    run = subprocess.run([*CLI, "outbox", "list", "--status", "parked", "--json"],
                         env=_env(config), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    [row] = [m for m in doc["messages"] if m["id"] == oid]
    assert row["status"] == "parked" and row["last_error"].startswith("AMQPConnectionError")
    human = subprocess.run([*CLI, "outbox", "list", "--status", "parked"], env=_env(config),
                           capture_output=True, text=True, timeout=120)
    assert "last error: AMQPConnectionError" in human.stdout
    ok = subprocess.run([*CLI, "outbox", "retry", str(oid), "--json"], env=_env(config),
                        capture_output=True, text=True, timeout=120)
    assert json.loads(ok.stdout) == {"requeued": [oid]}
    again = subprocess.run([*CLI, "outbox", "retry", str(oid)], env=_env(config),
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert "outbox_message_unknown" in again.stderr
