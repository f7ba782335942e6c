"""The cashier's and monitor's labels in pt-BR and English.

Error messages are not here: a ``BoxOfficeError`` speaks through ``core.error_catalogue``
(see ``boxoffice_tui.base.error_text``). The language is the process's one state in
``core.language``; ``set_language`` here keeps it to the two the cashier speaks.
"""

from __future__ import annotations

from typing import Any

from core.language import language, normalize
from core.language import set_language as _set_process_language

__all__ = ["add_strings", "label_for", "language", "reason_text", "set_language",
           "status_text", "t"]

_STRINGS: dict[str, tuple[str, str]] = {
    # key: (English, Brazilian Portuguese)
    "app_title": ("Box office", "Bilheteria"),
    "monitor_title": ("Supervisor monitor", "Monitor do supervisor"),
    "operator": ("Operator", "Operador"),
    "pin": ("PIN", "PIN"),
    "sign_in": ("Sign in", "Entrar"),
    "sign_in_title": ("Sign in to {terminal}", "Entrar em {terminal}"),
    "sign_out": ("Sign out", "Sair"),
    "open_shift": ("Open shift", "Abrir turno"),
    "opening_float": ("Opening float (cash in drawer)", "Fundo de troco (dinheiro na gaveta)"),
    "shift": ("Shift", "Turno"),
    "no_shift": ("no shift", "sem turno"),
    "online": ("online", "online"),
    "offline": ("OFFLINE", "OFFLINE"),
    "db_lost": ("Database connection lost: retrying. Sales are paused until it is back.",
                "Conexão com o banco perdida: tentando de novo. Vendas pausadas até voltar."),
    "events": ("Events", "Eventos"),
    "filter": ("Type to filter events", "Digite para filtrar eventos"),
    "col_when": ("When", "Quando"),
    "col_event": ("Event", "Evento"),
    "col_room": ("Room", "Sala"),
    "col_avail": ("Free / held / sold", "Livre/res./vend."),
    "col_price": ("Price", "Preço"),
    "open_event": ("Open", "Abrir"),
    "back": ("Back", "Voltar"),
    "move": ("Move", "Mover"),
    "toggle": ("Pick seat", "Marcar"),
    "hold": ("Hold", "Reservar"),
    "best": ("Best", "Melhores"),
    "qty": ("Qty", "Qtd"),
    "more": ("One more", "Mais um"),
    "less": ("One less", "Menos um"),
    # Short: the seat map footer holds eight keys at 80 columns in Portuguese too.
    "extend": ("Extend", "+Tempo"),
    "clear": ("Clear", "Limpar"),
    "cash": ("Cash", "Dinheiro"),
    "card": ("Card", "Cartão"),
    "orders": ("Orders", "Pedidos"),
    "x_report": ("X report", "Relatório X"),
    "close_shift": ("Close shift", "Fechar turno"),
    "help": ("Help", "Ajuda"),
    # Short: the events footer holds six keys at 80 columns in Portuguese too.
    "language": ("Language", "Idioma"),
    "quit": ("Quit", "Sair"),
    "cart": ("Cart", "Carrinho"),
    "cart_empty": ("Empty. Space picks a seat, Enter holds; 1-9 holds the best N.",
                   "Vazio. Espaço marca, Enter reserva; 1-9 reserva os N melhores."),
    "picked": ("{n} picked: Enter holds them", "{n} marcado(s): Enter reserva"),
    "total": ("Total", "Total"),
    "expires_in": ("Hold expires in {mmss}", "Reserva expira em {mmss}"),
    "hold_expired": ("The hold expired; the seats went back on sale.",
                     "A reserva expirou; os assentos voltaram à venda."),
    "extended": ("Hold extended.", "Reserva prorrogada."),
    "released": ("Cart cleared.", "Carrinho limpo."),
    "card_unavailable": ("Card unavailable, cash only: {reason}",
                         "Cartão indisponível, só dinheiro: {reason}"),
    "legend": ("Legend", "Legenda"),
    "lg_available": ("free", "livre"),
    "lg_mine": ("in cart", "carrinho"),  # short: the legend keeps to 2 lines at 80 columns
    "lg_picked": ("picked", "marcado"),
    "lg_held": ("held elsewhere", "reservado"),
    "lg_sold": ("sold", "vendido"),
    "lg_blocked": ("blocked", "bloqueado"),
    "lg_accessible": ("wheelchair", "cadeirante"),
    "lg_companion": ("companion", "acompanhante"),
    "ga_title": ("General admission", "Entrada geral"),
    "ga_left": ("{n} places left", "{n} lugares restantes"),
    "ga_hint": ("Type a quantity (1-9) or +/- to hold places.",
                "Digite a quantidade (1-9) ou +/- para reservar."),
    "cash_title": ("Cash payment", "Pagamento em dinheiro"),
    "tendered": ("Tendered", "Recebido"),
    "customer_optional": ("Customer name (optional; Tab to type it)",
                          "Nome do cliente (opcional; Tab para digitar)"),
    "change": ("Change", "Troco"),
    "due": ("Due", "A pagar"),
    "confirm": ("Confirm", "Confirmar"),
    "cancel": ("Cancel", "Cancelar"),
    "not_enough": ("Tendered is less than the total.", "Valor recebido menor que o total."),
    "card_title": ("Card payment", "Pagamento com cartão"),
    "card_progress": ("Waiting for the card terminal / gateway...",
                      "Aguardando o cartão / operadora..."),
    "card_number": ("Card (test) number or token", "Número (teste) ou token do cartão"),
    "sale_done": ("Sale {number} complete: {total}", "Venda {number} concluída: {total}"),
    "printed": ("Tickets sent to the printer.", "Ingressos enviados à impressora."),
    "print_problem": ("Printer: {state}. The sale is safe; tickets will print when it is back.",
                      "Impressora: {state}. A venda está salva; os ingressos saem quando voltar."),
    "declined": ("Card declined: {reason}", "Cartão recusado: {reason}"),
    "search_orders": ("Serial, QR, order number or name", "Serial, QR, nº do pedido ou nome"),
    "reprint": ("Reprint", "Reimprimir"),
    "refund": ("Refund", "Estornar"),
    "exchange": ("Exchange", "Trocar"),
    "approval": ("Supervisor approval", "Aprovação do supervisor"),
    "supervisor": ("Supervisor", "Supervisor"),
    "reason": ("Reason", "Motivo"),
    "approve": ("Approve", "Aprovar"),
    "refunded": ("Order {number} refunded: {amount}", "Pedido {number} estornado: {amount}"),
    "reprinted": ("Reprint queued (marked DUPLICATE).", "Reimpressão enviada (marcada 2ª VIA)."),
    "exchange_hint": ("The order was refunded; pick the new seats and sell them.",
                      "O pedido foi estornado; escolha os novos assentos e venda."),
    "counted": ("Counted cash (blind count)", "Dinheiro contado (contagem cega)"),
    "variance": ("Variance", "Diferença"),
    "shift_closed": ("Shift closed. Variance {variance}.", "Turno fechado. Diferença {variance}."),
    "not_available": ("{what} is not available on this installation yet.",
                      "{what} ainda não está disponível nesta instalação."),
    "unexpected": ("Unexpected error ({kind}); it was logged. Try again.",
                   "Erro inesperado ({kind}); foi registrado. Tente de novo."),
    "help_title": ("Keys", "Teclas"),
    "col_serial": ("Order", "Pedido"),
    "col_customer": ("Customer", "Cliente"),
    "col_status": ("Status", "Situação"),
    "col_total": ("Total", "Total"),
    "sales_per_min": ("Sales per minute (last hour)", "Vendas por minuto (última hora)"),
    "revenue": ("Revenue today by tender", "Receita de hoje por forma"),
    "occupancy": ("Occupancy", "Ocupação"),
    "terminals": ("Terminals", "Terminais"),
    "open_holds": ("Open holds", "Reservas abertas"),
    "approvals": ("Pending approvals", "Aprovações pendentes"),
    "alerts": ("Alerts", "Alertas"),
    "no_alerts": ("No alerts.", "Sem alertas."),
    # monitor table headers and states
    "mon_sold_cap": ("sold/cap", "vend./cap."),
    "mon_kind": ("kind", "tipo"),
    "mon_op": ("op", "op."),
    "mon_beat": ("beat", "sinal"),
    "mon_state": ("state", "estado"),
    "mon_sync_prt": ("sync/prt", "fila/imp."),
    "mon_printer": ("printer", "impressora"),
    "mon_card": ("card", "cartão"),
    "mon_terminal": ("terminal", "terminal"),
    "mon_event": ("event", "evento"),
    "mon_qty": ("qty", "qtd."),
    "mon_left": ("left", "resta"),
    "mon_by": ("by", "por"),
    "mon_amount": ("amount", "valor"),
    "mon_detail": ("detail", "detalhe"),
    "mon_stale": ("STALE", "SEM SINAL"),
    "mon_on": ("on", "on"),
    "mon_off": ("OFF", "OFF"),
    "mon_total": ("total", "total"),
    "mon_rate": ("{last}/min · {hour}/h", "{last}/min · {hour}/h"),
    "refresh": ("Refresh", "Atualizar"),
    "approved": ("Approved.", "Aprovado."),
    "amount": ("Amount", "Valor"),
    # offline selling (sync)
    "queue_line": ("queue {n}", "fila {n}"),
    "queue_oldest": ("oldest {s} s", "mais antiga {s} s"),
    "leased_line": ("lease {n}", "cessão {n}"),
    "flagged_line": ("{n} flagged", "{n} sinalizada(s)"),
    "offline_lease_only": ("Central database unreachable: selling from this terminal's lease"
                           " only (◈). Sales are queued and sent when the link is back.",
                           "Banco central inacessível: vendendo só da cessão deste terminal"
                           " (◈). As vendas ficam na fila e são enviadas na volta da conexão."),
    "lg_lease_mine": ("my lease", "minha cessão"),
    "lg_leased": ("leased elsewhere", "cedido a outro"),
    "lease": ("lease", "cessão"),
    "leases_taken": ("{n} lease(s) taken; {seats} place(s) leased to this terminal.",
                     "{n} cessão(ões) obtida(s); {seats} lugar(es) cedido(s) a este terminal."),
    "offline_sale": ("OFFLINE sale: queued, sent when back online",
                     "Venda SEM CONEXÃO: na fila, enviada na volta da conexão"),
    "card_saf_risk": ("Offline: the card is stored and charged when back online; a decline"
                      " then revokes the tickets. Limit {floor} per sale; card money at risk"
                      " on this terminal: {risk} of {total}.",
                      "Sem conexão: o cartão é guardado e cobrado na volta da conexão; uma"
                      " recusa então cancela os ingressos. Limite {floor} por venda; cartão"
                      " em risco neste terminal: {risk} de {total}."),
    "card_saf_done": ("card will be charged when back online (at risk: {risk})",
                      "o cartão será cobrado na volta da conexão (em risco: {risk})"),
    # The X report and the close of a shift.
    "rep_shift": ("Shift", "Turno"),
    "rep_opened": ("Opened", "Aberto em"),
    "rep_closed": ("Closed", "Fechado em"),
    "opening_float_short": ("Opening float", "Fundo de troco"),
    "rep_sales": ("Sales", "Vendas"),
    "rep_refunds": ("Refunds", "Estornos"),
    "rep_net": ("Net", "Líquido"),
    "rep_no_sales": ("No sales yet.", "Nenhuma venda ainda."),
    "rep_drawer": ("Cash drawer movements", "Movimentos da gaveta"),
    "tender_cash": ("Cash", "Dinheiro"),
    "tender_card": ("Card", "Cartão"),
    "cash_float": ("opening float", "fundo de troco"),
    "cash_sale": ("cash sales", "vendas em dinheiro"),
    "cash_refund": ("cash refunds", "estornos em dinheiro"),
    "counted_short": ("Counted", "Contado"),
    "expected_short": ("Expected", "Esperado"),
    "no_shift_open": ("No open shift: sign in again to open one.",
                      "Nenhum turno aberto: entre de novo para abrir um."),
    "no_shift_sale": ("No open shift: nothing can be sold. Sign in again to open one.",
                      "Nenhum turno aberto: nada pode ser vendido. Entre de novo para abrir um."),
    "variance_deferred": ("Variance not approved here: the shift waits for a supervisor's "
                          "approval on the monitor. Session ended.",
                          "Diferença não aprovada aqui: o turno aguarda a aprovação do "
                          "supervisor no monitor. Sessão encerrada."),
    "sale_refunded": ("Sale {number} refunded: {amount}", "Venda {number} estornada: {amount}"),
    "close": ("Close", "Fechar"),
    "declined_hint": ("Try another card or take cash.",
                      "Tente outro cartão ou receba em dinheiro."),
    "exact": ("Exact", "Valor exato"),
    "stage": ("Stage", "Palco"),
    # Choosing single tickets to refund on the orders screen.
    "col_ticket": ("Ticket", "Ingresso"),
    "pick_ticket": ("Pick ticket", "Escolher ingresso"),
    "n_tickets": ("{n} ticket(s)", "{n} ingresso(s)"),
    "tickets_hint": ("Space chooses single tickets to refund; F9 with none chosen refunds the "
                     "whole order.",
                     "Espaço escolhe ingressos para estornar; F9 sem nenhum escolhido estorna o "
                     "pedido inteiro."),
    "tickets_chosen": ("{n} ticket(s) chosen: F9 refunds {amount}.",
                       "{n} ingresso(s) escolhido(s): F9 estorna {amount}."),
    "why_another_shift": ("sold in another shift", "vendido em outro turno"),
    "why_amount_over_limit": ("amount over the limit", "valor acima do limite"),
    "sup_login_hint": ("supervisor's login", "login do supervisor"),
    "login_hint": ("your login", "seu login"),
    "role_cashier": ("cashier", "caixa"),
    "role_supervisor": ("supervisor", "supervisor"),
    # Statuses of orders, tickets and shifts, as the database keeps them.
    "status_paid": ("paid", "pago"),
    "status_partially_refunded": ("partly refunded", "estornado em parte"),
    "status_refunded": ("refunded", "estornado"),
    "status_canceled": ("canceled", "cancelado"),
    # The worker found no matching charge at the gateway (core.sales.reconcile).
    "status_payment_unverified": ("not paid: tickets void", "não pago: ingressos anulados"),
    "status_sold": ("sold", "vendido"),
    "status_open": ("open", "aberto"),
    "status_closed": ("closed", "fechado"),
    "status_pending_approval": ("waiting for approval", "aguardando aprovação"),
    # Reason codes (core.sales.approvals) for refunds and cash variances.
    "reason_customer_request": ("customer request", "pedido do cliente"),
    "reason_event_canceled": ("event canceled", "evento cancelado"),
    "reason_event_changed": ("event changed", "evento alterado"),
    "reason_duplicate_sale": ("duplicate sale", "venda duplicada"),
    "reason_wrong_seat": ("wrong seat", "lugar errado"),
    "reason_exchange": ("exchange", "troca"),
    "reason_service_issue": ("service issue", "problema no atendimento"),
    "reason_other": ("other", "outro"),
    "reason_counting_error": ("counting error", "erro de contagem"),
    "reason_change_error": ("change given wrong", "troco errado"),
    "reason_missing_cash": ("missing cash", "falta de dinheiro"),
    "reason_surplus_cash": ("surplus cash", "sobra de dinheiro"),
}


def label_for(prefix: str, code: str) -> str:
    """A code from core (a status, a reason, a tender) in the current language; the code
    itself, readable, when there is no label for it rather than nothing."""
    key = prefix + code
    return t(key) if key in _STRINGS else code.replace("_", " ")


def status_text(status: str) -> str:
    return label_for("status_", status)


def reason_text(code: str) -> str:
    return label_for("reason_", code)


def add_strings(strings: dict[str, tuple[str, str]]) -> None:
    """A screen module's own labels (English, pt-BR), for ``t`` and footer bindings."""
    _STRINGS.update(strings)


def set_language(lang: str) -> None:
    """Switches the process to ``lang`` as the cashier speaks it: pt-BR or English.

    The cashier's labels exist in those two only; a terminal set to Spanish speaks English
    here, errors included, rather than English labels around Spanish errors.
    """
    _set_process_language("pt-BR" if normalize(lang) == "pt-BR" else "en")


def t(key: str, **kw: Any) -> str:
    en, pt = _STRINGS.get(key, (key, key))
    # Spanish (the kiosk's shared widgets) reads English: these labels have two languages.
    template = pt if language() == "pt-BR" else en
    try:
        return template.format(**kw)
    except (KeyError, IndexError):
        return template
