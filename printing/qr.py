"""The QR picture used on paper and in the preview.

Built here with the qrcode package (the same one python-escpos uses) rather than
through ``Escpos.qr(native=False)``: that call gives the code a one-module quiet zone
and centres it on the *profile's* paper width, which is wrong for a 58 mm roll in an
80 mm profile. Error correction M survives a crease or a thermal smudge.
"""

from __future__ import annotations

import qrcode
import qrcode.constants
from PIL import Image


def qr_image(data: str, *, module_px: int, border: int = 4) -> Image.Image:
    code = qrcode.QRCode(version=None, box_size=module_px, border=border,
                         error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)  # uppercase base32 selects alphanumeric mode by itself
    code.make(fit=True)
    return code.make_image(fill_color="black", back_color="white").get_image().convert("L")


def module_px_for(paper_mm: int) -> int:
    """Dots per module: about 30 mm of code on 58 mm paper, 40 mm on 80 mm."""
    return 6 if paper_mm <= 58 else 8


def centered(img: Image.Image, width: int) -> Image.Image:
    """Pad ``img`` to the full printable width so it prints centred on any profile."""
    if img.width >= width:
        return img
    canvas = Image.new("L", (width, img.height), 255)
    canvas.paste(img, ((width - img.width) // 2, 0))
    return canvas
