"""kill -9 a terminal while it is selling offline: every sale it acknowledged is in the
journal, the lease bookkeeping agrees with the journal, and the replay applies each once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import text

from core.app_context import build_context
from sync.journal import Journal
from sync.terminal import OfflineTerminal
from tests.conftest import make_settings
from tests.sync.conftest import lease as take_approved_lease
from tests.sync.conftest import login_url, terminal_actor
from tests.sync.helpers import event_id, lease_invariants, section_id
from tests.sync.test_kill_replay import ROOT, _child_env

RUNS = 5

pytestmark = pytest.mark.usefixtures("sync_logins")


def test_kill_9_while_selling_offline(ctx, db_url, tmp_path):
    rnd = random.Random(int(os.environ.get("SYNC_KILL_SEED", time.time_ns() % 10**6)))
    poker = event_id(ctx.engine, "POKER-OPEN")
    ga = section_id(ctx.engine, poker, "ENTRADA")
    for run in range(RUNS):
        name = f"kill-append-{run}"
        url = login_url(ctx, name)  # the terminal's own login, the child's too
        settings = make_settings(url, tmp_path / name, terminal__name=name)
        tctx = build_context(settings, url=url)
        actor = terminal_actor(ctx, name)
        journal = Journal(settings.journal_path)
        term = OfflineTerminal(tctx, actor, journal, probes={"database": lambda: True})
        term.watch.probe_once()
        lease = take_approved_lease(term, uuid.uuid4(), poker, section_id=ga, quantity=40)
        journal.close()

        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.sync.append_child", str(poker),
             str(actor.terminal_id)], cwd=ROOT, env=_child_env(settings),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        acknowledged = []
        for _ in range(rnd.randrange(1, 25)):
            acknowledged.append(uuid.UUID(proc.stdout.readline().strip()))
        time.sleep(rnd.uniform(0, 0.01))  # inside the next sale, somewhere
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        # What the child printed before it died but we had not read yet is acknowledged
        # too (a line is written whole, in one write, after the sale returned).
        acknowledged += [uuid.UUID(x) for x in proc.stdout.read().split() if len(x) == 36]

        journal = Journal(settings.journal_path)
        pending = journal.pending()
        keys = [e.key for e in pending]
        assert keys[:len(acknowledged)] == acknowledged  # every printed sale is durable
        assert len(keys) - len(acknowledged) <= 1  # at most the sale being rung up
        with journal.transaction() as db:
            sold, serials, numbers = db.execute(
                "select ga_sold_local, serials_used, numbers_used from leases"
                " where lease_id = ?", (str(lease.lease_id),)).fetchone()
        assert sold == serials == numbers == len(keys)  # bookkeeping == journal

        again = OfflineTerminal(tctx, actor, journal, probes={"database": lambda: True})
        again.watch.probe_once()
        rep = again.push()
        assert rep.replay.stopped_by is None and journal.depth() == 0
        with ctx.engine.connect() as c:
            n = c.execute(text("select count(*), count(distinct command_key) from lease_sales"
                               " where lease_id = :l"), {"l": lease.lease_id}).one()
        assert tuple(n) == (len(keys), len(keys))
        journal.close()
        tctx.engine.dispose()
    assert lease_invariants(ctx.engine) == []


def test_kill_9_mid_group_commit_loses_only_unacknowledged(tmp_path):
    """Eight threads appending at once (batched into shared fsyncs), killed at random:
    every acknowledged append is in the journal; what is there beyond them is at most
    one in-flight append per thread; each thread's appends keep their order."""
    rnd = random.Random(int(os.environ.get("SYNC_KILL_SEED", time.time_ns() % 10**6)))
    threads = 8
    for run in range(RUNS):
        path = tmp_path / f"group-{run}.sqlite3"
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.sync.append_threads_child", str(path),
             str(threads)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        assert proc.stdout is not None
        acknowledged: list[uuid.UUID] = []
        line = proc.stdout.readline().strip()
        while line != "ready":  # keys may come before "ready" (threads start first)
            assert len(line) == 36, proc.stderr.read() if proc.stderr else line
            acknowledged.append(uuid.UUID(line))
            line = proc.stdout.readline().strip()
        for _ in range(rnd.randrange(20, 200)):
            acknowledged.append(uuid.UUID(proc.stdout.readline().strip()))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        acknowledged += [uuid.UUID(x) for x in proc.stdout.read().split() if len(x) == 36]

        journal = Journal(path)
        entries = journal.pending()
        keys = {e.key for e in entries}
        assert set(acknowledged) <= keys  # nothing acknowledged was lost
        assert len(keys - set(acknowledged)) <= threads  # only the in-flight ones
        for t in range(threads):
            mine = [e.payload["i"] for e in entries if e.payload["t"] == t]
            assert mine == list(range(len(mine)))  # no gap: order kept, nothing skipped
        journal.close()
