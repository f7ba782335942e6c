"""Documents -> a PNG picture of the paper, for the preview folder and for tests that
decode the QR code back from the image."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from printing.document import QR, Document, Feed, Rule, Text, dots_for
from printing.qr import module_px_for, qr_image

_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu",
              "/Library/Fonts", "C:/Windows/Fonts")
MARGIN = 16


@lru_cache(maxsize=16)
def _font(px: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    for d in _FONT_DIRS:
        path = Path(d) / name
        if path.is_file():
            return ImageFont.truetype(str(path), px)
    return ImageFont.load_default(size=px)


def render_png(doc: Document) -> Image.Image:
    width = dots_for(doc.paper_mm)
    char_w = width / doc.columns
    rows: list[tuple[Image.Image | None, Text | Rule | Feed]] = []
    height = MARGIN
    for b in doc.blocks:
        if isinstance(b, QR):
            qr = qr_image(b.data, module_px=module_px_for(doc.paper_mm), border=4)
            rows.append((qr, Feed(0)))
            height += qr.height
        elif isinstance(b, Text):
            height += int(char_w * (4 if b.big else 2) * (0.75 if b.small else 1)) + 4
            rows.append((None, b))
        elif isinstance(b, Rule):
            height += int(char_w * 2) + 4
            rows.append((None, b))
        elif isinstance(b, Feed):
            height += int(char_w * 2) * b.lines
            rows.append((None, b))
    height += MARGIN * 3
    page = Image.new("L", (width + 2 * MARGIN, height), 255)
    draw = ImageDraw.Draw(page)
    y = MARGIN
    for img, b in rows:
        if img is not None:
            page.paste(img, (MARGIN + (width - img.width) // 2, y))
            y += img.height
        elif isinstance(b, Text):
            scale = (2 if b.big else 1) * (0.75 if b.small else 1)
            px = int(char_w * 1.6 * scale)
            font = _font(px, b.bold)
            text_w = draw.textlength(b.text, font=font)
            x = {"left": MARGIN, "center": MARGIN + (width - text_w) / 2,
                 "right": MARGIN + width - text_w}[b.align]
            draw.text((x, y), b.text, fill=0, font=font)
            y += int(char_w * 2 * scale) + 4
        elif isinstance(b, Rule):
            mid = y + int(char_w)
            draw.line((MARGIN, mid, MARGIN + width, mid), fill=0, width=2 if b.char == "=" else 1)
            y += int(char_w * 2) + 4
        elif isinstance(b, Feed):
            y += int(char_w * 2) * b.lines
    if doc.cut:
        # A dashed line where the cutter would cut.
        for x in range(0, page.width, 12):
            draw.line((x, height - MARGIN, x + 6, height - MARGIN), fill=128)
    return page


def save_png(doc: Document, path: Path) -> Path:
    render_png(doc).save(path, format="PNG", optimize=True)
    return path
