"""Headless timings of the seat map for ``boxoffice bench seatmap``: opening a big room,
absorbing a burst of remote changes, and the app's cold start to its first screen."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from core.actors import Actor, OperatorInfo, register_terminal
from core.app_context import CoreContext
from core.reservation import EventInfo, hold_seats
from terminal.counter import CounterSession

_BENCH_OPERATOR = OperatorInfo(0, "bench", "Bench", "cashier")


async def _wait(pred: Any, pilot: Any, timeout: float = 10.0) -> None:
    end = time.perf_counter() + timeout
    while not pred():
        if time.perf_counter() > end:
            raise TimeoutError("condition not reached")
        # A plain sleep: pilot.pause() makes every widget process a message each time,
        # and in a tight loop that starves the worker thread it is waiting for (GIL).
        await asyncio.sleep(0.001)


def measure(ctx: CoreContext, event: EventInfo, burst: int = 500,
            size: tuple[int, int] = (120, 40)) -> dict[str, Any]:
    from boxoffice_tui.app import CashierApp
    from boxoffice_tui.widgets.seatmap import SeatMap

    svc = CounterSession(ctx, "bench-counter")
    svc.start()
    other = Actor(register_terminal(ctx.engine, "bench-other", "cashier"), "bench-other")
    out: dict[str, Any] = {}

    from boxoffice_tui.app import _preload

    _preload()  # what the app does while the cashier signs in (not part of opening a map)

    async def run() -> None:
        app = CashierApp(svc, heartbeat=False)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()  # the app idle at its first screen
            app.services.operator = _BENCH_OPERATOR
            # What the app does once the events list is drawn after sign-in: compose the
            # sale screen off the stack (no event, no data). The opening below still goes
            # from the key to the real map's first frame with the room read from the
            # database.
            app.prepare_sale_screen()
            await _wait(lambda: app._sale_screen is not None and app._sale_screen.is_mounted,
                        pilot)
            await pilot.pause()
            c0 = time.process_time()
            t0 = time.perf_counter()
            screen = app.open_event(event)  # what Enter on the events list does
            assert screen is not None  # the bench operator is signed in
            await _wait(lambda: screen.is_attached and screen.query(SeatMap), pilot)
            smap = screen.query_one(SeatMap)
            await _wait(lambda: smap.seat_count > 0, pilot)
            await pilot.pause()  # first frame of the map drawn
            out["open_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            # CPU time of this process (all threads): what the open costs us, apart from
            # waiting for the database and for other processes on a shared machine.
            out["open_cpu_ms"] = round((time.process_time() - c0) * 1000, 1)
            out["seats"] = smap.seat_count
            # Opening it again (the layout is kept per event; states are read fresh).
            app.pop_screen()
            await pilot.pause()
            again = []
            for _ in range(3):
                t0 = time.perf_counter()
                screen = app.open_event(event)
                assert screen is not None
                await _wait(lambda s=screen: s.is_attached and s.query(SeatMap), pilot)
                smap = screen.query_one(SeatMap)
                await _wait(lambda m=smap: m.seat_count > 0, pilot)
                await pilot.pause()
                again.append((time.perf_counter() - t0) * 1000)
                if len(again) < 3:
                    app.pop_screen()
                    await pilot.pause()
            out["open_again_ms_median"] = round(sorted(again)[1], 1)

            # Another terminal holds `burst` seats, 10 per hold, 8 threads at once.
            avail = svc.availability(event.id)
            free = [s for s, st in zip(avail.seat_ids, avail.states, strict=True) if st == "A"]
            chunks = [free[i:i + 10] for i in range(0, burst, 10)]
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda c: hold_seats(ctx, other, uuid.uuid4(), event.id, c),
                              chunks))
            # Measure from the moment the screen asks (a poll tick) to the changes drawn.
            await app.workers.wait_for_complete()
            v0 = smap.version
            c1 = time.process_time()
            t1 = time.perf_counter()
            screen.poll()
            await _wait(lambda: smap.version != v0, pilot)
            t_applied = time.perf_counter()
            await pilot.pause()
            t2 = time.perf_counter()
            held = sum(1 for s in free[:burst] if smap.state_of(s) == "held")
            out["burst_changes"] = held
            out["burst_applied_ms"] = round((t2 - t1) * 1000, 1)
            out["burst_applied_cpu_ms"] = round((time.process_time() - c1) * 1000, 1)
            out["burst_poll_to_state_ms"] = round((t_applied - t1) * 1000, 1)
            out["poll_interval_ms"] = 500
            # The widget alone: apply 500 changes and redraw, without the database read.
            avail2 = svc.availability(event.id)
            smap.load(svc.seat_map(event.id).layout, avail)
            await pilot.pause()
            t3 = time.perf_counter()
            smap.apply(avail2)
            await pilot.pause()
            out["burst_widget_only_ms"] = round((time.perf_counter() - t3) * 1000, 1)

    asyncio.run(run())
    out["load_average_1m"] = round(os.getloadavg()[0], 2)
    out["cpus"] = os.cpu_count()
    return out


def cold_start(db_url: str, data_dir: str) -> float:
    """Seconds from spawning a fresh Python to the sign-in screen drawn, headless."""
    env = dict(os.environ, BOXOFFICE_DATABASE__URL=db_url, BOXOFFICE_TERMINAL__DATA_DIR=data_dir,
               TEXTUAL_ANIMATIONS="none")
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "boxoffice_tui.coldstart", repr(t0)],
                          env=env, capture_output=True, text=True, timeout=60, check=True)
    return float(proc.stdout.strip().splitlines()[-1])
