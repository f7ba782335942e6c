"""The customer's messages in pt-BR, English and Spanish: a subject and a plain-text
body per kind, filled from the order and event (``{placeholders}``)."""

from __future__ import annotations

from typing import Final

Texts = dict[str, dict[str, tuple[str, str]]]

TEXTS: Final[Texts] = {
    "sale.completed": {
        "pt-BR": ("Seus ingressos: {event} - pedido {order}",
                  "Olá!\n\nObrigado pela compra. Seus ingressos para {event} ({venue}),"
                  " {when}, seguem anexos: {count} ingresso(s), total {total}.\n"
                  "Apresente o código QR de cada ingresso na entrada (impresso ou na tela).\n\n"
                  "Pedido {order}."),
        "en": ("Your tickets: {event} - order {order}",
               "Hello!\n\nThank you for your purchase. Your tickets for {event} ({venue}),"
               " {when}, are attached: {count} ticket(s), total {total}.\n"
               "Show each ticket's QR code at the entrance (printed or on screen).\n\n"
               "Order {order}."),
        "es": ("Sus entradas: {event} - pedido {order}",
               "¡Hola!\n\nGracias por su compra. Sus entradas para {event} ({venue}),"
               " {when}, van adjuntas: {count} entrada(s), total {total}.\n"
               "Muestre el código QR de cada entrada en el acceso (impreso o en pantalla).\n\n"
               "Pedido {order}."),
    },
    "refund.completed": {
        "pt-BR": ("Reembolso do pedido {order}: {event}",
                  "Olá!\n\nReembolsamos {amount} do pedido {order} ({event}, {when}).\n"
                  "Os ingressos reembolsados foram cancelados e não dão mais acesso."),
        "en": ("Refund of order {order}: {event}",
               "Hello!\n\nWe refunded {amount} of order {order} ({event}, {when}).\n"
               "The refunded tickets are void and no longer admit."),
        "es": ("Reembolso del pedido {order}: {event}",
               "¡Hola!\n\nReembolsamos {amount} del pedido {order} ({event}, {when}).\n"
               "Las entradas reembolsadas quedan anuladas y ya no dan acceso."),
    },
    "event.rescheduled": {
        "pt-BR": ("Nova data: {event}",
                  "Olá!\n\n{event} ({venue}) mudou de data: agora {when}.\n"
                  "Seus ingressos do pedido {order} continuam válidos para a nova data."),
        "en": ("New date: {event}",
               "Hello!\n\n{event} ({venue}) has a new date: {when}.\n"
               "Your tickets of order {order} stay valid for the new date."),
        "es": ("Nueva fecha: {event}",
               "¡Hola!\n\n{event} ({venue}) cambió de fecha: ahora {when}.\n"
               "Sus entradas del pedido {order} siguen válidas para la nueva fecha."),
    },
    "event.canceled": {
        "pt-BR": ("Cancelado: {event}",
                  "Olá!\n\nInfelizmente {event} ({venue}), {when}, foi cancelado.\n"
                  "O valor do pedido {order} será devolvido: no cartão usado na compra, ou"
                  " em dinheiro na bilheteria se a compra foi em dinheiro."),
        "en": ("Canceled: {event}",
               "Hello!\n\nWe are sorry: {event} ({venue}), {when}, is canceled.\n"
               "Order {order} is refunded: to the card you paid with, or in cash at the box"
               " office if you paid in cash."),
        "es": ("Cancelado: {event}",
               "¡Hola!\n\nLo sentimos: {event} ({venue}), {when}, fue cancelado.\n"
               "El pedido {order} se reembolsa: en la tarjeta de la compra, o en efectivo en"
               " la taquilla si pagó en efectivo."),
    },
}


def render(kind: str, lang: str, **values: object) -> tuple[str, str]:
    subject, body = TEXTS[kind].get(lang) or TEXTS[kind]["pt-BR"]
    return subject.format(**values), body.format(**values)
