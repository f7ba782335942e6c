"""Ticket, receipt and test-page layouts for 58 and 80 mm paper, in pt-BR, English or
Spanish (every word from ``printing.i18n``; money in the language's format)."""

from __future__ import annotations

import textwrap
from datetime import datetime
from zoneinfo import ZoneInfo

from core.money import format_minor
from core.tickets.views import TicketView
from printing.document import QR, Align, Block, Document, Feed, Rule, Text, columns_for
from printing.i18n import label, weekday
from printing.model import ReceiptData, place_of


def _local(ts: datetime, tz: str) -> datetime:
    return ts.astimezone(ZoneInfo(tz))


def _date(ts: datetime, lang: str) -> str:
    return f"{weekday(ts.weekday(), lang)} {ts:%d/%m/%Y}"


def _pair(left: str, right: str, cols: int) -> Text:
    """``left ...... right`` on one line (right side wins if both do not fit)."""
    room = cols - len(right) - 1
    if room < 1:
        return Text(f"{left}: {right}"[:cols])
    left = left[:room]
    return Text(left + " " * (cols - len(left) - len(right)) + right)


def _wrap(text: str, cols: int, **style: object) -> list[Text]:
    return [Text(line, **style) for line in textwrap.wrap(text, cols) or [""]]  # type: ignore[arg-type]


def _headline(text: str, cols: int, align: Align = "center") -> Text:
    """Double size if it fits the half-width line, else bold at normal size."""
    if len(text) <= cols // 2:
        return Text(text, align, bold=True, big=True)
    return Text(text[:cols], align, bold=True)


def ticket_document(t: TicketView, *, paper_mm: int = 80, lang: str = "pt-BR",
                    duplicate: int = 0, columns: int | None = None) -> Document:
    """One ticket. ``duplicate`` > 0 prints the DUPLICATE banner with that copy number."""
    cols = columns or columns_for(paper_mm)
    big_cols = cols // 2
    starts = _local(t.starts_at, t.timezone)
    blocks: list[Block] = []
    if duplicate:
        banner = f"*** {label('duplicate', lang)} {duplicate} ***"
        if len(banner) > big_cols:
            banner = f"{label('duplicate', lang)} {duplicate}"
        blocks.append(_headline(banner, cols))
    blocks += _wrap(t.venue_name.upper(), cols, align="center", bold=True)
    blocks += _wrap(t.event_name, big_cols, align="center", bold=True, big=True)
    blocks.append(Rule())
    blocks.append(_pair(label("date", lang), _date(starts, lang), cols))
    blocks.append(_pair(label("time", lang), f"{starts:%H:%M}", cols))
    if t.doors_at is not None:
        blocks.append(_pair(label("doors", lang), f"{_local(t.doors_at, t.timezone):%H:%M}",
                            cols))
    blocks.append(_pair(label("section", lang), f"{t.section_name} ({t.section_code})", cols))
    if t.seated:
        row = t.row_label or ""
        row_word = label("table", lang) if row.startswith("M") and row[1:].isdigit() \
            else label("row", lang)
        blocks.append(_headline(f"{row_word} {t.row_label} {label('seat', lang)} "
                                f"{t.seat_number}", cols))
    else:
        blocks.append(Text(label("ga", lang), "center", bold=True))
        blocks.append(_headline(f"#{t.unit}", cols))
    blocks.append(Rule())
    blocks.append(_pair(f"{label('price', lang)} ({t.tier_name})",
                        format_minor(t.unit_price_minor, t.currency, lang), cols))
    blocks.append(QR(t.token))
    blocks.append(Text(f"{label('serial', lang)} {t.serial_text}", "center", bold=True))
    blocks.append(_pair(f"{label('order', lang)} {t.order_number}",
                        _local(t.issued_at, t.timezone).strftime("%d/%m/%Y %H:%M"), cols))
    who = t.operator_name or label("kiosk", lang)
    blocks.append(_pair(t.terminal_name, who, cols))
    blocks.append(Rule())
    blocks += _wrap(label("terms", lang), cols + cols // 3, small=True)
    if duplicate:
        blocks.append(Text(f"{label('duplicate', lang)} - {label('copy', lang)} {duplicate}",
                           "center", bold=True))
    return Document("ticket", cols, tuple(blocks), paper_mm=paper_mm, serial=t.serial,
                    duplicate=duplicate, meta={"event": t.event_code, "place": place_of(t)})


def receipt_document(r: ReceiptData, *, paper_mm: int = 80, lang: str = "pt-BR",
                     columns: int | None = None) -> Document:
    """The sale receipt; a cash sale also opens the drawer."""
    cols = columns or columns_for(paper_mm)
    money = lambda m: format_minor(m, r.currency, lang)  # noqa: E731
    starts = _local(r.starts_at, r.timezone)
    blocks: list[Block] = [
        *_wrap(r.venue_name.upper(), cols, align="center", bold=True),
        Text(label("receipt", lang), "center", bold=True, big=True),
        Text(label("not_fiscal", lang), "center", small=True),
        Rule(),
        _pair(f"{label('order', lang)} {r.order_number}",
              _local(r.issued_at, r.timezone).strftime("%d/%m/%Y %H:%M"), cols),
        *_wrap(f"{r.event_name} - {_date(starts, lang)} {starts:%H:%M}", cols),
        Rule(),
    ]
    blocks += [_pair(ln.text, money(ln.amount_minor), cols) for ln in r.lines]
    blocks.append(Rule("="))
    blocks.append(Text(f"{len(r.lines)} {label('tickets', lang)}"))
    blocks.append(Text(_pair(label("total", lang), money(r.total_minor), cols // 2).text,
                       bold=True, big=True))
    if r.method == "cash":
        blocks.append(_pair(label("payment", lang), label("cash", lang), cols))
        if r.tendered_minor is not None:
            blocks.append(_pair(label("tendered", lang), money(r.tendered_minor), cols))
        if r.change_minor is not None:
            blocks.append(_pair(label("change", lang), money(r.change_minor), cols))
    else:
        card = " ".join(x for x in (r.card_brand, f"**** {r.card_last4}" if r.card_last4
                                    else None) if x)
        blocks.append(_pair(label("payment", lang), f"{label('card', lang)} {card}".strip(),
                            cols))
        if r.payment_ref:
            blocks.append(_pair(label("auth", lang), r.payment_ref[-20:], cols))
    blocks += [Rule(), _pair(r.terminal_name, r.operator_name or label("kiosk", lang), cols),
               Feed(), Text(label("thanks", lang), "center")]
    return Document("receipt", cols, tuple(blocks), paper_mm=paper_mm,
                    kick_drawer=r.method == "cash",
                    meta={"order": r.order_number, "method": r.method})


def printer_test_document(*, paper_mm: int = 80, lang: str = "pt-BR", terminal: str = "",
                          url: str = "", columns: int | None = None) -> Document:
    """A page to check a printer: widths, accents, a QR and the cut."""
    cols = columns or columns_for(paper_mm)
    blocks: list[Block] = [
        _headline(label("test_page", lang), cols),
        Text(f"{terminal} {paper_mm} mm / {cols} col", "center"),
        *_wrap(url, cols, align="center", small=True),
        Rule(),
        Text("".join(str(i % 10) for i in range(1, cols + 1))),
        Text("ÁÉÍÓÚ ÂÊÔ ÃÕ Ç áéíóú âêô ãõ ç"),
        _pair("R$", format_minor(123456, "BRL", lang), cols),
        QR("BOXOFFICE-PRINTER-TEST"),
    ]
    return Document("test", cols, tuple(blocks), paper_mm=paper_mm)
