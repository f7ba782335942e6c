"""The worker's database metrics (core.dbmetrics) on a real database: a sale shows in
today's sales, a heartbeat in the terminal ages, the oversell detector reads 0, and a
refresh is rate-limited. The metrics are read on a worker login (where ``boxoffice
worker`` reads them); the counter sells and beats on its own cashier login."""

from __future__ import annotations

import uuid

import pytest

from core import dbmetrics
from core.heartbeat import beat
from core.reservation import hold_best_available
from core.sales import CashTender, checkout, open_shift
from tests.payments.conftest import (  # noqa: F401
    cashier,
    cashier_pctx,
    event_id,
    operator_id,
    pctx,
    sandbox,
)


@pytest.fixture(scope="module")
def worker_ctx(pctx, terminal_logins):  # noqa: F811
    """The worker's own context (its worker login)."""
    return terminal_logins.context("metrics-worker", "worker", pctx.settings)


def _value(gauge, **labels) -> float:
    for fam in gauge.collect():
        for s in fam.samples:
            if all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    raise KeyError(labels)


def test_a_cash_sale_shows_in_todays_sales(pctx, cashier, cashier_pctx,  # noqa: F811
                                           worker_ctx):
    assert dbmetrics.refresh(worker_ctx, force=True)
    before = _value(dbmetrics.SALES_TODAY, channel="counter", tender="cash") \
        if any(f.samples for f in dbmetrics.SALES_TODAY.collect()) else 0
    open_shift(cashier_pctx, cashier, uuid.uuid4(), 0)
    h = hold_best_available(cashier_pctx, cashier, uuid.uuid4(), event_id(pctx, "SINATRA"), 2)
    checkout(cashier_pctx, cashier, uuid.uuid4(), h.hold_id, CashTender(h.total_minor))
    assert dbmetrics.refresh(worker_ctx, force=True)
    assert _value(dbmetrics.UP) == 1
    assert _value(dbmetrics.SALES_TODAY, channel="counter", tender="cash") == before + 1
    assert _value(dbmetrics.SALES_AMOUNT_TODAY, channel="counter", tender="cash",
                  currency="BRL") >= h.total_minor
    assert _value(dbmetrics.OVERSOLD) == 0
    assert _value(dbmetrics.STUCK_SALES) == 0
    assert _value(dbmetrics.IS_STANDBY) == 0


def test_terminal_heartbeat_age_and_refresh_rate(pctx, cashier, cashier_pctx,  # noqa: F811
                                                 worker_ctx):
    beat(cashier_pctx.engine, cashier.terminal_id, {})
    assert dbmetrics.refresh(worker_ctx, force=True)
    age = _value(dbmetrics.HEARTBEAT_AGE, terminal=cashier.terminal_name)
    assert 0 <= age < 60
    assert dbmetrics.refresh(worker_ctx) is False  # read a moment ago: not again


def test_statements_are_timed_and_lock_timeouts_counted(ctx):
    import pytest
    from sqlalchemy import text

    from core import metrics

    def count() -> float:
        return next(s.value for f in metrics.STATEMENT_SECONDS.collect() for s in f.samples
                    if s.name.endswith("_count"))

    before = count()
    with ctx.engine.connect() as c:
        c.execute(text("select 1"))
    assert count() >= before + 1
    def timeouts() -> float:
        return next((s.value for f in metrics.DB_ERRORS.collect() for s in f.samples
                     if s.labels.get("sqlstate") == "55P03" and s.name.endswith("_total")), 0.0)
    t0 = timeouts()
    with ctx.engine.connect() as holder, ctx.engine.connect() as waiter:
        holder.execute(text("select id from events order by id limit 1 for update"))
        waiter.execute(text("set lock_timeout = '50ms'"))
        with pytest.raises(Exception):  # noqa: B017 - whatever the engine maps it to
            waiter.execute(text("select id from events order by id limit 1 for update"))
        holder.rollback()
    assert timeouts() == t0 + 1
