"""``boxoffice`` subcommands. Each imports what it needs lazily, so ``boxoffice --help``
and the apps start fast (python-escpos alone takes over a second to import).

Every command gets its settings and core context from ``terminal.bootstrap`` through
``_settings()`` and ``_context()`` below; a command module of its own is one line in
``PLUGINS``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config import Settings
    from core.app_context import CoreContext

Handler = Callable[[argparse.Namespace], int]

# Command modules beside this one; each has ``register(subparsers)``.
PLUGINS = ("boxoffice_cli.pricing_cmds", "boxoffice_cli.payments_cmds",
           "boxoffice_cli.printing_cmds", "boxoffice_cli.sync_cmds", "boxoffice_cli.app_cmds",
           "boxoffice_cli.kiosk_cmds", "boxoffice_cli.terminal_cmds",
           "boxoffice_cli.backoffice_cmds", "boxoffice_cli.drill_cmds",
           "boxoffice_cli.doctor_cmds", "boxoffice_cli.outbox_cmds",
           "boxoffice_cli.events_cmds", "boxoffice_cli.report_cmds",
           "boxoffice_cli.perf_cmds")


def _settings() -> Settings:
    from terminal.bootstrap import load_settings

    return load_settings()


def _context(migrate: bool = True) -> CoreContext:
    """The configured database's context, migrated to head unless ``migrate`` is False."""
    from terminal.bootstrap import context_for

    return context_for(_settings(), migrate=migrate)


