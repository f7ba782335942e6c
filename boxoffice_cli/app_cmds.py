"""``boxoffice cashier``, ``boxoffice monitor`` and ``boxoffice bench seatmap``.

Imports are lazy so ``boxoffice --help`` stays fast."""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

from boxoffice_cli.main import subcommands_of


def cmd_cashier(args: argparse.Namespace) -> int:
    from boxoffice_cli.main import _settings
    from boxoffice_tui.app import run_cashier_settings

    return run_cashier_settings(_settings())


def cmd_monitor(args: argparse.Namespace) -> int:
    if args.web:
        return serve_monitor(args.host, args.port)
    from boxoffice_cli.main import _settings
    from boxoffice_tui.app import run_monitor
    from terminal.bootstrap import terminal_context

    # A terminal: on its own login, never migrating (schema_behind / schema_ahead).
    return run_monitor(terminal_context(_settings()), sign_in_first=args.sign_in)


def serve_monitor(host: str, port: int) -> int:
    """``boxoffice monitor --web``: the monitor in a browser (the supervisor's tablet)
    through textual-serve. Every browser tab runs its own monitor process, which opens
    on the supervisor sign-in; the server listens on loopback unless told otherwise."""
    import shlex
    import sys

    from textual_serve.server import Server

    command = shlex.join([sys.executable, "-m", "boxoffice_cli.main", "monitor",
                          "--sign-in"])
    Server(command, host=host, port=port, title="Box office monitor").serve()
    return 0


# --- bench seatmap ---------------------------------------------------------------------------


def _scratch_db(admin_url: str) -> tuple[str, str]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"bo_bench_seatmap_{uuid.uuid4().hex[:8]}"
    libpq = make_url(admin_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return name, url


def _drop_db(admin_url: str, name: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    libpq = make_url(admin_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def build_big_room(engine: Any, rows: int = 50, per_row: int = 100) -> int:
    """A 5,000-seat arena (50 rows of 100) with one event on sale; returns the event id.
    Seeded like the demo (through the back-office services)."""
    from core import demo

    return demo.arena(engine, rows, per_row)


def cmd_bench_seatmap(args: argparse.Namespace) -> int:
    import os
    import tempfile

    from boxoffice_cli.main import _emit, _settings
    from config import Settings
    from core.db.engine import database_url
    from terminal.bootstrap import context_for, prepare_process

    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    settings = _settings()
    admin = database_url(settings)
    name, url = _scratch_db(admin)
    tmp = tempfile.mkdtemp(prefix="bo-bench-seatmap-")
    try:
        data = settings.model_dump()
        data["database"] = {**data["database"], "url": url}
        data["terminal"] = {**data["terminal"], "data_dir": tmp, "name": "bench-counter"}
        data["sales"] = {**data["sales"], "max_seats_per_order": 10}
        data["logging"] = {**data["logging"], "file": os.path.join(tmp, "bench.jsonl")}
        s = Settings(**data)
        ctx = context_for(s, url=url)
        eid = build_big_room(ctx.engine, args.rows, args.per_row)

        from boxoffice_tui import bench
        from core.reservation import upcoming_events

        prepare_process(s)
        ev = next(e for e in upcoming_events(ctx.engine) if e.id == eid)
        t0 = time.perf_counter()
        result: dict[str, Any] = {"bench": "seatmap"}
        result.update(bench.measure(ctx, ev, burst=args.burst))
        from core import demo

        demo.seed(ctx.engine)
        result["cold_start_s"] = round(bench.cold_start(url, tmp), 3)
        result["targets"] = {"open_ms": 200, "burst_applied_ms": 100, "cold_start_s": 1.5}
        result["ok"] = (result["open_ms"] <= 200 and result["burst_applied_ms"] <= 100
                        and result["cold_start_s"] <= 1.5
                        and result["burst_changes"] == args.burst)
        result["wall_s"] = round(time.perf_counter() - t0, 2)
        ctx.engine.dispose()
    finally:
        _drop_db(admin, name)
    _emit(result, args.json)
    return 0 if result.get("ok") else 1


def register(subparsers: Any) -> None:
    subparsers.add_parser("cashier", help="open the cashier app (sign in, sell, refund, shift)"
                          ).set_defaults(func=cmd_cashier)
    mon = subparsers.add_parser("monitor", help="open the supervisor's live monitor")
    mon.add_argument("--web", action="store_true",
                     help="serve the monitor to browsers (tablets) instead of this terminal")
    mon.add_argument("--host", default="127.0.0.1",
                     help="address to listen on with --web (default: loopback only)")
    mon.add_argument("--port", type=int, default=8080, help="port for --web (default 8080)")
    mon.add_argument("--sign-in", action="store_true",
                     help="open on the supervisor sign-in (what --web serves)")
    mon.set_defaults(func=cmd_monitor)
    bench = subcommands_of(subparsers, "bench")
    if bench is not None:
        p = bench.add_parser("seatmap", help="seat map: open a 5,000-seat room headless, "
                             "apply a burst of remote changes, cold start to first screen")
        p.add_argument("--json", action="store_true")
        p.add_argument("--rows", type=int, default=50)
        p.add_argument("--per-row", type=int, default=100)
        p.add_argument("--burst", type=int, default=500)
        p.set_defaults(func=cmd_bench_seatmap)
