"""Cashier terminals selling while a primary dies: the part the failover drills share.

``core.drills.failover`` kills the primary and promotes the standby itself;
``core.drills.patroni`` kills a Patroni machine and lets Patroni promote. Both run the
same terminals through it, from here:

- ``prepare_casino``: the migrated schema, the demo casino and one signed-in cashier
  terminal with an open shift per selling thread (the restore drill sells with it too);
- ``SellingTerminal``: a terminal on the core engine, built from a libpq multi-host URL,
  selling the way a terminal does: best-available hold, then cash checkout, each with its
  own idempotency key, and the same key again after any failure until it is answered;
- ``sell_through_failover``: the terminals sell, the drill's ``kill`` and ``promote`` run
  while they do, and the terminals are not told: they find the new primary by themselves;
- ``verify_sales``: acknowledged sales lost or doubled on the new primary.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import psycopg

from core.drills.cluster import SUPERUSER, Node

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


def create_database(node: Node) -> None:
    """The drill's empty database on ``node`` (``prepare_casino`` fills it)."""
    with psycopg.connect(node.libpq(), autocommit=True) as c:
        c.execute(f'create database "{DB}"')


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


class SellingTerminal:
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

    def first_answer_after(self, t: float) -> float:
        """Seconds from ``t`` until a call started after ``t`` was answered (inf: none)."""
        # A call that started after the kill: one in flight could still be answered by the
        # dying server and would say nothing about resuming.
        later = [end for start, end in self.log.successes if start > t]
        return (later[0] - t) if later else float("inf")


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


@dataclass
class FailoverRun:
    """What the terminals saw of one failover, in monotonic time."""

    terminals: list[SellingTerminal]
    acknowledged_before_kill: int
    t_kill: float
    # When the drill began to promote (after ``detect_s``) and, from the kill, when the
    # promotion was done.
    t_promote: float
    promoted_s: float
    # Whether every terminal had a call answered after the kill within the timeout.
    resumed: bool

    @property
    def sales(self) -> list[Sale]:
        return [s for w in self.terminals for s in w.log.sales]

    @property
    def acknowledged_after_kill(self) -> int:
        return sum(1 for s in self.sales if s.acked_at > self.t_kill)

    @property
    def raw(self) -> list[str]:
        return [r for w in self.terminals for r in w.log.raw]

    @property
    def raw_error_samples(self) -> list[str]:
        return sorted(set(self.raw))[:5]

    @property
    def codes_after_kill(self) -> dict[str, int]:
        gap: Counter[str] = Counter()
        for w in self.terminals:
            gap.update(w.log.gap_codes)
        return dict(gap)

    def resume_per_terminal(self) -> list[float]:
        """Seconds from the kill until each terminal's first answered call after it."""
        return [w.first_answer_after(self.t_kill) for w in self.terminals]

    @property
    def max_call_s(self) -> float:
        return max(w.log.max_call_s for w in self.terminals)


def sell_through_failover(ctx: Any, actors: list[Any], events: list[int], *,
                          kill: Callable[[], None], promote: Callable[[], None],
                          before_s: float, after_s: float, resume_timeout_s: float,
                          detect_s: float = 0.0) -> FailoverRun:
    """One selling thread per actor; after ``before_s`` of sales ``kill`` (the primary
    dies), ``detect_s`` later ``promote`` (it returns once the standby is the primary),
    then until every terminal resumed (or ``resume_timeout_s``) and ``after_s`` more. The
    threads are stopped and ``ctx``'s engine disposed whatever happens."""
    stop = threading.Event()
    killed_at: list[float] = []
    workers = [SellingTerminal(ctx, a, events, stop, killed_at, keep_reserve=i % 2 == 0)
               for i, a in enumerate(actors)]
    threads = [threading.Thread(target=w.run, name=f"drill-{i}", daemon=True)
               for i, w in enumerate(workers)]
    try:
        for t in threads:
            t.start()
        stop.wait(before_s)
        acked_before = sum(len(w.log.sales) for w in workers)
        t_kill = time.monotonic()
        kill()
        killed_at.append(t_kill)
        stop.wait(detect_s)
        t_promote = time.monotonic()
        promote()
        promoted_s = time.monotonic() - t_kill
        resumed = await_resume(workers, t_kill, resume_timeout_s)
        stop.wait(after_s)
    finally:
        stop.set()
        for t in threads:
            t.join(90)
        ctx.engine.dispose()
    return FailoverRun(workers, acked_before, t_kill, t_promote, promoted_s, resumed)


def await_resume(workers: list[SellingTerminal], t_kill: float, timeout: float) -> bool:
    """Until every terminal has had a call answered after the kill (or the timeout)."""
    deadline = t_kill + timeout
    while time.monotonic() < deadline:
        if all(w.first_answer_after(t_kill) != float("inf") for w in workers):
            return True
        time.sleep(0.02)
    return False


def verify_sales(node: Node, sales: list[Sale]) -> dict[str, Any]:
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


def _describe(exc: BaseException) -> str:
    """The exception's type, first line and the innermost project frame that let it out."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "/core/" in f.filename and "/drills/" not in f.filename]
    where = f" at {frames[-1].filename.rsplit('/core/', 1)[-1]}:{frames[-1].lineno}" \
        if frames else ""
    first = str(exc).splitlines()[0][:160] if str(exc) else ""
    return f"{type(exc).__module__}.{type(exc).__name__}{where}: {first}"