def cmd_config_show(args: argparse.Namespace) -> int:
    from config import config_path

    s = _settings()
    data = {"config_file": str(config_path()), "config_file_exists": config_path().is_file(),
            **s.masked()}
    print(json.dumps(data, indent=2, default=str))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from core.db import migrate as mig

    ctx = _context(migrate=False)
    before = mig.current_revision(ctx.engine)
    mig.upgrade(ctx.engine, args.revision)
    print(f"database at revision {mig.current_revision(ctx.engine)} (was {before or 'empty'})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from core import demo

    # The owner migrates, seeds and provisions; the app and the worker then run on their
    # own terminal logins, as a casino's terminals do.
    ctx = _context()
    summary = demo.seed(ctx.engine, ctx.settings.sales.currency)
    from core.payments import with_demo_gateway
    from core.provisioning import mark_demo_database

    # The demo's database is the one that may sell test cards without an alert on the
    # monitor and run `tickets demo-sale`; its terminals pay through the sandbox.
    mark_demo_database(ctx.engine)
    ctx.settings = with_demo_gateway(ctx.settings)
    cashier, worker = demo.demo_logins(ctx.engine, ctx.settings)
    _print_demo(summary, ctx)
    print(f"Cashier app runs as terminal {cashier.name}, login {cashier.login} (cashier);"
          f" worker as {worker.name}, login {worker.login}")
    ctx.engine.dispose()
    if args.no_ui:
        return 0
    # The demo has no separate `boxoffice worker`: run its jobs (hold sweeper, pricing
    # rules, stuck-sale recovery) in this process so the demo behaves like a site.
    import threading

    from boxoffice_tui.app import run_cashier
    from core.worker import run_worker
    from terminal.bootstrap import prepare_process, terminal_context

    app_settings = demo.login_settings(ctx.settings, cashier)
    prepare_process(app_settings)  # before any thread logs
    worker_ctx = terminal_context(demo.login_settings(ctx.settings, worker), url=worker.url)
    threading.Thread(target=run_worker, args=(worker_ctx,), kwargs={"interval_s": 5.0},
                     name="demo-worker", daemon=True).start()
    return run_cashier(terminal_context(app_settings, url=cashier.url))


def _print_demo(summary: Any, ctx: Any) -> None:
    print("Demo casino " + ("created" if summary.created else "already there") + ":")
    print(f"  {summary.venues} rooms, {summary.seats} numbered seats")
    for code, name, starts in summary.events:
        print(f"  event {code:<14} {name:<22} {starts}")
    print("Operators (login / PIN):")
    for login, display, role, pin in summary.operators:
        print(f"  {login:<8} {pin:<6} {role:<11} {display}")
    url = ctx.engine.url.render_as_string(hide_password=True)
    print(f"Database: {url}")


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from core import audit

    ctx = _context()
    checked, problems = audit.verify(ctx.engine)
    for p in problems:
        print(f"TAMPERED chain={p.chain} seq={p.seq}: {p.problem}")
    print(f"{checked} audit rows checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_worker(args: argparse.Namespace) -> int:
    from terminal.bootstrap import run_worker

    return run_worker(_settings(), once=args.once, interval_s=args.interval)


def cmd_bench_holds(args: argparse.Namespace) -> int:
    from core.bench.holds import run_bench

    result = run_bench(_settings(), workers=args.workers, seconds=args.seconds,
                       scenario=args.scenario, pgbench_too=not args.no_pgbench,
                       as_terminals=args.as_terminals)
    _emit(result, args.json)
    return 0 if result.get("oversold", 0) == 0 else 1


def _emit(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    width = max(len(k) for k in result)
    for k, v in result.items():
        print(f"{k:<{width}}  {v}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="boxoffice", description="Casino box office")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    cfg = sub.add_parser("config", help="settings")
    cfg_sub = cfg.add_subparsers(dest="sub", required=True)
    cfg_sub.add_parser("show", help="print the effective settings, secrets masked").set_defaults(
        func=cmd_config_show)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="sub", required=True)
    up = db_sub.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=cmd_db_upgrade)

    demo = sub.add_parser("demo", help="seed the demo casino and open the cashier app")
    demo.add_argument("--no-ui", action="store_true", help="seed and print a summary only")
    demo.set_defaults(func=cmd_demo)

    au = sub.add_parser("audit", help="audit log")
    au_sub = au.add_subparsers(dest="sub", required=True)
    au_sub.add_parser("verify", help="check every hash chain").set_defaults(func=cmd_audit_verify)

    wk = sub.add_parser("worker", help="background jobs: hold sweeper, stuck-sale recovery")
    wk.add_argument("--once", action="store_true")
    wk.add_argument("--interval", type=float, default=2.0)
    wk.set_defaults(func=cmd_worker)

    bench = sub.add_parser("bench", help="benchmarks printing JSON")
    b_sub = bench.add_subparsers(dest="sub", required=True)
    bh = b_sub.add_parser("holds", help="concurrent holds against the configured database")
    bh.add_argument("--workers", type=int, default=8)
    bh.add_argument("--seconds", type=float, default=10.0)
    bh.add_argument("--scenario", choices=["best", "random", "hot", "ga"], default="best")
    bh.add_argument("--json", action="store_true")
    bh.add_argument("--no-pgbench", action="store_true", help="skip the pgbench comparison")
    bh.add_argument("--as-terminals", action="store_true",
                    help="each worker on its own provisioned cashier login (run with the"
                         " owner's URL), as counters hold; the pgbench baseline stays the"
                         " owner's")
    bh.set_defaults(func=cmd_bench_holds)

    _register_plugins(sub)
    return p


def subcommands_of(sub: Any, name: str) -> Any | None:
    """The subcommand group of an existing command (``bench``), so a plugin can add its
    own beside the others (argparse has no public accessor for it)."""
    parser = sub.choices.get(name)
    for action in getattr(parser, "_actions", []):
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _register_plugins(sub: Any) -> None:
    """Faces built in other packages add their subcommands here, imported lazily."""
    for module in PLUGINS:
        try:
            mod = __import__(module, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # a bad argument: argparse's usage line, exit 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return run_command(args.func, args)


# --- the one error boundary -------------------------------------------------------------
# Every command runs inside it: an operator sees one line in the terminal's language and a
# non-zero exit, never a traceback (which may quote a URL, a query or a customer's data);
# the traceback of what nobody expected goes to the JSON log file only.

EXIT_FAILED, EXIT_CONFIG, EXIT_BUG, EXIT_INTERRUPTED = 1, 2, 70, 130


def run_command(func: Handler, args: argparse.Namespace) -> int:
    from config import ConfigError

    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except ConfigError as exc:
        print(f"boxoffice: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except Exception as exc:
        known = _known_error(exc)
        if known is not None:
            print(f"boxoffice: {known.code}: {known.message(_language())}", file=sys.stderr)
            return EXIT_FAILED
        return _unexpected(exc, args)


def _known_error(exc: BaseException) -> Any:
    """The BoxOfficeError the exception stands for: itself, or a database fault (down,
    refusing, timed out) that reached the CLI outside a service's translation."""
    from core.db.engine import translate_error
    from core.errors import BoxOfficeError

    if isinstance(exc, BoxOfficeError):
        return exc
    chain: BaseException | None = exc
    while chain is not None:  # a driver error wrapped by SQLAlchemy or by our own code
        mapped = translate_error(chain)
        if mapped is not None and _is_database_error(chain):
            return mapped
        chain = chain.__cause__ or chain.__context__
    return None


def _is_database_error(exc: BaseException) -> bool:
    import psycopg
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, DBAPIError | psycopg.Error)


def _language() -> str:
    try:
        return _settings().terminal.language
    except Exception:  # the settings themselves are what failed
        from core.language import language

        return language()


def _unexpected(exc: Exception, args: argparse.Namespace) -> int:
    import logging

    from core.errors import message_for

    log_file = _log_for_crash()
    logging.getLogger("boxoffice_cli").error(
        "unexpected error in boxoffice %s", " ".join(
            str(v) for k, v in vars(args).items() if k in ("command", "sub") and v),
        exc_info=exc)
    print("boxoffice: " + message_for("unexpected_error", _language(),
                                      kind=type(exc).__name__, log_file=log_file),
          file=sys.stderr)
    return EXIT_BUG


def _log_for_crash() -> str:
    """The configured log file, set up if the command had not (most CLI commands log
    nothing); a temporary file when that one cannot be written."""
    import tempfile
    from pathlib import Path

    from terminal.logsetup import configure

    try:
        path = Path(_settings().log_file)
        configure(path, "INFO")
    except Exception:
        path = Path(tempfile.gettempdir()) / "boxoffice-cli.jsonl"
        configure(path, "INFO")
    return str(path)


if __name__ == "__main__":
    sys.exit(main())
