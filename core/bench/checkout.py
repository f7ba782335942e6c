"""``boxoffice bench checkout``: whole card sales (best-available hold -> authorize ->
confirm + tickets -> capture) from N workers against the sandbox gateway, then the same
workers taking bare holds for the same time, so the saga's cost over a hold shows as
``ratio``. Afterwards the sandbox's ledger is compared with the database:
``double_charges`` (a hold charged more than once) and ``orphans`` (money kept without a
sold order, a sold order without captured money, or an authorization left hanging).

The sandbox runs as its own process (started here unless ``gateway.base_url`` is set) so
it does not compete with the workers for this interpreter's GIL; no faults are injected.
Run it against a scratch database: it creates its own rooms and events.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import text

from config import Settings
from core.actors import Actor, register_terminal
from core.context import CoreContext
from core.errors import BoxOfficeError
from core.reservation import hold_best_available

SEATS_PER_SALE = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sandbox_process() -> tuple[subprocess.Popen[bytes], str]:
    """``boxoffice gateway-sandbox`` in a child process on a free loopback port."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "boxoffice_cli.main", "gateway-sandbox",
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/_sandbox/faults", timeout=0.5).raise_for_status()
            return proc, url
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("the sandbox gateway did not start") from None
            time.sleep(0.05)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _run(workers: int, seconds: float, step: Any,
         cpu_out: list[float] | None = None) -> tuple[float, list[float], Counter[str]]:
    """Run ``step`` from ``workers`` threads for ``seconds``; the rate, latencies (ms) and
    error counts. ``cpu_out`` gets the workers' total CPU seconds appended."""
    stop = time.monotonic() + seconds
    cpu = [0.0] * workers
    lat: list[list[float]] = [[] for _ in range(workers)]
    errors: Counter[str] = Counter()
    lock = threading.Lock()

    def loop(i: int) -> None:
        c0 = time.thread_time()
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                step(i)
            except BoxOfficeError as exc:
                with lock:
                    errors[exc.code] += 1
                continue
            lat[i].append((time.perf_counter() - t0) * 1000)
        cpu[i] = time.thread_time() - c0

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(workers)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    flat = sorted(x for xs in lat for x in xs)
    if cpu_out is not None:
        cpu_out.append(sum(cpu))
    return int(len(flat) / elapsed * 1000) / 1000 if elapsed else 0, flat, errors


