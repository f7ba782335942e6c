"""Printed tickets and receipts in each customer language (issue 15 item 14): the bytes
python-escpos's Dummy printer collects carry that language's words and money format,
and none of another language's."""

from __future__ import annotations

import pytest

from core.tickets import ticket_views
from printing.escpos_render import render_escpos
from printing.i18n import LABELS
from printing.layout import receipt_document, ticket_document
from printing.model import receipt_for
from tests.printing.conftest import sell

# Words that differ between the languages, as they print (ASCII, so the code page does
# not matter): ticket and receipt labels.
WORDS = {
    "pt-BR": (b"Data", b"Hora", b"Setor", b"Pedido", b"RECIBO", b"Pagamento", b"Dinheiro",
              b"Troco", b"Obrigado"),
    "en": (b"Date", b"Time", b"Section", b"Order", b"RECEIPT", b"Payment", b"Cash",
           b"Change", b"Thank you"),
    "es": (b"Fecha", b"Hora", b"Sector", b"Pedido", b"RECIBO", b"Pago", b"Efectivo",
           b"Vuelto", b"Gracias"),
}
FOREIGN = {"pt-BR": (b"Date", b"Fecha", b"Efectivo", b"Cash"),
           "en": (b"Data", b"Fecha", b"Dinheiro", b"Efectivo"),
           "es": (b"Date", b"Data", b"Dinheiro", b"Cash", b"Setor")}


@pytest.fixture(scope="module")
def views(ctx, counter):
    order, _ = sell(ctx, counter, seats=1)
    return ticket_views(ctx.engine, order_id=order.order_id)


@pytest.mark.parametrize("lang", ["pt-BR", "en", "es"])
def test_ticket_and_cash_receipt_print_in_the_language(views, lang):
    ticket = render_escpos(ticket_document(views[0], paper_mm=80, lang=lang))
    receipt = render_escpos(receipt_document(
        receipt_for(views, "cash", tendered_minor=10 ** 6, lang=lang), paper_mm=80, lang=lang))
    data = ticket + receipt
    for word in WORDS[lang]:
        assert word in data, (lang, word)
    for word in FOREIGN[lang]:
        assert word not in data, (lang, word)
    # Money in the language's format: a comma before the cents in pt-BR and es.
    price = views[0].unit_price_minor
    cents = f"{price // 100:,}".replace(",", "." if lang != "en" else ",")
    sep = "," if lang != "en" else "."
    assert f"{cents}{sep}{price % 100:02d}".encode() in ticket


def test_every_printed_label_has_three_different_languages_where_words_differ():
    # A label left in English in the Spanish column is the bug the customer saw.
    for key, (pt, en, es) in LABELS.items():
        assert pt and en and es, key
        if en not in ("Terminal", "TOTAL"):
            assert es != en, key
