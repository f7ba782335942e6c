"""Every error code the box office can raise, with its message in pt-BR, English and Spanish.

The one place a code is declared: ``BoxOfficeError(code)`` refuses a code missing here, and
tests/core/test_error_catalogue.py fails on a ``BoxOfficeError("...")`` anywhere in the
source whose code is missing, or on an entry whose three texts differ in placeholders.

To add a code: add an entry below, in the section of the module that raises it, with the
same ``{placeholders}`` in all three texts (they are filled from the error's details).
Codes are stored in sync journals and the conflicts table, so never rename or reuse one.
"""

from __future__ import annotations

from typing import Final, TypedDict

# The keys are the languages of core.language.LANGUAGES.
Messages = TypedDict("Messages", {"pt-BR": str, "en": str, "es": str})

CATALOGUE: Final[dict[str, Messages]] = {
    # --- Catalog, seats and holds (core.catalog, core.reservation)
    "unknown_event": {
        "pt-BR": "O evento {event_id} não existe.",
        "en": "Event {event_id} does not exist.",
        "es": "El evento {event_id} no existe.",
    },
    "unknown_seat": {
        "pt-BR": "O assento {seat_ids} não existe.",
        "en": "Seat {seat_ids} does not exist.",
        "es": "El asiento {seat_ids} no existe.",
    },
    "unknown_section": {
        "pt-BR": "O setor {section_id} não existe.",
        "en": "Section {section_id} does not exist.",
        "es": "El sector {section_id} no existe.",
    },
    "seat_not_in_event": {
        "pt-BR": "O assento {seat_ids} não pertence à sala deste evento.",
        "en": "Seat {seat_ids} does not belong to this event's room.",
        "es": "El asiento {seat_ids} no pertenece a la sala de este evento.",
    },
    "seat_unavailable": {
        "pt-BR": "Assento(s) {seat_ids} não estão mais disponíveis; nada foi reservado.",
        "en": "Seat(s) {seat_ids} are no longer available; nothing was held.",
        "es": "Los asientos {seat_ids} ya no están disponibles; no se reservó nada.",
    },
    "sold_out": {
        "pt-BR": "Não há lugares suficientes ({wanted} pedidos).",
        "en": "Not enough places left ({wanted} wanted).",
        "es": "No quedan lugares suficientes (se pidieron {wanted}).",
    },
    "invalid_quantity": {
        "pt-BR": "A quantidade deve ficar entre 1 e {max}; recebido {quantity}.",
        "en": "Quantity must be between 1 and {max}; got {quantity}.",
        "es": "La cantidad debe estar entre 1 y {max}; se recibió {quantity}.",
    },
    "hold_limit_reached": {
        "pt-BR": "Este terminal já segura {limit} lugares. Conclua ou cancele uma compra"
                 " antes de escolher outros.",
        "en": "This terminal already holds {limit} places. Finish or cancel a purchase"
              " before choosing more.",
        "es": "Este terminal ya reserva {limit} lugares. Termine o cancele una compra"
              " antes de elegir otros.",
    },
    "too_many_seats": {
        "pt-BR": "No máximo {max} assentos por pedido.",
        "en": "At most {max} seats per order.",
        "es": "Demasiadas entradas para un pedido: como máximo {max}.",
    },
    "invalid_id": {
        "pt-BR": "{what}: {value} não é um número de identificação válido.",
        "en": "{what}: {value} is not a valid id number.",
        "es": "{what}: {value} no es un número de identificación válido.",
    },
    "sales_closed": {
        "pt-BR": "As vendas deste evento estão encerradas ({reason}).",
        "en": "Sales for this event are closed ({reason}).",
        "es": "Las ventas de este evento están cerradas ({reason}).",
    },
    "event_paused": {
        "pt-BR": "As vendas deste evento estão pausadas.",
        "en": "Sales for this event are paused.",
        "es": "Las ventas de este evento están en pausa.",
    },
    "not_general_admission": {
        "pt-BR": "O setor {section_id} tem lugares marcados; escolha assentos.",
        "en": "Section {section_id} has numbered seats; pick seats.",
        "es": "El sector {section_id} tiene asientos numerados; elija los asientos.",
    },
    "not_seated": {
        "pt-BR": "O setor {section_id} é de pista; informe a quantidade.",
        "en": "Section {section_id} is general admission; ask for a quantity.",
        "es": "El sector {section_id} es de entrada general; indique la cantidad.",
    },
    "unknown_hold": {
        "pt-BR": "A reserva {hold_id} não existe.",
        "en": "Hold {hold_id} does not exist.",
        "es": "La reserva {hold_id} no existe.",
    },
    "hold_expired": {
        "pt-BR": "A reserva expirou; os assentos foram liberados.",
        "en": "The hold has expired; the seats were released.",
        "es": "La reserva venció; los asientos fueron liberados.",
    },
    "hold_not_active": {
        "pt-BR": "A reserva está {status}, não ativa.",
        "en": "The hold is {status}, not active.",
        "es": "La reserva está {status}, no activa.",
    },
    "foreign_hold": {
        "pt-BR": "Esta reserva pertence a outro terminal.",
        "en": "This hold belongs to another terminal.",
        "es": "Esta reserva pertenece a otro terminal.",
    },
    "extension_limit": {
        "pt-BR": "A reserva já foi prorrogada {max} vez(es).",
        "en": "The hold was already extended {max} time(s).",
        "es": "La reserva ya fue prorrogada el máximo de veces ({max}).",
    },
    # --- Requests, operators and the database (core.idempotency, core.actors, core.uow)
    "lock_timeout": {
        "pt-BR": "Os assentos estão ocupados; tente de novo.",
        "en": "The seats are busy; try again.",
        "es": "Los asientos están ocupados; inténtelo de nuevo.",
    },
    "idempotency_conflict": {
        "pt-BR": "Esta chave de requisição já foi usada em outro pedido.",
        "en": "This request key was already used for a different request.",
        "es": "Esta clave de solicitud ya se usó para otra solicitud.",
    },
    "unknown_terminal": {
        "pt-BR": "O terminal {terminal} não está cadastrado.",
        "en": "Terminal {terminal} is not registered.",
        "es": "El terminal {terminal} no está registrado.",
    },
    "unknown_operator": {
        "pt-BR": "O operador {operator} não existe.",
        "en": "Operator {operator} does not exist.",
        "es": "El operador {operator} no existe.",
    },
    "invalid_pin": {
        "pt-BR": "Operador ou PIN incorretos.",
        "en": "Wrong operator or PIN.",
        "es": "Operador o PIN incorrectos.",
    },
    "operator_locked": {
        "pt-BR": "PIN errado vezes demais; bloqueado até {until}.",
        "en": "Too many wrong PINs; locked until {until}.",
        "es": "Demasiados PIN incorrectos; bloqueado hasta {until}.",
    },
    "not_authorized": {
        "pt-BR": "É necessária aprovação de {role}.",
        "en": "{role} approval is required.",
        "es": "Se requiere la aprobación de {role}.",
    },
    "amount_mismatch": {
        "pt-BR": "O valor {amount} não confere com o total da reserva {total}.",
        "en": "The amount {amount} does not match the hold total {total}.",
        "es": "El importe {amount} no coincide con el total de la reserva {total}.",
    },
    "database_unavailable": {
        "pt-BR": "O banco de dados central está inacessível.",
        "en": "The central database cannot be reached.",
        "es": "No se puede acceder a la base de datos central.",
    },
    "database_timeout": {
        "pt-BR": "O banco de dados central não respondeu a tempo; tente de novo.",
        "en": "The central database did not answer in time; try again.",
        "es": "La base de datos central no respondió a tiempo; inténtelo de nuevo.",
    },
    "invalid_input": {
        "pt-BR": "{detail}",
        "en": "{detail}",
        "es": "{detail}",
    },
    # --- Shifts, sales, refunds and approvals (core.sales)
    "no_open_shift": {
        "pt-BR": "Abra um turno (caixa) neste terminal primeiro.",
        "en": "Open a shift (cash drawer) on this terminal first.",
        "es": "Abra primero un turno (caja) en este terminal.",
    },
    "shift_already_open": {
        "pt-BR": "Este terminal já tem um turno aberto.",
        "en": "This terminal already has an open shift.",
        "es": "Este terminal ya tiene un turno abierto.",
    },
    "unknown_shift": {
        "pt-BR": "O turno {shift_id} não existe.",
        "en": "Shift {shift_id} does not exist.",
        "es": "El turno {shift_id} no existe.",
    },
    "shift_not_open": {
        "pt-BR": "O turno está {status}.",
        "en": "The shift is {status}.",
        "es": "El turno está {status}.",
    },
    "count_already_entered": {
        "pt-BR": "O caixa já foi contado; um supervisor precisa aprovar.",
        "en": "The drawer was already counted; a supervisor must approve.",
        "es": "La caja ya fue contada; un supervisor debe aprobar.",
    },
    "cash_not_accepted": {
        "pt-BR": "Este terminal aceita somente cartão.",
        "en": "This terminal takes cards only.",
        "es": "Este terminal acepta solo tarjeta.",
    },
    "payment_unverified": {
        "pt-BR": "O banco de dados não encontrou o pagamento desta venda; nada foi vendido.",
        "en": "The database found no recorded payment for this sale; nothing was sold.",
        "es": "La base de datos no encontró el pago de esta venta; no se vendió nada.",
    },
    "order_payment_unverified": {
        "pt-BR": "O pagamento com cartão deste pedido não foi confirmado pela operadora:"
                 " não há o que devolver. Chame um supervisor.",
        "en": "The card gateway did not confirm this order's payment: there is nothing"
              " to refund. Call a supervisor.",
        "es": "El procesador de tarjetas no confirmó el pago de este pedido: no hay nada"
              " que devolver. Llame a un supervisor.",
    },
    "reconcile_wake_failed": {
        "pt-BR": "O worker não conseguiu escutar o banco de dados para conciliar cartões na"
                 " hora; a conciliação segue a cada passada.",
        "en": "The worker could not listen to the database to reconcile cards at once;"
              " reconciliation goes on every pass.",
        "es": "El worker no pudo escuchar la base de datos para conciliar tarjetas al"
              " instante; la conciliación sigue en cada pasada.",
    },
    "reconcile_no_gateway": {
        "pt-BR": "Conciliação de cartões sem operadora: configure gateway.kind = \"stripe\""
                 " (ou a base_url do sandbox) no worker.",
        "en": "Card reconciliation has no gateway: set gateway.kind = \"stripe\" (or the"
              " sandbox's base_url) on the worker.",
        "es": "La conciliación de tarjetas no tiene procesador: configure gateway.kind ="
              " \"stripe\" (o la base_url del sandbox) en el worker.",
    },
    "tender_insufficient": {
        "pt-BR": "Valor entregue {tendered} é menor que o total {total}.",
        "en": "Tendered {tendered} is less than the total {total}.",
        "es": "El importe entregado {tendered} es menor que el total {total}.",
    },
    "invalid_amount": {
        "pt-BR": "Valor inválido para {what}: {amount} (deve ser um número inteiro de centavos"
                 " entre 0 e {max}).",
        "en": "Invalid amount for {what}: {amount} (must be whole cents between 0 and {max}).",
        "es": "Importe no válido para {what}: {amount} (debe ser un número entero de céntimos"
              " entre 0 y {max}).",
    },
    "sale_in_progress": {
        "pt-BR": "Já há um pagamento em andamento para esta reserva.",
        "en": "A payment for this hold is already in progress.",
        "es": "Ya hay un pago en curso para esta reserva.",
    },
    "sale_failed": {
        "pt-BR": "A venda não foi concluída ({reason}); o cliente não foi cobrado.",
        "en": "The sale did not go through ({reason}); the customer was not charged.",
        "es": "La venta no se completó ({reason}); no se le cobró al cliente.",
    },
    "refund_ticket_used": {
        "pt-BR": "o ingresso {serial} já foi usado em {at} no portão {gate}; {count} usado(s)"
                 " neste reembolso",
        "en": "ticket {serial} was already used on {at} at gate {gate}; {count} used in this"
              " refund",
        "es": "la entrada {serial} ya se usó el {at} en la puerta {gate}; {count} usada(s) en"
              " este reembolso",
    },
    "approval_required": {
        "pt-BR": "É necessária a aprovação de um supervisor ({why}).",
        "en": "Supervisor approval is required ({why}).",
        "es": "Se requiere la aprobación de un supervisor ({why}).",
    },
    "self_approval": {
        "pt-BR": "Um supervisor não pode aprovar o próprio pedido.",
        "en": "A supervisor cannot approve their own request.",
        "es": "Un supervisor no puede aprobar su propia solicitud.",
    },
    "unknown_order": {
        "pt-BR": "O pedido {order_id} não existe.",
        "en": "Order {order_id} does not exist.",
        "es": "El pedido {order_id} no existe.",
    },
    "nothing_to_refund": {
        "pt-BR": "Não há nada a reembolsar neste pedido.",
        "en": "Nothing left to refund on this order.",
        "es": "No queda nada por reembolsar en este pedido.",
    },
    "invalid_reason": {
        "pt-BR": "Código de motivo desconhecido {reason}.",
        "en": "Unknown reason code {reason}.",
        "es": "Código de motivo desconocido {reason}.",
    },
    # --- Card payments (core.payments)
    "card_declined": {
        "pt-BR": "O cartão foi recusado.",
        "en": "The card was declined.",
        "es": "La tarjeta fue rechazada.",
    },
    "insufficient_funds": {
        "pt-BR": "O cartão foi recusado: saldo insuficiente.",
        "en": "The card was declined: insufficient funds.",
        "es": "La tarjeta fue rechazada: fondos insuficientes.",
    },
    "expired_card": {
        "pt-BR": "O cartão está vencido.",
        "en": "The card has expired.",
        "es": "La tarjeta está vencida.",
    },
    "gateway_unavailable": {
        "pt-BR": "Pagamento com cartão indisponível no momento; aceite dinheiro.",
        "en": "Card payments are unavailable right now; take cash.",
        "es": "Los pagos con tarjeta no están disponibles ahora; acepte efectivo.",
    },
    "card_payments_off": {
        "pt-BR": "Este terminal não aceita cartão: nenhuma operadora de cartão está"
                 " configurada (gateway.kind). Aceite dinheiro no balcão.",
        "en": "This terminal takes no cards: no card gateway is configured"
              " (gateway.kind). Take cash at the counter.",
        "es": "Este terminal no acepta tarjetas: no hay procesador de tarjetas"
              " configurado (gateway.kind). Acepte efectivo en el mostrador.",
    },
    "card_reader_missing": {
        "pt-BR": "Este terminal não aceita cartão: nenhuma maquininha (leitor de cartão)"
                 " está instalada para a operadora configurada. Aceite dinheiro no balcão.",
        "en": "This terminal takes no cards: no card reader is installed for the"
              " configured card gateway. Take cash at the counter.",
        "es": "Este terminal no acepta tarjetas: no hay lector de tarjetas instalado"
              " para el procesador configurado. Acepte efectivo en el mostrador.",
    },
    "card_typed_refused": {
        "pt-BR": "Com a operadora real, o cartão é lido pela maquininha: nenhum número"
                 " ou token digitado é aceito.",
        "en": "With the real card gateway the card is read by the card reader: no typed"
              " number or token is accepted.",
        "es": "Con el procesador real la tarjeta la lee el lector: no se acepta ningún"
              " número ni token tecleado.",
    },
    "gateway_timeout": {
        "pt-BR": "A operadora de cartão não respondeu a tempo.",
        "en": "The card gateway did not answer in time.",
        "es": "El procesador de tarjetas no respondió a tiempo.",
    },
    "gateway_error": {
        "pt-BR": "A operadora de cartão recusou o pedido ({detail}).",
        "en": "The card gateway refused the request ({detail}).",
        "es": "El procesador de tarjetas rechazó la solicitud ({detail}).",
    },
    "gateway_auth_failed": {
        "pt-BR": "A operadora de cartão recusou nossas credenciais.",
        "en": "The card gateway rejected our credentials.",
        "es": "El procesador de tarjetas rechazó nuestras credenciales.",
    },
    "payment_state_conflict": {
        "pt-BR": "O pagamento está {status}; não é possível {action}.",
        "en": "The payment is {status}; cannot {action} it.",
        "es": "El pago está {status}; no se puede {action}.",
    },
    # --- Leases and offline selling (core.leases, sync)
    "unknown_lease": {
        "pt-BR": "A cessão {lease_id} não existe.",
        "en": "Lease {lease_id} does not exist.",
        "es": "La cesión {lease_id} no existe.",
    },
    "lease_not_active": {
        "pt-BR": "A cessão está {status}; nada pode ser vendido dela.",
        "en": "The lease is {status}; nothing can be sold from it.",
        "es": "La cesión está {status}; no se puede vender nada de ella.",
    },
    "foreign_lease": {
        "pt-BR": "Esta cessão pertence a outro terminal.",
        "en": "This lease belongs to another terminal.",
        "es": "Esta cesión pertenece a otro terminal.",
    },
    "not_in_lease": {
        "pt-BR": "Assento(s) {seat_ids} não estão na cessão deste terminal.",
        "en": "Seat(s) {seat_ids} are not in this terminal's lease.",
        "es": "Los asientos {seat_ids} no están en la cesión de este terminal.",
    },
    "leased_seat_gone": {
        "pt-BR": "Assento(s) {seat_ids} não estão mais cedidos a este terminal.",
        "en": "Seat(s) {seat_ids} are no longer leased to this terminal.",
        "es": "Los asientos {seat_ids} ya no están cedidos a este terminal.",
    },
    "lease_exhausted": {
        "pt-BR": "Restam apenas {left} lugar(es) na cessão deste terminal.",
        "en": "Only {left} place(s) left in this terminal's lease.",
        "es": "Solo quedan {left} lugar(es) en la cesión de este terminal.",
    },
    "lease_needs_supervisor": {
        "pt-BR": "Uma cessão precisa da aprovação de um supervisor (login e PIN do supervisor).",
        "en": "A lease needs a supervisor's approval (the supervisor's login and PIN).",
        "es": "Una cesión necesita la aprobación de un supervisor (usuario y PIN del supervisor).",
    },
    "pin_required": {
        "pt-BR": "Falta o PIN: digite-o quando pedido (ou na primeira linha da entrada padrão).",
        "en": "No PIN given: type it at the prompt (or on the first line of standard input).",
        "es": "Falta el PIN: escríbalo cuando se le pida (o en la primera línea de la entrada"
              " estándar).",
    },
    "event_canceled": {
        "pt-BR": "O evento foi cancelado.",
        "en": "The event was canceled.",
        "es": "El evento fue cancelado.",
    },
    "offline_not_in_lease": {
        "pt-BR": (
            "Sem conexão: o banco central está inacessível; só os lugares cedidos a este terminal "
            "podem ser vendidos agora."
        ),
        "en": (
            "Offline: the central database cannot be reached, so only this terminal's leased "
            "seats can be sold now."
        ),
        "es": (
            "Sin conexión: no se puede acceder a la base de datos central, así que ahora solo se "
            "pueden vender los lugares cedidos a este terminal."
        ),
    },
    "offline_card_over_floor": {
        "pt-BR": (
            "Pagamento com cartão sem conexão é limitado a {limit} por venda; receba em dinheiro."
        ),
        "en": "Offline card payments are limited to {limit} per sale; take cash.",
        "es": (
            "Los pagos con tarjeta sin conexión están limitados a {limit} por venta; acepte "
            "efectivo."
        ),
    },
    "offline_card_total_reached": {
        "pt-BR": "O total de cartão sem conexão ({limit}) seria ultrapassado; receba em dinheiro.",
        "en": "The offline card total ({limit}) would be exceeded; take cash.",
        "es": "Se superaría el total de tarjeta sin conexión ({limit}); acepte efectivo.",
    },
    "journal_unavailable": {
        "pt-BR": "O diário local não pode ser gravado: {detail}",
        "en": "The local journal cannot be written: {detail}",
        "es": "No se puede escribir el diario local: {detail}",
    },
    # --- Tickets: signing keys, gate scans (scan_<reason>), reprints (core.tickets)
    "ticket_key_conflict": {
        "pt-BR": "A chave de assinatura {key_id} já está registrada para outro terminal.",
        "en": "Signing key {key_id} is already registered to another terminal.",
        "es": "La clave de firma {key_id} ya está registrada para otro terminal.",
    },
    "scan_ok": {
        "pt-BR": "Bem-vindo: {place}.",
        "en": "Welcome: {place}.",
        "es": "Bienvenido: {place}.",
    },
    "scan_malformed": {
        "pt-BR": "Não é um código de ingresso ({detail}).",
        "en": "Not a ticket code ({detail}).",
        "es": "No es un código de entrada ({detail}).",
    },
    "scan_bad_signature": {
        "pt-BR": "Assinatura não confere: falsificado ou danificado.",
        "en": "Signature does not match: forged or damaged.",
        "es": "La firma no coincide: falsificada o dañada.",
    },
    "scan_unknown_key": {
        "pt-BR": "Assinado por uma chave desconhecida {key_id}.",
        "en": "Signed by an unknown key {key_id}.",
        "es": "Firmada con una clave desconocida {key_id}.",
    },
    "scan_revoked": {
        "pt-BR": "Ingresso {serial} foi cancelado (reembolsado).",
        "en": "Ticket {serial} was voided (refunded).",
        "es": "La entrada {serial} fue anulada (reembolsada).",
    },
    "scan_wrong_event": {
        "pt-BR": "Ingresso de outro evento ({event}).",
        "en": "Ticket is for another event ({event}).",
        "es": "La entrada es de otro evento ({event}).",
    },
    "scan_wrong_day": {
        "pt-BR": "Ingresso para {when}, não agora.",
        "en": "Ticket is for {when}, not now.",
        "es": "La entrada es para {when}, no para ahora.",
    },
    "scan_already_used": {
        "pt-BR": "Já usado às {at} no portão {gate}.",
        "en": "Already used at {at} at gate {gate}.",
        "es": "Ya usada a las {at} en la puerta {gate}.",
    },
    "scan_unknown_ticket": {
        "pt-BR": "Ingresso {serial} não consta no sistema.",
        "en": "Ticket {serial} is not on record.",
        "es": "La entrada {serial} no consta en el sistema.",
    },
    "scan_key_revoked": {
        "pt-BR": "Assinado pela chave {key_id}, revogada antes da emissão (terminal roubado?).",
        "en": "Signed by key {key_id}, revoked before it was issued (stolen terminal?).",
        "es": "Firmado con la clave {key_id}, revocada antes de emitirse (¿terminal robado?).",
    },
    "scan_never_issued": {
        "pt-BR": "O ingresso {serial} nunca foi emitido pela chave {key_id}.",
        "en": "Ticket {serial} was never issued by key {key_id}.",
        "es": "La entrada {serial} nunca fue emitida por la clave {key_id}.",
    },
    "scan_verifying": {
        "pt-BR": "Pagamento em verificação: aguarde um instante e leia o ingresso de novo."
                 " Não deixe entrar ainda.",
        "en": "Payment being verified: scan again in a moment. Do not let in yet.",
        "es": "Pago en verificación: espere un momento y vuelva a leer la entrada."
              " No deje pasar todavía.",
    },
    "terminal_name_in_use": {
        "pt-BR": "Outro programa já está em execução como o terminal {name}; dê a este"
                 " terminal um nome próprio (terminal.name) ou feche o outro.",
        "en": "Another program is already running as terminal {name}; give this terminal"
              " a name of its own (terminal.name) or close the other one.",
        "es": "Otro programa ya se está ejecutando como el terminal {name}; dé a este"
              " terminal un nombre propio (terminal.name) o cierre el otro.",
    },
    "unexpected_error": {
        "pt-BR": "Erro inesperado ({kind}); os detalhes estão no log {log_file}.",
        "en": "Unexpected error ({kind}); the details are in the log {log_file}.",
        "es": "Error inesperado ({kind}); los detalles están en el registro {log_file}.",
    },
    "snapshot_unreadable": {
        "pt-BR": "O arquivo {path} não é um snapshot do portão ({detail}); gere outro com"
                 " `boxoffice tickets snapshot`.",
        "en": "{path} is not a gate snapshot ({detail}); write one with"
              " `boxoffice tickets snapshot`.",
        "es": "{path} no es un archivo de la puerta ({detail}); genere otro con"
              " `boxoffice tickets snapshot`.",
    },
    "snapshot_untrusted": {
        "pt-BR": "O arquivo do portão não está assinado pela bilheteria ({detail}).",
        "en": "The gate snapshot is not signed by the box office ({detail}).",
        "es": "El archivo de la puerta no está firmado por la taquilla ({detail}).",
    },
    "unknown_ticket": {
        "pt-BR": "O ingresso {serial} não existe.",
        "en": "Ticket {serial} does not exist.",
        "es": "La entrada {serial} no existe.",
    },
    "ticket_not_printable": {
        "pt-BR": "O ingresso {serial} está {status}; não pode ser reimpresso.",
        "en": "Ticket {serial} is {status}; it cannot be reprinted.",
        "es": "La entrada {serial} está {status}; no se puede reimprimir.",
    },
    "supervisor_required": {
        "pt-BR": (
            "O ingresso {serial} já foi reimpresso {count} vez(es); um supervisor precisa "
            "aprovar."
        ),
        "en": "Ticket {serial} was already reprinted {count} time(s); a supervisor must approve.",
        "es": "La entrada {serial} ya tiene {count} reimpresión(es); un supervisor debe aprobar.",
    },
    # --- Pricing (core.pricing)
    "price_out_of_bounds": {
        "pt-BR": "O preço {price} está fora de {floor}..{ceiling} para esta faixa.",
        "en": "Price {price} is outside {floor}..{ceiling} for this tier.",
        "es": "El precio {price} está fuera de {floor}..{ceiling} para esta categoría.",
    },
    "unknown_tier": {
        "pt-BR": "A faixa de preço {tier_id} não existe.",
        "en": "Price tier {tier_id} does not exist.",
        "es": "La categoría de precio {tier_id} no existe.",
    },
    "invalid_rule": {
        "pt-BR": "Regra de preço inválida: {detail}",
        "en": "Pricing rule is not valid: {detail}",
        "es": "La regla de precio no es válida: {detail}",
    },
    # --- Self-exclusion (core.selfexclusion)
    "self_excluded": {
        "pt-BR": "Esta venda não pode continuar. Por favor, fale com nossa equipe.",
        "en": "This sale cannot go ahead. Please talk to our staff.",
        "es": "Esta venta no puede continuar. Hable con nuestro personal.",
    },
    "identifier_invalid": {
        "pt-BR": "Digite o identificador (4 a 20 letras ou dígitos).",
        "en": "Type the identifier (4 to 20 letters or digits).",
        "es": "Escriba el documento (4 a 20 letras o dígitos).",
    },
    # --- Printing (printing.spooler)
    "printer_offline": {
        "pt-BR": "Impressora offline: {waiting} ingresso(s) aguardando.",
        "en": "Printer offline: {waiting} ticket(s) waiting.",
        "es": "Impresora sin conexión: {waiting} entrada(s) en espera.",
    },
    "printer_spool_failed": {
        "pt-BR": (
            "Não foi possível enfileirar a impressão ({detail}); a venda está confirmada, "
            "reimprima pelo pedido."
        ),
        "en": (
            "Could not queue the print job ({detail}); the sale stands, reprint it from the "
            "order."
        ),
        "es": (
            "No se pudo poner en cola la impresión ({detail}); la venta es válida, reimprímala "
            "desde el pedido."
        ),
    },
    # --- Terminal sessions (the counter and the kiosk)
    "no_shift": {
        "pt-BR": "Abra um turno primeiro.",
        "en": "Open a shift first.",
        "es": "Abra un turno primero.",
    },
    "sync_unavailable": {
        "pt-BR": "A venda sem conexão não está ativa neste terminal.",
        "en": "Offline selling is not running on this terminal.",
        "es": "La venta sin conexión no está activa en este terminal.",
    },
    "kiosk_not_ready": {
        "pt-BR": "Este terminal não pode receber pagamentos agora ({reason}).",
        "en": "This kiosk cannot take payments now ({reason}).",
        "es": "Este quiosco no puede recibir pagos ahora ({reason}).",
    },
    # --- Back office (core.backoffice): rooms, events, inventory, prices, staff
    "venue_file_invalid": {
        "pt-BR": "{count} problema(s) no arquivo da sala; nada foi importado. Primeiro: {first}",
        "en": "{count} problem(s) in the room file; nothing was imported. First: {first}",
        "es": "{count} problema(s) en el archivo de la sala; no se importó nada. Primero: {first}",
    },
    "unknown_room": {
        "pt-BR": "A sala {room} não existe.",
        "en": "Room {room} does not exist.",
        "es": "La sala {room} no existe.",
    },
    "room_change_unsafe": {
        "pt-BR": (
            "Sala {room}: {count} alteração(ões) moveriam ou removeriam lugares em uso por "
            "eventos ({first}); nada foi alterado. Use --safe-only para aplicar só as seguras."
        ),
        "en": (
            "Room {room}: {count} change(s) would move or remove seats in use by events "
            "({first}); nothing was changed. Use --safe-only to apply only the safe ones."
        ),
        "es": (
            "Sala {room}: {count} cambio(s) moverían o quitarían asientos en uso por eventos "
            "({first}); no se cambió nada. Use --safe-only para aplicar solo los seguros."
        ),
    },
    "event_exists": {
        "pt-BR": "O código de evento {event_code} já está em uso.",
        "en": "Event code {event_code} is already in use.",
        "es": "El código de evento {event_code} ya está en uso.",
    },
    "missing_price_tiers": {
        "pt-BR": "Setores sem preço: {sections}.",
        "en": "Sections without a price: {sections}.",
        "es": "Sectores sin precio: {sections}.",
    },
    "event_state": {
        "pt-BR": "O evento {event} está {status}; não é possível {action}.",
        "en": "Event {event} is {status}; cannot {action}.",
        "es": "El evento {event} está {status}; no se puede {action}.",
    },
    "capacity_below_taken": {
        "pt-BR": "A capacidade {capacity} é menor que os {taken} lugares já reservados, "
                 "vendidos ou cedidos.",
        "en": "Capacity {capacity} is below the {taken} places already held, sold or leased.",
        "es": "La capacidad {capacity} es menor que los {taken} lugares ya reservados, "
              "vendidos o cedidos.",
    },
    "price_not_whole": {
        "pt-BR": "Preços são em unidades inteiras da moeda: {price}.",
        "en": "Prices are whole currency units: {price}.",
        "es": "Los precios son unidades enteras de la moneda: {price}.",
    },
    "unknown_price_request": {
        "pt-BR": "O pedido de preço {request_id} não existe.",
        "en": "Price request {request_id} does not exist.",
        "es": "La solicitud de precio {request_id} no existe.",
    },
    "price_request_decided": {
        "pt-BR": "O pedido de preço {request_id} já está {status}.",
        "en": "Price request {request_id} is already {status}.",
        "es": "La solicitud de precio {request_id} ya está {status}.",
    },
    "operator_exists": {
        "pt-BR": "O operador {login} já existe.",
        "en": "Operator {login} already exists.",
        "es": "El operador {login} ya existe.",
    },
    "last_admin": {
        "pt-BR": "Deve restar ao menos um administrador ativo.",
        "en": "At least one active admin must remain.",
        "es": "Debe quedar al menos un administrador activo.",
    },
    "admin_exists": {
        "pt-BR": "Já existe um administrador; entre como administrador para criar operadores.",
        "en": "An admin already exists; sign in as an admin to add operators.",
        "es": "Ya existe un administrador; ingrese como administrador para crear operadores.",
    },
    "pin_mismatch": {
        "pt-BR": "Os dois PINs digitados são diferentes.",
        "en": "The two PINs typed differ.",
        "es": "Los dos PIN ingresados son diferentes.",
    },
    "unknown_refund": {
        "pt-BR": "O reembolso {refund_id} não existe.",
        "en": "Refund {refund_id} does not exist.",
        "es": "El reembolso {refund_id} no existe.",
    },
    "refund_not_owed": {
        "pt-BR": "O reembolso {refund_id} está {status}, não pendente no balcão.",
        "en": "Refund {refund_id} is {status}, not owed at the counter.",
        "es": "El reembolso {refund_id} está {status}, no pendiente en el mostrador.",
    },
    "event_not_canceled": {
        "pt-BR": "O evento {event_id} está {status}, não cancelado: seus pedidos não são"
                 " reembolsados pelo cancelamento.",
        "en": "Event {event_id} is {status}, not canceled: its orders are not refunded as"
              " a cancellation.",
        "es": "El evento {event_id} está {status}, no cancelado: sus pedidos no se"
              " reembolsan como cancelación.",
    },
    # --- Authority in the database (migration 0008, core.provisioning, core.actors)
    "unsafe_directory": {
        "pt-BR": "A pasta {path} não é privada deste usuário (dono ou permissões); corrija"
                 " antes de continuar.",
        "en": "The folder {path} is not private to this user (owner or mode); fix it"
              " before going on.",
        "es": "La carpeta {path} no es privada de este usuario (dueño o permisos);"
              " corríjala antes de continuar.",
    },
    "terminal_revoked": {
        "pt-BR": "O acesso deste terminal ao banco de dados foi revogado; chame um supervisor.",
        "en": "This terminal's database login has been revoked; call a supervisor.",
        "es": "El acceso de este terminal a la base de datos fue revocado; llame a un"
              " supervisor.",
    },
    "database_login_refused": {
        "pt-BR": "O banco de dados recusou o login deste terminal (usuário, senha ou acesso);"
                 " verifique a configuração.",
        "en": "The database refused this terminal's login (user, password or access); check"
              " the configuration.",
        "es": "La base de datos rechazó el acceso de este terminal (usuario, contraseña o"
              " permiso); revise la configuración.",
    },
    "database_refused": {
        "pt-BR": "O banco de dados recusou a operação para este terminal ({detail}).",
        "en": "The database refused this for this terminal ({detail}).",
        "es": "La base de datos rechazó la operación para este terminal ({detail}).",
    },
    "foreign_terminal": {
        "pt-BR": "Este terminal não pode agir por outro ({detail}).",
        "en": "This terminal may not act for another one ({detail}).",
        "es": "Este terminal no puede actuar por otro ({detail}).",
    },
    "ticket_key_revoked": {
        "pt-BR": "A chave de assinatura deste terminal foi revogada ({detail}).",
        "en": "This terminal's signing key was revoked ({detail}).",
        "es": "La clave de firma de este terminal fue revocada ({detail}).",
    },
    "status_change_refused": {
        "pt-BR": "Mudança de situação não permitida ({detail}).",
        "en": "That status change is not allowed ({detail}).",
        "es": "Ese cambio de estado no está permitido ({detail}).",
    },
    "pin_reset_required": {
        "pt-BR": "O PIN de {login} precisa ser redefinido pelo administrador.",
        "en": "The PIN of {login} must be reset by the administrator.",
        "es": "El PIN de {login} debe ser restablecido por el administrador.",
    },
    "schema_behind": {
        "pt-BR": "O banco está na versão {current}, este programa espera {expected}:"
                 " rode 'boxoffice db upgrade' com o usuário dono antes de iniciar.",
        "en": "The database is at revision {current}, this program expects {expected}:"
              " run 'boxoffice db upgrade' with the owner's login before starting.",
        "es": "La base está en la versión {current}, este programa espera {expected}:"
              " ejecute 'boxoffice db upgrade' con el usuario dueño antes de iniciar.",
    },
    "schema_ahead": {
        "pt-BR": "O banco está na versão {current}, mais nova que a deste programa"
                 " ({expected}): atualize o programa deste terminal.",
        "en": "The database is at revision {current}, newer than this program's"
              " ({expected}): update this terminal's software.",
        "es": "La base está en la versión {current}, más nueva que la de este programa"
              " ({expected}): actualice el programa de este terminal.",
    },
    "unknown_terminal_kind": {
        "pt-BR": "Tipo de terminal desconhecido: {kind} (use {kinds}).",
        "en": "Unknown terminal kind {kind} (use {kinds}).",
        "es": "Tipo de terminal desconocido: {kind} (use {kinds}).",
    },
    "terminal_exists": {
        "pt-BR": "O terminal {terminal} já tem um login ({login}); revogue-o antes.",
        "en": "Terminal {terminal} already has a login ({login}); revoke it first.",
        "es": "El terminal {terminal} ya tiene un login ({login}); revóquelo antes.",
    },
    "owner_required": {
        "pt-BR": "Isto precisa do usuário dono do banco ({detail}).",
        "en": "This needs the database owner's login ({detail}).",
        "es": "Esto necesita el usuario dueño de la base ({detail}).",
    },
    "demo_only": {
        "pt-BR": "{command} só existe na demonstração: este banco não foi criado por"
                 " `boxoffice demo`.",
        "en": "{command} exists only in the demo: this database was not made by"
              " `boxoffice demo`.",
        "es": "{command} solo existe en la demostración: esta base no la creó"
              " `boxoffice demo`.",
    },
    "redis_admin_failed": {
        "pt-BR": "O Redis não aceitou a conta de administração (redis.admin_url): {detail}.",
        "en": "Redis refused the admin account (redis.admin_url): {detail}.",
        "es": "Redis rechazó la cuenta de administración (redis.admin_url): {detail}.",
    },
    # --- Operations: backups and drills (core.backup, core.drills)
    "backup_tool_missing": {
        "pt-BR": "O pgBackRest não está instalado nesta máquina (apt-get install pgbackrest).",
        "en": "pgBackRest is not installed on this machine (apt-get install pgbackrest).",
        "es": "pgBackRest no está instalado en esta máquina (apt-get install pgbackrest).",
    },
    "backup_info_failed": {
        "pt-BR": "O pgBackRest não informou o estado dos backups: {detail}",
        "en": "pgBackRest did not report the backups' state: {detail}",
        "es": "pgBackRest no informó el estado de las copias de seguridad: {detail}",
    },
    # --- Outbox, e-tickets, events and reports (core.outbox, core.reports)
    "invalid_email": {
        "pt-BR": "Este endereço de e-mail não é válido.",
        "en": "This email address is not valid.",
        "es": "Esta dirección de correo no es válida.",
    },
    "consent_required": {
        "pt-BR": "Para enviar os ingressos por e-mail, o cliente precisa concordar.",
        "en": "To email the tickets, the customer must agree to it.",
        "es": "Para enviar las entradas por correo, el cliente debe aceptarlo.",
    },
    "outbox_message_unknown": {
        "pt-BR": "Nenhuma mensagem parada com o número {ids}.",
        "en": "No parked message with id {ids}.",
        "es": "Ningún mensaje detenido con el número {ids}.",
    },
    "broker_unavailable": {
        "pt-BR": "O RabbitMQ não respondeu ({detail}).",
        "en": "RabbitMQ did not answer ({detail}).",
        "es": "RabbitMQ no respondió ({detail}).",
    },
    "report_range_invalid": {
        "pt-BR": "Período inválido: {detail}",
        "en": "Invalid period: {detail}",
        "es": "Período no válido: {detail}",
    },
    # --- Fallback for a stored code this version no longer knows (an older journal)
    "unrecognized_code": {
        "pt-BR": "Erro não reconhecido ({code}).",
        "en": "Unrecognized error ({code}).",
        "es": "Error no reconocido ({code}).",
    },
}
