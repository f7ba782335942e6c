"""F1: the keys of the face in use, in the current language, in sections as the face's
guide lists them (docs/cashier.md for the counter; docs/monitor.md's key tables for the
monitor, its charts, its console and the console's seat map: tests/tui/test_help.py holds the two
to each other)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from boxoffice_tui.base import BaseModal
from boxoffice_tui.footer import QuickFooter
from boxoffice_tui.i18n import add_strings, t

add_strings({
    "hk_counter": ("At the counter", "No balcão"),
    "hk_palette": ("Find an event or an order", "Procurar evento ou pedido"),
    "hk_into_list": ("Events / orders: into the list", "Eventos / pedidos: para a lista"),
    "hk_exact": ("Cash: the exact amount", "Dinheiro: o valor exato"),
    "hk_lease": ("Take this terminal's leases now", "Pegar as cessões deste terminal"),
    "hk_monitor": ("Monitor", "Monitor"),
    "hk_refresh": ("Refresh now", "Atualizar agora"),
    "hk_approve": ("Approve the highlighted pending approval",
                   "Aprovar a aprovação pendente destacada"),
    "hk_console": ("Open the console (supervisor sign-in)",
                   "Abrir o console (entrada do supervisor)"),
    "hk_charts": ("The charts", "Os gráficos"),
    "hk_charts_title": ("Charts", "Gráficos"),
    "hk_chart_tabs": ("Sales per minute, occupancy, price path",
                      "Vendas por minuto, ocupação, preços"),
    "hk_chart_event": ("Another event (price path)", "Outro evento (preços)"),
    "hk_console_title": ("Console", "Console"),
    "hk_pause": ("Pause / resume the event's sales", "Pausar / retomar as vendas"),
    "hk_price": ("A price by hand", "Um preço manual"),
    "hk_seats": ("The event's seat map", "O mapa de lugares do evento"),
    "hk_ga": ("A general-admission capacity", "A capacidade de uma pista"),
    "hk_approve_price": ("Approve the oldest waiting price change",
                         "Aprovar a mudança de preço mais antiga"),
    "hk_reject_price": ("Reject the oldest waiting price change",
                        "Rejeitar a mudança de preço mais antiga"),
    "hk_lists": ("Events, rooms, staff", "Eventos, salas, equipe"),
    "hk_sign_out": ("Sign out of the console", "Sair do console"),
    "hk_to_monitor": ("Back to the monitor", "Voltar ao monitor"),
    "hk_seatmap_title": ("Console seat map", "Mapa de lugares do console"),
    "hk_cursor": ("Move the cursor", "Mover o cursor"),
    "hk_pick": ("Pick / unpick the seat", "Marcar / desmarcar o lugar"),
    "hk_row": ("Pick the cursor's row", "Marcar a fileira do cursor"),
    "hk_unpick": ("Unpick everything", "Desmarcar tudo"),
    "hk_block": ("Block the picked seats", "Bloquear os lugares marcados"),
    "hk_unblock": ("Picked blocked seats back on sale", "Liberar os bloqueados marcados"),
    "hk_release": ("Release every blocked seat of a kind", "Liberar os bloqueios de um tipo"),
    "hk_to_console": ("Back to the console", "Voltar ao console"),
})

Section = tuple[str, tuple[tuple[str, str], ...]]

# The counter, as docs/cashier.md tells it.
CASHIER: tuple[Section, ...] = (
    ("hk_counter", (
        ("F1", "help"), ("Ctrl+L", "language"), ("Ctrl+P", "hk_palette"),
        ("Enter", "open_event"), ("↓", "hk_into_list"), ("↑ ↓ ← →", "move"),
        ("PgUp PgDn Home End", "move"), ("Space / click", "toggle"),
        ("Enter", "help_hold"), ("1-9", "help_best"), ("+ / -", "help_qty"),
        ("T", "help_extend"), ("Del / X", "help_clear"), ("F5", "cash"),
        ("=", "hk_exact"), ("F6", "card"), ("F3", "orders"), ("F7", "reprint"),
        ("Space", "help_pick_ticket"), ("F9", "refund"), ("F11 / Ctrl+T", "exchange"),
        ("F4", "hk_lease"), ("F8", "x_report"), ("F10 / Ctrl+F", "close_shift"),
        ("Esc", "back"), ("Ctrl+Q", "quit"))),
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


def help_text(sections: tuple[Section, ...]) -> str:
    width = max(len(k) for _, keys in sections for k, _ in keys) + 1
    out: list[str] = []
    for title, keys in sections:
        if len(sections) > 1:
            out.append(("\n" if out else "") + f"[b u]{t(title)}[/]")
        out += [f"[b]{k:<{width}}[/b] {t(v)}" for k, v in keys]
    return "\n".join(out)


class HelpScreen(BaseModal):
    BINDINGS = [Binding("escape,f1,q", "cancel", "back")]

    def __init__(self, sections: tuple[Section, ...] = CASHIER) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help-box"):
            yield Label(t("help_title"), classes="title")
            with VerticalScroll():
                yield Static(help_text(self.sections), id="help-body")
        yield QuickFooter()
