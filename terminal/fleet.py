"""``boxoffice bench fleet``: whole sales from a fleet of terminals, each its own OS
process running the real terminal session (the counter session: sign in, open the
drawer, hold best-available or chosen seats, pay cash or card through the sandbox gateway,
tickets printed to a file; the kiosk session: best available, card, print and wait), plus
one monitor process polling the supervisor's snapshot. Oversold seats and duplicated
sales are counted in the database afterwards, never trusted from the workers' reports.

Processes are started with ``spawn`` (a fresh interpreter each, as on a real fleet) and
run for a bounded time; every one of them counts its own CPU (``resource.getrusage``).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import resource
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

SEATS_PER_SALE = 2
FLOAT_MINOR = 100_000
_PIN = "4711"


def _pct(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 2)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _child_settings(env: dict[str, str]) -> Any:
    os.environ.update(env)
    from terminal.bootstrap import load_settings

    return load_settings()


def _wait_jobs(spooler: Any, jobs: list[int], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        states = [(j.state if j is not None else "failed")
                  for j in (spooler.job(i) for i in jobs)]
        if all(s == "printed" for s in states):
            return True
        if "failed" in states or time.monotonic() > deadline:
            return False
        spooler.wait_idle(0.05)


def _sell_loop(role: str, idx: int, env: dict[str, str], events: list[int], login: str,
               go: Any, stop_at: Any, out: Any) -> None:
    """One terminal process. Sends one dict: latencies per step, sales, errors, CPU."""
    from core.errors import BoxOfficeError

    settings = _child_settings(env)
    cpu0 = _cpu_s()
    lat: dict[str, list[float]] = {"hold": [], "pay": [], "print": []}
    errors: dict[str, int] = {}
    sales = 0
    rng = random.Random(idx)
    stops: list[Any] = []
    try:
        if role == "cashier":
            from terminal.bootstrap import counter_session, start_peripherals

            session: Any = counter_session(settings)
            stops = start_peripherals(session)
            session.sign_in(login, _PIN)
            if session.shift is None:
                session.shift = session.open_shift(FLOAT_MINOR, uuid.uuid4())
        else:
            from terminal.bootstrap import kiosk_session

            session, stops = kiosk_session(settings)
            session.start()
        shapes = {ev: session.event_shape(ev) for ev in events} if role == "kiosk" else {}
        spooler = session.spooler
        out.put({"ready": idx})
        go.wait()
        while time.time() < stop_at.value:
            ev = events[rng.randrange(len(events))]
            try:
                t0 = time.perf_counter()
                if role == "kiosk":
                    hold = session.hold_for(uuid.uuid4(), ev, SEATS_PER_SALE, shapes[ev])
                elif rng.random() < 0.5:
                    hold = session.hold_best(uuid.uuid4(), ev, SEATS_PER_SALE)
                else:
                    hold = _hold_chosen(session, ev, rng)
                t1 = time.perf_counter()
                if role == "kiosk":
                    res = session.pay(uuid.uuid4(), hold, "pm_card_visa")
                    t2 = time.perf_counter()
                    jobs = session.print_tickets(res.order.order_id, "en")
                elif rng.random() < 0.5:
                    outcome = session.pay_cash(uuid.uuid4(), hold, int(hold.total_minor) + 500)
                    t2 = time.perf_counter()
                    jobs = list(outcome.print_jobs)
                else:
                    outcome = session.pay_card(uuid.uuid4(), hold, "pm_card_visa")
                    t2 = time.perf_counter()
                    jobs = list(outcome.print_jobs)
                printed = spooler is not None and _wait_jobs(spooler, jobs, 10.0)
                t3 = time.perf_counter()
            except BoxOfficeError as exc:
                errors[exc.code] = errors.get(exc.code, 0) + 1
                continue
            sales += 1
            lat["hold"].append((t1 - t0) * 1000)
            lat["pay"].append((t2 - t1) * 1000)
            if printed:
                lat["print"].append((t3 - t2) * 1000)
            else:
                errors["not_printed"] = errors.get("not_printed", 0) + 1
    except Exception as exc:  # reported to the parent, which fails the run
        errors[f"crash:{type(exc).__name__}"] = 1
        out.put({"crash": repr(exc)})
    finally:
        from terminal.bootstrap import stop_all

        stop_all(stops)
    out.put({"role": role, "idx": idx, "sales": sales, "lat": lat, "errors": errors,
             "cpu_s": _cpu_s() - cpu0})


def _hold_chosen(session: Any, ev: int, rng: random.Random) -> Any:
    """Two seats side by side the customer points at on the map: free ones from the
    availability vector (a lost race is the customer picking again: seat_unavailable)."""
    av = session.availability(ev)
    states, seat_ids = av.states, av.seat_ids
    free = [i for i in range(len(states) - 1) if states[i] == "A" and states[i + 1] == "A"]
    if not free:
        from core.errors import BoxOfficeError

        raise BoxOfficeError("sold_out", wanted=SEATS_PER_SALE)
    i = free[rng.randrange(len(free))]
    return session.hold_seats(uuid.uuid4(), ev, [seat_ids[i], seat_ids[i + 1]])


def _monitor_loop(env: dict[str, str], go: Any, stop_at: Any, out: Any) -> None:
    settings = _child_settings(env)
    from terminal.bootstrap import monitor_session

    session = monitor_session(settings)
    cpu0 = _cpu_s()
    times: list[float] = []
    session.monitor_snapshot()  # connected and warm before the clock
    out.put({"ready": "monitor"})
    go.wait()
    while time.time() < stop_at.value:
        t0 = time.perf_counter()
        session.monitor_snapshot()
        times.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.5)  # the screen refreshes twice a second
    out.put({"role": "monitor", "snapshot_ms": times, "cpu_s": _cpu_s() - cpu0})


def _count(engine: Any, events: list[int], terminal_names: list[str]) -> dict[str, int]:
    from sqlalchemy import text

    with engine.connect() as c:
        oversold = c.execute(text(
            "select count(*) from (select ol.event_id, ol.seat_id from order_lines ol"
            " join orders o on o.id = ol.order_id where o.status = 'paid'"
            " and ol.event_id = any(:e) and ol.seat_id is not null"
            " group by 1, 2 having count(*) > 1) x"), {"e": events}).scalar_one()
        mismatched = c.execute(text(
            "select count(*) from event_seats es where es.event_id = any(:e) and"
            " es.status = 'sold' and not exists (select 1 from order_lines ol join orders o"
            " on o.id = ol.order_id where o.status = 'paid' and ol.event_id = es.event_id"
            " and ol.seat_id = es.seat_id)"), {"e": events}).scalar_one()
        duplicated = c.execute(text(
            "select (select count(*) - count(distinct hold_id) from orders"
            "        where event_id = any(:e) and status = 'paid')"
            "     + (select count(*) - count(distinct serial) from tickets t join orders o"
            "        on o.id = t.order_id where o.event_id = any(:e))"
            "     + (select count(*) from (select s.hold_id from sales s join terminals t"
            "        on t.id = s.terminal_id where t.name = any(:n) and s.state = 'completed'"
            "        group by 1 having count(*) > 1) d)"),
            {"e": events, "n": terminal_names}).scalar_one()
        sold = c.execute(text(
            "select count(*) from orders where event_id = any(:e) and status = 'paid'"),
            {"e": events}).scalar_one()
    return {"oversold": int(oversold) + int(mismatched), "duplicated": int(duplicated),
            "orders_paid": int(sold)}


def run_fleet(settings: Any, *, cashiers: int = 2, kiosks: int = 2,
              seconds: float = 10.0) -> dict[str, Any]:
    from sqlalchemy import text

    from core.actors import create_operator
    from core.bench.checkout import start_sandbox_process
    from core.bench.holds import ROOM_PER_ROW, ROOM_ROWS, make_pool, retire
    from core.uow import unit_of_work
    from terminal.bootstrap import context_for

    ctx = context_for(settings)
    tag = f"FLEET{uuid.uuid4().hex[:5].upper()}"
    n = cashiers + kiosks
    # Sized for 60 sales/s so the seats never run out mid-run.
    n_events = max(2, int(60 * seconds * SEATS_PER_SALE / (ROOM_ROWS * ROOM_PER_ROW)) + 1)
    pool = make_pool(ctx.engine, "best", n_events, tag)
    logins = [f"{tag.lower()}c{i}" for i in range(cashiers)]
    with unit_of_work(ctx.engine) as conn:
        for login in logins:
            create_operator(conn, login, f"Fleet cashier {login}", "cashier", _PIN)
    # Test cards only: a sandbox configured is used, anything else gets one of its own.
    gw_proc, gw_url = (None, settings.gateway.base_url
                       if settings.gateway.kind == "sandbox" else None)
    if gw_url is None:
        gw_proc, gw_url = start_sandbox_process()
    try:  # the sandbox goes away whatever fails below
        settings.terminal.data_dir.mkdir(parents=True, exist_ok=True)
        base = Path(tempfile.mkdtemp(prefix="fleet-", dir=settings.terminal.data_dir))
        db_url = settings.database.url.get_secret_value() if settings.database.url else ""
        # escpos writes its capabilities cache (one folder per host) on first import, not
        # atomically: sixteen terminals importing it at once read it half-written and fail
        # every print job. Written once here, before any terminal starts.
        from printing.escpos_render import dummy

        dummy(settings.printer.profile)
        spawn = mp.get_context("spawn")
        out = spawn.Queue()
        go = spawn.Event()
        stop_at = spawn.Value("d", 0.0)
        procs = []
        names = []
        for i in range(n):
            role = "cashier" if i < cashiers else "kiosk"
            name = f"{tag.lower()}-{role}-{i}"
            names.append(name)
            home = base / name
            env = {"BOXOFFICE_TERMINAL__NAME": name, "BOXOFFICE_TERMINAL__DATA_DIR": str(home),
                   "BOXOFFICE_PRINTER__URL": f"file://{home}/printer.out",
                   "BOXOFFICE_LOGGING__FILE": str(home / "log.jsonl"),
                   "BOXOFFICE_GATEWAY__BASE_URL": str(gw_url),
                   "BOXOFFICE_GATEWAY__KIND": "sandbox"}
            if db_url:
                env["BOXOFFICE_DATABASE__URL"] = db_url
            home.mkdir(parents=True)
            (home / "printer.out").touch()  # the file transport writes to a device that exists
            login = logins[i] if role == "cashier" else ""
            procs.append(spawn.Process(target=_sell_loop, args=(
                role, i, env, pool.events, login, go, stop_at, out)))
        mon_home = base / "monitor"
        mon_home.mkdir()
        mon_env = {"BOXOFFICE_TERMINAL__NAME": f"{tag.lower()}-mon",
                   "BOXOFFICE_TERMINAL__DATA_DIR": str(mon_home),
                   "BOXOFFICE_LOGGING__FILE": str(mon_home / "log.jsonl")}
        if db_url:
            mon_env["BOXOFFICE_DATABASE__URL"] = db_url
        procs.append(spawn.Process(target=_monitor_loop, args=(mon_env, go, stop_at, out)))
        results: list[dict[str, Any]] = []
        crashes: list[str] = []
        try:
            for p in procs:
                p.start()
            ready = 0
            while ready < len(procs):
                msg = out.get(timeout=180)
                if "ready" in msg:
                    ready += 1
                elif "crash" in msg:
                    crashes.append(msg["crash"])
                else:
                    results.append(msg)
                    ready += 1  # a process that ended before the start (it crashed)
            stop_at.value = time.time() + seconds
            t0 = time.perf_counter()
            go.set()
            while len(results) < len(procs):
                msg = out.get(timeout=seconds + 120)
                if "crash" in msg:
                    crashes.append(msg["crash"])
                else:
                    results.append(msg)
            elapsed = time.perf_counter() - t0
        finally:
            for p in procs:
                if p.pid is None:
                    continue  # never started
                p.join(30)
                if p.is_alive():
                    p.kill()
    finally:
        if gw_proc is not None:
            gw_proc.terminate()
            gw_proc.wait(10)
    sellers = [r for r in results if r.get("role") in ("cashier", "kiosk")]
    monitor = next((r for r in results if r.get("role") == "monitor"), {})
    steps = {s: sorted(x for r in sellers for x in r["lat"][s]) for s in ("hold", "pay",
                                                                           "print")}
    errors: dict[str, int] = {}
    for r in sellers:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    sales = sum(r["sales"] for r in sellers)
    counted = _count(ctx.engine, pool.events, names)
    with unit_of_work(ctx.engine) as conn:
        conn.execute(text("update shifts set status = 'closed' where status = 'open' and"
                          " terminal_id in (select id from terminals where name = any(:n))"),
                     {"n": names})
    retire(ctx.engine, tag)
    ctx.engine.dispose()
    snap = sorted(monitor.get("snapshot_ms", []))
    return {
        "cashiers": cashiers, "kiosks": kiosks, "seconds": seconds,
        "sales": sales, "sales_per_s": round(sales / elapsed, 2),
        **{f"{s}_p50_ms": _pct(v, 50) for s, v in steps.items()},
        **{f"{s}_p99_ms": _pct(v, 99) for s, v in steps.items()},
        "errors": errors, "crashes": crashes,
        **counted,
        "monitor_snapshots": len(snap), "monitor_snapshot_p50_ms": _pct(snap, 50),
        "monitor_snapshot_p99_ms": _pct(snap, 99),
        "cpu_s": {"cashiers": round(sum(r["cpu_s"] for r in sellers
                                        if r["role"] == "cashier"), 2),
                  "kiosks": round(sum(r["cpu_s"] for r in sellers if r["role"] == "kiosk"), 2),
                  "monitor": round(monitor.get("cpu_s", 0.0), 2)},
        "client_cpu_ms_per_sale": round(sum(r["cpu_s"] for r in sellers) * 1000 / sales, 2)
        if sales else None,
        "terminal_dirs": str(base),
    }
