"""Error codes of the sales side (registered into core.errors at import)."""

from core.errors import register

register("no_open_shift", "Open a shift (cash drawer) on this terminal first.",
         "Abra um turno (caixa) neste terminal primeiro.")
register("shift_already_open", "This terminal already has an open shift.",
         "Este terminal já tem um turno aberto.")
register("unknown_shift", "Shift {shift_id} does not exist.", "O turno {shift_id} não existe.")
register("shift_not_open", "The shift is {status}.", "O turno está {status}.")
register("count_already_entered", "The drawer was already counted; a supervisor must approve.",
         "O caixa já foi contado; um supervisor precisa aprovar.")
register("cash_not_accepted", "This terminal takes cards only.",
         "Este terminal aceita somente cartão.")
register("tender_insufficient", "Tendered {tendered} is less than the total {total}.",
         "Valor entregue {tendered} é menor que o total {total}.")
register("sale_in_progress", "A payment for this hold is already in progress.",
         "Já há um pagamento em andamento para esta reserva.")
register("sale_failed", "The sale did not go through ({reason}); the customer was not charged.",
         "A venda não foi concluída ({reason}); o cliente não foi cobrado.")
register("approval_required", "Supervisor approval is required ({why}).",
         "É necessária a aprovação de um supervisor ({why}).")
register("self_approval", "A supervisor cannot approve their own request.",
         "Um supervisor não pode aprovar o próprio pedido.")
register("unknown_order", "Order {order_id} does not exist.", "O pedido {order_id} não existe.")
register("nothing_to_refund", "Nothing left to refund on this order.",
         "Não há nada a reembolsar neste pedido.")
register("invalid_reason", "Unknown reason code {reason}.",
         "Código de motivo desconhecido {reason}.")
