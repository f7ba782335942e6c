"""Stuck-sale recovery: finish or compensate the sales nobody is driving any more (a killed
process, a gateway that was down), then push pending refunds through.

It drives the saga (``core.sales.saga``) and the refunds (``core.sales.refunds``) and is
imported by neither, so the two stay free of each other's recovery needs.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from sqlalchemy import text

from core.actors import system_actor
from core.context import CoreContext
from core.errors import BoxOfficeError
from core.payments.gateway import GatewayFailure
from core.sales.refunds import retry_pending_refunds
from core.sales.saga import drive
from core.sales.sale_rows import TakenOver, cas, reload_sale
from core.uow import unit_of_work

log = logging.getLogger(__name__)

_STUCK = text(
    """
    select id from sales
    where state in ('authorizing','authorized','voiding','capturing','reversing')
      and updated_at <= now() - make_interval(secs => :age)
      and (cast(:terminal_id as integer) is null or terminal_id = :terminal_id)
    order by updated_at limit :limit
    """
)


@dataclass
class RecoveryReport:
    examined: int = 0
    completed: int = 0
    voided: int = 0
    reversed: int = 0
    declined: int = 0
    still_stuck: int = 0
    refunds_retried: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


def recover_stuck_sales(ctx: CoreContext, *, older_than_s: float | None = None,
                        terminal_id: int | None = None, limit: int = 500) -> RecoveryReport:
    """Finish or compensate sales nobody is driving any more (killed process, gateway
    down), asking the gateway what really happened by replaying each step's key. Run by
    ``boxoffice worker`` every pass and at terminal start (``terminal_id``)."""
    age = ctx.settings.sales.stuck_after_s if older_than_s is None else older_than_s
    report = RecoveryReport()
    actor = system_actor(ctx.engine, "sale-recovery")
    with ctx.engine.connect() as conn:
        ids = [r.id for r in conn.execute(_STUCK, {"age": age, "terminal_id": terminal_id,
                                                   "limit": limit})]
    for sid in ids:
        report.examined += 1
        sale = reload_sale(ctx, sid)
        try:
            # Claim it: bump the version so a live caller notices and stops acting.
            with unit_of_work(ctx.engine) as conn:
                sale = cas(conn, sale, sale.state)
        except TakenOver:
            continue
        try:
            drive(ctx, actor, sale, True, None, live=False)
        except GatewayFailure:
            report.still_stuck += 1
            continue
        except BoxOfficeError:
            pass
        except Exception:
            log.exception("recovering sale failed", extra={"sale_id": str(sid)})
            report.still_stuck += 1
            continue
        final = reload_sale(ctx, sid).state
        if final in ("completed", "voided", "reversed", "declined"):
            setattr(report, final, getattr(report, final) + 1)
        else:
            report.still_stuck += 1
    # Pending card refunds are every terminal's, so only the worker's pass (no
    # terminal_id) pushes them: a kiosk may not read refunds, and a counter starting up
    # must not take over another counter's refund.
    if terminal_id is None:
        report.refunds_retried = retry_pending_refunds(ctx, older_than_s=age)
    return report
