"""``boxoffice scan``, ``boxoffice print-test`` and ``boxoffice tickets ...``.

Thin over core.tickets (check-in, snapshots) and printing (spooler); imports are lazy
so ``boxoffice --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

from boxoffice_cli import args as args_
from boxoffice_cli.main import _context, _settings

log = logging.getLogger(__name__)


def _gate_dir(settings: Any) -> Path:
    return Path(settings.terminal.data_dir) / "gate"


def _snapshot_path(settings: Any, given: str | None) -> Path:
    return Path(given).expanduser() if given else _gate_dir(settings) / "snapshot.json"


def _store_path(settings: Any, gate: str, given: str | None) -> Path:
    return Path(given).expanduser() if given else \
        _gate_dir(settings) / f"checkins-{gate}.sqlite3"


def _read_snapshot(path: Path) -> dict[str, Any]:
    """The snapshot file as the gate reads it, or ``snapshot_unreadable`` saying why (a
    file that is not one, or one missing the parts a gate needs)."""
    from core.errors import BoxOfficeError

    def bad(detail: str) -> BoxOfficeError:
        return BoxOfficeError("snapshot_unreadable", path=str(path), detail=detail)

    try:
        snap = json.loads(path.read_bytes())
    except OSError as exc:
        raise bad(exc.strerror or type(exc).__name__) from None
    except ValueError:  # not JSON, or not UTF-8
        raise bad("not JSON") from None
    if not isinstance(snap, dict):
        raise bad("not a JSON object")
    shapes = {"keys": dict, "revoked": list, "events": dict}
    missing = [k for k, kind in shapes.items() if not isinstance(snap.get(k), kind)]
    if missing:
        raise bad("missing or malformed: " + ", ".join(missing))
    if not all(isinstance(v, dict) and "code" in v for v in snap["events"].values()):
        raise bad("malformed: events")
    return snap


def _open_gate(path: Path, snap: dict[str, Any], store: Path, gate: str,
               event_id: int | None = None) -> Any:
    from core.errors import BoxOfficeError
    from core.tickets.offline import OfflineGate

    try:
        return OfflineGate(snap, store, gate, event_id=event_id)
    except (ValueError, KeyError, TypeError) as exc:  # a version or key it cannot read
        raise BoxOfficeError("snapshot_unreadable", path=str(path),
                             detail=str(exc)[:80] or type(exc).__name__) from None


# --- scan ------------------------------------------------------------------------------


def _scan_lines(scan: Any, stdin: TextIO, stdout: TextIO, lang: str) -> dict[str, int]:
    """One answer line per input line, whatever the input; never a traceback."""
    from core.errors import BoxOfficeError

    counts = {"accept": 0, "reject": 0, "wait": 0}
    for raw in stdin:
        try:
            result = scan(raw.strip(), uuid.uuid4())
            line = result.line(lang)
            # "wait": payment being verified, the same ticket scanned again decides.
            counts["accept" if result.accepted else "wait" if result.waiting
                   else "reject"] += 1
        except BoxOfficeError as exc:
            line = f"REJECT error: {exc.code}: {exc.message(lang)}"
            counts["reject"] += 1
        except Exception as exc:  # one bad line must not stop the gate
            log.exception("scan failed")
            line = f"REJECT error: {type(exc).__name__}"
            counts["reject"] += 1
        stdout.write(line + "\n")
        stdout.flush()
    return counts


def cmd_scan(args: argparse.Namespace) -> int:
    settings = _settings()
    lang = args.lang or settings.terminal.language
    if args.offline:
        snap_path = _snapshot_path(settings, args.snapshot)
        if not snap_path.is_file():
            print(f"boxoffice: no snapshot at {snap_path}; run `boxoffice tickets snapshot`"
                  " while online", file=sys.stderr)
            return 2
        snap = _read_snapshot(snap_path)
        event_id = None
        if args.event:
            matches = [int(k) for k, v in snap["events"].items()
                       if v["code"] == args.event or k == args.event]
            if not matches:
                print(f"boxoffice: event {args.event} is not in the snapshot", file=sys.stderr)
                return 2
            event_id = matches[0]
        gate = _open_gate(snap_path, snap, _store_path(settings, args.gate, args.store),
                          args.gate, event_id=event_id)
        try:
            counts = _scan_lines(gate.scan, sys.stdin, sys.stdout, lang)
        finally:
            gate.close()
    else:
        from core.actors import Actor, register_terminal
        from core.tickets.checkin import GateChecker, resolve_event

        ctx = _context()
        name = f"gate-{args.gate}"[:64]
        actor = Actor(register_terminal(ctx.engine, name, "gate"), name, channel="system")
        event_id = resolve_event(ctx.engine, args.event) if args.event else None
        checker = GateChecker(ctx, actor, args.gate, event_id=event_id)
        counts = _scan_lines(checker.scan, sys.stdin, sys.stdout, lang)
    print(f"# {counts['accept']} accepted, {counts['reject']} rejected,"
          f" {counts['wait']} to scan again", file=sys.stderr)
    return 0


# --- tickets ---------------------------------------------------------------------------


def cmd_snapshot(args: argparse.Namespace) -> int:
    from core.tickets.offline import write_snapshot

    ctx = _context()
    path = _snapshot_path(ctx.settings, args.out)
    snap = write_snapshot(ctx.engine, path)
    print(f"snapshot {path}: {len(snap['keys'])} key(s), {len(snap['revoked'])} revoked,"
          f" {len(snap['events'])} event(s), taken {snap['generated_at']}")
    return 0


def cmd_export_keys(args: argparse.Namespace) -> int:
    from core.tickets.offline import export_snapshot

    ctx = _context()
    print(json.dumps(export_snapshot(ctx.engine)["keys"], indent=2))
    return 0


def cmd_upload(args: argparse.Namespace) -> int:
    from core.actors import Actor, register_terminal
    from core.tickets.offline import upload_offline_checkins

    ctx = _context()
    snap_path = _snapshot_path(ctx.settings, args.snapshot)
    gate = _open_gate(snap_path, _read_snapshot(snap_path),
                      _store_path(ctx.settings, args.gate, args.store), args.gate)
    name = f"gate-{args.gate}"[:64]
    actor = Actor(register_terminal(ctx.engine, name, "gate"), name, channel="system")
    try:
        counts = upload_offline_checkins(ctx, actor, gate)
    finally:
        gate.close()
    print(json.dumps(counts))
    return 1 if set(counts) - {"recorded"} else 0


def cmd_demo_sale(args: argparse.Namespace) -> int:
    """A cash sale without the payments saga, printed through the configured printer:
    for trying printers and gates. The cashier app is the real way to sell.

    Only on the demo's database (``boxoffice demo`` marks it; a terminal's login cannot,
    nor can a setting or a flag): anywhere else it is refused with ``demo_only`` before
    anything is held."""
    from core.actors import Actor, register_terminal
    from core.errors import BoxOfficeError
    from core.provisioning import is_demo_database
    from core.reservation import (
        availability,
        confirm_in,
        hold_best_available,
        hold_general_admission,
    )
    from core.tickets import issue_tickets_in, resolve_event, ticket_views
    from core.uow import unit_of_work
    from printing.model import receipt_for
    from printing.spooler import Spooler

    ctx = _context(migrate=False)
    if not is_demo_database(ctx.engine):
        raise BoxOfficeError("demo_only", command="boxoffice tickets demo-sale")
    term = ctx.settings.terminal
    actor = Actor(register_terminal(ctx.engine, term.name, term.kind), term.name)
    ev = resolve_event(ctx.engine, args.event)
    if args.ga:
        section = availability(ctx.engine, ev).ga[0].section_id
        hold = hold_general_admission(ctx, actor, uuid.uuid4(), ev, section, args.ga)
    else:
        hold = hold_best_available(ctx, actor, uuid.uuid4(), ev, args.seats)
    signer = ctx.signer()
    with unit_of_work(ctx.engine) as conn:
        order = confirm_in(conn, actor, hold.hold_id, f"demo-cash:{uuid.uuid4().hex[:12]}")
        issue_tickets_in(conn, actor, order, signer)
    views = ticket_views(ctx.engine, order_id=order.order_id)
    with Spooler(ctx.settings, ctx=ctx, actor=actor) as sp:
        sp.submit_order(views, receipt_for(views, "cash", tendered_minor=order.total_minor,
                                           lang=term.language))
        done = sp.wait_idle(args.wait)
        sp.flush_reports()
        state = sp.state()
    print(f"# order {order.number}: {len(views)} ticket(s); printer {state.printer_url}:"
          f" {state.message('en')}{'' if done else ' (still queued)'}", file=sys.stderr)
    for v in views:
        print(v.token)
    return 0


def cmd_print_test(args: argparse.Namespace) -> int:
    from printing.layout import printer_test_document
    from printing.spooler import Spooler

    settings = _settings()
    if args.url:
        settings = settings.model_copy(update={"printer": settings.printer.model_copy(
            update={"url": args.url})})
    with Spooler(settings) as sp:
        sp.submit_documents([printer_test_document(
            paper_mm=settings.printer.paper_mm, lang=settings.terminal.language,
            terminal=settings.terminal.name, url=sp.transport.url,
            columns=settings.printer.columns)])
        done = sp.wait_idle(args.wait)
        st = sp.state()
    print(f"{st.printer_url}: {st.message('en')}" + ("" if done else
          f" (still queued: {st.last_error}; it will print when the printer is back)"))
    return 0 if done and not st.failed else 1


def cmd_bench_scan(args: argparse.Namespace) -> int:
    from boxoffice_cli.main import _emit
    from core.tickets.bench import run_bench

    result = run_bench(_settings(), tickets=args.tickets, workers=args.workers)
    _emit(result, args.json)
    return 0 if result["each_ticket_entered_once"] else 1


def _register_bench(sub: Any) -> None:
    """``bench scan`` beside the other benchmarks (the ``bench`` command is main's)."""
    from boxoffice_cli.main import subcommands_of

    action = subcommands_of(sub, "bench")
    if action is not None:
        p = action.add_parser("scan", help="gate check-in throughput on a scratch database")
        p.add_argument("--tickets", type=int, default=1000)
        p.add_argument("--workers", type=int, default=8)
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_bench_scan)


