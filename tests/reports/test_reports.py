"""Reports match the orders and refunds tables to the cent, for every dimension, gross and
net; occupancy over time and the price path; the CLI in table, CSV and Parquet."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from core.errors import BoxOfficeError
from core.pricing import apply_pricing
from core.reports import BY, occupancy, price_path, sales_report
from core.sales import CardTender, CashTender, checkout, open_shift, refund
from tests.payments.conftest import hold, operator_id


@pytest.fixture(scope="module")
def history(pctx, kiosk_pctx, kiosk, terminal_logins):
    """Sales at two counters and a kiosk, over several events, and two refunds: each
    terminal on its own login (the counters with their drawers open, the pricing job on
    a worker login); the reports read with the owner's ``pctx``."""
    counters = []
    for name, login in (("rep-counter-1", "ana"), ("rep-counter-2", "bruno")):
        a = terminal_logins.actor(name, "cashier", operator_id(pctx, login), "cashier")
        own = terminal_logins.new_context(name, "cashier", pctx.settings, pool_size=2,
                                          gateway=pctx.gateway)
        open_shift(own, a, uuid.uuid4(), 100_000)
        counters.append((own, a))
    sales = []
    for i, code in enumerate(["SINATRA", "MAGICA", "COMEDIA-HOJE", "SINATRA", "POKER-OPEN"]):
        own, a = counters[i % 2]
        if code == "POKER-OPEN":
            from core.reservation import availability, hold_general_admission
            from tests.payments.conftest import event_id

            ev = event_id(pctx, code)
            h = hold_general_admission(own, a, uuid.uuid4(), ev,
                                       availability(pctx.engine, ev).ga[0].section_id, 3)
        else:
            h = hold(own, a, code, 1 + i % 3)
        sales.append(checkout(own, a, uuid.uuid4(), h.hold_id, CashTender(h.total_minor)))
        hk = hold(kiosk_pctx, kiosk, code if code != "POKER-OPEN" else "MAGICA", 2)
        sales.append(checkout(kiosk_pctx, kiosk, uuid.uuid4(), hk.hold_id,
                              CardTender("pm_card_visa")))
    refund(*counters[0], uuid.uuid4(), sales[0].order.order_id,
           reason_code="customer_request")
    lines = sales[2].order.lines
    refund(*counters[1], uuid.uuid4(), sales[2].order.order_id,
           reason_code="customer_request", line_ids=[lines[0].line_id])
    apply_pricing(terminal_logins.context("rep-worker", "worker", pctx.settings),
                  terminal_logins.actor("rep-worker", "worker"))
    return sales


def _window():
    now = datetime.now(UTC)
    return now - timedelta(days=1), now + timedelta(days=1)


def _orders_total(pctx, start, end) -> dict[str, int]:
    with pctx.engine.connect() as c:
        return {r.currency: int(r.total) for r in c.execute(text(
            "select currency, sum(total_minor) as total from orders where status <> 'canceled'"
            " and created_at >= :s and created_at < :e group by currency"),
            {"s": start, "e": end})}


def _refunds_total(pctx, start, end) -> dict[str, int]:
    with pctx.engine.connect() as c:
        return {r.currency: int(r.total) for r in c.execute(text(
            "select currency, sum(amount_minor) as total from refunds"
            " where created_at >= :s and created_at < :e group by currency"),
            {"s": start, "e": end})}


@pytest.mark.parametrize("by", BY)
def test_every_dimension_adds_up_to_the_orders_table(pctx, history, by):
    start, end = _window()
    rows = sales_report(pctx.engine, start, end, by, net=True, tz="America/Sao_Paulo")
    assert rows
    gross: dict[str, int] = {}
    back: dict[str, int] = {}
    for r in rows:
        gross[r.currency] = gross.get(r.currency, 0) + r.gross_minor
        back[r.currency] = back.get(r.currency, 0) + r.refunds_minor
    assert gross == _orders_total(pctx, start, end)
    assert back == _refunds_total(pctx, start, end)
    assert sum(r.refunds_minor for r in rows) > 0


def test_groups_match_the_orders_table_per_group(pctx, history):
    start, end = _window()
    with pctx.engine.connect() as c:
        per_event = {str(r.event_id): int(r.total) for r in c.execute(text(
            "select event_id, sum(total_minor) as total from orders"
            " where status <> 'canceled' group by event_id"))}
        per_terminal = {str(r.terminal_id): (int(r.n), int(r.total)) for r in c.execute(text(
            "select terminal_id, count(*) as n, sum(total_minor) as total from orders"
            " where status <> 'canceled' group by terminal_id"))}
    assert {r.key: r.gross_minor for r in sales_report(pctx.engine, start, end, "event")} \
        == per_event
    assert {r.key: (r.orders, r.gross_minor)
            for r in sales_report(pctx.engine, start, end, "terminal")} == per_terminal
    tenders = {r.key: r.gross_minor for r in sales_report(pctx.engine, start, end, "tender")}
    assert set(tenders) == {"cash", "card"}


