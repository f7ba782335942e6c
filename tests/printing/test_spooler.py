"""The spooler against real transports: a preview folder, a TCP socket that is closed
and then listens, a USB printer with no driver; persistence and reprints.

The spooler counts prints and reprints on its terminal's own login (counter-1's,
``seller_ctx``; counter-saga's for the saga's sale); the owner's ``ctx`` reads."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text

from core import audit
from core.actors import OperatorInfo, authenticate
from core.errors import BoxOfficeError
from core.tickets import ticket_views
from printing.document import Document
from printing.escpos_render import render_escpos
from printing.model import receipt_for
from printing.spooler import Spooler, SpoolerState
from tests.conftest import make_settings
from tests.printing.conftest import sell
from tests.printing.helpers import CountingPrinter, closed_port, decode_qr


class Watch:
    """Collects on_change states; waits for one that matches, without sleeping."""

    def __init__(self) -> None:
        self.states: list[SpoolerState] = []
        self._cond = threading.Condition()

    def __call__(self, st: SpoolerState) -> None:
        with self._cond:
            self.states.append(st)
            self._cond.notify_all()

    def wait_for(self, pred, timeout: float = 15.0) -> SpoolerState:
        with self._cond:
            ok = self._cond.wait_for(lambda: any(pred(s) for s in self.states), timeout)
        assert ok, f"no state matched; saw {self.states[-3:]}"
        return next(s for s in self.states if pred(s))


def _settings(db_url, tmp, url, **kw):
    return make_settings(db_url, tmp, printer__url=url, **kw)


def _views(ctx, counter, n=2):
    order, _ = sell(ctx, counter, seats=n)
    return ticket_views(ctx.engine, order_id=order.order_id)


def test_preview_writes_scannable_png_and_bytes_and_counts_prints(ctx, counter, db_url,
                                                                   tmp_path, seller_ctx):
    views = _views(ctx, counter)
    folder = tmp_path / "preview"
    watch = Watch()
    with Spooler(_settings(db_url, tmp_path, f"preview://{folder}"), on_change=watch,
                 ctx=seller_ctx, actor=counter) as sp:
        ids = sp.submit_order(views, receipt_for(views, "cash", tendered_minor=50_000))
        assert len(ids) == 3
        assert sp.wait_idle(30)
        sp.flush_reports()
        assert sp.pending() == [] and sp.state().online is True
    pngs = sorted(folder.glob("*-ticket-*.png"))
    assert len(pngs) == 2 and len(list(folder.glob("*-receipt.png"))) == 1
    assert sorted(t for p in pngs for t in decode_qr(p)) == sorted(v.token for v in views)
    raw = (folder / pngs[0].name.replace(".png", ".bin")).read_bytes()
    assert raw.startswith(b"\x1b@") and b"\x1dv0" in raw
    assert b"\x1bp" in next(folder.glob("*-receipt.bin")).read_bytes()  # cash: drawer
    with ctx.engine.connect() as c:
        counts = c.execute(text("select print_count from tickets where serial = any(:s)"),
                           {"s": [v.serial for v in views]}).scalars().all()
    assert counts == [1, 1]
    assert watch.wait_for(lambda s: s.waiting == 0 and s.online).message("en") == "Printer ready"


def test_closed_port_keeps_job_queued_then_delivers_exactly_once(ctx, counter, db_url,
                                                                 tmp_path):
    views = _views(ctx, counter, 1)
    port = closed_port()
    watch = Watch()
    sp = Spooler(_settings(db_url, tmp_path, f"tcp://127.0.0.1:{port}",
                           printer__timeout_s=2.0), on_change=watch)
    printer = None
    try:
        [job] = sp.submit_order(views)
        offline = watch.wait_for(lambda s: s.online is False and s.queued == 1)
        assert offline.tickets_waiting == 1 and "refused" in (offline.last_error or "").lower()
        assert offline.message("en") == "Printer offline: 1 ticket(s) waiting."
        assert offline.message("pt-BR") == "Impressora offline: 1 ingresso(s) aguardando."
        assert sp.job(job).state == "queued" and sp.job(job).attempts >= 1
        doc = Document.from_json(__import__("json").loads(
            sp._db.execute("select document from jobs where id = ?", (job,)).fetchone()[0]))
        printer = CountingPrinter(port)
        sp.retry_now()
        watch.wait_for(lambda s: s.online is True and s.waiting == 0)
        assert printer.got_job.wait(10)
        assert sp.job(job).state == "printed"
        sp.retry_now()  # nothing left to send: must not resend
        assert sp.wait_idle(5)
    finally:
        sp.close()
        if printer:
            printer.close()
    expected = render_escpos(doc, profile=sp.settings.printer.profile)
    assert len(printer.received) == 1
    assert len(printer.received[0]) == len(expected) and printer.received[0] == expected


def test_jobs_survive_a_restart(ctx, counter, db_url, tmp_path):
    views = _views(ctx, counter, 1)
    folder = tmp_path / "pv"
    settings = _settings(db_url, tmp_path, f"preview://{folder}")
    first = Spooler(settings, start=False)  # the process dies before the worker ran
    first.submit_order(views)
    first.close()
    assert not folder.exists()
    with Spooler(settings) as second:
        assert second.wait_idle(30)
    assert len(list(folder.glob("*-ticket-*.png"))) == 1


def test_job_that_can_never_print_is_failed_not_blocking(ctx, counter, db_url, tmp_path):
    views = _views(ctx, counter, 1)
    watch = Watch()
    with Spooler(_settings(db_url, tmp_path, "usb://04b8:0e15"), on_change=watch) as sp:
        [job] = sp.submit_order(views)
        st = watch.wait_for(lambda s: s.failed == 1)
        assert st.waiting == 0 and sp.job(job).state == "failed"
        assert "usb" in (sp.job(job).last_error or "")
        assert [j.state for j in sp.pending()] == ["failed"]


def test_reprint_is_duplicate_counted_audited_and_needs_supervisor_after_first(
        ctx, counter, db_url, tmp_path, seller_ctx):
    [view] = _views(ctx, counter, 1)
    folder = tmp_path / "dup"
    with Spooler(_settings(db_url, tmp_path, f"preview://{folder}"), ctx=seller_ctx,
                 actor=counter) as sp:
        first_key = uuid.uuid4()
        job = sp.reprint(view.serial, first_key, reason="paper jam")
        assert sp.reprint(view.serial, first_key, reason="paper jam") == job  # double click
        with pytest.raises(BoxOfficeError) as exc:
            sp.reprint(view.serial, uuid.uuid4())
        assert exc.value.code == "supervisor_required"
        cashier = OperatorInfo(0, "ana", "Ana", "cashier")
        with pytest.raises(BoxOfficeError):
            sp.reprint(view.serial, uuid.uuid4(), supervisor=cashier)
        carla = authenticate(seller_ctx.engine, "carla", "9999")  # typed at this counter
        key = uuid.uuid4()
        sp.reprint(view.serial, key, supervisor=carla)
        assert sp.wait_idle(30)
    names = sorted(p.name for p in folder.glob("*.png"))
    assert [n.split("-", 1)[1] for n in names] == [
        f"ticket-{view.serial}-DUPLICATE1.png", f"ticket-{view.serial}-DUPLICATE2.png"]
    assert all(decode_qr(folder / n) == [view.token] for n in names)
    with ctx.engine.connect() as c:
        count = c.execute(text("select reprint_count from tickets where serial = :s"),
                          {"s": view.serial}).scalar_one()
        audits = c.execute(text("select payload from audit_log where action = 'reprint_ticket'"
                                " and payload like :p"), {"p": f'%"{view.serial}"%'}).all()
    assert count == 2 and len(audits) == 2 and "carla" in audits[1].payload
    assert audit.verify(ctx.engine)[1] == []  # the hash chains still hold


def test_app_facing_api_print_order_state_and_pending(ctx, counter, db_url, tmp_path,
                                                      seller_ctx):
    order, _ = sell(ctx, counter, seats=2)
    folder = tmp_path / "app"
    sp = Spooler(_settings(db_url, tmp_path, f"preview://{folder}"), ctx=seller_ctx,
                 actor=counter, start=False)
    try:
        # The counter's cash sale left its record: two tickets and the receipt.
        ids = sp.print_order(order.order_id)
        assert len(ids) == 3
        assert len(sp.pending()) == 3
        assert sp.state().tickets_waiting == 2 and sp.state().queued == 3
        assert "3" in str(sp.state())  # the status line (its queue), in the language
        sp.start()
        assert sp.wait_idle(30)
        assert len(sp.pending()) == 0 and str(sp.state()) == "Impressora pronta"
        dup = sp.reprint_order(order.order_id, uuid.uuid4())
        assert len(dup) == 2 and sp.wait_idle(30)
    finally:
        sp.close()
    assert len(list(folder.glob("*DUPLICATE1.png"))) == 2
    assert len(list(folder.glob("*-receipt.png"))) == 1  # a reprint is tickets only


def test_real_cash_sale_through_the_saga_prints_tickets_and_a_drawer_kick(ctx, db_url,
                                                                         tmp_path,
                                                                         terminal_logins):
    """The payments saga issues the tickets in its confirm transaction; print_order then
    builds the receipt from the sale's record (cash: tendered, change, drawer kick)."""
    from core.reservation import hold_best_available
    from core.sales import CashTender, checkout, open_shift
    from tests.printing.conftest import event_id

    saga = terminal_logins.context("counter-saga", "cashier", ctx.settings)
    op = authenticate(saga.engine, "bruno", "2345")  # bruno signs in at that counter
    actor = terminal_logins.actor("counter-saga", "cashier", op.id, op.role)
    open_shift(saga, actor, uuid.uuid4(), 10_000)
    hold = hold_best_available(saga, actor, uuid.uuid4(), event_id(ctx, "COMEDIA-HOJE"), 2)
    sale = checkout(saga, actor, uuid.uuid4(), hold.hold_id,
                    CashTender(hold.total_minor + 1_000))
    assert len(sale.ticket_serials) == 2
    folder = tmp_path / "saga"
    with Spooler(_settings(db_url, tmp_path, f"preview://{folder}"), ctx=saga,
                 actor=actor) as sp:
        assert len(sp.print_order(sale.order.order_id)) == 3
        assert sp.wait_idle(30)
    receipt = next(folder.glob("*-receipt.bin")).read_bytes()
    assert b"\x1bp" in receipt  # cash: the drawer opens
    assert b"10,00" in receipt  # the change (R$ 10,00) is printed
    tokens = sorted(t for p in folder.glob("*-ticket-*.png") for t in decode_qr(p))
    views = ticket_views(ctx.engine, order_id=sale.order.order_id)
    assert tokens == sorted(v.token for v in views)
    assert {v.serial for v in views} == set(sale.ticket_serials)
