"""One error family with stable codes; UIs map codes to messages, journals store codes."""

from __future__ import annotations

from typing import Any

# code -> (English, Brazilian Portuguese). Placeholders are filled from BoxOfficeError.details.
MESSAGES: dict[str, tuple[str, str]] = {
    "unknown_event": ("Event {event_id} does not exist.", "O evento {event_id} não existe."),
    "unknown_seat": ("Seat {seat_ids} does not exist.", "O assento {seat_ids} não existe."),
    "unknown_section": ("Section {section_id} does not exist.",
                        "O setor {section_id} não existe."),
    "seat_not_in_event": ("Seat {seat_ids} does not belong to this event's room.",
                          "O assento {seat_ids} não pertence à sala deste evento."),
    "seat_unavailable": ("Seat(s) {seat_ids} are no longer available; nothing was held.",
                         "Assento(s) {seat_ids} não estão mais disponíveis; nada foi reservado."),
    "sold_out": ("Not enough places left ({wanted} wanted).",
                 "Não há lugares suficientes ({wanted} pedidos)."),
    "invalid_quantity": ("Quantity must be between 1 and {max}; got {quantity}.",
                         "A quantidade deve ficar entre 1 e {max}; recebido {quantity}."),
    "too_many_seats": ("At most {max} seats per order.", "No máximo {max} assentos por pedido."),
    "sales_closed": ("Sales for this event are closed ({reason}).",
                     "As vendas deste evento estão encerradas ({reason})."),
    "event_paused": ("Sales for this event are paused.",
                     "As vendas deste evento estão pausadas."),
    "not_general_admission": ("Section {section_id} has numbered seats; pick seats.",
                              "O setor {section_id} tem lugares marcados; escolha assentos."),
    "not_seated": ("Section {section_id} is general admission; ask for a quantity.",
                   "O setor {section_id} é de pista; informe a quantidade."),
    "unknown_hold": ("Hold {hold_id} does not exist.", "A reserva {hold_id} não existe."),
    "hold_expired": ("The hold has expired; the seats were released.",
                     "A reserva expirou; os assentos foram liberados."),
    "hold_not_active": ("The hold is {status}, not active.", "A reserva está {status}, não ativa."),
    "foreign_hold": ("This hold belongs to another terminal.",
                     "Esta reserva pertence a outro terminal."),
    "extension_limit": ("The hold was already extended {max} time(s).",
                        "A reserva já foi prorrogada {max} vez(es)."),
    "lock_timeout": ("The seats are busy; try again.",
                     "Os assentos estão ocupados; tente de novo."),
    "idempotency_conflict": ("This request key was already used for a different request.",
                             "Esta chave de requisição já foi usada em outro pedido."),
    "unknown_terminal": ("Terminal {terminal} is not registered.",
                         "O terminal {terminal} não está cadastrado."),
    "unknown_operator": ("Operator {operator} does not exist.",
                         "O operador {operator} não existe."),
    "invalid_pin": ("Wrong operator or PIN.", "Operador ou PIN incorretos."),
    "operator_locked": ("Too many wrong PINs; locked until {until}.",
                        "PIN errado vezes demais; bloqueado até {until}."),
    "not_authorized": ("{role} approval is required.", "É necessária aprovação de {role}."),
    "amount_mismatch": ("The amount {amount} does not match the hold total {total}.",
                        "O valor {amount} não confere com o total da reserva {total}."),
    "database_unavailable": ("The central database cannot be reached.",
                             "O banco de dados central está inacessível."),
    "invalid_input": ("{detail}", "{detail}"),
}


class BoxOfficeError(Exception):
    """A domain failure with a stable ``code``; ``details`` fill the message placeholders."""

    def __init__(self, code: str, **details: Any) -> None:
        if code not in MESSAGES:
            raise ValueError(f"unregistered error code {code!r}")
        self.code = code
        self.details = details
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        en, pt = MESSAGES[self.code]
        template = pt if lang.lower().startswith("pt") else en
        try:
            return template.format(**self.details)
        except (KeyError, IndexError):
            return template

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "details": {k: _plain(v) for k, v in self.details.items()}}


def register(code: str, en: str, pt: str) -> None:
    """Lets other core modules add their codes to the one table."""
    MESSAGES.setdefault(code, (en, pt))


def _plain(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return str(v)
