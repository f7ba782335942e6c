"""Replaying the journal in order against the central database, exactly once.

Each journaled command carries its idempotency key; the central service commits the
key with its effect, so a command applied before a crash returns its first result when
replayed. A command that can no longer apply is flagged (kept, reported to supervisors)
and the replay goes on; a transient failure (database gone, lock timeout) stops the
replay, leaving the command pending for the next attempt.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DBAPIError

from core.actors import Actor
from core.context import CoreContext
from core.errors import BoxOfficeError
from core.leases import (
    PERMANENT,
    LeasedSale,
    confirm_leased_sale,
    confirm_leased_sales,
    record_conflict,
    return_lease,
    set_card_outcome,
)
from sync.journal import Entry, Journal

log = logging.getLogger(__name__)

Progress = Callable[[int, int, Entry], Any]  # (done, total, entry)


@dataclass
class ReplayReport:
    applied: int = 0
    flagged: int = 0
    remaining: int = 0
    stopped_by: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


def _apply(ctx: CoreContext, actor: Actor, entry: Entry) -> dict[str, Any]:
    p = entry.payload
    if entry.command == "confirm_leased_sale":
        sale = LeasedSale.from_json(p)
        who = Actor(actor.terminal_id, actor.terminal_name, sale.operator_id, actor.role,
                    actor.channel)
        return confirm_leased_sale(ctx, who, entry.key, sale).to_json()
    if entry.command == "return_lease":
        return return_lease(ctx, actor, entry.key, p["lease_id"]).to_json()
    if entry.command == "saf_card_outcome":
        return set_card_outcome(ctx, actor, entry.key, p["order_id"],
                                captured=p["captured"], gateway_ref=p.get("gateway_ref"),
                                reason=p.get("reason"), brand=p.get("brand"),
                                last4=p.get("last4"))
    raise BoxOfficeError("invalid_input", detail=f"unknown journaled command {entry.command}")


# Consecutive sales are applied this many to a transaction (see confirm_leased_sales):
# fewer commits and fsyncs, but row locks (a GA counter) are held for the whole batch,
# so batches stay small and a batch that hits a lock timeout is retried one by one.
BATCH = 8


def replay(ctx: CoreContext, actor: Actor, journal: Journal, *,
           progress: Progress | None = None,
           on_applied: Callable[[Entry, dict[str, Any]], Any] | None = None,
           batch: int | None = None) -> ReplayReport:
    batch = batch or BATCH
    report = ReplayReport()
    todo = journal.pending()
    done = 0
    i = 0
    singles_until = 0  # after a failed batch, its commands go one at a time
    while i < len(todo):
        group = [todo[i]]
        if todo[i].command == "confirm_leased_sale" and batch > 1 and i >= singles_until:
            while (i + len(group) < len(todo) and len(group) < batch
                   and todo[i + len(group)].command == "confirm_leased_sale"):
                group.append(todo[i + len(group)])
        try:
            outcomes = _apply_group(ctx, actor, group)
        except (BoxOfficeError, DBAPIError) as exc:
            if len(group) > 1:
                singles_until = i + len(group)
                continue
            if isinstance(exc, DBAPIError):
                journal.note_attempt(group[0].seq, {"code": "database_unavailable",
                                                    "details": {"error": str(exc)[:200]}})
                report.stopped_by = "database_unavailable"
                break
            if exc.code in PERMANENT:
                outcomes = [exc]
            else:
                journal.note_attempt(group[0].seq, exc.to_dict())
                report.stopped_by = exc.code
                break
        applied = [(e, r) for e, r in zip(group, outcomes, strict=True)
                   if not isinstance(r, BoxOfficeError)]
        journal.mark_applied_many([(e.seq, r) for e, r in applied])
        for entry, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, BoxOfficeError):  # permanent: batches raise the rest
                journal.mark_flagged(entry.seq, outcome.to_dict())
                report.flagged += 1
                _report_flag(ctx, actor, journal, entry, outcome)
            else:
                report.applied += 1
                report.results.append(outcome)
                if on_applied is not None:
                    on_applied(entry, outcome)
            done += 1
            if progress is not None:
                progress(done, len(todo), entry)
        i += len(group)
    report.remaining = journal.depth()
    return report


def _apply_group(ctx: CoreContext, actor: Actor,
                 group: list[Entry]) -> list[dict[str, Any] | BoxOfficeError]:
    if len(group) == 1:
        return [_apply(ctx, actor, group[0])]
    got = confirm_leased_sales(ctx, actor, [(e.key, LeasedSale.from_json(e.payload))
                                            for e in group])
    return [g if isinstance(g, BoxOfficeError) else g.to_json() for g in got]


def _report_flag(ctx: CoreContext, actor: Actor, journal: Journal, entry: Entry,
                 exc: BoxOfficeError) -> None:
    try:
        record_conflict(ctx, actor, entry.key, entry.command, entry.payload, exc)
        journal.mark_reported(entry.seq)
    except (BoxOfficeError, DBAPIError):
        log.warning("could not report sync conflict %s yet", entry.key)


def report_flags(ctx: CoreContext, actor: Actor, journal: Journal) -> int:
    """Send flags the central database has not seen yet (after an outage)."""
    n = 0
    for entry in journal.unreported_flags():
        err = entry.last_error or {}
        # from_dict keeps the stored code even if this version no longer declares it.
        exc = BoxOfficeError.from_dict({"code": err.get("code") or "invalid_input",
                                        "details": err.get("details") or {"detail": "flagged"}})
        _report_flag(ctx, actor, journal, entry, exc)
        n += 1
    return n


def new_key() -> uuid.UUID:
    return uuid.uuid4()
