"""kill -9 the terminal process at random points of its replay, 20+ times: every sale
ends up in the central database exactly once, and the journal resumes where it stopped."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from core.leases import lease_info
from sync.journal import Journal
from sync.terminal import OfflineTerminal
from tests.conftest import make_settings
from tests.sync.conftest import lease, login_url, terminal_actor
from tests.sync.helpers import event_id, lease_invariants, seats_of, section_id

RUNS = int(os.environ.get("SYNC_KILL_RUNS", "20"))
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("sync_logins")


def _journal_sales(ctx, tmp: Path, run: int, seats: list[int]) -> tuple[OfflineTerminal, dict]:
    """A terminal that took its leases online, then sold offline: a full journal."""
    name = f"kill-{run:02d}"
    from core.app_context import build_context

    # The terminal's own login (the replaying child connects as it too).
    settings = make_settings(login_url(ctx, name), tmp / name, terminal__name=name,
                             sync__offline_after_failures=1, sync__online_after_successes=1)
    tctx = build_context(settings, url=settings.database.url.get_secret_value())
    link = {"up": True}
    term = OfflineTerminal(tctx, terminal_actor(ctx, name), Journal(settings.journal_path),
                           probes={"database": lambda: link["up"]})
    term.watch.probe_once()
    poker = event_id(ctx.engine, "POKER-OPEN")
    sinatra = event_id(ctx.engine, "SINATRA")
    ga = lease(term, uuid.uuid4(), poker,
                         section_id=section_id(ctx.engine, poker, "ENTRADA"), quantity=10)
    st = lease(term, uuid.uuid4(), sinatra, seat_ids=seats)
    link["up"] = False
    term.watch.probe_once()
    for i in range(4):
        term.sell_from_lease(poker, ga_qty=2, method="cash")
        term.sell_from_lease(sinatra, seat_ids=seats[i * 2:i * 2 + 2], method="cash")
    term.return_leases()  # journaled too: applied after the sales, in order
    return term, {"settings": settings, "leases": (ga.lease_id, st.lease_id)}


def _child_env(settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "BOXOFFICE_CONFIG": "/nonexistent/boxoffice.toml",
        "BOXOFFICE_DATABASE__URL": settings.database.url.get_secret_value(),
        "BOXOFFICE_TERMINAL__NAME": settings.terminal.name,
        "BOXOFFICE_TERMINAL__DATA_DIR": str(settings.terminal.data_dir),
        "BOXOFFICE_SYNC__JOURNAL_PATH": str(settings.journal_path),
        "PYTHONPATH": str(ROOT),
    })
    return env


def test_kill_9_during_replay_loses_and_doubles_nothing(ctx, tmp_path):
    rnd = random.Random(int(os.environ.get("SYNC_KILL_SEED", time.time_ns() % 10**6)))
    sinatra = event_id(ctx.engine, "SINATRA")
    all_seats = seats_of(ctx.engine, sinatra, "ORQ")
    killed_after = []
    for run in range(RUNS):
        t0 = time.perf_counter()
        term, meta = _journal_sales(ctx, tmp_path, run, all_seats[run * 8:run * 8 + 8])
        keys = [e.key for e in term.journal.pending()]
        assert len(keys) == 10
        term.journal.close()
        t1 = time.perf_counter()
        batch = rnd.choice([1, 3, 8])  # one sale per transaction, or batches
        proc = subprocess.Popen(
            [sys.executable, "-m", "boxoffice_cli.main", "sync", "push", "--plain",
             "--batch", str(batch)],
            cwd=ROOT, env=_child_env(meta["settings"]), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("start 10"), proc.stderr.read()
        target = rnd.randrange(0, len(keys))  # commands to see applied before the kill
        seen = 0
        while seen < target:
            line = proc.stdout.readline()
            if not line:
                break
            seen += 1
        # The random point inside the next command: anywhere in its transaction, its
        # commit, or the journal's own commit after it.
        time.sleep(rnd.uniform(0, 0.02))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        killed_after.append((batch, seen))
        t2 = time.perf_counter()

        # The terminal starts again and resumes its replay.
        journal = Journal(meta["settings"].journal_path)
        again = OfflineTerminal(term.ctx, term.actor, journal,
                                probes={"database": lambda: True})
        rep = again.push()
        assert rep.replay.stopped_by is None and journal.depth() == 0
        assert journal.counts() == {"pending": 0, "applied": 10, "flagged": 0}
        with ctx.engine.connect() as c:
            logged = c.execute(text("select count(*) from command_log where key = any(:k)"),
                               {"k": keys}).scalar_one()
            sales = c.execute(text(
                "select count(*), count(distinct command_key) from lease_sales"
                " where lease_id = any(:l)"), {"l": list(meta["leases"])}).one()
            tickets = c.execute(text(
                "select count(*) from tickets t join lease_sales ls on ls.order_id = t.order_id"
                " where ls.lease_id = any(:l)"), {"l": list(meta["leases"])}).scalar_one()
        assert logged == 10  # every journaled command applied centrally
        assert tuple(sales) == (8, 8)  # eight sales, each once
        assert tickets == 4 * 2 + 4 * 2
        for lid in meta["leases"]:
            info = lease_info(ctx.engine, lid)
            assert info.status == "returned"
        journal.close()
        print(f"run {run}: setup {t1 - t0:.2f}s child {t2 - t1:.2f}s resume"
              f" {time.perf_counter() - t2:.2f}s batch {batch} killed after {seen}")
    assert lease_invariants(ctx.engine) == []
    # The kills landed at different points, not always before or after the replay.
    assert len({seen for _, seen in killed_after}) >= 3, killed_after