def run_bench(settings: Settings, *, workers: int = 8, seconds: float = 10.0) -> dict[str, Any]:
    from core.app_context import build_context
    from core.bench.holds import ROOM_PER_ROW, ROOM_ROWS, make_pool, retire
    from core.db import migrate
    from core.payments import build_gateway, with_demo_gateway
    from core.sales import CardTender, checkout, recover_stuck_sales

    proc = None
    # A benchmark sells test cards on a scratch database: always the sandbox.
    settings = with_demo_gateway(settings)
    if settings.gateway.base_url is None:
        proc, url = start_sandbox_process()
        settings = settings.model_copy(update={"gateway": settings.gateway.model_copy(
            update={"base_url": url})})
    ctx: CoreContext = build_context(settings, pool_size=workers + 4)
    try:
        if not migrate.is_current(ctx.engine):
            migrate.upgrade(ctx.engine)
        ctx.gateway = build_gateway(settings)
        tag = f"BENCHCO{uuid.uuid4().hex[:5].upper()}"
        room = ROOM_ROWS * ROOM_PER_ROW
        # Sized for generous rates so the seats never run out mid-run.
        sale_events = max(2, int(300 * seconds * SEATS_PER_SALE / room) + 1)
        hold_events = max(2, int(2500 * seconds * SEATS_PER_SALE / room) + 1)
        pool = make_pool(ctx.engine, "best", sale_events + hold_events, tag)
        sale_evs, hold_evs = pool.events[:sale_events], pool.events[sale_events:]
        actors = [Actor(register_terminal(ctx.engine, f"bench-kiosk-{tag}-{i}", "kiosk"),
                        f"bench-kiosk-{tag}-{i}", None, None, "kiosk") for i in range(workers)]
        ctx.signer()  # key made once, before the clock starts

        def sale(i: int) -> None:
            actor = actors[i]
            for ev in sale_evs[i % len(sale_evs):] + sale_evs[:i % len(sale_evs)]:
                try:
                    h = hold_best_available(ctx, actor, uuid.uuid4(), ev, SEATS_PER_SALE)
                    break
                except BoxOfficeError as exc:
                    if exc.code not in ("sold_out", "seat_unavailable"):
                        raise
            else:
                raise BoxOfficeError("sold_out", wanted=SEATS_PER_SALE)
            checkout(ctx, actor, uuid.uuid4(), h.hold_id, CardTender("pm_card_visa"))

        next_ev = [i for i in range(workers)]

        def bare_hold(i: int) -> None:
            # Each worker moves on to a fresh event when its own sells out: a sold-out
            # answer is not a hold, and counting only holds would understate the rate.
            for _ in range(len(hold_evs)):
                try:
                    hold_best_available(ctx, actors[i], uuid.uuid4(),
                                        hold_evs[next_ev[i] % len(hold_evs)], SEATS_PER_SALE)
                    return
                except BoxOfficeError as exc:
                    if exc.code != "sold_out":
                        raise
                    next_ev[i] += workers
            raise BoxOfficeError("sold_out", wanted=SEATS_PER_SALE)

        cpu: list[float] = []
        co_rate, co_lat, co_err = _run(workers, seconds, sale, cpu)
        h_rate, h_lat, h_err = _run(workers, seconds, bare_hold, cpu)
        recover_stuck_sales(ctx, older_than_s=0)
        double, orphans, checked = _compare(ctx, [a.terminal_id for a in actors])
        result: dict[str, Any] = {
            "workers": workers, "seconds": seconds, "seats_per_sale": SEATS_PER_SALE,
            "checkouts": len(co_lat), "checkouts_per_s": co_rate,
            "p50_ms": round(_pct(co_lat, 50), 2), "p99_ms": round(_pct(co_lat, 99), 2),
            "checkout_errors": dict(co_err), "double_charges": double, "orphans": orphans,
            "intents_checked": checked, "holds_per_s": h_rate,
            "hold_p50_ms": round(_pct(h_lat, 50), 2), "hold_p99_ms": round(_pct(h_lat, 99), 2),
            "hold_errors": dict(h_err),
            "ratio": round(co_rate / h_rate, 3) if h_rate else None,
            # Client CPU of a whole sale (hold included) and of a bare hold.
            "client_cpu_ms_per_op": round(cpu[0] * 1000 / len(co_lat), 3) if co_lat else None,
            "hold_client_cpu_ms_per_op": round(cpu[1] * 1000 / len(h_lat), 3)
            if h_lat else None,
            "gateway": "sandbox (own process)" if proc else settings.gateway.base_url,
        }
        retire(ctx.engine, tag)
        return result
    finally:
        if ctx.gateway is not None:
            ctx.gateway.close()
        ctx.engine.dispose()
        if proc is not None:
            proc.terminate()
            proc.wait(10)


def _compare(ctx: CoreContext, terminal_ids: list[int]) -> tuple[int, int, int]:
    """(double charges, orphans, intents checked) between the gateway's ledger and us."""
    base = str(ctx.gateway._http.base_url)
    ledger = httpx.get(f"{base}/_sandbox/ledger", timeout=60).json()
    with ctx.engine.connect() as c:
        rows = c.execute(text(
            "select s.id, s.state, s.hold_id, o.status as order_status, o.total_minor,"
            " o.payment_ref from sales s left join orders o on o.id = s.order_id"
            " where s.terminal_id = any(:t)"), {"t": terminal_ids}).all()
    sales = {str(r.id): r for r in rows}
    kept_per_hold: Counter[str] = Counter()
    orphans = 0
    checked = 0
    seen: set[str] = set()
    for pi in ledger["intents"]:
        sid = pi["metadata"].get("sale_id")
        if sid not in sales:
            continue
        checked += 1
        seen.add(sid)
        kept = pi["amount_received"] - pi["amount_refunded"]
        s = sales[sid]
        if pi["status"] == "requires_capture":
            orphans += 1
        if kept:
            kept_per_hold[str(s.hold_id)] += 1
            if s.order_status != "paid" or s.payment_ref != pi["id"] or kept != s.total_minor:
                orphans += 1
    for sid, s in sales.items():
        if s.order_status == "paid" and sid not in seen:
            orphans += 1
    paid_without_capture = sum(
        1 for s in sales.values() if s.order_status == "paid" and s.state != "completed")
    double = sum(n - 1 for n in kept_per_hold.values() if n > 1)
    return double, orphans + paid_without_capture, checked
