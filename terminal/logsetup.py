"""Logs go to a JSON-lines file before any screen starts: the TUI owns the terminal, so
nothing may be written to stdout/stderr while it runs.

Every line carries what is bound in structlog's contextvars (a sale's ``sale_id``,
``terminal``, ``operator_id``: core.sales.saga binds them) and a stdlib call's
``extra=`` fields, so one sale can be followed through the file. Nothing that identifies
a customer or unlocks a login reaches the file: keys named like an email or a PIN are
dropped and email addresses in any text are masked. The file rotates by size (the
shipper, deploy/loki/promtail.yml, also reads ``boxoffice.jsonl.1``)."""

from __future__ import annotations

import logging
import re
from logging.handlers import RotatingFileHandler
from pathlib import Path

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

MAX_BYTES = 50 * 1024 * 1024
BACKUPS = 5

_SECRET_KEYS = ("email", "pin", "password", "passwd", "secret", "token", "contact")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def scrub(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Drop fields named like a secret or an address; mask addresses in text."""
    for key in list(event):
        low = key.lower()
        if any(low == s or low.endswith("_" + s) for s in _SECRET_KEYS):
            del event[key]
            continue
        value = event[key]
        if isinstance(value, str) and "@" in value:
            event[key] = _EMAIL.sub("<email>", value)
    return event


def configure(log_file: Path, level: str = "INFO", *, max_bytes: int = MAX_BYTES,
              backups: int = BACKUPS) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, scrub, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = RotatingFileHandler(log_file, maxBytes=max_bytes, backupCount=backups,
                                  encoding="utf-8")
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    scrub,
                    structlog.processors.JSONRenderer(default=str)],
        # ExtraAdder: a stdlib call's extra={...} fields become JSON fields.
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
    ))
    root = logging.getLogger()
    target = str(log_file.resolve())
    if any(isinstance(h, logging.FileHandler) and h.baseFilename == target
           for h in root.handlers):
        handler.close()
        return  # already set up (the CLI configures before starting the app)
    for h in list(root.handlers):
        # A stream handler would draw over the screen.
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
            root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
