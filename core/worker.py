"""The background worker: sweeps expired holds (and, once payments exist, recovers
stuck sales) on a fixed interval until stopped."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.actors import system_actor
from core.context import CoreContext
from core.reservation import expire_holds

if TYPE_CHECKING:
    from core.sales.reconcile import ReconcileWaker

log = logging.getLogger(__name__)

# Other core modules register periodic jobs here (e.g. stuck-sale recovery).
JOBS: list[Callable[[CoreContext], object]] = []


def _recover_stuck_sales(ctx: CoreContext) -> object:
    # Imported per pass so the worker module stays light to import.
    from core.sales import recover_stuck_sales

    return recover_stuck_sales(ctx)


JOBS.append(_recover_stuck_sales)


def _pricing_job() -> Callable[[CoreContext], object]:
    from core.pricing import PricingJob

    return PricingJob()


JOBS.append(_pricing_job())


def _database_metrics(ctx: CoreContext) -> object:
    # Site-wide metrics only the database knows (sales today, heartbeats, replication lag).
    from core.dbmetrics import refresh

    return refresh(ctx)


JOBS.append(_database_metrics)


def _deliver_outbox(ctx: CoreContext) -> object:
    # Messages to RabbitMQ and customers' emails, written by the services (core.outbox).
    from core.outbox.job import deliver_outbox

    return deliver_outbox(ctx)


JOBS.append(_deliver_outbox)


def _history_partitions() -> Callable[[CoreContext], object]:
    # The sales history's monthly partitions, kept three months ahead (core.reports).
    from core.reports.history import PartitionJob

    return PartitionJob()


JOBS.append(_history_partitions())


def _reconcile_payments() -> Callable[[CoreContext], object]:
    # Every card order a terminal confirmed, checked against the gateway: an invented
    # authorization voids its tickets within a pass (core.sales.reconcile).
    from core.sales.reconcile import ReconcileJob

    return ReconcileJob()


JOBS.append(_reconcile_payments())


def run_worker(ctx: CoreContext, *, once: bool = False, interval_s: float = 2.0) -> int:
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    actor = system_actor(ctx.engine, "worker")
    from core import metrics

    metrics.serve(ctx.settings.metrics.port)
    waker = None if once else _reconcile_waker(ctx)
    while not stop.is_set():
        try:
            n = expire_holds(ctx, actor)
            if n:
                log.info("expired holds", extra={"count": n})
        except Exception:
            log.exception("worker pass failed; retrying next interval")
        for job in JOBS:
            # One failing job (metrics, pricing) must not stop the others: the outbox
            # delivers customers' emails and the casino's events every pass.
            try:
                job(ctx)
            except Exception:
                log.exception("worker job %s failed; retrying next interval",
                              getattr(job, "__name__", type(job).__name__))
        if once:
            break
        stop.wait(interval_s)
    if waker is not None:
        waker.stop()
    return 0


def _reconcile_waker(ctx: CoreContext) -> ReconcileWaker | None:
    # A card check falling due wakes a pass at once (the database notifies): a forged
    # sale's tickets are void within a gateway round trip, not up to a periodic pass later.
    from core.errors import BoxOfficeError
    from core.sales.reconcile import ReconcileWaker

    try:
        return ReconcileWaker(ctx).start()
    except BoxOfficeError:
        log.exception("reconcile waker not started; the periodic pass still runs")
        return None
