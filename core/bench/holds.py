"""``boxoffice bench holds``: N workers hammer the hold services; pgbench runs the same SQL.

Scenarios: best (best-available pairs), random (two random chosen seats), hot (two of ten
hot seats, mostly lost to other buyers), ga (three GA units). Each run creates its own
rooms and events (status canceled afterwards, so the apps never show them): run it
against a scratch database. Oversold is counted in the database afterwards.
"""

from __future__ import annotations

import random
import re
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from config import Settings
from core.actors import Actor, register_terminal, system_actor
from core.bench import pgbench
from core.catalog import publish_event, refresh_statistics
from core.errors import BoxOfficeError
from core.reservation import hold_best_available, hold_general_admission, hold_seats
from core.uow import unit_of_work

SCENARIOS = ("best", "random", "hot", "ga")
ROOM_ROWS, ROOM_PER_ROW = 30, 40  # 1,200 seats per event, like the showroom
# Upper bound on holds per second used to size the seat pool so it never runs dry.
_MAX_RATE = 4000


@dataclass
class Pool:
    events: list[int]
    sections: dict[int, int]
    seats: dict[int, list[int]] = field(default_factory=dict)
    ga_section: int | None = None


def make_pool(engine: Engine, scenario: str, n_events: int, tag: str) -> Pool:
    """Rooms and events of the benchmark's own, on sale (shared with bench checkout)."""
    actor = system_actor(engine, "bench-setup")
    with unit_of_work(engine) as c:
        venue = c.execute(text("insert into venues (code, name, timezone, stage_label) values"
                               " (:c, :c, 'UTC', 'STAGE') returning id"), {"c": tag}).scalar_one()
        kind, cap = ("ga", 10_000_000) if scenario == "ga" else ("seated", ROOM_ROWS * ROOM_PER_ROW)
        sec = c.execute(text("insert into sections (venue_id, code, name, kind, capacity,"
                             " sort_order) values (:v, 'S', 'S', :k, :cap, 0) returning id"),
                        {"v": venue, "k": kind, "cap": cap}).scalar_one()
        if kind == "seated":
            c.execute(text(
                "insert into seats (section_id, row_label, number, x, y, accessible, companion,"
                " obstructed, quality_rank) select :s, 'R' || r, n, n, r, false, false, false,"
                " r * 1000 + abs(2 * n - :w - 1) from generate_series(1, :rows) r,"
                " generate_series(1, :w) n"), {"s": sec, "rows": ROOM_ROWS, "w": ROOM_PER_ROW})
        events = []
        for i in range(n_events):
            ev = c.execute(text(
                "insert into events (code, venue_id, name, starts_at, sales_start, sales_end,"
                " status, currency, description) values (:c, :v, :c, now() + interval '1 day',"
                " now() - interval '1 day', now() + interval '1 day', 'draft', 'BRL', 'bench')"
                " returning id"), {"c": f"{tag}-{i}", "v": venue}).scalar_one()
            c.execute(text("insert into price_tiers (event_id, section_id, name, base_minor,"
                           " floor_minor, ceiling_minor, current_minor) values (:e, :s, 'T',"
                           " 5000, 5000, 5000, 5000)"), {"e": ev, "s": sec})
            publish_event(c, actor, ev, analyze=False)
            events.append(ev)
        refresh_statistics(c)
        pool = Pool(events, {ev: sec for ev in events})
        if kind == "seated":
            for ev in events:
                pool.seats[ev] = [r[0] for r in c.execute(text(
                    "select seat_id from event_seats where event_id = :e order by seat_id"),
                    {"e": ev})]
        else:
            pool.ga_section = sec
    return pool


def retire(engine: Engine, tag: str) -> None:
    """Cancel a benchmark's events so the apps never show them."""
    with unit_of_work(engine) as c:
        c.execute(text("update events set status = 'canceled' where code like :t"),
                  {"t": f"{tag}-%"})


