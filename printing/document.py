"""A printed document as plain blocks, independent of the printer.

The same blocks become ESC/POS bytes (``escpos_render``) and a PNG picture of the
paper (``png_render``), so the preview folder shows exactly what the layout asked for,
and jobs persist as JSON in the spool.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Align = Literal["left", "center", "right"]


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    align: Align = "left"
    bold: bool = False
    big: bool = False  # double width and height
    small: bool = False  # font B: terms and footers
    kind: str = "text"


@dataclass(frozen=True, slots=True)
class Rule:
    char: str = "-"
    kind: str = "rule"


@dataclass(frozen=True, slots=True)
class QR:
    data: str
    kind: str = "qr"


@dataclass(frozen=True, slots=True)
class Feed:
    lines: int = 1
    kind: str = "feed"


Block = Text | Rule | QR | Feed
_KINDS: dict[str, type] = {"text": Text, "rule": Rule, "qr": QR, "feed": Feed}


@dataclass(frozen=True, slots=True)
class Document:
    """One piece of paper: blocks, the paper width in characters (font A), and what
    happens at the end (cut, cash-drawer kick)."""

    kind: str  # ticket | receipt | test
    columns: int
    blocks: tuple[Block, ...]
    paper_mm: int = 80
    cut: bool = True
    kick_drawer: bool = False
    serial: int | None = None
    duplicate: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["blocks"] = [asdict(b) for b in self.blocks]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Document:
        blocks = tuple(_KINDS[b["kind"]](**b) for b in d["blocks"])
        return cls(**{**d, "blocks": blocks})

    @property
    def qr_data(self) -> list[str]:
        return [b.data for b in self.blocks if isinstance(b, QR)]


def columns_for(paper_mm: int) -> int:
    """Characters per line in font A: 58 mm paper prints 32, 80 mm prints 48."""
    return 32 if paper_mm <= 58 else 48


def dots_for(paper_mm: int) -> int:
    """Printable width in dots at 203 dpi."""
    return 384 if paper_mm <= 58 else 576
