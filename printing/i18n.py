"""Words printed on tickets and receipts, in Brazilian Portuguese and English."""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    "date": ("Date", "Data"),
    "time": ("Time", "Hora"),
    "doors": ("Doors", "Portas"),
    "section": ("Section", "Setor"),
    "row": ("Row", "Fila"),
    "seat": ("Seat", "Assento"),
    "table": ("Table", "Mesa"),
    "ga": ("General admission", "Pista / entrada geral"),
    "place": ("Place", "Lugar"),
    "price": ("Price", "Preço"),
    "tier": ("Tier", "Categoria"),
    "serial": ("Serial", "Série"),
    "order": ("Order", "Pedido"),
    "terminal": ("Terminal", "Terminal"),
    "operator": ("Operator", "Operador"),
    "kiosk": ("Self-service", "Autoatendimento"),
    "issued": ("Issued", "Emitido"),
    "duplicate": ("DUPLICATE", "2a VIA"),
    "copy": ("copy", "cópia"),
    "terms": (
        "Valid for one entry. Keep it flat and dry. Not refundable after the show starts. "
        "Entry may be refused to under-18s. Subject to casino rules.",
        "Válido para uma entrada. Não dobre nem molhe. Não reembolsável após o início do "
        "espetáculo. Proibida a entrada de menores de 18 anos. Sujeito às normas do cassino.",
    ),
    "receipt": ("RECEIPT", "RECIBO"),
    "not_fiscal": ("Not a tax invoice", "Não é documento fiscal"),
    "total": ("TOTAL", "TOTAL"),
    "payment": ("Payment", "Pagamento"),
    "cash": ("Cash", "Dinheiro"),
    "card": ("Card", "Cartão"),
    "tendered": ("Tendered", "Recebido"),
    "change": ("Change", "Troco"),
    "auth": ("Authorization", "Autorização"),
    "thanks": ("Thank you, enjoy the show!", "Obrigado, bom espetáculo!"),
    "test_page": ("PRINTER TEST", "TESTE DE IMPRESSORA"),
    "tickets": ("ticket(s)", "ingresso(s)"),
}

WEEKDAYS = (("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
            ("Seg", "Ter", "Qua", "Qui", "Sex", "Sáb", "Dom"))


def is_pt(lang: str) -> bool:
    return lang.lower().startswith("pt")


def label(key: str, lang: str) -> str:
    en, pt = LABELS[key]
    return pt if is_pt(lang) else en


def weekday(index: int, lang: str) -> str:
    return WEEKDAYS[1 if is_pt(lang) else 0][index]
