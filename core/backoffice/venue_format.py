"""The room file formats (CSV, JSON, and a short TOML spec that generates seats), their
validation, and writing a room back in the same format.

CSV: one record per line, the first column says what it is (header line required)::

    type,room,section,name,kind,capacity,timezone,stage,row,number,x,y,accessible,companion,obstructed,rank
    room,SHOW,,Showroom Estrela,,,America/Sao_Paulo,PALCO,,,,,,,,
    section,SHOW,ORQ,Orquestra,seated,,,,,,,,,,,
    section,SHOW,PISTA,Pista,ga,400,,,,,,,,,,
    seat,SHOW,ORQ,,,,,,A,1,0,3,0,0,0,10

JSON: ``{"format": "boxoffice-venue/1", "rooms": [{"code", "name", "timezone", "stage",
"sections": [{"code", "name", "kind", "capacity", "seats": [{"row", "number", "x", "y",
"accessible", "companion", "obstructed", "rank"}]}]}]}``.

Validation collects every problem with where it is (CSV line number, JSON line and path,
spec section) instead of stopping at the first, so a whole file is fixed in one pass.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import BoxOfficeError

FORMAT = "boxoffice-venue/1"
COLUMNS = ("type", "room", "section", "name", "kind", "capacity", "timezone", "stage", "row",
           "number", "x", "y", "accessible", "companion", "obstructed", "rank")
REQUIRED_COLUMNS = ("type", "room", "section", "row", "number", "x", "y")
MAX_COORD = 10_000
_TRUE = {"1", "true", "yes", "y", "x", "t"}
_FALSE = {"", "0", "false", "no", "n", "f"}


@dataclass(slots=True)
class SeatSpec:
    row: str
    number: int
    x: int
    y: int
    accessible: bool = False
    companion: bool = False
    obstructed: bool = False
    rank: int | None = None
    where: str = ""

    @property
    def label(self) -> str:
        return f"{self.row}-{self.number}"


@dataclass(slots=True)
class SectionSpec:
    code: str
    name: str
    kind: str = "seated"
    capacity: int | None = None
    seats: list[SeatSpec] = field(default_factory=list)
    where: str = ""

    @property
    def total(self) -> int:
        return len(self.seats) if self.kind == "seated" else int(self.capacity or 0)


@dataclass(slots=True)
class RoomSpec:
    code: str
    name: str
    timezone: str = "UTC"
    stage: str = "STAGE"
    sections: list[SectionSpec] = field(default_factory=list)
    where: str = ""

    def section(self, code: str) -> SectionSpec | None:
        return next((s for s in self.sections if s.code == code), None)


@dataclass(frozen=True, slots=True)
class Problem:
    where: str  # "line 12", "rooms[0].sections[1].seats[4]", "section ORQ"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class VenueFileError(BoxOfficeError):
    """The file has problems; ``problems`` lists every one (nothing was written)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("venue_file_invalid", count=len(problems),
                         first=str(problems[0]) if problems else "")
        self.problems = problems

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["problems"] = [{"where": p.where, "message": p.message} for p in self.problems]
        return d


# --- reading ---------------------------------------------------------------------------


def _int(value: Any, what: str, problems: list[Problem], where: str, *, lo: int = 0,
         hi: int = MAX_COORD, required: bool = True) -> int | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if required:
            problems.append(Problem(where, f"{what} is missing"))
        return None
    if isinstance(value, bool):
        problems.append(Problem(where, f"{what} {value!r} is not a whole number"))
        return None
    try:
        n = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        problems.append(Problem(where, f"{what} {value!r} is not a whole number"))
        return None
    if not lo <= n <= hi:
        problems.append(Problem(where, f"{what} {n} is outside {lo}..{hi}"))
        return None
    return n


