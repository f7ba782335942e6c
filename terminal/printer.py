"""The terminal's printer: its state for the header and heartbeat, printing a sale and
reprinting at the counter, and the kiosk's print-and-wait.

Printing never undoes a sale: it is committed before the spooler is asked, and a printer
problem becomes a state line, not an error."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

from core.errors import BoxOfficeError
from core.language import language, normalize
from terminal.base import SessionBase

if TYPE_CHECKING:
    from printing.spooler import Spooler
    from terminal.results import Approval, SaleOutcome

log = logging.getLogger("terminal")


class PrinterStatus(SessionBase):
    def printer_state(self) -> str:
        if self.spooler is None:
            return "none"
        try:
            return self.spooler.state().message(language())
        except Exception:
            return "?"

    def printer_online(self) -> bool | None:
        return None if self.spooler is None else self.spooler.state().online

    def queue_depth(self) -> int:
        return len(self.spooler.pending()) if self.spooler is not None else 0

    def _spooler(self) -> Spooler:
        if self.spooler is None:
            # No spooler started on this terminal: nothing can print here.
            raise BoxOfficeError("printer_offline", waiting=0)
        return self.spooler


class CounterPrinting(PrinterStatus):
    def _print(self, outcome: SaleOutcome) -> SaleOutcome:
        spooler = self.spooler
        if spooler is None:
            return replace(outcome, print_state="none")
        lang = language()
        try:
            jobs = spooler.print_order(uuid.UUID(outcome.order_id), lang=lang)
            state = spooler.state().message(lang)
        except Exception as exc:  # the sale is committed; the spooler catches up later
            log.exception("print after sale failed")
            state = exc.message(lang) if isinstance(exc, BoxOfficeError) else "offline"
            jobs = []
        return replace(outcome, print_state=state, print_jobs=tuple(jobs))

    def reprint(self, order_id: str, approval: Approval | None = None) -> str:
        spooler = self._spooler()
        sup = approval.operator if approval is not None and approval.login else None
        spooler.reprint_order(uuid.UUID(order_id), uuid.uuid4(), supervisor=sup,
                              actor=self.actor, reason=approval.reason if approval else "")
        return spooler.state().message(language())


class KioskPrinting(PrinterStatus):
    def printer_health(self) -> str:
        """ok | offline | failed | none, from the spooler's last write: never a status
        query to the printer (unreliable, and slow on some models)."""
        if self.spooler is None:
            return "none"
        st = self.spooler.state()
        if st.online is False:
            return "offline"
        if st.failed and st.last_error:
            # A job that can never print and nothing printed since: misconfigured printer.
            return "failed"
        return "ok"

    def print_tickets(self, order_id: uuid.UUID, lang: str) -> list[int]:
        # The customer's language (pt-BR, en or es), not the kiosk's default.
        return list(self._spooler().print_order(order_id, lang=normalize(lang)))

    def withdraw_print(self, order_id: uuid.UUID) -> int:
        """The customer was sent to the counter: those tickets must not print here later."""
        return 0 if self.spooler is None else self.spooler.withdraw_order(order_id)

    def wait_printed(self, job_ids: list[int], timeout_s: float) -> bool:
        """True once every job printed; False as soon as the printer refuses one (the
        spooler keeps it queued and retries) or when ``timeout_s`` passes."""
        spooler = self.spooler
        if spooler is None or not job_ids:
            return False
        deadline = time.monotonic() + timeout_s
        while True:
            jobs = [spooler.job(j) for j in job_ids]
            states = [j.state if j is not None else "failed" for j in jobs]
            if all(s == "printed" for s in states):
                return True
            if "failed" in states or spooler.state().online is False:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            # Wakes when the queue empties (or after a short slice to re-read the states).
            spooler.wait_idle(min(left, 0.1))
