"""A seat map drawn from the seats' x/y with the Line API.

Only the visible lines are rendered (``render_line``), each grid row is built once into
a ``Strip`` and cached until one of its seats changes, so a 5,000-seat room opens and
absorbs a burst of remote changes in milliseconds. Every state has its own symbol so the
map reads without colour (monochrome terminals, colour-blind cashiers, screenshots).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

if TYPE_CHECKING:
    from core.monitor import CompactLayout
    from core.reservation import Availability


GUTTER = 7  # row label column, kept in place while the map scrolls sideways
STAGE_LINES = 2
CELL = 2

# kind -> (symbol, style). Symbols alone must tell the states apart.
SYMBOLS: dict[str, tuple[str, str]] = {
    "available": ("○", "green"),
    "accessible": ("◇", "bold cyan"),
    "companion": ("△", "cyan"),
    "picked": ("◉", "bold yellow"),
    "mine": ("●", "bold bright_yellow"),
    "held": ("◌", "magenta"),
    "sold": ("×", "red"),
    "blocked": ("▪", "bright_black"),
    # Leases (offline selling): this terminal's unsold leased seats, the only ones it can
    # sell while offline, and seats leased to other terminals.
    "lease_mine": ("◈", "bold bright_green"),
    "leased": ("▫", "blue"),
}
LEGEND_ORDER = ("available", "accessible", "companion", "picked", "mine", "held", "sold",
                "blocked")
# The word "stage" in each language a face speaks (core.language).
STAGE_WORDS = {"pt-BR": "PALCO", "en": "STAGE", "es": "ESCENARIO"}


def stage_label(label: str) -> str:
    """The venue's stage label, unless it is just the word "stage" in some language: then
    the word in the screen's language (PALCO read as such on an English screen)."""
    if label.strip().lower() in ("", "palco", "stage", "escenario", "escenário"):
        from core.language import language

        return STAGE_WORDS.get(language(), "STAGE")
    return label


@dataclass(frozen=True, slots=True)
class SeatRef:
    seat_id: int
    label: str
    section_id: int