def _flag(value: Any, what: str, problems: list[Problem], where: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    s = str(value).strip().lower()
    if s in _TRUE:
        return True
    if s not in _FALSE:
        problems.append(Problem(where, f"{what} {value!r} is not yes/no (1/0)"))
    return False


def _text(value: Any, what: str, problems: list[Problem], where: str, max_len: int, *,
          required: bool = True, default: str = "") -> str:
    s = "" if value is None else str(value).strip()
    if not s:
        if required:
            problems.append(Problem(where, f"{what} is missing"))
        return default
    if len(s) > max_len:
        problems.append(Problem(where, f"{what} {s!r} is longer than {max_len} characters"))
    return s


def _seat(d: dict[str, Any], problems: list[Problem], where: str) -> SeatSpec | None:
    before = len(problems)
    row = _text(d.get("row"), "row", problems, where, 8)
    number = _int(d.get("number"), "seat number", problems, where, lo=1, hi=9999)
    x = _int(d.get("x"), "x", problems, where)
    y = _int(d.get("y"), "y", problems, where)
    accessible, companion, obstructed = (_flag(d.get(f), f, problems, where)
                                         for f in ("accessible", "companion", "obstructed"))
    rank = _int(d.get("rank"), "rank", problems, where, hi=10**9, required=False)
    if len(problems) > before or number is None or x is None or y is None:
        return None
    return SeatSpec(row, number, x, y, accessible, companion, obstructed, rank=rank,
                    where=where)


def _section(d: dict[str, Any], problems: list[Problem], where: str) -> SectionSpec:
    code = _text(d.get("code", d.get("section")), "section code", problems, where, 32)
    kind = str(d.get("kind") or "seated").strip().lower()
    if kind not in ("seated", "ga"):
        problems.append(Problem(where, f"kind {kind!r} is not seated or ga"))
    capacity = _int(d.get("capacity"), "capacity", problems, where, lo=1, hi=1_000_000,
                    required=kind == "ga")
    name = _text(d.get("name"), "name", problems, where, 120, required=False, default=code)
    return SectionSpec(code, name, kind, capacity, [], where)


def _add_section(room: RoomSpec, d: dict[str, Any], problems: list[Problem],
                 where: str) -> SectionSpec | None:
    """``d`` read as a section and added to ``room``; None (and a problem) when the room
    has a section of that code already."""
    sec = _section(d, problems, where)
    if room.section(sec.code) is not None:
        problems.append(Problem(where, f"section {sec.code} is declared twice"))
        return None
    room.sections.append(sec)
    return sec


def _room(d: dict[str, Any], problems: list[Problem], where: str) -> RoomSpec:
    code = _text(d.get("code", d.get("room")), "room code", problems, where, 32)
    tz = _text(d.get("timezone"), "timezone", problems, where, 64)
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(Problem(where, f"time zone {tz!r} is unknown"))
    return RoomSpec(code, _text(d.get("name"), "name", problems, where, 120, required=False,
                                default=code), tz,
                    _text(d.get("stage"), "stage", problems, where, 40, required=False,
                          default="STAGE"), [], where)


def parse_csv(content: str) -> list[RoomSpec]:
    problems: list[Problem] = []
    reader = csv.DictReader(io.StringIO(content))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise VenueFileError([Problem("line 1", "header lacks column(s) " + ", ".join(missing)
                                      + "; expected " + ",".join(COLUMNS))])
    reader.fieldnames = header
    rooms: dict[str, RoomSpec] = {}
    pending: list[tuple[str, str, SeatSpec | SectionSpec]] = []
    for rec in reader:
        where = f"line {reader.line_num}"
        if None in rec:
            problems.append(Problem(where, "more fields than the header has"))
            continue
        kind = (rec.get("type") or "").strip().lower()
        room_code = (rec.get("room") or "").strip()
        if kind == "room":
            room = _room(rec, problems, where)
            if room.code in rooms:
                problems.append(Problem(where, f"room {room.code} is declared twice"
                                        f" (first on {rooms[room.code].where})"))
            elif room.code:
                rooms[room.code] = room
        elif kind == "section":
            pending.append((room_code, where, _section(rec, problems, where)))
        elif kind == "seat":
            seat = _seat(rec, problems, where)
            if seat is not None:
                pending.append((room_code, (rec.get("section") or "").strip(), seat))
        elif not any((v or "").strip() for v in rec.values()):
            continue  # a blank line
        else:
            problems.append(Problem(where, f"type {kind!r} is not room, section or seat"))
    for room_code, _tag, item in pending:
        owner = rooms.get(room_code)
        where = item.where
        if isinstance(item, SectionSpec):
            if owner is None:
                problems.append(Problem(where, f"room {room_code!r} is not declared"))
            elif (first := owner.section(item.code)) is not None:
                problems.append(Problem(where, f"section {item.code} is declared twice"
                                        f" (first on {first.where})"))
            elif item.code:
                owner.sections.append(item)
    for room_code, tag, item in pending:
        if isinstance(item, SeatSpec):
            _attach(rooms.get(room_code), room_code, tag, item, problems)
    problems.extend(validate(list(rooms.values())))
    if not rooms and not problems:
        problems.append(Problem("line 1", "no room in the file"))
    _raise(problems)
    return list(rooms.values())


def _attach(room: RoomSpec | None, room_code: str, section_code: str, seat: SeatSpec,
            problems: list[Problem]) -> None:
    if room is None:
        problems.append(Problem(seat.where, f"room {room_code!r} is not declared"))
        return
    sec = room.section(section_code)
    if sec is None:
        problems.append(Problem(seat.where, f"section {section_code!r} is missing"
                                f" from room {room.code}"))
    elif sec.kind != "seated":
        problems.append(Problem(seat.where, f"section {section_code} is general admission:"
                                " it has no numbered seats"))
    else:
        sec.seats.append(seat)


def parse_json(content: str) -> list[RoomSpec]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise VenueFileError([Problem(f"line {exc.lineno}", f"not JSON: {exc.msg}")]) from None
    problems: list[Problem] = []
    if not isinstance(data, dict) or not isinstance(data.get("rooms"), list):
        raise VenueFileError([Problem("top level", 'expected {"format": "' + FORMAT
                                      + '", "rooms": [...]}')])
    if data.get("format", FORMAT) != FORMAT:
        problems.append(Problem("format", f"format {data.get('format')!r} is not {FORMAT}"))
    rooms: list[RoomSpec] = []
    for i, r in enumerate(data["rooms"]):
        rw = f"rooms[{i}]"
        if not isinstance(r, dict):
            problems.append(Problem(rw, "a room is an object"))
            continue
        room = _room(r, problems, rw)
        if any(o.code == room.code for o in rooms):
            problems.append(Problem(rw, f"room {room.code} is declared twice"))
        rooms.append(room)
        for j, s in enumerate(r.get("sections") or []):
            sw = f"{rw}.sections[{j}]"
            if not isinstance(s, dict):
                problems.append(Problem(sw, "a section is an object"))
                continue
            sec = _add_section(room, s, problems, sw)
            if sec is None:
                continue
            seats = s.get("seats") or []
            if seats and sec.kind != "seated":
                problems.append(Problem(sw, f"section {sec.code} is general admission:"
                                        " it has no numbered seats"))
                continue
            for k, st in enumerate(seats):
                tw = f"{sw}.seats[{k}]"
                if not isinstance(st, dict):
                    problems.append(Problem(tw, "a seat is an object"))
                    continue
                seat = _seat(st, problems, tw)
                if seat is not None:
                    sec.seats.append(seat)
    problems.extend(validate(rooms))
    if not rooms and not problems:
        problems.append(Problem("rooms", "no room in the file"))
    if problems:
        lines = json_lines(content)
        problems = [Problem(f"line {lines[p.where]} ({p.where})" if p.where in lines
                            else p.where, p.message) for p in problems]
    _raise(problems)
    return rooms


_WS = re.compile(r"[ \t\n\r]*")


def json_lines(content: str) -> dict[str, int]:
    """The line each value of a (valid) JSON text starts on, by the path parse_json
    names it with (``rooms[0].sections[1].seats[4]``): json itself keeps no positions."""
    starts = [i for i, ch in enumerate(content) if ch == "\n"]
    decoder = json.JSONDecoder()
    out: dict[str, int] = {}

    def skip(i: int) -> int:
        m = _WS.match(content, i)
        return m.end() if m else i

    def value(i: int, path: str) -> int:
        i = skip(i)
        out[path] = bisect.bisect_left(starts, i) + 1
        ch = content[i]
        if ch in "{[":
            close, k = ("}" if ch == "{" else "]"), 0
            i = skip(i + 1)
            if content[i] == close:
                return i + 1
            while True:
                if ch == "{":
                    # A key is a JSON string: raw_decode reads it from its opening quote
                    # (json.decoder.scanstring would too, but typeshed does not declare it).
                    name, i = decoder.raw_decode(content, skip(i))
                    i = value(skip(i) + 1, f"{path}.{name}" if path else name)
                else:
                    i = value(i, f"{path}[{k}]")
                    k += 1
                i = skip(i)
                if content[i] != ",":
                    return i + 1
                i += 1
        return decoder.raw_decode(content, i)[1]

    value(0, "")
    return out


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise VenueFileError(problems)


def validate(rooms: list[RoomSpec]) -> list[Problem]:
    """The whole-room checks: duplicate seat labels, two seats on one spot, sections
    without seats, capacities that disagree with the seats. Fills default ranks."""
    problems: list[Problem] = []
    for room in rooms:
        if not room.sections:
            problems.append(Problem(room.where, f"room {room.code} has no sections"))
        spots: dict[tuple[int, int], tuple[str, SeatSpec]] = {}
        for sec in room.sections:
            if sec.kind == "seated" and not sec.seats:
                problems.append(Problem(sec.where, f"seated section {sec.code} has no seats"))
            if sec.kind == "seated" and sec.capacity is not None and sec.seats \
                    and sec.capacity != len(sec.seats):
                problems.append(Problem(sec.where, f"capacity {sec.capacity} but"
                                        f" {len(sec.seats)} seats are listed"))
            labels: dict[tuple[str, int], SeatSpec] = {}
            for seat in sec.seats:
                first = labels.get((seat.row, seat.number))
                if first is not None:
                    problems.append(Problem(seat.where, f"duplicate seat {sec.code}"
                                            f" {seat.label} (first on {first.where})"))
                    continue
                labels[(seat.row, seat.number)] = seat
                other = spots.get((seat.x, seat.y))
                if other is not None:
                    problems.append(Problem(seat.where, f"seat {sec.code} {seat.label} overlaps"
                                            f" {other[0]} {other[1].label} at ({seat.x},"
                                            f" {seat.y}) ({other[1].where})"))
                else:
                    spots[(seat.x, seat.y)] = (sec.code, seat)
            if sec.seats:
                cx = (min(s.x for s in sec.seats) + max(s.x for s in sec.seats)) / 2
                for seat in sec.seats:
                    if seat.rank is None:
                        # Nearer the stage, then nearer the centre line, is better.
                        seat.rank = seat.y * 1000 + int(abs(seat.x - cx) * 2)
    return problems


# --- writing ---------------------------------------------------------------------------


def to_csv(rooms: list[RoomSpec]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for room in rooms:
        w.writerow(["room", room.code, "", room.name, "", "", room.timezone, room.stage]
                   + [""] * 8)
        for sec in room.sections:
            w.writerow(["section", room.code, sec.code, sec.name, sec.kind,
                        sec.capacity if sec.kind == "ga" else ""] + [""] * 10)
        for sec in room.sections:
            for s in sec.seats:
                w.writerow(["seat", room.code, sec.code, "", "", "", "", "", s.row, s.number,
                            s.x, s.y, int(s.accessible), int(s.companion), int(s.obstructed),
                            s.rank])
    return out.getvalue()


def to_json(rooms: list[RoomSpec]) -> str:
    """One seat per line, so a diff of two exports reads seat by seat."""
    parts = ['{"format": "' + FORMAT + '", "rooms": [']
    for i, room in enumerate(rooms):
        head = {"code": room.code, "name": room.name, "timezone": room.timezone,
                "stage": room.stage}
        parts.append(("" if i == 0 else ",") + json.dumps(head, ensure_ascii=False)[:-1]
                     + ', "sections": [')
        for j, sec in enumerate(room.sections):
            sd: dict[str, Any] = {"code": sec.code, "name": sec.name, "kind": sec.kind}
            if sec.kind == "ga":
                sd["capacity"] = sec.capacity
            parts.append(("" if j == 0 else ",") + json.dumps(sd, ensure_ascii=False)[:-1]
                         + ', "seats": [')
            for k, s in enumerate(sec.seats):
                seat = {"row": s.row, "number": s.number, "x": s.x, "y": s.y, "rank": s.rank}
                for flag in ("accessible", "companion", "obstructed"):
                    if getattr(s, flag):
                        seat[flag] = True
                parts.append((" " if k == 0 else ",") + json.dumps(seat, ensure_ascii=False))
            parts.append("]}")
        parts.append("]}")
    parts.append("]}")
    return "\n".join(parts) + "\n"


def dump(rooms: list[RoomSpec], fmt: str) -> str:
    if fmt == "csv":
        return to_csv(rooms)
    if fmt == "json":
        return to_json(rooms)
    raise BoxOfficeError("invalid_input", detail=f"format {fmt!r}: use csv or json")