def _oversold(engine: Engine, events: list[int]) -> int:
    with engine.connect() as c:
        seats = c.execute(text(
            """
            select count(*) from (
              select hi.event_id, hi.seat_id from hold_items hi join holds h on h.id = hi.hold_id
              where hi.event_id = any(:e) and hi.seat_id is not null
                and (h.status = 'confirmed' or (h.status = 'active' and h.expires_at > now()))
              group by hi.event_id, hi.seat_id having count(*) > 1) x
            """), {"e": events}).scalar_one()
        mismatched = c.execute(text(
            """
            select count(*) from event_seats es where es.event_id = any(:e)
              and es.status = 'held' and not exists (select 1 from hold_items hi
              where hi.hold_id = es.hold_id and hi.seat_id = es.seat_id)
            """), {"e": events}).scalar_one()
        ga = c.execute(text(
            "select coalesce(sum(greatest(held + sold + leased - capacity, 0)), 0)"
            " from ga_inventory where event_id = any(:e)"), {"e": events}).scalar_one()
    return int(seats + mismatched + ga)


def _op(scenario: str, settings_ctx: Any, actor: Actor, pool: Pool, rng: random.Random,
        hot: list[int]) -> Any:
    ev = rng.choice(pool.events)
    if scenario == "best":
        return hold_best_available(settings_ctx, actor, uuid.uuid4(), ev, 2)
    if scenario == "random":
        return hold_seats(settings_ctx, actor, uuid.uuid4(), ev, rng.sample(pool.seats[ev], 2))
    if scenario == "hot":
        return hold_seats(settings_ctx, actor, uuid.uuid4(), pool.events[0], rng.sample(hot, 2))
    return hold_general_admission(settings_ctx, actor, uuid.uuid4(), ev, pool.sections[ev], 3)


