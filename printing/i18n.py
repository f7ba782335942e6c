"""Words printed on tickets and receipts, in Brazilian Portuguese, English and Spanish.

``lang`` is explicit wherever a document is rendered (a job is rendered once, when it is
queued, in the language of the sale); left out, it is the process's ``core.language``.
"""

from __future__ import annotations

from core.language import LANGUAGES, language, normalize

# key: (pt-BR, en, es), the order of core.language.LANGUAGES
LABELS: dict[str, tuple[str, str, str]] = {
    "date": ("Data", "Date", "Fecha"),
    "time": ("Hora", "Time", "Hora"),
    "doors": ("Portas", "Doors", "Puertas"),
    "section": ("Setor", "Section", "Sector"),
    "row": ("Fila", "Row", "Fila"),
    "seat": ("Assento", "Seat", "Asiento"),
    "table": ("Mesa", "Table", "Mesa"),
    "ga": ("Pista / entrada geral", "General admission", "Entrada general"),
    "place": ("Lugar", "Place", "Lugar"),
    "price": ("Preço", "Price", "Precio"),
    "tier": ("Categoria", "Tier", "Categoría"),
    "serial": ("Série", "Serial", "Serie"),
    "order": ("Pedido", "Order", "Pedido"),
    "terminal": ("Terminal", "Terminal", "Terminal"),
    "operator": ("Operador", "Operator", "Operador"),
    "kiosk": ("Autoatendimento", "Self-service", "Autoservicio"),
    "issued": ("Emitido", "Issued", "Emitido"),
    "duplicate": ("2a VIA", "DUPLICATE", "DUPLICADO"),
    "copy": ("cópia", "copy", "copia"),
    "terms": (
        "Válido para uma entrada. Não dobre nem molhe. Não reembolsável após o início do "
        "espetáculo. Proibida a entrada de menores de 18 anos. Sujeito às normas do cassino.",
        "Valid for one entry. Keep it flat and dry. Not refundable after the show starts. Entry "
        "may be refused to under-18s. Subject to casino rules.",
        "Válido para una entrada. No la doble ni la moje. No reembolsable después del inicio del "
        "espectáculo. Prohibida la entrada a menores de 18 años. Sujeto a las normas del casino.",
    ),
    "receipt": ("RECIBO", "RECEIPT", "RECIBO"),
    "not_fiscal": ("Não é documento fiscal", "Not a tax invoice", "No es un comprobante fiscal"),
    "total": ("TOTAL", "TOTAL", "TOTAL"),
    "payment": ("Pagamento", "Payment", "Pago"),
    "cash": ("Dinheiro", "Cash", "Efectivo"),
    "card": ("Cartão", "Card", "Tarjeta"),
    "tendered": ("Recebido", "Tendered", "Recibido"),
    "change": ("Troco", "Change", "Vuelto"),
    "auth": ("Autorização", "Authorization", "Autorización"),
    "thanks": (
        "Obrigado, bom espetáculo!",
        "Thank you, enjoy the show!",
        "¡Gracias, disfrute el espectáculo!",
    ),
    "test_page": ("TESTE DE IMPRESSORA", "PRINTER TEST", "PRUEBA DE IMPRESORA"),
    "tickets": ("ingresso(s)", "ticket(s)", "entrada(s)"),
}

WEEKDAYS: dict[str, tuple[str, ...]] = {
    "pt-BR": ("Seg", "Ter", "Qua", "Qui", "Sex", "Sáb", "Dom"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "es": ("Lun", "Mar", "Mié", "Jue", "Vie", "Sáb", "Dom"),
}


def _lang(lang: str | None) -> str:
    return normalize(lang) if lang else language()


def label(key: str, lang: str | None = None) -> str:
    return LABELS[key][LANGUAGES.index(_lang(lang))]


def weekday(index: int, lang: str | None = None) -> str:
    return WEEKDAYS[_lang(lang)][index]
