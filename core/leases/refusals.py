"""The lease functions' refusals (migration 0014) as BoxOfficeErrors: the message is the
catalogue code, the detail its placeholders as JSON."""

from __future__ import annotations

import json
from typing import NoReturn

from sqlalchemy.exc import DBAPIError

from core.actors import raise_refusal
from core.errors import BoxOfficeError

CODES = frozenset({
    "unknown_lease", "foreign_lease", "lease_not_active", "event_canceled", "invalid_input",
    "leased_seat_gone", "lease_exhausted", "amount_mismatch", "lease_needs_supervisor",
})


def _diag(exc: DBAPIError) -> tuple[str, str]:
    diag = getattr(exc.orig, "diag", None)
    return (getattr(diag, "message_primary", None) or "",
            getattr(diag, "message_detail", None) or "")


def _details(detail: str) -> dict:
    try:
        got = json.loads(detail) if detail.startswith("{") else {}
    except ValueError:
        got = {}
    return got if isinstance(got, dict) else {}


def claim_stage(exc: DBAPIError) -> str | None:
    """Which claim of ``bo_take_lease`` found nothing (section, event, seats, best, ga), so
    the caller can explain why; None for any other error."""
    primary, detail = _diag(exc)
    if primary != "lease_claim_failed":
        return None
    return str(_details(detail).get("stage") or "event")


def raise_lease_refusal(exc: DBAPIError) -> NoReturn:
    """Raise the BoxOfficeError a lease function's refusal stands for; a permission
    refusal as database_refused; anything else (a lost database) as it came."""
    primary, detail = _diag(exc)
    if primary in CODES:
        details = _details(detail)
        if primary == "invalid_input" and "detail" not in details:
            details = {"detail": detail or primary}
        raise BoxOfficeError(primary, **details) from None
    raise_refusal(exc)