def _python_run(ctx: Any, scenario: str, workers: int, seconds: float, pool: Pool,
                tag: str, sellers: list[tuple[Any, Actor]] | None = None) -> dict[str, Any]:
    """``sellers``: a context and actor per worker on that worker's own terminal login
    (``--as-terminals``); otherwise every worker acts with the owner's rights on ``ctx``."""
    if sellers is None:
        actors = [Actor(register_terminal(ctx.engine, f"{tag}-w{i}", "cashier"),
                        f"{tag}-w{i}") for i in range(workers)]
    else:
        actors = [a for _, a in sellers]
    hot = pool.seats[pool.events[0]][:10] if scenario == "hot" else []
    lat: list[list[float]] = [[] for _ in range(workers)]
    wins = [0] * workers
    errors: dict[str, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(workers + 1)
    stop_at = [0.0]
    cpu = [0.0] * workers

    def work(i: int) -> None:
        rng = random.Random(i)
        barrier.wait()
        c0 = time.thread_time()
        while time.perf_counter() < stop_at[0]:
            t0 = time.perf_counter()
            try:
                _op(scenario, ctx if sellers is None else sellers[i][0], actors[i], pool,
                    rng, hot)
                wins[i] += 1
            except BoxOfficeError as e:
                with lock:
                    errors[e.code] = errors.get(e.code, 0) + 1
            lat[i].append(time.perf_counter() - t0)
        cpu[i] = time.thread_time() - c0

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    t_start = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t_start
    all_lat = sorted(x for part in lat for x in part)
    attempts = len(all_lat)
    return {
        "attempts_per_s": round(attempts / elapsed, 1),
        "holds_per_s": round(sum(wins) / elapsed, 1),
        "p50_ms": round(statistics.median(all_lat) * 1000, 2) if all_lat else None,
        "p99_ms": round(all_lat[int(0.99 * (attempts - 1))] * 1000, 2) if all_lat else None,
        "rejected": errors,
        # The workers' own CPU (this interpreter, all threads): on 2 cores what the client
        # burns is taken from PostgreSQL.
        "client_cpu_ms_per_op": round(sum(cpu) * 1000 / attempts, 3) if attempts else None,
    }


def _bind(sql_text: str, values: dict[str, str]) -> str:
    """Replace our ``:name`` binds with pgbench expressions (not ``::type`` casts)."""
    out = " ".join(re.sub(r"--[^\n]*", "", sql_text).split())
    for name, expr in values.items():
        out = re.sub(rf"(?<!:):{name}\b", _verbatim(expr), out)
    return out


def _verbatim(text_: str) -> Callable[[re.Match[str]], str]:
    # A function replacement: re.sub would read backslashes in a string replacement.
    return lambda _m: text_


def _pg_script(scenario: str, chain_prefix: str) -> str:
    """The same statement our hold sends, as a pgbench script: one autocommit statement
    for chosen seats and GA, one autocommit call of bo_hold_best for best available."""
    from core.reservation import onestatement

    command = {"best": "hold_best", "ga": "hold_ga"}.get(scenario, "hold_seats")
    common = {
        # A key from a random number, not gen_random_uuid(): a volatile function in
        # "where key = ..." would defeat the primary-key index.
        "lock_timeout": "'2000ms'", "key": "rpad(to_hex(cast(:hid as bigint)), 32, 'a')::uuid",
        "command": f"'{command}'", "action": f"'{command}'", "request_hash": "'x'",
        "chain": f"('{chain_prefix}' || cast(:client_id as text))",
        "genesis": "decode(repeat('00', 32), 'hex')", "adjacent": "true",
        "hold_id": "lpad(to_hex(cast(:hid as bigint)), 32, '0')::uuid", "ttl": "600",
        "terminal_id": "cast(:tid as integer)",
        "operator_id": "null", "channel": "'counter'",
    }
    lines = ["\\set tid random(:t_lo, :t_hi)", "\\set hid random(1, 9007199254740991)"]
    if scenario == "hot":
        lines.append("\\set event_id :ev_lo")
    else:
        lines.append("\\set event_id random(:ev_lo, :ev_hi)")
    if scenario == "ga":
        lines.append(_bind(str(onestatement.HOLD_GA_ONE),
                           {**common, "n": "3", "section_id": "cast(:sec as integer)"}) + ";")
        return "\n".join(lines) + "\n"
    if scenario == "best":
        # The very call our best-available hold makes (migration 0015's bo_hold_best).
        from core.reservation.onestatement import HOLD_BEST

        lines.append(_bind(str(HOLD_BEST), {
            **common, "key_lock": "(random() * 1e15)::bigint", "quantity": "2",
            "sections": "null"}) + ";")
        return "\n".join(lines) + "\n"
    span = "10" if scenario == "hot" else ":span"
    lines += [f"\\set s1 :seat_lo + random(0, {span} - 1)",
              f"\\set s2 :seat_lo + random(0, {span} - 1)"]
    seats = "array[cast(:s1 as bigint), cast(:s2 as bigint)]"
    lines.append(_bind(str(onestatement.HOLD_SEATS_ONE),
                       {**common, "n": "2", "seat_ids": seats}) + ";")
    return "\n".join(lines) + "\n"


_FOR_UPDATE_SCRIPT = """\\set tid random(:t_lo, :t_hi)
\\set s1 :seat_lo + random(0, 9)
\\set s2 :seat_lo + random(0, 9)
BEGIN;
select status from event_seats where event_id = :ev_lo and seat_id in (:s1, :s2) order by seat_id for update;
update event_seats set status = 'held', hold_id = gen_random_uuid(), hold_expires_at = now() + interval '10 minutes', version = version + 1 where event_id = :ev_lo and seat_id in (:s1, :s2) and status = 'available';
END;
"""  # noqa: E501


def _pgbench_run(ctx: Any, exe: str, scenario: str, workers: int, seconds: float,
                 n_events: int, tag: str) -> dict[str, Any]:
    pool = make_pool(ctx.engine, scenario, n_events, tag)
    tids = [register_terminal(ctx.engine, f"{tag}-{i}", "cashier") for i in range(workers)]
    url = ctx.engine.url.render_as_string(hide_password=False)
    first = pool.events[0]
    seats = pool.seats.get(first, [0])
    variables = {"t_lo": min(tids), "t_hi": max(tids), "ev_lo": min(pool.events),
                 "ev_hi": max(pool.events), "sec": pool.sections[first],
                 "seat_lo": seats[0], "span": len(seats)}
    try:
        out = {"pgbench_tps": round(pgbench.run_script(
            exe, url, _pg_script(scenario, f"{tag}-"), clients=workers, seconds=seconds,
            variables=variables), 1)}
        if scenario == "hot":
            pool2 = make_pool(ctx.engine, scenario, 1, tag + "U")
            variables.update(ev_lo=pool2.events[0], seat_lo=pool2.seats[pool2.events[0]][0])
            out["pgbench_for_update_tps"] = round(pgbench.run_script(
                exe, url, _FOR_UPDATE_SCRIPT, clients=workers, seconds=seconds,
                variables=variables), 1)
            retire(ctx.engine, tag + "U")
    finally:
        retire(ctx.engine, tag)
    return out


def _terminal_sellers(ctx: Any, settings: Settings, workers: int, tag: str
                      ) -> tuple[list[tuple[Any, Actor]], list[str]]:
    """A provisioned cashier login per worker, as ``boxoffice terminal add`` makes one, and
    a one-connection context on each: holds then pay for row security, the column grants
    and migration 0020's checks, as a counter's do."""
    from sqlalchemy.engine import make_url

    from core.app_context import build_context
    from core.provisioning import provision_terminal

    sellers, logins = [], []
    for i in range(workers):
        t = provision_terminal(ctx.engine, f"{tag.lower()}-t{i}", "cashier")
        logins.append(t.login)
        url = make_url(t.url).set(drivername="postgresql+psycopg").render_as_string(
            hide_password=False)
        terminal = settings.terminal.model_copy(update={"name": t.name, "kind": "cashier"})
        c = build_context(settings.model_copy(update={"terminal": terminal}), url=url,
                          pool_size=1)
        sellers.append((c, Actor(t.terminal_id, t.name)))
    return sellers, logins


def run_bench(settings: Settings, *, workers: int = 8, seconds: float = 10.0,
              scenario: str = "best", pgbench_too: bool = True,
              as_terminals: bool = False) -> dict[str, Any]:
    from core.app_context import build_context
    from core.db import migrate

    if scenario not in SCENARIOS:
        raise BoxOfficeError("invalid_input", detail=f"scenario must be one of {SCENARIOS}")
    ctx = build_context(settings, pool_size=workers + 2)
    if not migrate.is_current(ctx.engine):
        migrate.upgrade(ctx.engine)
    seats_needed = int(_MAX_RATE * seconds * 3)
    n_events = 1 if scenario in ("hot", "ga") else max(2, seats_needed //
                                                        (ROOM_ROWS * ROOM_PER_ROW) + 1)
    tag = f"BENCH{uuid.uuid4().hex[:6].upper()}"
    pool = make_pool(ctx.engine, scenario, n_events, tag)
    sellers: list[tuple[Any, Actor]] | None = None
    logins: list[str] = []
    try:
        result: dict[str, Any] = {"scenario": scenario, "workers": workers,
                                  "seconds": seconds, "as_terminals": as_terminals}
        if as_terminals:
            sellers, logins = _terminal_sellers(ctx, settings, workers, tag)
        result.update(_python_run(ctx, scenario, workers, seconds, pool, tag, sellers))
        result["oversold"] = _oversold(ctx.engine, pool.events)
    finally:
        from core.provisioning import drop_login

        for c, _ in sellers or []:
            c.engine.dispose()
        for login in logins:
            drop_login(ctx.engine, login)
        retire(ctx.engine, tag)
    exe = pgbench.find_pgbench() if pgbench_too else None
    if exe:
        result.update(_pgbench_run(ctx, exe, scenario, workers, seconds, n_events, tag + "P"))
        tps = result["pgbench_tps"]
        # pgbench counts every transaction, won or lost; holds_per_s counts wins only.
        result["ratio"] = round(result["holds_per_s"] / tps, 3) if tps else None
        result["attempts_ratio"] = round(result["attempts_per_s"] / tps, 3) if tps else None
        if result.get("pgbench_for_update_tps"):
            # The hot scenario's work is answering buyers, most of whom lose.
            result["ratio_vs_for_update"] = round(
                result["attempts_per_s"] / result["pgbench_for_update_tps"], 2)
            result["pgbench_ratio_vs_for_update"] = round(
                tps / result["pgbench_for_update_tps"], 2)
        result["pgbench"] = exe
    ctx.engine.dispose()
    return result
