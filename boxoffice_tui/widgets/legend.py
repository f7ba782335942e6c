"""A seat map's legend: symbol and word pairs packed on as few lines as the width allows,
never split between lines (a wrapped "▪" at the end of one line and "blocked" at the start
of the next read as two entries)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Size
from textual.widgets import Static

Entry = tuple[str, str, str]  # symbol, its style, the word


class Legend(Static):
    DEFAULT_CSS = "Legend { height: auto; }"

    def __init__(self, entries: Iterable[Entry] = (), **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self._entries = list(entries)

    def set_entries(self, entries: Iterable[Entry]) -> None:
        self._entries = list(entries)
        self.refresh(layout=True)

    def packed(self, width: int) -> Text:
        lines: list[Text] = []
        line = Text()
        for sym, style, word in self._entries:
            size = cell_len(sym) + 1 + cell_len(word)
            if line.cell_len and line.cell_len + 2 + size > width:
                lines.append(line)
                line = Text()
            elif line.cell_len:
                line.append("  ")
            line.append(sym, style)
            line.append(f" {word}")
        lines.append(line)
        return Text("\n", no_wrap=True).join(lines)

    def render(self) -> Text:
        return self.packed(self.content_region.width or self.app.size.width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.packed(width).plain.split("\n"))
