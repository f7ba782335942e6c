"""F1: the keys of the face in use, in the current language, in sections as the face's
guide lists them (docs/cashier.md for the counter; docs/monitor.md's key tables for the
monitor, its charts, its console and the console's seat map: tests/tui/test_help.py holds the two
to each other).

The whole list fits an 80x24 terminal without scrolling, in either language: the sections
are set in two columns of 37 characters (``COLUMN``), balanced by height, and every
description is short enough for its column (tests/tui/test_help.py measures both)."""

from __future__ import annotations

from itertools import combinations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from boxoffice_tui.base import BaseModal
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.i18n import add_strings, t

add_strings({
    # Section titles.
    "hk_anywhere": ("On every screen", "Em qualquer tela"),
    "hk_events": ("Events", "Eventos"),
    "hk_seat_map": ("Seat map", "Mapa de lugares"),
    "hk_pay": ("Paying", "Pagamento"),
    "hk_orders": ("Orders", "Pedidos"),
    "hk_monitor": ("Monitor", "Monitor"),
    "hk_charts_title": ("Charts", "Gráficos"),
    "hk_console_title": ("Console", "Console"),
    "hk_seatmap_title": ("Console seat map", "Mapa de lugares do console"),
    # The counter: what the footer says in a word, said in full.
    "hk_palette": ("Find an event or order", "Procurar evento/pedido"),
    "hk_lease": ("Take the leases now", "Pegar as cessões agora"),
    "hk_into_list": ("Into the list", "Para a lista"),
    "hk_ten_rows": ("Ten rows up / down", "Sobe/desce 10 fileiras"),
    "hk_row_ends": ("Row start / end", "Início / fim da fileira"),
    "hk_hold": ("Hold picked seats", "Reservar os marcados"),
    "hk_best": ("Best N seats together", "Os N melhores juntos"),
    "hk_qty": ("One more / one less", "Mais um / menos um"),
    "hk_extend": ("Extend the hold (once)", "Prorrogar (uma vez)"),
    "hk_clear": ("Clear the cart", "Limpar o carrinho"),
    "hk_exact": ("Cash: the exact amount", "Dinheiro: valor exato"),
    "hk_pick_ticket": ("Choose tickets for F9", "Escolher ingressos (F9)"),
    # The monitor's four tables.
    "hk_refresh": ("Refresh now", "Atualizar agora"),
    "hk_approve": ("Approve highlighted approval", "Aprovar a aprovação marcada"),
    "hk_console": ("Console (supervisor sign-in)", "Console (entrada supervisor)"),
    "hk_charts": ("The charts", "Os gráficos"),
    "hk_chart_tabs": ("Sales, occupancy, prices", "Vendas, ocupação, preços"),
    "hk_chart_event": ("Another event (prices)", "Outro evento (preços)"),
    "hk_pause": ("Pause / resume sales", "Pausar / retomar vendas"),
    "hk_price": ("A price by hand", "Um preço manual"),
    "hk_seats": ("The event's seat map", "O mapa de lugares"),
    "hk_ga": ("A general-admission capacity", "Capacidade de uma pista"),
    "hk_approve_price": ("Approve oldest price change", "Aprovar o preço mais antigo"),
    "hk_reject_price": ("Reject oldest price change", "Rejeitar o preço mais antigo"),
    "hk_lists": ("Events, rooms, staff", "Eventos, salas, equipe"),
    "hk_sign_out": ("Sign out of the console", "Sair do console"),
    "hk_to_monitor": ("Back to the monitor", "Voltar ao monitor"),
    "hk_cursor": ("Move the cursor", "Mover o cursor"),
    "hk_pick": ("Pick / unpick the seat", "Marcar / desmarcar"),
    "hk_row": ("Pick the cursor's row", "Marcar a fileira"),
    "hk_unpick": ("Unpick everything", "Desmarcar tudo"),
    "hk_block": ("Block the picked seats", "Bloquear os marcados"),
    "hk_unblock": ("Picked blocked seats on sale", "Liberar bloqueados marcados"),
    "hk_release": ("Release all blocks of a kind", "Liberar bloqueios de um tipo"),
    "hk_to_console": ("Back to the console", "Voltar ao console"),
})

Section = tuple[str, tuple[tuple[str, str], ...]]

# The counter, as docs/cashier.md tells it (the keys every screen has first).
CASHIER: tuple[Section, ...] = (
    ("hk_anywhere", (
        ("F1", "help"), ("Ctrl+L", "language"), ("Ctrl+P", "hk_palette"), ("F3", "orders"),
        ("F8", "x_report"), ("F10 / Ctrl+F", "close_shift"), ("F4", "hk_lease"),
        ("Esc", "back"), ("Ctrl+Q", "quit"))),
    ("hk_events", (("Enter", "open_event"), ("↓", "hk_into_list"))),
    ("hk_seat_map", (
        ("↑ ↓ ← →", "move"), ("PgUp PgDn", "hk_ten_rows"), ("Home End", "hk_row_ends"),
        ("Space / click", "toggle"), ("Enter", "hk_hold"), ("1-9", "hk_best"),
        ("+ / -", "hk_qty"), ("T", "hk_extend"), ("Del / X", "hk_clear"))),
    ("hk_pay", (("F5", "cash"), ("=", "hk_exact"), ("F6", "card"))),
    ("hk_orders", (
        ("Space", "hk_pick_ticket"), ("F7", "reprint"), ("F9", "refund"),
        ("F11 / Ctrl+T", "exchange"))),
)

