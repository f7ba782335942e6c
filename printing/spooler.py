"""The print spooler: jobs are written to a local SQLite file before anything is sent,
then a single worker thread delivers them in order, one printer at a time.

States: queued -> printing -> printed, or failed (a job that can never print: a bad
printer URL or a missing driver). A transport error (printer off, cable out, paper
out on printers that refuse the connection) puts the job back to queued and retries
with a doubling backoff; later jobs wait behind it so tickets never print out of
order. Every change is reported through ``on_change`` so the UI can say "printer
offline, 3 tickets waiting". A sale is never undone or blocked by printing: ``submit_*``
only writes the local file and returns.

The backoff is hand-rolled rather than stamina's: stamina retries one call while the
caller waits, and here the retry must outlive the call (and the process: jobs persist).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Gauge

from config import Settings
from core.errors import BoxOfficeError
from printing.document import Document
from printing.transports import Transport, TransportError, open_transport

log = logging.getLogger(__name__)

PRINT_WRITES = Counter("boxoffice_print_writes_total",
                       "Attempts to write a print job, by outcome", ["outcome"])
PRINT_QUEUE = Gauge("boxoffice_print_queue_depth", "Print jobs queued or printing")

_SCHEMA = """
create table if not exists jobs (
    id integer primary key autoincrement,
    kind text not null,
    serial integer,
    duplicate integer not null default 0,
    order_ref text,
    document text not null,
    data blob,
    state text not null default 'queued'
        check (state in ('queued', 'printing', 'printed', 'failed')),
    attempts integer not null default 0,
    last_error text,
    created_at real not null,
    printed_at real,
    reported integer not null default 0,
    report_key text not null,
    request_key text
);
create index if not exists jobs_state on jobs (state, id);
"""
# Columns added after the first release: (name, definition) added to older spool files.
_ADDED_COLUMNS = (("request_key", "text"), ("withdrawn", "integer not null default 0"))
# A repeated request (a double click on Reprint) queues its paper once.
_REQUEST_KEY_INDEX = "create unique index if not exists jobs_request_key on jobs (request_key)"


@dataclass(frozen=True, slots=True)
class JobInfo:
    id: int
    kind: str
    serial: int | None
    duplicate: int
    state: str
    attempts: int
    last_error: str | None
    created_at: float
    printed_at: float | None

    @property
    def name(self) -> str:
        return job_name(self.id, self.kind, self.serial, self.duplicate)


def job_name(job_id: int, kind: str, serial: int | None, duplicate: int) -> str:
    parts = [f"{job_id:06d}", kind]
    if serial is not None:
        parts.append(str(serial))
    if duplicate:
        parts.append(f"DUPLICATE{duplicate}")
    return "-".join(parts)


@dataclass(frozen=True, slots=True)
class SpoolerState:
    """What a status bar shows. ``online`` is None until the first write is tried."""

    online: bool | None
    queued: int
    printing: int
    failed: int
    tickets_waiting: int
    last_error: str | None
    retry_in_s: float | None
    printer_url: str
    lang: str = "pt-BR"

    def __str__(self) -> str:
        return self.message(self.lang)

    @property
    def waiting(self) -> int:
        return self.queued + self.printing

    def message(self, lang: str = "pt-BR") -> str:
        pt = lang.lower().startswith("pt")
        if self.online is False and self.waiting:
            return BoxOfficeError("printer_offline", waiting=self.tickets_waiting or
                                  self.waiting).message(lang)
        if self.waiting:
            return (f"Imprimindo ({self.waiting} na fila)" if pt
                    else f"Printing ({self.waiting} queued)")
        if self.failed:
            return (f"{self.failed} impressão(ões) com erro" if pt
                    else f"{self.failed} print job(s) failed")
        return "Impressora pronta" if pt else "Printer ready"




class Spooler:
    """One per terminal process. ``ctx`` and ``actor`` (optional) let it count printed
    copies on the tickets and authorize reprints through core services."""

    def __init__(self, settings: Settings, *,
                 on_change: Callable[[SpoolerState], Any] | None = None,
                 ctx: Any | None = None, actor: Any | None = None,
                 transport: Transport | None = None, db_path: Path | None = None,
                 start: bool = True) -> None:
        self.settings = settings
        self.on_change = on_change
        self.ctx, self.actor = ctx, actor
        pr = settings.printer
        url = pr.url or f"preview://{settings.terminal.data_dir / 'preview'}"
        self.transport = transport or open_transport(url, timeout_s=pr.timeout_s)
        path = db_path or (pr.spool_dir or settings.terminal.data_dir / "spool") / "spool.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db_path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                   timeout=30)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute("pragma synchronous=full")  # a queued ticket survives power loss
        self._db.executescript(_SCHEMA)
        have = {r[1] for r in self._db.execute("pragma table_info(jobs)")}
        for column, definition in _ADDED_COLUMNS:
            if column not in have:
                self._db.execute(f"alter table jobs add column {column} {definition}")
        self._db.execute(_REQUEST_KEY_INDEX)
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._stop = False
        self._online: bool | None = None
        self._last_error: str | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._report_at = 0.0
        # A send that was cut short by a crash is sent again: a second paper copy of the
        # same token is harmless (check-in admits it once), a missing ticket is not.
        self._db.execute("delete from jobs where state = 'printing' and withdrawn = 1")
        self._db.execute("update jobs set state = 'queued' where state = 'printing'")
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    # -- submitting ---------------------------------------------------------------------

    def submit_order(self, order_tickets: Sequence[Any], receipt: Any | None = None, *,
                     lang: str | None = None) -> list[int]:
        """Queue one ticket per ``core.tickets.TicketView`` and the receipt
        (``printing.model.ReceiptData``; a cash receipt kicks the drawer)."""
        from printing.layout import receipt_document, ticket_document

        lang = lang or self.settings.terminal.language
        mm, cols = self.settings.printer.paper_mm, self.settings.printer.columns
        docs = [ticket_document(t, paper_mm=mm, lang=lang, columns=cols) for t in order_tickets]
        if receipt is not None:
            docs.append(receipt_document(receipt, paper_mm=mm, lang=lang, columns=cols))
        order_ref = str(order_tickets[0].order_id) if order_tickets else None
        return self.submit_documents(docs, order_ref=order_ref)

    def submit_documents(self, docs: Sequence[Document], *, order_ref: str | None = None,
                         request_key: str | None = None) -> list[int]:
        """Persist the documents as jobs (one transaction) and wake the worker. With a
        ``request_key`` already used, nothing new is queued and the first ids return."""
        now = time.time()
        try:
            with self._cond:
                self._db.execute("begin immediate")
                try:
                    ids = []
                    for i, d in enumerate(docs):
                        rk = f"{request_key}/{i}" if request_key else None
                        cur = self._db.execute(
                            "insert into jobs (kind, serial, duplicate, order_ref, document,"
                            " created_at, report_key, request_key) values (?, ?, ?, ?, ?, ?, ?, ?)"
                            " on conflict (request_key) do nothing",
                            (d.kind, d.serial, d.duplicate, order_ref, json.dumps(d.to_json()),
                             now, str(uuid.uuid4()), rk))
                        ids.append(cur.lastrowid if cur.rowcount else self._db.execute(
                            "select id from jobs where request_key = ?", (rk,)).fetchone()[0])
                    self._db.execute("commit")
                except BaseException:
                    self._db.execute("rollback")
                    raise
                self._cond.notify_all()
        except sqlite3.Error as exc:
            raise BoxOfficeError("printer_spool_failed", detail=str(exc)) from exc
        self._changed()
        return [int(i) for i in ids if i is not None]

    def print_order(self, order_id: uuid.UUID, receipt: Any | None = "auto", *,
                    lang: str | None = None) -> list[int]:
        """Queue an order's tickets from the database, with its receipt: ``"auto"``
        builds it from the sale's payment record (cash kicks the drawer), None skips it,
        or pass a ``printing.model.ReceiptData``."""
        from core.tickets.views import payment_summary, ticket_views
        from printing.model import receipt_for

        if self.ctx is None:
            raise ValueError("print_order needs a Spooler built with ctx=")
        views = [v for v in ticket_views(self.ctx.engine, order_id=order_id)
                 if v.status == "valid"]
        if receipt == "auto":
            pay = payment_summary(self.ctx.engine, order_id) if views else None
            receipt = None if pay is None else receipt_for(
                views, "cash" if pay.tender == "cash" else "card",
                tendered_minor=pay.tendered_minor, card_brand=pay.brand,
                card_last4=pay.last4, payment_ref=pay.reference,
                lang=lang or self.settings.terminal.language)
        return self.submit_order(views, receipt, lang=lang)

    def reprint_order(self, order_id: uuid.UUID, key: uuid.UUID | str | None = None, *,
                      supervisor: Any | None = None, actor: Any | None = None,
                      reason: str = "") -> list[int]:
        """DUPLICATE copies of every valid ticket of the order (see ``reprint``). One
        ``key`` covers the whole order: a retried call reprints nothing twice."""
        from core.tickets.views import ticket_views

        if self.ctx is None:
            raise ValueError("reprint_order needs a Spooler built with ctx=")
        base = uuid.UUID(str(key)) if key is not None else uuid.uuid4()
        return [self.reprint(v.serial, uuid.uuid5(base, str(v.serial)), supervisor=supervisor,
                             actor=actor, reason=reason)
                for v in ticket_views(self.ctx.engine, order_id=order_id)
                if v.status == "valid"]

    def reprint(self, serial: int, key: uuid.UUID | str, *, supervisor: Any | None = None,
                actor: Any | None = None, reason: str = "", lang: str | None = None) -> int:
        """Queue a DUPLICATE of a ticket. Core authorizes, counts and audits it (the
        second and later duplicates need a signed-in supervisor); raises BoxOfficeError
        ``supervisor_required`` / ``ticket_not_printable`` otherwise."""
        from core.tickets.views import authorize_reprint
        from printing.layout import ticket_document

        if self.ctx is None:
            raise ValueError("reprint needs a Spooler built with ctx=")
        view = authorize_reprint(self.ctx, actor or self._terminal_actor(), key, serial,
                                 supervisor=supervisor, reason=reason)
        doc = ticket_document(view, paper_mm=self.settings.printer.paper_mm,
                              lang=lang or self.settings.terminal.language,
                              duplicate=view.reprint_count,
                              columns=self.settings.printer.columns)
        return self.submit_documents([doc], order_ref=str(view.order_id),
                                     request_key=f"reprint:{key}")[0]

    def retry_now(self) -> None:
        """Forget the backoff and try the head job now (the cashier pressed Retry, or
        the printer came back)."""
        with self._cond:
            self._retry_at = 0.0
            self._cond.notify_all()

    def withdraw_order(self, order_id: uuid.UUID | str) -> int:
        """Take an order's unprinted jobs out of the queue (not one being sent): a kiosk
        that told its customer to collect the tickets at the counter must not print them
        later into an empty tray. Returns how many jobs were withdrawn; the counter prints
        the order again from the cashier app."""
        with self._cond:
            n = self._db.execute("delete from jobs where order_ref = ? and state in"
                                 " ('queued', 'failed')", (str(order_id),)).rowcount
            # A job being sent right now is dropped if that attempt fails.
            n += self._db.execute("update jobs set withdrawn = 1 where order_ref = ? and"
                                  " state = 'printing'", (str(order_id),)).rowcount
        if n:
            log.info("print jobs withdrawn", extra={"order": str(order_id), "jobs": n})
            self._changed()
        return n

    def requeue(self, job_id: int) -> None:
        with self._cond:
            self._db.execute("update jobs set state = 'queued', last_error = null"
                             " where id = ? and state = 'failed'", (job_id,))
            self._retry_at = 0.0
            self._cond.notify_all()
        self._changed()

    # -- reading ------------------------------------------------------------------------

    def pending(self) -> list[JobInfo]:
        """Jobs not printed yet (queued, printing, failed), oldest first."""
        with self._lock:
            cur = self._db.execute(
                "select id, kind, serial, duplicate, state, attempts, last_error, created_at,"
                " printed_at from jobs where state <> 'printed' order by id")
            return [JobInfo(*r) for r in cur.fetchall()]

    def job(self, job_id: int) -> JobInfo | None:
        with self._lock:
            r = self._db.execute(
                "select id, kind, serial, duplicate, state, attempts, last_error, created_at,"
                " printed_at from jobs where id = ?", (job_id,)).fetchone()
        return JobInfo(*r) if r else None

    def state(self) -> SpoolerState:
        """The current state (read from the spool file: a method, not a property, because
        it is a query); ``str()`` of it is the status line in the terminal's language."""
        with self._lock:
            counts = dict(self._db.execute(
                "select state, count(*) from jobs where state <> 'printed' group by state"))
            tickets = self._db.execute(
                "select count(*) from jobs where kind = 'ticket'"
                " and state in ('queued', 'printing')").fetchone()[0]
            retry = self._retry_at - time.monotonic() if self._retry_at else None
            return SpoolerState(
                online=self._online, queued=counts.get("queued", 0),
                printing=counts.get("printing", 0), failed=counts.get("failed", 0),
                tickets_waiting=tickets, last_error=self._last_error,
                retry_in_s=max(0.0, retry) if retry is not None else None,
                printer_url=self.transport.url, lang=self.settings.terminal.language)

    def flush_reports(self) -> None:
        """Count printed copies on the tickets now (the worker also does it when idle)."""
        if self.ctx is not None:
            self._report_printed()

    def _terminal_actor(self) -> Any:
        """This terminal as the actor of print counts and reprints, registered on first
        need (not at start: the spooler must start while the database is down)."""
        if self.actor is None:
            from core.actors import Actor, register_terminal

            if self.ctx is None:
                raise ValueError("print counts and reprints need a Spooler built with ctx=")
            term = self.settings.terminal
            tid = register_terminal(self.ctx.engine, term.name, term.kind)
            self.actor = Actor(tid, term.name,
                               channel="kiosk" if term.kind == "kiosk" else "counter")
        return self.actor

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or printing (tests, shutdown); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._count_waiting():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    # -- the worker ---------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="print-spooler",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self.close()

    def close(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            self._db.close()

    def __enter__(self) -> Spooler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _count_waiting(self) -> int:
        return self._db.execute(
            "select count(*) from jobs where state in ('queued', 'printing')").fetchone()[0]

    def _changed(self) -> None:
        st = self.state()
        PRINT_QUEUE.set(st.waiting)
        if self.on_change is None:
            return
        try:
            self.on_change(st)
        except Exception:  # a broken status bar must not stop printing
            log.exception("spooler on_change callback failed")

    def _run(self) -> None:
        while not self._stop:
            try:
                self._step()
            except Exception:  # e.g. the spool disk is full: keep the thread, try again
                log.exception("print spooler step failed")
                with self._cond:
                    self._cond.wait(5.0)

    def _step(self) -> None:
        while True:
            with self._cond:
                if self._stop:
                    return
                row = self._db.execute(
                    "select id, kind, serial, duplicate, document, data, report_key from jobs"
                    " where state = 'queued' order by id limit 1").fetchone()
                now = time.monotonic()
                if row is not None and now >= self._retry_at:
                    # Conditional claim: another process on the same spool file (a
                    # `boxoffice print-test` next to the app) never sends the same job.
                    claimed = self._db.execute(
                        "update jobs set state = 'printing', attempts = attempts + 1"
                        " where id = ? and state = 'queued'", (row[0],)).rowcount
                    if not claimed:
                        continue
                    action = "print"
                elif row is None and self._unreported() and now >= self._report_at:
                    action = "report"
                elif row is None and self._online is False and now >= self._retry_at and \
                        hasattr(self.transport, "probe"):
                    # Nothing to print but the printer was last seen down (e.g. a kiosk
                    # withdrew its jobs): knock now and then, so the terminal learns it is
                    # back without printing anything.
                    action = "probe"
                else:
                    if row is not None:
                        wait: float | None = self._retry_at - now
                    elif self._unreported():
                        wait = self._report_at - now
                    elif self._online is False and hasattr(self.transport, "probe"):
                        wait = max(0.0, self._retry_at - now)
                    else:
                        wait = None
                    self._cond.wait(wait)
                    continue
            if action == "print":
                self._changed()
                self._attempt(*row)
            elif action == "probe":
                self._probe()
            else:
                self._report_printed()

    def _probe(self) -> None:
        try:
            self.transport.probe()  # type: ignore[attr-defined]
        except TransportError as exc:
            with self._cond:
                self._failures += 1
                self._retry_at = time.monotonic() + min(
                    self.settings.printer.retry_max_s,
                    self.settings.printer.retry_initial_s * 2 ** (self._failures - 1))
                self._last_error = str(exc)
            return
        with self._cond:
            self._failures = 0
            self._retry_at = 0.0
            self._online = True
            self._last_error = None
        log.info("printer reachable again")
        self._changed()

    def _attempt(self, job_id: int, kind: str, serial: int | None, duplicate: int,
                 document: str, data: bytes | None, report_key: str) -> None:
        try:
            doc = Document.from_json(json.loads(document))
            if data is None:
                # Rendered once, on the worker, then kept: a retry resends the same bytes,
                # and the first escpos import (over a second) never runs in a sale's thread.
                from printing.escpos_render import render_escpos

                pr = self.settings.printer
                data = render_escpos(doc, profile=pr.profile, native_qr=pr.native_qr)
                with self._lock:
                    self._db.execute("update jobs set data = ? where id = ?", (data, job_id))
            self.transport.send(data, doc, job_name(job_id, kind, serial, duplicate))
        except TransportError as exc:
            PRINT_WRITES.labels("transport_error").inc()
            with self._cond:
                self._failures += 1
                delay = min(self.settings.printer.retry_max_s,
                            self.settings.printer.retry_initial_s * 2 ** (self._failures - 1))
                self._retry_at = time.monotonic() + delay
                self._online = False
                self._last_error = str(exc)
                if not self._db.execute("delete from jobs where id = ? and withdrawn = 1",
                                        (job_id,)).rowcount:
                    self._db.execute("update jobs set state = 'queued', last_error = ?"
                                     " where id = ?", (str(exc), job_id))
                self._cond.notify_all()
            log.warning("printer write failed; job stays queued",
                        extra={"job": job_id, "error": str(exc), "retry_in_s": delay})
        except Exception as exc:
            PRINT_WRITES.labels("failed").inc()
            with self._cond:
                self._last_error = f"{type(exc).__name__}: {exc}"
                self._db.execute("update jobs set state = 'failed', last_error = ? where id = ?",
                                 (self._last_error, job_id))
                self._cond.notify_all()
            log.exception("print job failed permanently", extra={"job": job_id})
        else:
            PRINT_WRITES.labels("printed").inc()
            with self._cond:
                self._failures = 0
                self._retry_at = 0.0
                self._online = True
                self._last_error = None
                self._db.execute("update jobs set state = 'printed', printed_at = ?, data = null,"
                                 " reported = ? where id = ?",
                                 (time.time(), 0 if kind == "ticket" else 1, job_id))
                self._cond.notify_all()
        self._changed()

    def _unreported(self) -> bool:
        if self.ctx is None:
            return False
        return self._db.execute("select exists (select 1 from jobs where state = 'printed'"
                                " and reported = 0)").fetchone()[0] == 1

    def _report_printed(self) -> None:
        """Count printed copies on the tickets (core.record_printed), outside the lock so
        a slow or unreachable database never delays a submit; retried every 30 s."""
        from core.tickets.views import record_printed

        ctx = self.ctx
        if ctx is None:
            return
        with self._lock:
            rows = self._db.execute(
                "select id, serial, report_key from jobs where state = 'printed'"
                " and reported = 0 order by id limit 50").fetchall()
        for job_id, serial, key in rows:
            try:
                if serial is not None:
                    record_printed(ctx, self._terminal_actor(), key, [serial])
            except Exception as exc:
                log.warning("could not count printed ticket; will retry",
                            extra={"serial": serial, "error": str(exc)})
                with self._lock:
                    self._report_at = time.monotonic() + 30.0
                return
            with self._lock:
                self._db.execute("update jobs set reported = 1 where id = ?", (job_id,))


def start_spooler(ctx: Any, settings: Settings | None = None, *,
                  on_change: Callable[[SpoolerState], Any] | None = None,
                  actor: Any | None = None) -> Spooler:
    """The spooler an app runs: the configured printer, counting prints through core."""
    return Spooler(settings or ctx.settings, on_change=on_change, ctx=ctx, actor=actor)
