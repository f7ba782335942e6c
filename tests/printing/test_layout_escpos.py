"""Layouts -> ESC/POS bytes (python-escpos Dummy) and -> PNG whose QR decodes back."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from core.tickets import load_public_keys, parse, ticket_views
from printing.escpos_render import render_escpos
from printing.layout import printer_test_document, receipt_document, ticket_document
from printing.model import receipt_for
from printing.png_render import render_png
from tests.printing.conftest import sell
from tests.printing.helpers import decode_qr

INIT = b"\x1b@"
CENTER = b"\x1ba\x01"
RASTER = b"\x1dv0"
NATIVE_QR = b"\x1d(k"
CUT = b"\x1dV"
KICK = b"\x1bp"


@pytest.fixture(scope="module")
def sale(ctx, counter):
    order, _ = sell(ctx, counter, seats=2)
    return ticket_views(ctx.engine, order_id=order.order_id)


@pytest.mark.parametrize("paper_mm", [58, 80])
@pytest.mark.parametrize("lang", ["pt-BR", "en"])
def test_png_qr_decodes_to_the_token_which_verifies(ctx, sale, paper_mm, lang):
    view = sale[0]
    png = render_png(ticket_document(view, paper_mm=paper_mm, lang=lang))
    assert png.width == (384 if paper_mm == 58 else 576) + 32
    decoded = decode_qr(png)
    assert decoded == [view.token]
    with ctx.engine.connect() as c:
        keys = load_public_keys(c)
    p = parse(decoded[0])
    assert p.verify(keys[p.claims.key_id])
    # Flip one bit of the signature in the decoded token: it no longer verifies.
    raw = bytearray(p.signature)
    raw[5] ^= 0x10
    assert not type(p)(p.claims, p.payload, bytes(raw)).verify(keys[p.claims.key_id])


def test_ticket_bytes_have_init_alignment_raster_qr_and_cut(sale):
    data = render_escpos(ticket_document(sale[0], paper_mm=80, lang="pt-BR"))
    assert data.startswith(INIT)
    assert CENTER in data and RASTER in data and CUT in data
    assert data.index(RASTER) < data.rindex(CUT)
    assert KICK not in data and NATIVE_QR not in data
    assert b"Assento" in data


def test_native_qr_when_the_profile_supports_it(sale):
    data = render_escpos(ticket_document(sale[0], paper_mm=58), native_qr=True)
    assert NATIVE_QR in data and RASTER not in data
    assert sale[0].token.encode() in data  # the printer encodes the token itself


def test_cash_receipt_kicks_the_drawer_card_receipt_does_not(sale):
    cash = render_escpos(receipt_document(receipt_for(sale, "cash", tendered_minor=10 ** 6),
                                          paper_mm=58, lang="en"))
    card = render_escpos(receipt_document(receipt_for(sale, "card", card_brand="VISA",
                                                      card_last4="4242",
                                                      payment_ref="pi_123"), lang="en"))
    assert cash.startswith(INIT) and KICK in cash and CUT in cash
    assert cash.index(KICK) < cash.rindex(CUT)
    assert KICK not in card and CUT in card and b"4242" in card


def test_duplicate_banner_and_both_languages(sale):
    pt = ticket_document(sale[0], paper_mm=58, lang="pt-BR", duplicate=2)
    en = ticket_document(sale[0], paper_mm=80, lang="en", duplicate=1)
    assert any("2a VIA 2" in getattr(b, "text", "") for b in pt.blocks)
    assert any("DUPLICATE 1" in getattr(b, "text", "") for b in en.blocks)
    for doc in (pt, en):
        assert all(len(getattr(b, "text", "")) <= doc.columns * 2 for b in doc.blocks)
        big = [b for b in doc.blocks if getattr(b, "big", False)]
        assert all(len(b.text) <= doc.columns // 2 for b in big)


def test_test_page_renders(ctx):
    data = render_escpos(printer_test_document(paper_mm=58, terminal="t1", url="tcp://x:9100"))
    assert data.startswith(INIT) and RASTER in data
    assert decode_qr(render_png(printer_test_document())) == ["BOXOFFICE-PRINTER-TEST"]


def test_seat_and_event_appear_on_paper(ctx, sale):
    v = sale[1]
    doc = ticket_document(v, lang="en")
    texts = " ".join(getattr(b, "text", "") for b in doc.blocks)
    with ctx.engine.connect() as c:
        name = c.execute(text("select name from events where id = :e"),
                         {"e": v.event_id}).scalar_one()
    assert name in texts and f"Seat {v.seat_number}" in texts and v.serial_text in texts
    assert uuid.UUID(str(v.order_id))


@pytest.mark.parametrize(("profile", "width_bytes"), [("TM-T20II", 72), ("TM-T88V", 64)])
def test_qr_raster_fits_the_profiles_print_width(sale, profile, width_bytes):
    doc = ticket_document(sale[0], paper_mm=80, columns=42 if profile == "TM-T88V" else None)
    data = render_escpos(doc, profile=profile)
    i = data.index(RASTER) + len(RASTER) + 1  # GS v 0 m xL xH yL yH
    assert data[i] + 256 * data[i + 1] == width_bytes
    if profile == "TM-T88V":
        assert all(len(b.text) <= 42 for b in doc.blocks
                   if getattr(b, "text", None) and not b.small)