def register(sub: Any) -> None:
    _register_bench(sub)
    sc = sub.add_parser("scan", help="gate: check tickets in from stdin, one token per line")
    sc.add_argument("--gate", default="main", type=args_.gate_name,
                    help="gate name printed on re-entry attempts")
    sc.add_argument("--event", help="accept only this event (code or id)")
    sc.add_argument("--offline", action="store_true",
                    help="verify from the local snapshot; remember entries locally")
    sc.add_argument("--snapshot", help="snapshot file (default <data_dir>/gate/snapshot.json)")
    sc.add_argument("--store", help="offline check-in file (default per gate in data_dir)")
    sc.add_argument("--lang", choices=["pt-BR", "en"])
    sc.set_defaults(func=cmd_scan)

    pt = sub.add_parser("print-test", help="print a test page on the configured printer")
    pt.add_argument("--url", help="printer URL instead of the configured one")
    pt.add_argument("--wait", type=float, default=15.0, help="seconds to wait for delivery")
    pt.set_defaults(func=cmd_print_test)

    tk = sub.add_parser("tickets", help="ticket keys, gate snapshots, offline check-ins")
    tk_sub = tk.add_subparsers(dest="sub", required=True)
    snap = tk_sub.add_parser("snapshot", help="write the offline gate snapshot"
                             " (public keys, revocations, event times)")
    snap.add_argument("--out", help="file (default <data_dir>/gate/snapshot.json)")
    snap.set_defaults(func=cmd_snapshot)
    tk_sub.add_parser("export-keys", help="print every ticket-signing public key as JSON"
                      ).set_defaults(func=cmd_export_keys)
    up = tk_sub.add_parser("upload-checkins", help="send offline check-ins to the database")
    up.add_argument("--gate", default="main", type=args_.gate_name)
    up.add_argument("--snapshot")
    up.add_argument("--store")
    up.set_defaults(func=cmd_upload)
    ds = tk_sub.add_parser("demo-sale", help="demo database only: sell and print a cash"
                           " order (no payments saga), print its tokens: for trying printers"
                           " and gates")
    ds.add_argument("--event", default="COMEDIA-HOJE")
    ds.add_argument("--seats", type=int, default=2)
    ds.add_argument("--ga", type=int, default=0, help="GA places instead of seats")
    ds.add_argument("--wait", type=float, default=30.0)
    ds.set_defaults(func=cmd_demo_sale)
