"""Customer-facing labels in Brazilian Portuguese, English and Spanish.

Error messages are not here: ``error_message`` takes them from ``core.error_catalogue``,
which has all three languages. The language is the process's one state in
``core.language`` (the shared widgets read the same state).
"""

from __future__ import annotations

from typing import Any

from core.language import LANGUAGE_NAMES, LANGUAGES, language
from core.language import set_language as _set_process_language

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "card_label", "error_message", "language",
           "sentence", "set_language", "t"]

# key: (pt-BR, en, es)
_STRINGS: dict[str, tuple[str, str, str]] = {
    "welcome": ("Compre seus ingressos aqui", "Buy your tickets here",
                "Compre sus entradas aquí"),
    "touch_start": ("▶ Toque para começar", "▶ Touch to start", "▶ Toque para empezar"),
    "coming_up": ("Em cartaz", "Coming up", "En cartelera"),
    "no_shows": ("Nenhum show à venda agora.", "No shows on sale right now.",
                 "No hay espectáculos a la venta ahora."),
    "from_price": ("a partir de {price}", "from {price}", "desde {price}"),
    "seats_left": ("{n} lugares livres", "{n} places left", "{n} lugares libres"),
    "language": ("Idioma", "Language", "Idioma"),
    "contrast_on": ("◐ Alto contraste: LIGADO", "◐ High contrast: ON", "◐ Alto contraste: SÍ"),
    "contrast_off": ("◐ Alto contraste", "◐ High contrast", "◐ Alto contraste"),
    "back": ("◀ Voltar", "◀ Back", "◀ Volver"),
    "cancel": ("✖ Cancelar", "✖ Cancel", "✖ Cancelar"),
    "step": ("Passo {n} de {total}", "Step {n} of {total}", "Paso {n} de {total}"),
    "pick_show": ("Escolha o show", "Choose the show", "Elija el espectáculo"),
    "age_title": ("Você tem {age} anos ou mais?", "Are you {age} or older?",
                  "¿Tiene {age} años o más?"),
    "age_why": ("A lei exige esta confirmação para vender ingressos neste local.",
                "The law asks us to confirm this before selling tickets here.",
                "La ley exige esta confirmación para vender entradas aquí."),
    "yes_age": ("✔ Sim, tenho {age} anos ou mais", "✔ Yes, I am {age} or older",
                "✔ Sí, tengo {age} años o más"),
    "no_age": ("✖ Não", "✖ No", "✖ No"),
    "underage": ("Desculpe, não podemos vender ingressos a menores de {age} anos.",
                 "Sorry, we cannot sell tickets to anyone under {age}.",
                 "Lo sentimos, no podemos vender entradas a menores de {age} años."),
    "how_many": ("Quantos ingressos?", "How many tickets?", "¿Cuántas entradas?"),
    "finding": ("Procurando os melhores lugares...", "Finding the best seats...",
                "Buscando los mejores lugares..."),
    "seats_title": ("Seus lugares", "Your seats", "Sus lugares"),
    "we_picked": ("Escolhemos os melhores lugares juntos: {seats}",
                  "We picked the best seats together: {seats}",
                  "Elegimos los mejores lugares juntos: {seats}"),
    "ga_places": ("{n} entrada(s) de pista", "{n} general admission place(s)",
                  "{n} entrada(s) general(es)"),
    "keep_seats": ("✔ Ficar com estes lugares", "✔ Keep these seats",
                   "✔ Quedarme con estos lugares"),
    "choose_other": ("☰ Escolher outros lugares", "☰ Choose other seats",
                     "☰ Elegir otros lugares"),
    "pick_hint": ("Toque ou use as setas e Espaço para marcar {n} lugar(es); depois "
                  "confirme.",
                  "Touch or use the arrows and Space to pick {n} seat(s), then confirm.",
                  "Toque o use las flechas y Espacio para marcar {n} lugar(es); luego "
                  "confirme."),
    "picked_n": ("{k} de {n} marcados", "{k} of {n} picked", "{k} de {n} marcados"),
    "hold_picked": ("✔ Confirmar lugares marcados", "✔ Confirm picked seats",
                    "✔ Confirmar lugares marcados"),
    "summary_title": ("Confira seu pedido", "Check your order", "Revise su pedido"),
    "total": ("Total", "Total", "Total"),
    "hold_left": ("Lugares reservados por mais {mmss}",
                  "Seats held for you for {mmss} more",
                  "Lugares reservados por {mmss} más"),
    "pay_card": ("▶ Pagar com cartão", "▶ Pay by card", "▶ Pagar con tarjeta"),
    "card_only": ("Somente cartão neste terminal.", "Card only at this kiosk.",
                  "Solo tarjeta en este quiosco."),
    "id_title": ("Documento do cliente", "Customer identifier",
                 "Documento del cliente"),
    "id_why": ("Digite o número do seu documento (CPF ou cartão de jogador). "
               "Ele é conferido na lista de autoexclusão e não é guardado.",
               "Type your document number (ID or player card). It is checked against "
               "the self-exclusion list and not kept.",
               "Escriba su número de documento (DNI o tarjeta de jugador). Se "
               "verifica en la lista de autoexclusión y no se guarda."),
    "continue": ("✔ Continuar", "✔ Continue", "✔ Continuar"),
    "checking": ("Conferindo...", "Checking...", "Verificando..."),
    "excluded": ("Não podemos concluir esta venda aqui. Por favor, fale com a nossa "
                 "equipe no balcão.",
                 "We cannot complete this sale here. Please talk to our staff at the "
                 "counter.",
                 "No podemos completar esta venta aquí. Por favor, hable con nuestro "
                 "personal en el mostrador."),
    "pay_title": ("Aproxime ou insira o cartão", "Tap or insert your card",
                  "Acerque o inserte su tarjeta"),
    "reader_sim": ("Leitor simulado: escolha um cartão de teste.",
                   "Simulated reader: choose a test card.",
                   "Lector simulado: elija una tarjeta de prueba."),
    "paying": ("Processando o pagamento... não retire o cartão.",
               "Processing the payment... do not remove the card.",
               "Procesando el pago... no retire la tarjeta."),
    # {reason} is a whole sentence from core's error catalogue (it says "declined"
    # itself and ends with its own full stop): see ``sentence``.
    "declined": ("✖ {reason} Tente outro cartão ou cancele.",
                 "✖ {reason} Try another card or cancel.",
                 "✖ {reason} Pruebe otra tarjeta o cancele."),
    "pay_failed": ("✖ O pagamento não foi concluído: {reason} Nada foi cobrado.",
                   "✖ The payment did not go through: {reason} Nothing was charged.",
                   "✖ El pago no se completó: {reason} No se cobró nada."),
    # The simulated reader's test cards, by outcome ({brand}: Visa, Mastercard).
    "card_approved": ("{brand} (aprovado)", "{brand} (approved)", "{brand} (aprobada)"),
    "card_card_declined": ("Cartão recusado", "Declined", "Tarjeta rechazada"),
    "card_insufficient_funds": ("Saldo insuficiente", "Insufficient funds",
                                "Fondos insuficientes"),
    "card_expired_card": ("Cartão vencido", "Expired card", "Tarjeta vencida"),
    "printing": ("Imprimindo seus ingressos...", "Printing your tickets...",
                 "Imprimiendo sus entradas..."),
    "paid_order": ("Pagamento aprovado. Pedido nº {number}.",
                   "Payment approved. Order no. {number}.",
                   "Pago aprobado. Pedido n.º {number}."),
    "thanks": ("✔ Obrigado! Retire seus ingressos abaixo.",
               "✔ Thank you! Take your tickets below.",
               "✔ ¡Gracias! Retire sus entradas abajo."),
    "enjoy": ("Bom show!", "Enjoy the show!", "¡Disfrute el espectáculo!"),
    "finish": ("✔ Concluir", "✔ Done", "✔ Terminar"),
    "collect_title": ("⚠ Não conseguimos imprimir seus ingressos",
                      "⚠ We could not print your tickets",
                      "⚠ No pudimos imprimir sus entradas"),
    "collect_body": ("Seu pagamento foi aprovado e os ingressos estão garantidos.\n"
                     "Retire-os no {where} informando o pedido nº {number}.",
                     "Your payment was approved and your tickets are safe.\n"
                     "Collect them at the {where} with order no. {number}.",
                     "Su pago fue aprobado y sus entradas están garantizadas.\n"
                     "Retírelas en el {where} con el pedido n.º {number}."),
    "oos_title": ("⚠ Terminal fora de serviço", "⚠ Kiosk out of service",
                  "⚠ Quiosco fuera de servicio"),
    "oos_body": ("Por favor, compre no balcão da bilheteria.",
                 "Please buy your tickets at the box office counter.",
                 "Por favor, compre en el mostrador de la taquilla."),
    "oos_printer": ("Motivo: impressora indisponível.", "Reason: printer unavailable.",
                    "Motivo: impresora no disponible."),
    "oos_card": ("Motivo: pagamentos com cartão indisponíveis.",
                 "Reason: card payments unavailable.",
                 "Motivo: pagos con tarjeta no disponibles."),
    "oos_database": ("Motivo: sem conexão com o sistema.", "Reason: system unreachable.",
                     "Motivo: sin conexión con el sistema."),
    "still_there": ("Você ainda está aí?", "Are you still there?", "¿Sigue ahí?"),
    "still_body": ("Sua compra será cancelada em {s} s.",
                   "Your purchase will be cancelled in {s} s.",
                   "Su compra se cancelará en {s} s."),
    "im_here": ("✔ Sim, continuar", "✔ Yes, continue", "✔ Sí, continuar"),
    "time_up": ("O tempo da reserva acabou; os lugares foram liberados.",
                "Your hold ran out; the seats were released.",
                "La reserva terminó; los lugares fueron liberados."),
    "staff_title": ("Acesso da equipe", "Staff access", "Acceso del personal"),
    "staff_login": ("Supervisor", "Supervisor", "Supervisor"),
    "staff_pin": ("PIN", "PIN", "PIN"),
    "staff_exit": ("Encerrar o quiosque", "Close the kiosk", "Cerrar el quiosco"),
    "staff_wrong": ("✖ Supervisor ou PIN incorretos.", "✖ Wrong supervisor or PIN.",
                    "✖ Supervisor o PIN incorrectos."),
    "error": ("✖ {message}", "✖ {message}", "✖ {message}"),
    "unexpected": ("Algo deu errado. Tente de novo.", "Something went wrong. Try again.",
                   "Algo salió mal. Inténtelo de nuevo."),
    "legend": ("○ livre  ● seus  ◉ marcado  ◌ reservado  × vendido  ◇ cadeirante",
               "○ free  ● yours  ◉ picked  ◌ held  × sold  ◇ wheelchair",
               "○ libre  ● suyos  ◉ marcado  ◌ reservado  × vendido  ◇ silla de ruedas"),
    "tickets_n": ("{n} ingresso(s)", "{n} ticket(s)", "{n} entrada(s)"),
}


def set_language(lang: str) -> str:
    """Switches the whole process to ``lang``; returns the language it now speaks."""
    _set_process_language(lang)
    return language()


def t(key: str, **kw: Any) -> str:
    triple = _STRINGS.get(key)
    if triple is None:
        return key
    template = triple[LANGUAGES.index(language())]
    try:
        return template.format(**kw)
    except (KeyError, IndexError):
        return template


def error_message(exc: BaseException) -> str:
    from core.errors import BoxOfficeError

    if isinstance(exc, BoxOfficeError):
        return exc.message(language())
    return t("unexpected")


def sentence(text: str) -> str:
    """``text`` as one sentence that can be followed by another: it ends with exactly one
    full stop (catalogue messages already do; a bare reason gets one), so composing
    "{reason} Try another card." never prints "declined.. Try"."""
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


_BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express",
           "elo": "Elo"}


def card_label(brand: str, outcome: str, last4: str) -> str:
    """A test card's button text in the customer's language: what it does, its last 4."""
    name = t("card_approved", brand=_BRANDS.get(brand, brand.title())) \
        if outcome == "approved" else t(f"card_{outcome}")
    return f"{name}  •••• {last4}"
