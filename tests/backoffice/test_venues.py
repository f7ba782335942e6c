"""Rooms: a 2,000-seat CSV round-trips; every kind of bad row is reported with its line
and nothing is written; a spec generates a room; a re-import never moves a sold seat."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from core.backoffice import venue_files, venue_format
from core.backoffice.venue_format import VenueFileError
from core.backoffice.venues import draw, event_states, import_rooms, list_rooms, read_room
from core.errors import BoxOfficeError
from core.reservation import hold_seats
from tests.backoffice.conftest import event_id, hall_csv, make_show


def _counts(ctx) -> tuple[int, int, int]:
    with ctx.engine.connect() as c:
        return tuple(c.execute(text("select (select count(*) from venues),"
                                    " (select count(*) from sections),"
                                    " (select count(*) from seats)")).one())


def test_2000_seat_csv_round_trips(bctx, actx, admin, tmp_path):
    src = hall_csv(tmp_path, "RT-HALL")
    rooms = venue_files.load(src)
    assert sum(len(s.seats) for s in rooms[0].sections) == 2000
    [rep] = import_rooms(actx, admin, uuid.uuid4(), rooms)
    assert rep.created and rep.seats == 2000 and rep.ga_capacity == 300
    exported = venue_format.to_csv([read_room(bctx.engine, "RT-HALL")])
    assert exported == src.read_text(encoding="utf-8")
    # JSON carries the same room, and reads back to the same CSV.
    again = tmp_path / "again.json"
    again.write_text(venue_format.to_json([read_room(bctx.engine, "RT-HALL")]))
    assert venue_format.to_csv(venue_files.load(again)) == exported
    summary = next(r for r in list_rooms(bctx.engine) if r.code == "RT-HALL")
    assert (summary.sections, summary.capacity) == (4, 2300)


BAD = ",".join(venue_format.COLUMNS) + """
room,BAD,,Bad Room,,,America/Sao_Paulo,STAGE,,,,,,,,
section,BAD,A,Stalls,seated,,,,,,,,,,,
section,BAD,G,Floor,ga,,,,,,,,,,,
seat,BAD,A,,,,,,A,1,0,0,0,0,0,
seat,BAD,A,,,,,,A,1,1,0,0,0,0,
seat,BAD,A,,,,,,A,2,0,0,0,0,0,
seat,BAD,Z,,,,,,A,3,5,0,0,0,0,
seat,BAD,A,,,,,,A,x,6,0,0,0,0,
seat,BAD,A,,,,,,A,7,7,0,maybe,0,0,
seat,BAD,G,,,,,,A,8,8,0,0,0,0,
section,BAD,A,Again,seated,,,,,,,,,,,
bogus,BAD,,,,,,,,,,,,,,
room,NOTZ,,No Zone,,,Mars/Olympus,STAGE,,,,,,,,
"""


def test_every_bad_row_reported_with_its_line_and_nothing_written(bctx, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD)
    before = _counts(bctx)
    with pytest.raises(VenueFileError) as e:
        venue_files.load(path)
    found = {str(p) for p in e.value.problems}
    expect = {
        "line 4": "capacity is missing",                      # GA without capacity
        "line 6": "duplicate seat A A-1 (first on line 5)",
        "line 7": "overlaps A A-1 at (0, 0) (line 5)",
        "line 8": "section 'Z' is missing from room BAD",
        "line 9": "seat number 'x' is not a whole number",
        "line 10": "accessible 'maybe' is not yes/no",
        "line 11": "section G is general admission",
        "line 12": "section A is declared twice (first on line 3)",
        "line 13": "type 'bogus' is not room, section or seat",
        "line 14": "time zone 'Mars/Olympus' is unknown",
    }
    for where, msg in expect.items():
        assert any(f.startswith(where + ":") and msg in f for f in found), (where, found)
    assert e.value.code == "venue_file_invalid"
    assert _counts(bctx) == before


def test_bad_json_reports_paths(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"format": "boxoffice-venue/1", "rooms": [{"code": "J", "timezone":'
                    ' "UTC", "sections": [{"code": "S", "seats": [{"row": "A", "number": 1,'
                    ' "x": 0, "y": 0}, {"row": "A", "number": 1, "x": 1, "y": 0}]}]}]}')
    with pytest.raises(VenueFileError) as e:
        venue_files.load(path)
    assert [p.where for p in e.value.problems] == ["line 1 (rooms[0].sections[0].seats[1])"]
    # An export has one seat per line: a bad seat is found by its line.
    from core.backoffice.venue_format import RoomSpec, SeatSpec, SectionSpec, to_json

    room = RoomSpec("J", "J", "UTC", "S", [SectionSpec("S", "S", "seated", None, [
        SeatSpec("A", n, n, 0, rank=n) for n in range(1, 30)])])
    text_ = to_json([room]).replace('"number": 17, "x": 17', '"number": 16, "x": 17')
    path.write_text(text_)
    with pytest.raises(VenueFileError) as e:
        venue_files.load(path)
    [problem] = e.value.problems
    line = text_.splitlines().index(next(ln for ln in text_.splitlines() if '"x": 17' in ln))
    assert problem.where == f"line {line + 1} (rooms[0].sections[0].seats[16])"
    assert "duplicate seat S A-16" in problem.message
    path.write_text("{not json")
    with pytest.raises(VenueFileError) as e:
        venue_files.load(path)
    assert e.value.problems[0].where == "line 1"


def test_spec_generates_a_curved_room(bctx, actx, admin, tmp_path):
    from tests.backoffice.conftest import hall_spec

    spec = tmp_path / "hall.toml"
    spec.write_text(hall_spec("GEN-HALL"))
    [room] = venue_files.load(spec)
    orq = room.section("ORQ")
    assert orq is not None and len(orq.seats) == 800
    row_a = [s for s in orq.seats if s.row == "A"]
    # Curved: the ends of a row come towards the stage; the aisles leave gaps.
    assert row_a[0].y < row_a[20].y
    xs = sorted(s.x for s in row_a)
    assert xs[10] - xs[9] == 3 and xs[30] - xs[29] == 3
    assert {s.label for s in orq.seats if s.accessible} == {"T-1", "T-2", "T-39", "T-40"}
    [rep] = import_rooms(actx, admin, uuid.uuid4(), [room])
    assert rep.created
    picture = draw(read_room(bctx.engine, "GEN-HALL"))
    assert "PALCO" in picture.splitlines()[0] and "◇" in picture
    assert "PISTA Pista: general admission, 300 places" in picture


def test_reimport_never_moves_a_sold_seat(bctx, actx, admin, carla, tmp_path):
    path = hall_csv(tmp_path, "RE-HALL")
    import_rooms(actx, admin, uuid.uuid4(), venue_files.load(path))
    code = make_show(actx, carla, "RE-HALL")
    ev = event_id(bctx, code)
    room = read_room(bctx.engine, "RE-HALL")
    orq = room.section("ORQ")
    with bctx.engine.connect() as c:
        sold_seat = c.execute(text(
            "select s.id from seats s join sections sec on sec.id = s.section_id join venues v"
            " on v.id = sec.venue_id where v.code = 'RE-HALL' and sec.code = 'ORQ' and"
            " s.row_label = 'A' and s.number = 1")).scalar_one()
    # Seeding, on the owner's: held counts as taken too.
    hold_seats(bctx, carla, uuid.uuid4(), ev, [sold_seat])

    # The new file moves A-1 (taken) and A-2 (free), flags A-3, and adds a seat.
    orq.seats[0].x += 100
    orq.seats[1].x += 100
    orq.seats[2].accessible = True
    from core.backoffice.venue_format import SeatSpec

    orq.seats.append(SeatSpec("ZZ", 1, 500, 500, rank=1))
    with pytest.raises(BoxOfficeError) as e:
        import_rooms(actx, admin, uuid.uuid4(), [room])
    assert e.value.code == "room_change_unsafe" and "ORQ A-1" in e.value.details["first"]
    assert read_room(bctx.engine, "RE-HALL").section("ORQ").seats[1].x == orq.seats[1].x - 100

    # The dry run and the import on the owner's: the new seat joins the event (also in a
    # dry run, rolled back), and an admin login may not insert event_seats (no policy).
    [dry] = import_rooms(bctx, admin, uuid.uuid4(), [room], dry_run=True)
    assert [c.target for c in dry.skipped] == ["ORQ A-1"]
    assert read_room(bctx.engine, "RE-HALL").section("ORQ").seats[1].x == orq.seats[1].x - 100
    [rep] = import_rooms(bctx, admin, uuid.uuid4(), [room], safe_only=True)
    assert [str(c) for c in rep.skipped] == ["move_seat ORQ A-1 (sold, held or leased in an"
                                             " event)"]
    applied = {c.kind: c for c in rep.applied}
    # update_section: the capacity follows the new seat count.
    assert set(applied) == {"move_seat", "update_seat", "add_seats", "update_section"}
    after = read_room(bctx.engine, "RE-HALL").section("ORQ")
    assert after.seats[0].x == orq.seats[0].x - 100      # the held seat did not move
    assert after.seats[1].x == orq.seats[1].x             # the free one did
    assert after.seats[2].accessible
    # The new seat joined the event on sale.
    states = event_states(bctx.engine, ev)
    assert states[("ORQ", "ZZ", 1)] == "available"
    assert states[("ORQ", "A", 1)] == "held"


def test_reimport_refuses_removing_seats_events_have(bctx, actx, admin, carla, tmp_path):
    path = hall_csv(tmp_path, "RM-HALL")
    import_rooms(actx, admin, uuid.uuid4(), venue_files.load(path))
    make_show(actx, carla, "RM-HALL")
    room = read_room(bctx.engine, "RM-HALL")
    room.sections = [s for s in room.sections if s.code != "BAL"]
    with pytest.raises(BoxOfficeError) as e:
        import_rooms(actx, admin, uuid.uuid4(), [room])
    assert e.value.code == "room_change_unsafe"
    assert "remove_section BAL" in e.value.details["first"]
    [rep] = import_rooms(actx, admin, uuid.uuid4(), [room], safe_only=True)
    assert [c.kind for c in rep.skipped] == ["remove_section"]
    assert read_room(bctx.engine, "RM-HALL").section("BAL") is not None


def test_import_needs_a_supervisor(bctx, tmp_path):
    from tests.conftest import make_actor

    cashier = make_actor(bctx, "bo-cashier-x")
    with pytest.raises(BoxOfficeError) as e:
        import_rooms(bctx, cashier, uuid.uuid4(),
                     venue_files.load(hall_csv(Path(tmp_path), "NOPE")))
    assert e.value.code == "not_authorized"