# The monitor, its charts, its console and the console's seat map: docs/monitor.md's key
# tables, cell for cell (backticks dropped).
MONITOR: tuple[Section, ...] = (
    ("hk_monitor", (
        ("r", "hk_refresh"), ("a", "hk_approve"), ("c", "hk_console"), ("g", "hk_charts"),
        ("F1", "help"), ("Ctrl+L", "language"), ("Ctrl+Q", "quit"))),
    ("hk_charts_title", (
        ("1 2 3", "hk_chart_tabs"), ("← →", "hk_chart_event"), ("r", "hk_refresh"),
        ("Esc or g", "hk_to_monitor"))),
    ("hk_console_title", (
        ("p", "hk_pause"), ("o", "hk_price"), ("s", "hk_seats"), ("g", "hk_ga"),
        ("a", "hk_approve_price"), ("x", "hk_reject_price"), ("1 2 3", "hk_lists"),
        ("Ctrl+O", "hk_sign_out"), ("Esc", "hk_to_monitor"))),
    ("hk_seatmap_title", (
        ("arrows, PgUp/PgDn, Home/End", "hk_cursor"), ("Space or a click", "hk_pick"),
        ("r", "hk_row"), ("Del or c", "hk_unpick"), ("b", "hk_block"),
        ("u", "hk_unblock"), ("l", "hk_release"), ("Esc", "hk_to_console"))),
)

# Two columns across the 80-column help box (80 less the border and padding, 2 between).
COLUMN = 37
# A key wider than this has its own line, its description under it (the monitor's seat
# map's "arrows, PgUp/PgDn, Home/End" would leave its column no room to describe).
KEY_MAX = 13


def _height(section: Section) -> int:
    """Lines a section takes: its title, a line per key and one more per overlong key."""
    return 1 + sum(2 if len(k) > KEY_MAX else 1 for k, _ in section[1])


def _column_height(sections: list[Section]) -> int:
    return sum(_height(s) for s in sections) + max(len(sections) - 1, 0)  # blank between


def split(sections: tuple[Section, ...]) -> tuple[list[Section], list[Section]]:
    """The two columns: the first section leads the left one, each column keeps the
    guide's order, and the taller column is as short as it can be (the counter's five
    sections and the monitor's four fit 21 lines, an 80x24 box's room)."""
    best: tuple[int, tuple[int, ...]] | None = None
    rest = range(1, len(sections))
    for n in range(len(sections)):
        for more in combinations(rest, n):
            left = (0, *more)
            lcol = [sections[i] for i in left]
            rcol = [s for i, s in enumerate(sections) if i not in left]
            tall = max(_column_height(lcol), _column_height(rcol))
            if best is None or (tall, left) < best:
                best = (tall, left)
    chosen = best[1] if best else (0,)
    return ([sections[i] for i in chosen],
            [s for i, s in enumerate(sections) if i not in chosen])


def column_lines(sections: list[Section], titled: bool = True) -> list[str]:
    """One column as markup lines: keys aligned, a blank line between sections."""
    width = max((len(k) for _, keys in sections for k, _ in keys if len(k) <= KEY_MAX),
                default=0)
    out: list[str] = []
    for title, keys in sections:
        if out:
            out.append("")
        if titled:
            out.append(f"[b u]{t(title)}[/]")
        for k, v in keys:
            if len(k) > KEY_MAX:
                out += [f"[b]{k}[/b]", f"{'':<{width}} {t(v)}"]
            else:
                out.append(f"[b]{k:<{width}}[/b] {t(v)}")
    return out


def help_columns(sections: tuple[Section, ...]) -> tuple[str, str]:
    left, right = split(sections)
    return "\n".join(column_lines(left)), "\n".join(column_lines(right))


class HelpScreen(BaseModal):
    BINDINGS = [Binding("escape,f1,q", "cancel", "back")]

    def __init__(self, sections: tuple[Section, ...] = CASHIER) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        left, right = help_columns(self.sections)
        with Vertical(classes="dialog", id="help-box") as box:
            # The title sits in the border: the line it would take is the list's.
            box.border_title = t("help_title")
            # Scrolls only on a terminal smaller than 80x24.
            with VerticalScroll(id="help-scroll"), Horizontal(id="help-body"):
                yield Static(left, classes="help-column", id="help-left")
                yield Static(right, classes="help-column", id="help-right")
        yield QuickFooter()
