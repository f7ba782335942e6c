"""Reading a room file of any of the accepted kinds (CSV, JSON, TOML spec) by its name."""

from __future__ import annotations

from pathlib import Path

from core.backoffice.venue_format import RoomSpec, parse_csv, parse_json
from core.backoffice.venue_generate import parse_spec
from core.errors import BoxOfficeError


def load(path: Path | str) -> list[RoomSpec]:
    """Read a room file by its extension (.csv, .json, .toml spec); raise
    ``VenueFileError`` listing every problem, or ``invalid_input`` if it cannot be read."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise BoxOfficeError("invalid_input", detail=f"cannot read {p}: {exc.strerror}") \
            from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BoxOfficeError("invalid_input", detail=f"{p} is not UTF-8 text") from None
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return parse_csv(content)
    if suffix == ".json":
        return parse_json(content)
    if suffix == ".toml":
        return parse_spec(content)
    raise BoxOfficeError("invalid_input",
                         detail=f"{p.name}: use a .csv, .json or .toml (spec) file")
