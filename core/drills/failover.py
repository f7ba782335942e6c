"""The failover drill: sales from several terminals while the primary dies.

A scratch primary with a synchronous standby (``core.drills.cluster``) gets the migrated
schema and the demo casino. Each worker thread is a cashier terminal on the core engine,
built from a libpq multi-host URL with ``target_session_attrs=read-write``, selling the
way a terminal does: best-available hold, then cash checkout, each with its own
idempotency key, and the same key again after any failure until it is answered. After
``before_s`` of sales the primary's postmaster gets SIGKILL and the standby is promoted;
the workers are not told, they find the new primary through the URL by themselves.

Measured, from the callers' side and from the new primary's rows:
- ``resume_s``: from the kill until every terminal has completed a call again;
- ``acknowledged``: sales whose checkout returned; ``lost``: acknowledged but missing on
  the new primary; ``duplicated``: sold twice (a key, a hold or a seat in two sales);
- ``raw_errors``: exceptions other than ``BoxOfficeError`` that reached a caller;
- ``max_call_s``: the longest single call, so a hung call shows.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import psycopg

from core.drills.cluster import SUPERUSER, Node, primary_with_sync_standby

log = logging.getLogger(__name__)

T = TypeVar("T")
DB = "boxoffice"
SEATS_PER_SALE = 1
RETRY_PAUSE_S = 0.05
# Codes a terminal answers by trying the same command again later.
RETRYABLE = frozenset({"database_unavailable", "lock_timeout", "sale_in_progress"})


def terminal_url(nodes: list[Node], db: str = DB, attrs: str = "read-write") -> str:
    """The libpq multi-host URL terminals are configured with (docs/operations.md)."""
    hosts = ",".join(n.hostport for n in nodes)
    return f"postgresql://{SUPERUSER}@{hosts}/{db}?target_session_attrs={attrs}"


def _engine_url(url: str) -> tuple[str, str]:
    """``url`` as the engine takes it, and which form that was. The libpq netloc form
    (``h1:p1,h2:p2``) is what operators write; SQLAlchemy's own parser takes only the query
    form (``?host=h1:p1&host=h2:p2``), so while the engine does not accept the first, the
    drill rewrites it into the second (and says so in its result)."""
    from config import Settings
    from core.db.engine import build_engine

    try:
        engine = build_engine(Settings(database={"url": url}), pool_size=1)  # type: ignore[arg-type]
        engine.dialect.create_connect_args(engine.url)
        engine.dispose()
        return url, "libpq"
    except ValueError:
        pass
    _, rest = url.split("://", 1)
    user, rest = rest.split("@", 1)
    hosts, rest = rest.split("/", 1)
    db, _, query = rest.partition("?")
    params = "&".join(f"host={h}" for h in hosts.split(","))
    return f"postgresql+psycopg://{user}@/{db}?{params}&{query}", "query"


@dataclass
class Sale:
    checkout_key: uuid.UUID
    hold_key: uuid.UUID
    sale_id: uuid.UUID
    hold_id: uuid.UUID
    seat_ids: tuple[int, ...]
    acked_at: float


@dataclass
class WorkerLog:
    sales: list[Sale] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    gap_codes: Counter[str] = field(default_factory=Counter)
    raw: list[str] = field(default_factory=list)
    # (start, end) monotonic times of calls that answered.
    successes: list[tuple[float, float]] = field(default_factory=list)
    max_call_s: float = 0.0


class _Terminal:
    """One cashier terminal selling in a loop, retrying each command with its own key."""

    def __init__(self, ctx: Any, actor: Any, events: list[int], stop: threading.Event,
                 killed_at: list[float], keep_reserve: bool) -> None:
        self.ctx, self.actor, self.events = ctx, actor, events
        self.stop, self.killed_at = stop, killed_at
        # Half the terminals keep one hold back until the kill and check it out then, so
        # the gap meets checkouts as well as holds whatever the timing.
        self.keep_reserve = keep_reserve
        self.reserve: tuple[Any, uuid.UUID] | None = None
        self.log = WorkerLog()

    def call(self, fn: Callable[[], T], deadline_s: float) -> T | None:
        """``fn`` until it answers (the caller reuses its key), a non-retryable code, the
        deadline or the end of the drill; every failure is counted by what it was."""
        from core.errors import BoxOfficeError

        give_up = time.monotonic() + deadline_s
        while not self.stop.is_set() and time.monotonic() < give_up:
            t0 = time.monotonic()
            try:
                out = fn()
            except BoxOfficeError as exc:
                self._timed(t0)
                self.log.codes[exc.code] += 1
                if self.killed_at:
                    self.log.gap_codes[exc.code] += 1
                if exc.code not in RETRYABLE:
                    return None
            except Exception as exc:  # the drill's point: count what leaks, keep selling
                self._timed(t0)
                self.log.raw.append(_describe(exc))
            else:
                self._timed(t0)
                self.log.successes.append((t0, time.monotonic()))
                return out
            self.stop.wait(RETRY_PAUSE_S)
        return None

    def _timed(self, t0: float) -> None:
        self.log.max_call_s = max(self.log.max_call_s, time.monotonic() - t0)

    def run(self) -> None:
        from core.reservation import hold_best_available

        i = 0
        while not self.stop.is_set():
            if self.reserve is not None and self.killed_at:
                # Checkout of a hold taken before the kill: its first calls land in the gap.
                h, hold_key, self.reserve = self.reserve[0], self.reserve[1], None
                self._checkout(h, hold_key)
                continue
            event = self.events[i % len(self.events)]
            i += 1
            hold_key = uuid.uuid4()
            h = self.call(partial(hold_best_available, self.ctx, self.actor, hold_key, event,
                                  SEATS_PER_SALE), 60.0)
            if h is None:
                continue
            if self.keep_reserve and self.reserve is None and not self.killed_at:
                self.reserve = (h, hold_key)
                continue
            self._checkout(h, hold_key)

    def _checkout(self, h: Any, hold_key: uuid.UUID) -> None:
        from core.sales import CashTender, checkout

        co_key = uuid.uuid4()
        res = self.call(partial(checkout, self.ctx, self.actor, co_key, h.hold_id,
                                CashTender(h.total_minor)), 60.0)
        if res is not None:
            self.log.sales.append(Sale(co_key, hold_key, res.sale_id, h.hold_id,
                                       tuple(h.seat_ids), time.monotonic()))


def prepare_casino(url: str, terminals: int, data_dir: Any) -> tuple[Any, list[Any], list[int]]:
    """Schema, demo casino, one signed-in cashier terminal per worker with its shift."""
    from sqlalchemy import text

    from config import Settings
    from core import demo
    from core.actors import Actor, register_terminal
    from core.app_context import build_context
    from core.db import migrate
    from core.sales import open_shift

    settings = Settings(database={"url": url, "pool_size": terminals + 2,  # type: ignore[arg-type]
                                  "max_overflow": terminals, "connect_timeout_s": 2},
                        terminal={"name": "drill", "data_dir": str(data_dir)})  # type: ignore[arg-type]
    ctx = build_context(settings)
    migrate.upgrade(ctx.engine)
    demo.seed(ctx.engine, settings.sales.currency)
    ctx.signer()  # the ticket key, made once before the threads
    with ctx.engine.connect() as c:
        op = c.execute(text("select id from operators where login = 'ana'")).scalar_one()
        events = [r[0] for r in c.execute(text(
            "select id from events where venue_id = (select id from venues where code = 'SHOW')"
            " order by id"))]
    actors = []
    for n in range(terminals):
        name = f"drill-counter-{n}"
        actor = Actor(register_terminal(ctx.engine, name, "cashier"), name, op, "cashier",
                      "counter")
        open_shift(ctx, actor, uuid.uuid4(), 10_000)
        actors.append(actor)
    return ctx, actors, events


def _verify(node: Node, sales: list[Sale]) -> dict[str, Any]:
    """Count acknowledged sales on ``node`` (the new primary): lost and duplicated."""
    keys = [s.checkout_key for s in sales]
    with psycopg.connect(node.libpq(DB)) as c:
        found: dict[str, int] = dict(c.execute(
            "select s.key, count(*) from sales s join orders o on o.id = s.order_id"
            " where s.key = any(%s) and s.state = 'completed' and o.status = 'paid'"
            " group by s.key", (keys,)).fetchall())
        twice_holds = c.execute(
            "select count(*) from (select hold_id from orders where status = 'paid'"
            " group by hold_id having count(*) > 1) x").fetchone()
        twice_seats = c.execute(
            "select count(*) from (select event_id, seat_id from order_lines where status ="
            " 'sold' and seat_id is not null group by 1, 2 having count(*) > 1) x").fetchone()
        total_sales = c.execute("select count(*) from sales where state = 'completed'"
                                ).fetchone()
    lost = sum(1 for k in keys if k not in found)
    dup_keys = sum(n - 1 for n in found.values() if n > 1)
    return {"lost": lost,
            "duplicated": dup_keys + int(twice_holds[0] if twice_holds else 0)
            + int(twice_seats[0] if twice_seats else 0),
            "completed_on_new_primary": int(total_sales[0] if total_sales else 0)}


def run_drill(*, terminals: int = 4, before_s: float = 2.0, after_s: float = 2.0,
              detect_s: float = 1.0, resume_timeout_s: float = 30.0) -> dict[str, Any]:
    """Run the whole drill and return its figures (see the module docstring).

    ``detect_s``: how long the dead primary stays unpromoted, as a failure detector
    (Patroni's TTL) would leave it; the gap the terminals ride out grows with it."""
    import tempfile

    t_start = time.monotonic()
    with primary_with_sync_standby() as (cl, primary, standby), \
            tempfile.TemporaryDirectory(prefix="bo-drill-term-") as term_dir:
        with psycopg.connect(primary.libpq(), autocommit=True) as c:
            c.execute(f'create database "{DB}"')
        url, form = _engine_url(terminal_url([primary, standby]))
        ctx, actors, events = prepare_casino(url, terminals, term_dir)
        worker_view = _worker_view(ctx)
        report_url = terminal_url([primary, standby], attrs="prefer-standby")
        report_before = _reads_standby(report_url)
        stop = threading.Event()
        killed_at: list[float] = []
        workers = [_Terminal(ctx, a, events, stop, killed_at, keep_reserve=i % 2 == 0)
                   for i, a in enumerate(actors)]
        threads = [threading.Thread(target=w.run, name=f"drill-{i}", daemon=True)
                   for i, w in enumerate(workers)]
        try:
            for t in threads:
                t.start()
            stop.wait(before_s)
            acked_before = sum(len(w.log.sales) for w in workers)
            t_kill = time.monotonic()
            cl.kill(primary)
            killed_at.append(t_kill)
            stop.wait(detect_s)
            t_promote = time.monotonic()
            cl.promote(standby)
            promoted_s = time.monotonic() - t_kill
            resumed = _await_resume(workers, t_kill, resume_timeout_s)
            stop.wait(after_s)
        finally:
            stop.set()
            for t in threads:
                t.join(90)
            ctx.engine.dispose()
        report_after = _reads_standby(report_url)
        sales = [s for w in workers for s in w.log.sales]
        checked = _verify(standby, sales)
        raw = [r for w in workers for r in w.log.raw]
        per_terminal = [_first_after(w, t_kill) for w in workers]
        codes: Counter[str] = Counter()
        gap: Counter[str] = Counter()
        for w in workers:
            codes.update(w.log.codes)
            gap.update(w.log.gap_codes)
        return {
            "drill": "failover",
            "terminals": terminals,
            "url_form": form,
            "synchronous_standby": True,
            "acknowledged": len(sales),
            "acknowledged_before_kill": acked_before,
            "acknowledged_after_kill": sum(1 for s in sales if s.acked_at > t_kill),
            "lost": checked["lost"],
            "duplicated": checked["duplicated"],
            "completed_on_new_primary": checked["completed_on_new_primary"],
            "raw_errors": len(raw),
            "raw_error_samples": sorted(set(raw))[:5],
            "codes_after_kill": dict(gap),
            "promote_s": round(promoted_s, 3),
            "detect_s": detect_s,
            "resume_s": round(max(per_terminal), 3) if resumed else None,
            "first_resume_s": round(min(per_terminal), 3) if resumed else None,
            "resume_after_promote_s": (round(max(per_terminal) - (t_promote - t_kill), 3)
                                       if resumed else None),
            "max_call_s": round(max(w.log.max_call_s for w in workers), 3),
            # What the worker's metrics said about replication before the kill.
            "worker_sync_standbys": worker_view["sync"],
            "worker_replication_lag_s": worker_view["lag"],
            # Reports on prefer-standby: the standby while there is one, else the primary.
            "reports_on_standby_before": report_before,
            "reports_on_standby_after": report_after,
            "elapsed_s": round(time.monotonic() - t_start, 1),
        }


def _describe(exc: BaseException) -> str:
    """The exception's type, first line and the innermost project frame that let it out."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "/core/" in f.filename and "/drills/" not in f.filename]
    where = f" at {frames[-1].filename.rsplit('/core/', 1)[-1]}:{frames[-1].lineno}" \
        if frames else ""
    first = str(exc).splitlines()[0][:160] if str(exc) else ""
    return f"{type(exc).__module__}.{type(exc).__name__}{where}: {first}"


def _worker_view(ctx: Any) -> dict[str, Any]:
    """The worker's replication metrics (core.dbmetrics) read on the drill's primary."""
    from core import dbmetrics

    dbmetrics.refresh(ctx, force=True)
    lag = [s.value for m in dbmetrics.REPLICATION_LAG.collect() for s in m.samples
           if s.labels.get("standby") == "standby1"]
    return {"sync": dbmetrics.STANDBYS.labels("sync")._value.get(),
            "lag": lag[0] if lag else None}


def _reads_standby(url: str) -> bool | None:
    """Whether an engine on ``url`` reads from a standby (None: it could not read)."""
    from sqlalchemy import text

    from config import Settings
    from core.db.engine import build_engine

    engine = build_engine(Settings(database={"url": url}), pool_size=1)  # type: ignore[arg-type]
    try:
        with engine.connect() as c:
            return bool(c.execute(text("select pg_is_in_recovery()")).scalar_one())
    except Exception:  # reported as None: the drill's figure, not its failure
        return None
    finally:
        engine.dispose()


def _first_after(w: _Terminal, t: float) -> float:
    # A call that started after the kill: one in flight could still be answered by the
    # dying server and would say nothing about resuming.
    later = [end for start, end in w.log.successes if start > t]
    return (later[0] - t) if later else float("inf")


def _await_resume(workers: list[_Terminal], t_kill: float, timeout: float) -> bool:
    """Until every terminal has had a call answered after the kill (or the timeout)."""
    deadline = t_kill + timeout
    while time.monotonic() < deadline:
        if all(_first_after(w, t_kill) != float("inf") for w in workers):
            return True
        time.sleep(0.02)
    return False
