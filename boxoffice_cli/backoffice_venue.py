"""``boxoffice venue``: import, validate, generate, show, export and list rooms."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from boxoffice_cli.backoffice_cmds import actor, context, emit_json, key, safe, signed, table


@safe
def cmd_import(args: argparse.Namespace) -> int:
    from core.backoffice import venue_files
    from core.backoffice.venues import import_rooms

    rooms = venue_files.load(args.file)  # every problem reported before signing in
    ctx = context()
    reports = import_rooms(ctx, actor(ctx, args), key(args), rooms, safe_only=args.safe_only,
                           dry_run=args.dry_run)
    if args.json:
        emit_json({"dry_run": args.dry_run, "rooms": [r.to_json() for r in reports]})
        return 0
    for r in reports:
        verb = "would create" if args.dry_run and r.created else "created" if r.created \
            else "would update" if args.dry_run else "updated"
        print(f"{r.room}: {verb}, {r.seats} seats, {r.ga_capacity} general admission")
        for c in r.applied if not r.created else []:
            print(f"  {'would apply' if args.dry_run else 'applied'}: {c}")
        for c in r.skipped:
            print(f"  skipped (unsafe): {c}")
    return 0


@safe
def cmd_validate(args: argparse.Namespace) -> int:
    from core.backoffice import venue_files

    rooms = venue_files.load(args.file)
    for r in rooms:
        seats = sum(len(s.seats) for s in r.sections)
        print(f"{r.code}: {len(r.sections)} sections, {seats} seats: OK")
    return 0


@safe
def cmd_generate(args: argparse.Namespace) -> int:
    from core.backoffice import venue_files, venue_format

    rooms = venue_files.load(args.spec)
    out = venue_format.dump(rooms, args.format)
    if args.out:
        Path(args.out).write_text(out, encoding="utf-8")
        seats = sum(len(s.seats) for r in rooms for s in r.sections)
        print(f"wrote {args.out}: {len(rooms)} room(s), {seats} seats", file=sys.stderr)
    else:
        sys.stdout.write(out)
    return 0


@safe
def cmd_show(args: argparse.Namespace) -> int:
    from core.backoffice.venues import draw, event_states, read_room

    ctx = context()
    states = None
    room_code = args.room
    if args.event:
        from core.backoffice.events import get_event

        ev = get_event(ctx.engine, args.event).event
        room_code = room_code or ev.room
        states = event_states(ctx.engine, ev.id)
    if not room_code:
        from core.errors import BoxOfficeError

        raise BoxOfficeError("invalid_input", detail="name a room (or --event)")
    print(draw(read_room(ctx.engine, room_code), states, max_width=args.width))
    return 0


@safe
def cmd_export(args: argparse.Namespace) -> int:
    from core.backoffice import venue_format
    from core.backoffice.venues import read_room

    ctx = context()
    fmt = args.format or (Path(args.out).suffix.lstrip(".").lower() if args.out else "csv")
    out = venue_format.dump([read_room(ctx.engine, r) for r in args.room], fmt)
    if args.out:
        Path(args.out).write_text(out, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(out)
    return 0


@safe
def cmd_list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from core.backoffice.venues import list_rooms

    rooms = list_rooms(context().engine)
    if args.json:
        emit_json([asdict(r) for r in rooms])
        return 0
    table([[r.code, r.name, r.timezone, r.sections, r.capacity, r.events_on_sale]
           for r in rooms], ["room", "name", "time zone", "sections", "capacity", "on sale"])
    return 0


def register(sub: Any) -> None:
    v = sub.add_parser("venue", help="rooms and seat maps: import, show, export",
                       description="Rooms and their seat maps. File formats: docs/backoffice.md"
                       " (CSV, JSON, or a short TOML spec that generates the seats).")
    vs = v.add_subparsers(dest="sub", required=True, metavar="COMMAND")
    imp = signed(vs.add_parser("import", help="create or update rooms from a file",
                               description="Validates the whole file first (every problem"
                               " with its line) and writes nothing unless it is all good."
                               " A room in use never has a sold, held or leased seat moved"
                               " or removed: such changes are refused, or skipped with"
                               " --safe-only."))
    imp.add_argument("file", help=".csv, .json or .toml (spec)")
    imp.add_argument("--safe-only", action="store_true",
                     help="apply the safe changes and skip (and list) the unsafe ones")
    imp.add_argument("--dry-run", action="store_true", help="show the changes, write nothing")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=cmd_import)
    val = vs.add_parser("validate", help="check a room file without a database")
    val.add_argument("file")
    val.set_defaults(func=cmd_validate)
    gen = vs.add_parser("generate", help="expand a TOML spec (blocks of rows x seats,"
                        " curved or straight, aisles) into a full room file")
    gen.add_argument("spec")
    gen.add_argument("--format", choices=["csv", "json"], default="csv")
    gen.add_argument("--out", help="file to write (default: standard output)")
    gen.set_defaults(func=cmd_generate)
    show = vs.add_parser("show", help="draw a room in the terminal as the seat map shows it")
    show.add_argument("room", nargs="?", help="room code")
    show.add_argument("--event", help="show this event's seat states")
    show.add_argument("--width", type=int, default=200, help="cut lines at this width")
    show.set_defaults(func=cmd_show)
    exp = vs.add_parser("export", help="write rooms in the import format")
    exp.add_argument("room", nargs="+")
    exp.add_argument("--format", choices=["csv", "json"])
    exp.add_argument("--out")
    exp.set_defaults(func=cmd_export)
    ls = vs.add_parser("list", help="rooms with capacity and events on sale")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
