"""``boxoffice bench sync``: how fast the journal takes sales from several tills at once
(group commit: what arrives together shares one fsync, nothing acknowledged before it),
the disk's bare fdatasync rate measured in the same run for comparison, how fast a
replay applies them centrally, and what the database holds afterwards (lost,
duplicated), counted by SQL rather than trusted from the replay's own report."""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from config import Settings
from core.actors import Actor, register_terminal
from core.app_context import build_context
from core.catalog import publish_event
from core.uow import unit_of_work
from sync.journal import Journal
from sync.terminal import OfflineTerminal


def _bench_event(ctx: Any, actor: Actor, capacity: int) -> tuple[int, int]:
    """A general-admission event of its own, so the benchmark never touches real sales."""
    tag = uuid.uuid4().hex[:8].upper()
    with unit_of_work(ctx.engine) as conn:
        venue = conn.execute(text(
            "insert into venues (code, name, timezone, stage_label) values ('BENCH-SYNC',"
            " 'Benchmark hall', 'UTC', 'STAGE') on conflict (code) do update set"
            " name = excluded.name returning id")).scalar_one()
        section = conn.execute(text(
            "insert into sections (venue_id, code, name, kind, capacity, sort_order)"
            " values (:v, :c, 'Benchmark GA', 'ga', :cap, 0) returning id"),
            {"v": venue, "c": f"GA-{tag}", "cap": capacity}).scalar_one()
        event = conn.execute(text(
            "insert into events (code, venue_id, name, starts_at, doors_at, sales_start,"
            " sales_end, status, currency, description) values (:c, :v, 'Sync benchmark',"
            " now() + interval '1 day', now() + interval '23 hours', now() - interval '1 hour',"
            " now() + interval '1 day', 'draft', :cur, 'benchmark') returning id"),
            {"c": f"BENCH-SYNC-{tag}", "v": venue, "cur": ctx.settings.sales.currency}
        ).scalar_one()
        conn.execute(text(
            "insert into price_tiers (event_id, section_id, name, base_minor, floor_minor,"
            " ceiling_minor, current_minor) values (:e, :s, 'GA', 1000, 700, 2000, 1000)"),
            {"e": event, "s": section})
        publish_event(conn, actor, event)
    return event, section


