"""``boxoffice report``: sales by hour/day/event/section/tender/terminal/operator (gross
or ``--net`` of refunds) as a table, CSV or Parquet; occupancy over time of an event;
the price path of an event."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime, timedelta
from typing import Any


def _ctx() -> Any:
    from boxoffice_cli.main import _context

    return _context()


def _when(value: str, tz: str, what: str) -> datetime:
    """ISO date or date-time; without an offset it is local time in ``tz``."""
    from zoneinfo import ZoneInfo

    from core.errors import BoxOfficeError

    try:
        ts = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BoxOfficeError("report_range_invalid",
                             detail=f"{what} {value!r} is not a date (YYYY-MM-DD[THH:MM])"
                             ) from exc
    return ts if ts.tzinfo else ts.replace(tzinfo=ZoneInfo(tz))


def _money(minor: int, currency: str) -> str:
    from core.money import format_minor

    return format_minor(minor, currency, "en")


def cmd_sales(args: argparse.Namespace) -> int:
    from core.reports import sales_report
    from core.reports.sales import default_tz

    ctx = _ctx()
    tz = args.tz or default_tz(ctx.engine)
    start = _when(args.start, tz, "--from")
    end = _when(args.end, tz, "--to")
    if len(args.end) == 10:  # a date: the whole day
        end += timedelta(days=1)
    rows = sales_report(ctx.engine, start, end, args.by, net=args.net, tz=tz)
    cols = ["key", "label", "currency", "orders", "units", "gross_minor"]
    if args.net:
        cols += ["units_refunded", "refunds_minor", "net_minor"]
    data = [{c: r.to_json()[c] for c in cols} for r in rows]
    if args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(data)
    elif args.format == "json":
        print(json.dumps(data))
    elif args.format == "parquet":
        _parquet(data, cols, args.output)
    else:
        _table(rows, args.net, args.by, start, end, tz)
    return 0


def _parquet(data: list[dict[str, Any]], cols: list[str], output: str | None) -> None:
    from core.errors import BoxOfficeError

    if not output:
        raise BoxOfficeError("invalid_input", detail="--format parquet needs --output FILE")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ModuleNotFoundError as exc:
        raise BoxOfficeError("invalid_input",
                             detail="Parquet needs pyarrow (pip install pyarrow)") from exc
    pq.write_table(pa.Table.from_pylist(data) if data else
                   pa.table({c: [] for c in cols}), output)
    print(f"{len(data)} row(s) written to {output}")


def _table(rows: list[Any], net: bool, by: str, start: datetime, end: datetime,
           tz: str) -> None:
    print(f"sales by {by}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} ({tz})"
          + (", net of refunds" if net else ""))
    width = max([len(r.label) for r in rows] + [len(by)])
    head = f"{by:<{width}}  {'orders':>7} {'units':>6} {'gross':>16}"
    if net:
        head += f" {'refunds':>16} {'net':>16}"
    print(head)
    totals: dict[str, list[int]] = {}
    for r in rows:
        line = (f"{r.label:<{width}}  {r.orders:>7} {r.units:>6}"
                f" {_money(r.gross_minor, r.currency):>16}")
        if net:
            line += (f" {_money(r.refunds_minor, r.currency):>16}"
                     f" {_money(r.net_minor, r.currency):>16}")
        print(line)
        t = totals.setdefault(r.currency, [0, 0, 0, 0])
        t[0] += r.orders
        t[1] += r.units
        t[2] += r.gross_minor
        t[3] += r.refunds_minor
    for cur, (_orders, units, gross, back) in totals.items():
        # Orders are counted per group: an order over two sections counts in both.
        line = f"{'total ' + cur:<{width}}  {'':>7} {units:>6} {_money(gross, cur):>16}"
        if net:
            line += f" {_money(back, cur):>16} {_money(gross - back, cur):>16}"
        print(line)


def cmd_occupancy(args: argparse.Namespace) -> int:
    from core.reports import occupancy
    from core.reports.sales import default_tz

    ctx = _ctx()
    points = occupancy(ctx.engine, args.event, by=args.by,
                       tz=args.tz or default_tz(ctx.engine))
    if args.json:
        print(json.dumps([p.to_json() for p in points]))
        return 0
    print(f"{'when':<17} {'sold':>6} {'back':>6} {'occupied':>9} {'of':>6} {'%':>6}")
    for p in points:
        print(f"{p.bucket:<17} {p.sold:>6} {p.returned:>6} {p.occupied:>9} {p.capacity:>6}"
              f" {p.percent:>6.1f}")
    return 0


def cmd_prices(args: argparse.Namespace) -> int:
    from core.reports import price_path

    ctx = _ctx()
    points = price_path(ctx.engine, args.event)
    if args.json:
        print(json.dumps([p.to_json() for p in points]))
        return 0
    for p in points:
        print(f"{p.at:%Y-%m-%d %H:%M:%S}  {p.section:<8} {_money(p.old_minor, p.currency):>14}"
              f" -> {_money(p.new_minor, p.currency):>14}  {p.reason}")
    if not points:
        print("no price changes")
    return 0


def register(sub: Any) -> None:
    from core.reports import BY

    p = sub.add_parser("report", help="sales history, occupancy over time, price path")
    ps = p.add_subparsers(dest="sub", required=True)
    s = ps.add_parser("sales", help="sales in a period grouped by one dimension")
    s.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD[THH:MM]")
    s.add_argument("--to", dest="end", required=True,
                   help="YYYY-MM-DD (that whole day) or YYYY-MM-DDTHH:MM (exclusive)")
    s.add_argument("--by", choices=BY, default="day")
    s.add_argument("--format", choices=["table", "csv", "json", "parquet"], default="table")
    s.add_argument("--output", help="file for --format parquet")
    s.add_argument("--net", action="store_true", help="subtract refunds made in the period")
    s.add_argument("--tz", help="time zone of hours and days (default: the venues')")
    s.set_defaults(func=cmd_sales)
    o = ps.add_parser("occupancy", help="an event's places sold over time")
    o.add_argument("--event", required=True, help="event code")
    o.add_argument("--by", choices=["hour", "day"], default="hour")
    o.add_argument("--tz")
    o.add_argument("--json", action="store_true")
    o.set_defaults(func=cmd_occupancy)
    pr = ps.add_parser("prices", help="an event's price path (every price change)")
    pr.add_argument("--event", required=True, help="event code")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_prices)