def test_gross_report_has_no_refunds_and_a_period_without_sales_is_empty(pctx, history):
    start, end = _window()
    assert all(r.refunds_minor == 0 for r in sales_report(pctx.engine, start, end, "day"))
    assert sales_report(pctx.engine, start - timedelta(days=30), start - timedelta(days=29),
                        "day") == []


def test_bad_input_is_a_clear_error(pctx):
    start, end = _window()
    for args, code in (((end, start, "day"), "report_range_invalid"),
                       ((start, end, "weekday"), "invalid_input"),
                       ((start.replace(tzinfo=None), end, "day"), "report_range_invalid")):
        with pytest.raises(BoxOfficeError) as e:
            sales_report(pctx.engine, *args)
        assert e.value.code == code
    with pytest.raises(BoxOfficeError) as e:
        occupancy(pctx.engine, "NO-SUCH-EVENT")
    assert e.value.code == "unknown_event"


def test_occupancy_over_time_ends_at_what_is_sold_now(pctx, history):
    points = occupancy(pctx.engine, "SINATRA", tz="America/Sao_Paulo")
    with pctx.engine.connect() as c:
        ev = c.execute(text("select id from events where code = 'SINATRA'")).scalar_one()
        sold_now = c.execute(text("select count(*) from event_seats where event_id = :e"
                                  " and status = 'sold'"), {"e": ev}).scalar_one()
        seats = c.execute(text("select count(*) from event_seats where event_id = :e"),
                          {"e": ev}).scalar_one()
    assert points and points[-1].occupied == sold_now and points[-1].capacity == seats
    assert sum(p.returned for p in points) >= 1  # the refund gave places back


def test_price_path_lists_the_changes(pctx, history):
    from core.backoffice.prices import price_history

    path = price_path(pctx.engine, "COMEDIA-HOJE")
    assert len(path) == len(price_history(pctx.engine, "COMEDIA-HOJE"))
    assert all(p.old_minor != p.new_minor for p in path)


def _cli(db_url: str, tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n[logging]\nfile = "{tmp_path / "l.jsonl"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env["BOXOFFICE_CONFIG"] = str(cfg)
    return subprocess.run([sys.executable, "-m", "boxoffice_cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_table_csv_parquet(pctx, history, db_url, tmp_path):
    start, end = _window()
    day = (end + timedelta(days=1)).date().isoformat()
    frm = start.date().isoformat()
    out = _cli(db_url, tmp_path, "report", "sales", "--from", frm, "--to", day, "--by",
               "section", "--format", "csv", "--net")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert sum(int(r["gross_minor"]) for r in rows) == sum(_orders_total(pctx, start,
                                                                         end).values())
    assert sum(int(r["net_minor"]) for r in rows) == \
        sum(_orders_total(pctx, start, end).values()) - sum(_refunds_total(pctx, start,
                                                                           end).values())
    table = _cli(db_url, tmp_path, "report", "sales", "--from", frm, "--to", day, "--by",
                 "operator", "--net")
    assert table.returncode == 0 and "Ana Souza" in table.stdout and "total BRL" in table.stdout
    pq_file = tmp_path / "sales.parquet"
    pq = _cli(db_url, tmp_path, "report", "sales", "--from", frm, "--to", day, "--by",
              "hour", "--format", "parquet", "--output", str(pq_file))
    assert pq.returncode == 0, pq.stderr
    import pyarrow.parquet as pqm

    assert sum(pqm.read_table(pq_file).column("gross_minor").to_pylist()) == \
        sum(_orders_total(pctx, start, end).values())
    occ = _cli(db_url, tmp_path, "report", "occupancy", "--event", "SINATRA", "--json")
    assert json.loads(occ.stdout)[-1]["occupied"] >= 1
    bad = _cli(db_url, tmp_path, "report", "sales", "--from", "yesterday", "--to", day)
    assert bad.returncode == 1 and "report_range_invalid" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_history_is_written_by_the_database_into_the_months_partition(pctx, history):
    with pctx.engine.connect() as c:
        parts = dict(c.execute(text(
            "select tableoid::regclass::text, count(*) from sales_history group by 1")).all())
        month = c.execute(text("select to_char(now(), '\"sales_history_y\"YYYY\"m\"MM')")
                          ).scalar_one()
        lines = c.execute(text("select count(*) from order_lines")).scalar_one()
        sold = c.execute(text("select count(*) from sales_history where kind = 'sale'")
                         ).scalar_one()
    assert set(parts) == {month} and sold == lines


def test_history_is_append_only_even_for_the_owner(pctx, history):
    from sqlalchemy.exc import DBAPIError

    for sql in ("update sales_history set amount_minor = 0",
                "delete from sales_history", "truncate sales_history"):
        with pytest.raises(DBAPIError) as e, pctx.engine.begin() as c:
            c.execute(text(sql))
        assert "append-only" in str(e.value.orig)


def test_worker_job_keeps_partitions_ahead(pctx):
    from core.reports.history import PartitionJob

    job = PartitionJob(ahead=6)
    assert job(pctx) == 1 and job(pctx) == 0  # once an hour
    with pctx.engine.connect() as c:
        n = c.execute(text("select count(*) from pg_class where relkind = 'r'"
                           " and relname ~ '^sales_history_y'")).scalar_one()
    assert n >= 7
