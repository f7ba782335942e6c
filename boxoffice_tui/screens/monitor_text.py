"""The monitor's words for what core reports as codes and figures: alerts, approval
titles, terminal and card states, in English or pt-BR, money in the language's format.

Core (``core.monitor``) sends ``Alert(code, terminal, data)`` and approvals with a
``kind`` code and ``data``; nothing in core is worded for a screen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.language import language
from core.money import format_minor

if TYPE_CHECKING:
    from core.monitor import Alert, Approval

# key: (English, Brazilian Portuguese)
STRINGS: dict[str, tuple[str, str]] = {
    "alert_variance_waiting": (
        "Cash variance of {amount} at {terminal} ({login}) waits for approval",
        "Diferença de caixa de {amount} em {terminal} ({login}) aguarda aprovação"),
    "alert_terminal_silent": ("{terminal} silent for {duration}",
                              "{terminal} sem sinal há {duration}"),
    "alert_selling_offline": (
        "{terminal} selling offline: {queue} sale(s) waiting, oldest {duration}",
        "{terminal} vendendo offline: {queue} venda(s) na fila, a mais antiga há {duration}"),
    "alert_card_down": ("{terminal}: card payments down", "{terminal}: cartão fora do ar"),
    "alert_printer_down": ("{terminal}: printer {printer}", "{terminal}: impressora {printer}"),
    "alert_sandbox_gateway": ("{terminal}: SANDBOX card gateway, test cards, no money",
                              "{terminal}: operadora de cartão SANDBOX, de teste, sem dinheiro"),
    # The worker found no matching charge at the gateway: the order's tickets are void.
    "alert_payment_unverified": (
        "{terminal}: order {order} ({amount}) not paid at the gateway; tickets void",
        "{terminal}: pedido {order} ({amount}) sem pagamento na operadora; ingressos anulados"),
    "alert_reconcile_behind": (
        "{count} card sale(s) unchecked for {duration}: is the worker running?",
        "{count} venda(s) no cartão sem conferência há {duration}: o worker está rodando?"),
    "alert_kiosk_pin_failed": (
        "{terminal}: {count} wrong staff PIN(s) in 15 min{locked}",
        "{terminal}: {count} PIN(s) de equipe errado(s) em 15 min{locked}"),
    "pin_locked": (": login locked", ": login bloqueado"),
    "kind_shift_variance": ("Cash variance", "Diferença de caixa"),
    # Three short lines: the approval dialog is 56 columns wide and its title does not
    # scroll sideways (a tablet in portrait is about 80 columns).
    "approval_shift_variance": (
        "Cash variance {amount}\nat {terminal} ({login})\n"
        "expected {expected} · counted {counted}",
        "Diferença de caixa {amount}\nem {terminal} ({login})\n"
        "esperado {expected} · contado {counted}"),
    "card_closed": ("card ok", "cartão ok"),
    "card_open": ("card down", "cartão fora"),
    "card_half_open": ("card retry", "cartão testando"),
    "card_off": ("no card", "sem cartão"),
    "printer_ok": ("ok", "ok"),
    "printer_offline": ("offline", "desligada"),
    "printer_failed": ("failed", "com falha"),
    "printer_error": ("error", "com erro"),
    "printer_paper_out": ("no paper", "sem papel"),
    "printer_none": ("none", "nenhuma"),
    "state_stopped": ("stopped", "parado"),
    "signin_title": ("Supervisor monitor: sign in", "Monitor do supervisor: entrar"),
    "rev_gross": ("gross", "bruto"),
    "rev_refunds": ("refund", "devol."),
    "rev_net": ("net", "líquido"),
    "tender_card": ("card", "cartão"),
    "tender_cash": ("cash", "espécie"),  # 7 letters: the revenue table's column
    "tender_comp": ("comp", "cortesia"),
}


def _lang() -> str:
    return "pt-BR" if language() == "pt-BR" else "en"


def mt(key: str, **kw: Any) -> str:
    """A monitor string in the process language (the key itself when unknown)."""
    pair = STRINGS.get(key)
    if pair is None:
        return key
    template = pair[1] if _lang() == "pt-BR" else pair[0]
    try:
        return template.format(**kw)
    except (KeyError, IndexError):
        return template


def money(minor: int | None, currency: str) -> str:
    return "—" if minor is None else format_minor(minor, currency, _lang())


def duration(seconds: int) -> str:
    """95 s, 12 min, 3 h: a silence or a queue's age at a glance."""
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def alert_text(alert: Alert, currency: str) -> str:
    d = alert.data
    kw: dict[str, Any] = {"terminal": alert.terminal, **d}
    if alert.code == "variance_waiting":
        kw["amount"] = money(d.get("amount_minor"), currency)
    elif alert.code == "terminal_silent":
        kw["duration"] = duration(int(d.get("seconds") or 0))
    elif alert.code == "selling_offline":
        kw["duration"] = duration(int(d.get("oldest_s") or 0))
    elif alert.code == "payment_unverified":
        kw["amount"] = money(d.get("amount_minor"), str(d.get("currency") or currency))
    elif alert.code == "kiosk_pin_failed":
        kw["locked"] = mt("pin_locked") if d.get("lockout") else ""
    elif alert.code == "reconcile_behind":
        kw["duration"] = duration(int(d.get("seconds") or 0))
    elif alert.code == "printer_down":
        kw["printer"] = printer_text(str(d.get("printer", "")))
    return mt(f"alert_{alert.code}", **kw)


def approval_kind(approval: Approval) -> str:
    return mt(f"kind_{approval.kind}")


def approval_title(approval: Approval, currency: str) -> str:
    """The sentence the supervisor approves: who, where, and the figures."""
    d = approval.data
    return mt(f"approval_{approval.kind}", terminal=approval.terminal, login=approval.login,
              amount=money(approval.amount_minor, currency),
              expected=money(d.get("expected_minor"), currency),
              counted=money(d.get("counted_minor"), currency))


def card_text(breaker: Any) -> str:
    """The card circuit as a supervisor reads it: "card ok", not "closed"."""
    state = str(breaker or "").lower()
    return mt(f"card_{state}") if f"card_{state}" in STRINGS else "—"


def printer_text(printer: Any) -> str:
    state = str(printer or "").lower()
    return mt(f"printer_{state}") if f"printer_{state}" in STRINGS else (state or "—")


def tender_text(tender: str) -> str:
    return mt(f"tender_{tender}") if f"tender_{tender}" in STRINGS else tender


def amount(minor: int) -> str:
    """A money figure without its symbol (the revenue table names the currency once)."""
    figure = format_minor(abs(minor), "", _lang()).strip()
    return f"-{figure}" if minor < 0 else figure


def currency_symbol(currency: str) -> str:
    return format_minor(0, currency, "en").split(" ")[0]
