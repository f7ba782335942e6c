"""Generate a room's seats from a short spec instead of listing every seat.

A spec is TOML::

    [room]
    code = "HALL"
    name = "Grand Hall"
    timezone = "America/Sao_Paulo"
    stage = "STAGE"

    [[sections]]
    code = "ORQ"
    name = "Orchestra"
    rows = 18                 # rows A, B, ... (I and O skipped)
    blocks = [8, 16, 8]       # seats per block, left to right, split by aisles
    aisle = 2                 # empty columns between blocks
    shape = "curved"          # or "straight": a curved row's ends come towards the stage
    curve = 2                 # how many grid lines the ends come forward
    gap = 1                   # empty lines before this section
    accessible = ["R-1", "R-2"]
    companion = ["R-3"]
    obstructed = []

    [[sections]]
    code = "PISTA"
    kind = "ga"
    capacity = 400

Sections are stacked top to bottom (the stage is above the first) and centred on the
widest one; seats are numbered left to right from 1 and ranked by row, then by distance
from the centre line.
"""

from __future__ import annotations

import tomllib
from typing import Any

from core.backoffice.venue_format import (
    Problem,
    RoomSpec,
    SeatSpec,
    SectionSpec,
    VenueFileError,
    _add_section,
    _room,
    validate,
)

ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # theatres skip I and O (read as 1 and 0)


def row_label(i: int) -> str:
    """A..Z (no I, O), then AA, BB, ... for very deep sections."""
    n = len(ROW_LETTERS)
    return ROW_LETTERS[i % n] * (i // n + 1)


def parse_spec(content: str) -> list[RoomSpec]:
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise VenueFileError([Problem("spec", f"not TOML: {exc}")]) from None
    problems: list[Problem] = []
    rooms_data = data.get("rooms") or ([data["room"] | {"sections": data.get("sections", [])}]
                                       if isinstance(data.get("room"), dict) else [])
    if not rooms_data:
        raise VenueFileError([Problem("spec", "a spec needs a [room] table and [[sections]]")])
    rooms = [generate(r, problems, f"room {r.get('code', i)}")
             for i, r in enumerate(rooms_data)]
    problems.extend(validate(rooms))
    if problems:
        raise VenueFileError(problems)
    return rooms


def _ints(value: Any, what: str, problems: list[Problem], where: str) -> list[int]:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 500 for v in value):
        problems.append(Problem(where, f"{what} must be a list of seat counts (1..500)"))
        return []
    return list(value)


def _labels(value: Any, what: str, problems: list[Problem], where: str) -> set[str]:
    if value is None:
        return set()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(Problem(where, f"{what} must be a list like [\"A-1\", \"A-2\"]"))
        return set()
    return {v.strip().upper() for v in value}


def generate(spec: dict[str, Any], problems: list[Problem], where: str) -> RoomSpec:
    room = _room(spec, problems, where)
    layouts: list[tuple[SectionSpec, dict[str, Any], list[int], int]] = []
    for i, sd in enumerate(spec.get("sections") or []):
        sw = f"{where} section {sd.get('code', i)}" if isinstance(sd, dict) else where
        if not isinstance(sd, dict):
            problems.append(Problem(sw, "a section is a table"))
            continue
        sec = _add_section(room, sd, problems, sw)
        if sec is None or sec.kind != "seated":
            continue
        blocks = _ints(sd.get("blocks", [sd.get("seats_per_row", 0)]), "blocks", problems, sw)
        aisle = sd.get("aisle", 2)
        if not isinstance(aisle, int) or not 0 <= aisle <= 20:
            problems.append(Problem(sw, "aisle must be 0..20 columns"))
            aisle = 2
        width = sum(blocks) + aisle * max(0, len(blocks) - 1)
        layouts.append((sec, sd, blocks, width))
    widest = max((w for *_, w in layouts), default=0)
    y = 2  # below the stage
    for idx, (sec, sd, blocks, width) in enumerate(layouts):
        sw = sec.where
        rows = sd.get("rows")
        if not isinstance(rows, int) or not 1 <= rows <= 200:
            problems.append(Problem(sw, "rows must be 1..200"))
            continue
        shape = sd.get("shape", "straight")
        if shape not in ("straight", "curved"):
            problems.append(Problem(sw, f"shape {shape!r} is not straight or curved"))
        curve = int(sd.get("curve", 2)) if shape == "curved" else 0
        if not 0 <= curve <= 10:
            problems.append(Problem(sw, "curve must be 0..10"))
            curve = 0
        gap = sd.get("gap", 1)
        y += (gap if isinstance(gap, int) and 0 <= gap <= 50 else 1) + curve
        flags = {f: _labels(sd.get(f), f, problems, sw)
                 for f in ("accessible", "companion", "obstructed")}
        offset = (widest - width) // 2
        half = max(1.0, (width - 1) / 2)
        for r in range(rows):
            label = row_label(r)
            col, number = 0, 0
            for b, count in enumerate(blocks):
                if b:
                    col += aisle
                for _ in range(count):
                    number += 1
                    x = offset + col
                    lift = round(curve * ((col - half) / half) ** 2) if curve else 0
                    name = f"{label}-{number}"
                    seat = SeatSpec(label, number, x, y + r - lift,
                                    name in flags["accessible"], name in flags["companion"],
                                    name in flags["obstructed"], where=f"{sw} seat {name}")
                    # Comparable across the room's sections: earlier sections first.
                    seat.rank = idx * 100_000 + r * 1000 + int(abs(col - half) * 2) + \
                        (50_000 if seat.obstructed else 0)
                    sec.seats.append(seat)
                    col += 1
        known = {s.label for s in sec.seats}
        for f, names in flags.items():
            for n in sorted(names - known):
                problems.append(Problem(sw, f"{f} seat {n} is not in this section"))
        y += rows
    return room
