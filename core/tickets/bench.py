"""Gate check-in benchmark (``boxoffice bench scan``): issue tickets and check each in
twice from many gate threads on a scratch database; returns figures as a dict."""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
import uuid
from typing import Any

from config import Settings


def _scratch(admin_url: str) -> tuple[str, str]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"bo_bench_scan_{uuid.uuid4().hex[:8]}"
    libpq = make_url(admin_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop(admin_url: str, name: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    libpq = make_url(admin_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))] * 1000, 2) if xs else 0.0


def run_bench(settings: Settings, *, tickets: int = 1000, workers: int = 8) -> dict[str, Any]:
    from core import demo
    from core.actors import Actor, register_terminal
    from core.app_context import build_context
    from core.db import migrate
    from core.db.engine import database_url
    from core.reservation import confirm_in, hold_best_available
    from core.tickets import GateChecker, issue_tickets_in, load_public_keys, parse
    from core.tickets.checkin import resolve_event
    from core.uow import unit_of_work

    admin = database_url(settings)
    name, url = _scratch(admin)
    tmp = tempfile.mkdtemp(prefix="bo-bench-scan-")
    try:
        data = settings.model_dump()
        data["database"] = {**data["database"], "url": url,
                            "pool_size": max(10, workers + 2)}
        data["terminal"] = {**data["terminal"], "data_dir": tmp, "name": "bench-counter"}
        data["logging"] = {**data["logging"], "file": os.path.join(tmp, "bench.jsonl")}
        ctx = build_context(Settings(**data), url=url)
        migrate.upgrade(ctx.engine)
        demo.seed(ctx.engine)
        actor = Actor(register_terminal(ctx.engine, "bench-counter", "cashier"), "bench-counter")
        ev = resolve_event(ctx.engine, "COMEDIA-HOJE")
        signer = ctx.signer()
        tokens: list[str] = []
        issue_s: list[float] = []
        while len(tokens) < tickets:
            n = min(10, tickets - len(tokens))
            hold = hold_best_available(ctx, actor, uuid.uuid4(), ev, n)
            with unit_of_work(ctx.engine) as conn:
                order = confirm_in(conn, actor, hold.hold_id, "bench")
                t0 = time.perf_counter()
                tokens += [t.token for t in issue_tickets_in(conn, actor, order, signer)]
                issue_s.append((time.perf_counter() - t0) / n)
        with ctx.engine.connect() as c:
            keys = load_public_keys(c)
        t0 = time.perf_counter()
        for tok in tokens:
            p = parse(tok)
            assert p.verify(keys[p.claims.key_id])
        verify_s = time.perf_counter() - t0
        # Every token is scanned twice, by different gates, so each must enter exactly once.
        work = tokens + tokens
        lat: list[float] = []
        accepted = [0]
        lock = threading.Lock()
        gate_actor = Actor(register_terminal(ctx.engine, "gate-bench", "gate"), "gate-bench")
        checkers = [GateChecker(ctx, gate_actor, f"B{i}") for i in range(workers)]
        nxt = [0]

        def worker(i: int) -> None:
            mine, ok = [], 0
            while True:
                with lock:
                    j = nxt[0]
                    nxt[0] += 1
                if j >= len(work):
                    break
                s = time.perf_counter()
                ok += checkers[i].scan(work[j], uuid.uuid4()).accepted
                mine.append(time.perf_counter() - s)
            with lock:
                lat.extend(mine)
                accepted[0] += ok

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        ctx.engine.dispose()
        return {
            "bench": "scan", "tickets": len(tokens), "scans": len(work),
            "workers": workers, "accepted": accepted[0],
            "each_ticket_entered_once": accepted[0] == len(tokens),
            "scans_per_s": round(len(work) / wall, 1),
            "scan_p50_ms": _pct(lat, 0.5), "scan_p99_ms": _pct(lat, 0.99),
            "issue_ms_per_ticket": round(statistics.mean(issue_s) * 1000, 3),
            "offline_verifies_per_s": round(len(tokens) / verify_s, 1),
        }
    finally:
        _drop(admin, name)


