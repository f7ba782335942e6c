"""Documents -> ESC/POS bytes through python-escpos's ``Dummy`` printer.

python-escpos is imported lazily (it takes over a second) and its capabilities cache
is pointed at the user's private cache folder, because by default each process makes a
new temp dir (and a fixed /tmp path would let anyone plant the pickle escpos loads).
"""

from __future__ import annotations

import fcntl
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import platformdirs

from core.errors import BoxOfficeError
from printing.document import QR, Document, Feed, Rule, Text, dots_for
from printing.qr import centered, module_px_for, qr_image


def escpos_env(cache_dir: Path | None = None) -> None:
    """Set ESCPOS_CAPABILITIES_PICKLE_DIR before escpos is first imported. escpos loads a
    pickle from there, so the folder is this user's private cache (0700, owned by us),
    never a shared /tmp path someone else could plant a pickle in."""
    folder = cache_dir or Path(platformdirs.user_cache_dir("boxoffice")) / "escpos"
    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(folder))
    load_capabilities(private_dir(Path(os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"])))


def load_capabilities(folder: Path) -> None:
    """Import escpos's capabilities under an exclusive lock on ``folder``, once per process.

    escpos writes its pickle in place (``open(..., "wb")`` then dump) and any other process
    importing escpos meanwhile reads a torn pickle and fails at import: sixteen terminals
    starting at once did. Under the lock one process writes while the others wait. A torn
    pickle left by a writer that was killed mid-dump is deleted and the import retried, so
    escpos rebuilds it from its YAML.
    """
    if "escpos.capabilities" in sys.modules:
        return
    with open(folder / ".capabilities.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            try:
                import escpos.capabilities
            except (EOFError, pickle.UnpicklingError, AttributeError, ValueError):
                for torn in folder.glob("*.capabilities.pickle"):
                    torn.unlink(missing_ok=True)
                sys.modules.pop("escpos.capabilities", None)
                import escpos.capabilities  # noqa: F401
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def private_dir(folder: Path) -> Path:
    """Create ``folder`` (0700) or check an existing one: owned by this user, writable by
    nobody else; anything else is refused (its contents may have been planted)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = folder.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        raise BoxOfficeError("unsafe_directory", path=str(folder))
    return folder


def dummy(profile: str) -> Any:
    escpos_env()
    from escpos.printer import Dummy

    # Always pass a profile: without one escpos ignores alignment (with a warning).
    return Dummy(profile=profile)


def _print_width(p: Any, paper_mm: int) -> int:
    """Dots per line: the paper's, or fewer if the profile says so (TM-T88: 512)."""
    try:
        pixels = p.profile.profile_data["media"]["width"]["pixels"]
    except (KeyError, TypeError, AttributeError):
        pixels = None
    paper = dots_for(paper_mm)
    return min(paper, int(pixels)) if isinstance(pixels, int) else paper


def render_escpos(doc: Document, *, profile: str = "TM-T20II", native_qr: bool = False) -> bytes:
    p = dummy(profile)
    p.hw("INIT")
    for b in doc.blocks:
        if isinstance(b, Text):
            p.set(align=b.align, bold=b.bold, font="b" if b.small else "a",
                  normal_textsize=not b.big, double_width=b.big, double_height=b.big)
            p.textln(b.text)
        elif isinstance(b, Rule):
            p.set(align="left", bold=False, font="a", normal_textsize=True)
            p.textln(b.char * doc.columns)
        elif isinstance(b, QR):
            p.set(align="center", normal_textsize=True)
            if native_qr:
                from escpos.constants import QR_ECLEVEL_M

                p.qr(b.data, ec=QR_ECLEVEL_M, size=module_px_for(doc.paper_mm), native=True)
            else:
                img = centered(qr_image(b.data, module_px=module_px_for(doc.paper_mm),
                                        border=2), _print_width(p, doc.paper_mm))
                p.image(img, impl="bitImageRaster")
        elif isinstance(b, Feed):
            p.ln(b.lines)
    p.set(align="left", bold=False, font="a", normal_textsize=True)
    if doc.kick_drawer:
        p.cashdraw(2)
    if doc.cut:
        p.cut()
    return bytes(p.output)