def fsync_rate(directory: Path, n: int) -> float:
    """Bare write + fdatasync of 4 KiB, ``n`` times, in ``directory``: the disk's limit."""
    path = directory / f"fsync-probe-{uuid.uuid4().hex[:6]}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    block = b"\0" * 4096
    try:
        t0 = time.perf_counter()
        for i in range(n):
            os.pwrite(fd, block, (i % 64) * 4096)
            os.fdatasync(fd)
        return n / (time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink()


def _append_all(term: OfflineTerminal, event: int, commands: int,
                threads: int) -> tuple[list[uuid.UUID], float, float]:
    """``commands`` offline sales rung up by ``threads`` tills at once (the journal's
    group commit batches what arrives together); the keys, wall seconds and the
    threads' CPU seconds."""
    keys: list[uuid.UUID] = []
    cpu = [0.0] * threads
    share = [commands // threads + (1 if i < commands % threads else 0)
             for i in range(threads)]
    start = threading.Barrier(threads + 1)

    def till(i: int) -> None:
        start.wait()
        c0 = time.thread_time()
        mine = [term.sell_from_lease(event, ga_qty=1, method="cash").key
                for _ in range(share[i])]
        cpu[i] = time.thread_time() - c0
        keys.extend(mine)

    workers = [threading.Thread(target=till, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    return keys, time.perf_counter() - t0, sum(cpu)


def _raw_appends(path: Path, payload: dict[str, Any], commands: int,
                 threads: int) -> tuple[float, int]:
    """The journal alone: ``commands`` appends of a sale-sized payload from ``threads``
    threads (no lease bookkeeping, no signing); appends per second and commits."""
    journal = Journal(path)
    share = [commands // threads + (1 if i < commands % threads else 0)
             for i in range(threads)]
    start = threading.Barrier(threads + 1)

    def till(i: int) -> None:
        start.wait()
        for _ in range(share[i]):
            journal.append("confirm_leased_sale", payload)

    workers = [threading.Thread(target=till, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    commits = journal.commits
    journal.close()
    return commands / elapsed, commits


def run_bench(settings: Settings, *, commands: int = 1000, batch: int | None = None,
              threads: int = 8) -> dict[str, Any]:
    from core.db import migrate

    ctx = build_context(settings)
    if not migrate.is_current(ctx.engine):
        migrate.upgrade(ctx.engine)
    name = f"bench-sync-{uuid.uuid4().hex[:6]}"
    tid = register_terminal(ctx.engine, name, "cashier")
    actor = Actor(terminal_id=tid, terminal_name=name)
    event, section = _bench_event(ctx, actor, commands)
    base = settings.terminal.data_dir / "bench"
    base.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="sync-", dir=base))
    tctx = build_context(settings.model_copy(update={
        "terminal": settings.terminal.model_copy(update={"name": name, "data_dir": workdir})}))
    link = {"up": True}
    term = OfflineTerminal(tctx, actor, Journal(workdir / "journal.sqlite3"),
                           probes={"database": lambda: link["up"]}, return_on_reconnect=False)
    term.watch.probe_once()
    lease = term.take_lease(uuid.uuid4(), event, section_id=section, quantity=commands)
    link["up"] = False  # appends only: nothing is pushed while the link is "down"
    term.watch.offline_after = 1
    term.watch.probe_once()

    # The disk is shared: measure its bare fsync rate just before and just after the
    # appends, and report the mean next to both, so a busy neighbour shows up as spread.
    probes = min(max(commands // 2, 100), 1000)
    fsync_before = fsync_rate(workdir, probes)
    commits0 = term.journal.commits
    keys, appends_s, cpu_s = _append_all(term, event, commands, max(1, threads))
    commits = term.journal.commits - commits0
    sample = term.journal.entries()[-1].payload
    raw_rate, raw_commits = _raw_appends(workdir / "raw.sqlite3", sample, commands,
                                         max(1, threads))
    fsync_after = fsync_rate(workdir, probes)

    from sync.replay import BATCH

    t0 = time.perf_counter()
    rep = term.push(batch=batch)
    replay_s = time.perf_counter() - t0

    with ctx.engine.connect() as conn:
        matched = conn.execute(text(
            "select count(distinct command_key) from lease_sales where lease_id = :l"
            " and command_key = any(:keys)"), {"l": lease.lease_id, "keys": keys}).scalar_one()
        rows = conn.execute(text("select count(*) from lease_sales where lease_id = :l"),
                            {"l": lease.lease_id}).scalar_one()
        units = conn.execute(text(
            "select coalesce(sum(ol.qty), 0) from order_lines ol join lease_sales ls"
            " on ls.order_id = ol.order_id where ls.lease_id = :l"),
            {"l": lease.lease_id}).scalar_one()
        tickets = conn.execute(text(
            "select count(*) from tickets t join lease_sales ls on ls.order_id = t.order_id"
            " where ls.lease_id = :l"), {"l": lease.lease_id}).scalar_one()
    link["up"] = True
    term.watch.probe_once()
    term.return_leases()
    with unit_of_work(ctx.engine) as conn:
        conn.execute(text("update events set status = 'closed' where id = :e"), {"e": event})
    term.journal.close()
    fsync_limit = (fsync_before + fsync_after) / 2
    return {
        "commands": commands,
        "threads": threads,
        "appends_per_s": round(commands / appends_s, 1),
        "fsync_limit_per_s": round(fsync_limit, 1),
        "ratio": round(commands / appends_s / fsync_limit, 3),
        "journal_commits": commits,
        "appends_per_commit": round(commands / max(commits, 1), 2),
        "client_cpu_ms_per_op": round(cpu_s * 1000 / commands, 3),
        # The journal alone (same payloads, same threads): what group commit reaches
        # when the sale's own bookkeeping and signing are not in the way.
        "journal_appends_per_s": round(raw_rate, 1),
        "journal_ratio": round(raw_rate / fsync_limit, 3),
        "journal_appends_per_commit": round(commands / max(raw_commits, 1), 2),
        "fsync_before_per_s": round(fsync_before, 1),
        "fsync_after_per_s": round(fsync_after, 1),
        "replay_per_s": round(commands / replay_s, 1),
        "replay_batch": batch or BATCH,
        "lost": commands - int(matched),
        "duplicated": int(rows) - int(matched) + max(0, int(units) - commands),
        "tickets_recorded": int(tickets),
        "replay_applied": rep.replay.applied,
        "journal": str(workdir / "journal.sqlite3"),
    }