class SeatMap(ScrollView, can_focus=True):
    """Arrows move the cursor, space or a click picks/unpicks a free seat."""

    DEFAULT_CSS = """
    SeatMap { height: 1fr; scrollbar-size: 1 1; }
    """
    BINDINGS = [
        Binding("up", "move(0,-1)", "Move", show=False),
        Binding("down", "move(0,1)", "Move", show=False),
        Binding("left", "move(-1,0)", "Move", show=False),
        Binding("right", "move(1,0)", "Move", show=False),
        Binding("space", "toggle", "Pick", show=False),
        Binding("pageup", "jump(-10)", "Up 10 rows", show=False),
        Binding("pagedown", "jump(10)", "Down 10 rows", show=False),
        Binding("home", "row_end(-1)", "Row start", show=False),
        Binding("end", "row_end(1)", "Row end", show=False),
    ]

    class SelectionChanged(Message):
        def __init__(self, picked: tuple[int, ...], lost: tuple[int, ...] = ()) -> None:
            super().__init__()
            self.picked = picked
            self.lost = lost  # picked seats someone else took meanwhile

    class Refused(Message):
        """A seat that cannot be picked was toggled (the screen may say why)."""

        def __init__(self, seat_id: int) -> None:
            super().__init__()
            self.seat_id = seat_id

    class CursorMoved(Message):
        def __init__(self, seat: SeatRef | None) -> None:
            super().__init__()
            self.seat = seat

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._styles = {k: Style.parse(s) for k, (_, s) in SYMBOLS.items()}
        self._cursor_style = Style(reverse=True, bold=True)
        self._label_style = Style(dim=True)
        self._stage_style = Style(bold=True, reverse=True)
        self._seat_ids: tuple[int, ...] = ()
        self._index: dict[int, int] = {}
        self._col: list[int] = []
        self._row: list[int] = []
        self._kind_flag: list[str] = []
        self._labels: list[str] = []
        self._sections: list[int] = []
        self._row_cells: list[list[int]] = []  # per grid row: seat indexes sorted by column
        self._row_cols: list[list[int]] = []
        self._row_label: list[str] = []
        self._states: list[str] = []
        self._mine: set[int] = set()
        self._picked: set[int] = set()
        self._lease: set[int] = set()  # this terminal's unsold leased seats
        self.lease_only = False  # offline: only leased seats can be picked
        # States (availability letters) a seat may be picked in: a counter picks free
        # seats; the supervisor's console also picks blocked ones to put back on sale.
        self.pick_states: frozenset[str] = frozenset("A")
        self._cache: dict[int, Strip] = {}
        # Whole drawn lines by virtual y, valid for one horizontal scroll and width: a
        # redraw (vertical scroll, a burst elsewhere) reuses them, so only lines whose
        # seats changed are built again.
        self._lines: dict[int, Strip] = {}
        self._lines_key: tuple[int, int] = (-1, -1)
        self._label_strips: list[Strip] = []
        self._cols = 0
        self._rows = 0
        self._stage = "STAGE"
        self.cursor: int | None = None
        self.version = 0  # bumped on every applied change (tests and the bench wait on it)

    # --- data ------------------------------------------------------------------------
    def load(self, layout: CompactLayout, avail: Availability, stage: str = "STAGE",
             mine: Iterable[int] = ()) -> None:
        self._stage = stage
        self._lines.clear()
        if not len(layout):
            self._seat_ids = ()
            self._rows = self._cols = 0
            self.virtual_size = Size(GUTTER, STAGE_LINES)
            self.refresh()
            return
        # Both come in seat-id order from the database; the availability string indexes
        # the layout arrays directly.
        self._seat_ids = tuple(avail.seat_ids)
        if self._seat_ids != layout.seat_ids:
            raise ValueError("layout and availability disagree on the seats")
        self._index = {sid: i for i, sid in enumerate(self._seat_ids)}
        min_x = min(layout.x)
        min_y = min(layout.y)
        n = len(self._seat_ids)
        self._col = [x - min_x for x in layout.x]
        self._row = [y - min_y for y in layout.y]
        kinds = ("available", "accessible", "companion", "accessible")
        self._kind_flag = [kinds[int(f)] for f in layout.flags]
        codes = layout.section_codes
        rl, num, secs = layout.row_label, layout.number, layout.section_id
        self._labels = [f"{codes.get(secs[i], '')} {rl[i]}{num[i]}" for i in range(n)]
        self._sections = list(secs)
        self._cols = max(self._col) + 1
        self._rows = max(self._row) + 1
        cells: list[list[int]] = [[] for _ in range(self._rows)]
        for i, r in enumerate(self._row):
            cells[r].append(i)
        col = self._col
        for lst in cells:
            lst.sort(key=col.__getitem__)
        self._row_cells = cells
        self._row_cols = [[col[i] for i in lst] for lst in cells]
        self._row_label = [""] * self._rows
        for r, lst in enumerate(cells):
            if lst:
                i = lst[0]
                self._row_label[r] = f"{codes.get(secs[i], '')[:3]} {rl[i]}"
        self._label_strips = [Strip([Segment(lbl[: GUTTER - 1].ljust(GUTTER),
                                             self._label_style)], GUTTER)
                              for lbl in self._row_label]
        self._states = list(avail.states)
        self._mine = {self._index[s] for s in mine if s in self._index}
        self._picked = set()
        self._cache.clear()
        self._lines.clear()
        self.cursor = self._first_free()
        self.virtual_size = Size(GUTTER + self._cols * CELL, STAGE_LINES + self._rows)
        self.version += 1
        self.refresh()
        self.call_after_refresh(self._show_cursor)

    def clear(self) -> None:
        """Empty the map (a kept sale screen about to show another event)."""
        self._seat_ids = ()
        self._index = {}
        self._rows = self._cols = 0
        self._states = []
        self._mine = set()
        self._picked = set()
        self._lease = set()
        self._cache.clear()
        self._lines.clear()
        self.cursor = None
        # The virtual size stays until the next load: reopening a room of the same size
        # then needs no layout pass, nor one for scrollbars shown and hidden again.
        self.version += 1
        self.refresh()

    def apply(self, avail: Availability) -> int:
        """Apply a fresher availability vector; returns how many seats changed."""
        if avail.seat_ids != self._seat_ids:
            return 0
        old = self._states
        new = avail.states
        changed = [i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b]
        if not changed:
            return 0
        self._states = list(new)
        lost = tuple(self._seat_ids[i] for i in changed
                     if i in self._picked and new[i] not in self.pick_states)
        self._picked.difference_update(self._index[s] for s in lost)
        self._invalidate(changed)
        self.version += 1
        if lost:
            self.post_message(self.SelectionChanged(self.picked, lost))
        return len(changed)

    def set_mine(self, seat_ids: Iterable[int]) -> None:
        new = {self._index[s] for s in seat_ids if s in self._index}
        touched = new ^ self._mine | (self._picked & new)
        self._mine = new
        self._picked -= new
        self._invalidate(touched)
        self.version += 1

    def set_state(self, seat_ids: Iterable[int], state: str) -> None:
        touched = []
        for s in seat_ids:
            i = self._index.get(s)
            if i is not None:
                self._states[i] = state
                touched.append(i)
        self._invalidate(touched)

    def set_lease(self, seat_ids: Iterable[int], lease_only: bool) -> None:
        """Mark this terminal's unsold leased seats; with ``lease_only`` (offline) they
        are the only seats that can be picked, and other picks are dropped."""
        new = {self._index[s] for s in seat_ids if s in self._index}
        touched = new ^ self._lease
        self._lease = new
        self.lease_only = lease_only
        if lease_only:
            stale = {i for i in self._picked if i not in new}
        else:
            stale = {i for i in self._picked if self._states[i] != "A"}
        self._picked -= stale
        self._invalidate(touched | stale)
        self.version += 1
        if stale:
            self.post_message(self.SelectionChanged(self.picked))

    def clear_picked(self) -> None:
        touched = set(self._picked)
        self._picked.clear()
        self._invalidate(touched)

    @property
    def picked(self) -> tuple[int, ...]:
        return tuple(sorted(self._seat_ids[i] for i in self._picked))

    @property
    def mine(self) -> tuple[int, ...]:
        return tuple(sorted(self._seat_ids[i] for i in self._mine))

    def state_of(self, seat_id: int) -> str:
        i = self._index[seat_id]
        return self._kind(i)

    def seat_ref(self, seat_id: int) -> SeatRef:
        i = self._index[seat_id]
        return SeatRef(seat_id, self._labels[i], self._sections[i])

    @property
    def seat_count(self) -> int:
        return len(self._seat_ids)

    def move_cursor_to(self, seat_id: int) -> None:
        self._set_cursor(self._index[seat_id])

    # --- drawing ---------------------------------------------------------------------
    def _kind(self, i: int) -> str:
        if i in self._mine:
            return "mine"
        if i in self._picked:
            return "picked"
        if i in self._lease:
            return "lease_mine"
        st = self._states[i]
        if st == "A":
            return self._kind_flag[i]
        if st == "H":
            return "held"
        if st == "S":
            return "sold"
        if st == "L":
            return "leased"
        return "blocked"

    def _invalidate(self, indexes: Iterable[int]) -> None:
        rows = {self._row[i] for i in indexes}
        if not rows:
            return
        for r in rows:
            self._cache.pop(r, None)
            self._lines.pop(r + STAGE_LINES, None)
        # Repaint only the lines on screen that changed: a whole-widget refresh would
        # throw away every drawn line of the styles cache and the compositor's too.
        region = self.scrollable_content_region
        top = self.scroll_offset.y - STAGE_LINES
        visible = [r - top for r in rows if 0 <= r - top < region.height]
        if visible:
            self.refresh(*(Region(0, y, region.width, 1) for y in visible))

    def _build_row(self, r: int) -> Strip:
        cached = self._cache.get(r)
        if cached is not None:
            return cached
        segs: list[Segment] = []
        pos = 0
        run_text: list[str] = []
        run_style: Style | None = None
        for i, col in zip(self._row_cells[r], self._row_cols[r], strict=True):
            x = col * CELL
            if x > pos:
                if run_text:
                    segs.append(Segment("".join(run_text), run_style))
                    run_text, run_style = [], None
                segs.append(Segment(" " * (x - pos)))
            kind = self._kind(i)
            style = self._cursor_style if i == self.cursor else self._styles[kind]
            if style is not run_style and run_text:
                segs.append(Segment("".join(run_text), run_style))
                run_text = []
            run_style = style
            if i == self.cursor:
                # The cursor cell gets its own segment, so the space after the symbol
                # stays unstyled and neighbours do not look selected.
                segs.append(Segment(SYMBOLS[kind][0], style))
                segs.append(Segment(" "))
                run_style = None
            else:
                run_text.append(SYMBOLS[kind][0] + " ")
            pos = x + CELL
        if run_text:
            segs.append(Segment("".join(run_text), run_style))
        strip = Strip(segs, pos)
        self._cache[r] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if self._lines_key != (scroll_x, width):
            self._lines.clear()
            self._lines_key = (scroll_x, width)
        vy = y + scroll_y
        line = self._lines.get(vy)
        if line is None:
            line = self._lines[vy] = self._render_virtual_line(vy, scroll_x, width)
        return line

    def _render_virtual_line(self, vy: int, scroll_x: int, width: int) -> Strip:
        content_w = max(0, width - GUTTER)
        if vy < STAGE_LINES:
            if vy == 0 and self._cols:
                span = self._cols * CELL
                text = f" {self._stage} ".center(max(span, len(self._stage) + 2), "▀")
                stage = Strip([Segment(text, self._stage_style)]).crop(
                    scroll_x, scroll_x + content_w)
                return Strip.join([Strip.blank(GUTTER), stage]).adjust_cell_length(width)
            return Strip.blank(width)
        r = vy - STAGE_LINES
        if r >= self._rows:
            return Strip.blank(width)
        body = self._build_row(r).crop(scroll_x, scroll_x + content_w)
        return Strip.join([self._label_strips[r], body]).adjust_cell_length(width)

    # --- cursor ----------------------------------------------------------------------
    def _first_free(self) -> int | None:
        states = self._states
        for cells in self._row_cells:
            for i in cells:
                if states[i] == "A":
                    return i
        return 0 if states else None

    def _set_cursor(self, i: int | None) -> None:
        old = self.cursor
        self.cursor = i
        touched = [x for x in (old, i) if x is not None]
        self._invalidate(touched)
        self._show_cursor()
        self.post_message(self.CursorMoved(
            SeatRef(self._seat_ids[i], self._labels[i], self._sections[i])
            if i is not None else None))

    def _show_cursor(self) -> None:
        if self.cursor is None:
            return
        i = self.cursor
        view_w = max(CELL, self.scrollable_content_region.width - GUTTER)
        view_h = max(1, self.scrollable_content_region.height)
        x0 = self._col[i] * CELL
        y0 = self._row[i] + STAGE_LINES
        sx, sy = self.scroll_offset
        if x0 < sx:
            sx = x0
        elif x0 + CELL > sx + view_w:
            sx = x0 + CELL - view_w
        if y0 < sy:
            sy = max(0, y0 - 1) if self._row[i] else 0
        elif y0 >= sy + view_h:
            sy = y0 - view_h + 1
        if self._row[i] == 0:
            sy = 0
        if (sx, sy) != tuple(self.scroll_offset):
            self.scroll_to(sx, sy, animate=False, immediate=True)

    def action_move(self, dx: int, dy: int) -> None:
        if self.cursor is None:
            return
        i = self.cursor
        r, c = self._row[i], self._col[i]
        if dx:
            cells = self._row_cells[r]
            k = cells.index(i) + dx
            if 0 <= k < len(cells):
                self._set_cursor(cells[k])
            return
        rr = r + dy
        while 0 <= rr < self._rows and not self._row_cells[rr]:
            rr += dy
        if not 0 <= rr < self._rows:
            return
        cols = self._row_cols[rr]
        k = bisect_left(cols, c)
        cands = [j for j in (k - 1, k) if 0 <= j < len(cols)]
        j = min(cands, key=lambda j: abs(cols[j] - c))
        self._set_cursor(self._row_cells[rr][j])

    def action_jump(self, rows: int) -> None:
        """Page through a big room: the cursor moves ``rows`` seat rows at once."""
        step = 1 if rows > 0 else -1
        for _ in range(abs(rows)):
            before = self.cursor
            self.action_move(0, step)
            if self.cursor == before:
                break

    def action_row_end(self, direction: int) -> None:
        if self.cursor is None:
            return
        cells = self._row_cells[self._row[self.cursor]]
        self._set_cursor(cells[-1] if direction > 0 else cells[0])

    # Textual's DOMNode.action_toggle(attribute) flips a node attribute; here "toggle" is
    # the seat under the cursor, the name every binding and test already uses.
    def action_toggle(self) -> None:  # type: ignore[override]
        if self.cursor is None:
            return
        self._toggle(self.cursor)

    def _toggle(self, i: int) -> None:
        if i in self._mine:
            self.app.bell()
            return
        if i in self._picked:
            self._picked.discard(i)
        elif (i in self._lease) if self.lease_only else self._states[i] in self.pick_states:
            self._picked.add(i)
        else:
            self.app.bell()
            self.post_message(self.Refused(self._seat_ids[i]))
            return
        self._invalidate([i])
        self.version += 1
        self.post_message(self.SelectionChanged(self.picked))

    def pick_row(self) -> int:
        """Pick every pickable seat of the cursor's row at once (or unpick them all when
        all are picked already); returns how many are picked in the row now."""
        if self.cursor is None:
            return 0
        cells = [i for i in self._row_cells[self._row[self.cursor]]
                 if i not in self._mine and self._states[i] in self.pick_states]
        if cells and all(i in self._picked for i in cells):
            self._picked.difference_update(cells)
            now = 0
        else:
            self._picked.update(cells)
            now = len(cells)
        self._invalidate(cells)
        self.version += 1
        self.post_message(self.SelectionChanged(self.picked))
        return now

    def on_click(self, event: events.Click) -> None:
        sx, sy = self.scroll_offset
        x = event.x - GUTTER
        r = event.y + sy - STAGE_LINES
        if x < 0 or not 0 <= r < self._rows:
            return
        col = (x + sx) // CELL
        cols = self._row_cols[r]
        k = bisect_left(cols, col)
        if k < len(cols) and cols[k] == col:
            i = self._row_cells[r][k]
            self._set_cursor(i)
            self._toggle(i)


def legend_text() -> list[tuple[str, str]]:
    return [(SYMBOLS[k][0], k) for k in LEGEND_ORDER]
