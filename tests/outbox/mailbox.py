"""What the counter's and the kiosk's email tests share: a real SMTP server on loopback
(aiosmtpd), the worker on its own database login delivering the outbox to it, the QR
codes read back from the attached tickets, and every log record kept to look for an
address in."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

import zxingcpp
from aiosmtpd.controller import Controller
from PIL import Image

from config import Settings
from config.settings import MailSettings
from core.app_context import CoreContext
from tests.logins import TerminalLogins
from tests.outbox.conftest import MailHandler, free_port


@contextmanager
def mail_server() -> Iterator[tuple[MailHandler, int]]:
    handler = MailHandler()
    port = free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield handler, port
    finally:
        ctl.stop()


def worker_context(logins: TerminalLogins, settings: Settings, port: int,
                   name: str) -> CoreContext:
    """The worker (login of kind worker) with the loopback mail server and no broker."""
    from printing.eticket import install

    install()  # the worker's ticket pictures (boxoffice worker installs them the same way)
    s = settings.model_copy(update={"mail": MailSettings(
        host="127.0.0.1", port=port, starttls=False, sender="Box Office <bo@casino.test>")})
    return logins.context(name, "worker", s)


def deliver(wctx: CoreContext) -> Any:
    from core.outbox.job import deliver_outbox

    return deliver_outbox(wctx)


def mails_to(handler: MailHandler, address: str) -> list[EmailMessage]:
    return [m for m in handler.messages if m["To"] == address]


def qr_tokens(msg: EmailMessage) -> list[str]:
    """The QR codes of every picture attached to ``msg``."""
    out = []
    for part in msg.iter_attachments():
        img = Image.open(io.BytesIO(part.get_content()))
        out += [r.text for r in zxingcpp.read_barcodes(img)
                if r.format == zxingcpp.BarcodeFormat.QRCode]
    return sorted(out)


class KeepAll(logging.Handler):
    """Every record of every logger, with everything it carries (message, arguments,
    extras, exception text), as one string each."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    # The test's own SMTP server (aiosmtpd logs every command it reads) is not ours.
    FOREIGN = ("mail.log", "aiosmtpd")

    def emit(self, record: logging.LogRecord) -> None:
        import structlog

        if record.name.startswith(self.FOREIGN):
            return

        # What structlog would add to the line (a sale's bound context) too.
        text = record.getMessage() + " " + repr(vars(record)) + " " + \
            repr(structlog.contextvars.get_contextvars())
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.records.append(text)


@contextmanager
def all_logs() -> Iterator[KeepAll]:
    root = logging.getLogger()
    keep = KeepAll()
    old = root.level
    root.addHandler(keep)
    root.setLevel(logging.DEBUG)
    try:
        yield keep
    finally:
        root.removeHandler(keep)
        root.setLevel(old)
