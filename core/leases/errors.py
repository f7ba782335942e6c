"""Error codes of leases and offline selling (registered at import)."""

from core.errors import register

register("unknown_lease", "Lease {lease_id} does not exist.", "A cessão {lease_id} não existe.")
register("lease_not_active", "The lease is {status}; nothing can be sold from it.",
         "A cessão está {status}; nada pode ser vendido dela.")
register("foreign_lease", "This lease belongs to another terminal.",
         "Esta cessão pertence a outro terminal.")
register("not_in_lease",
         "Seat(s) {seat_ids} are not in this terminal's lease.",
         "Assento(s) {seat_ids} não estão na cessão deste terminal.")
register("leased_seat_gone",
         "Seat(s) {seat_ids} are no longer leased to this terminal.",
         "Assento(s) {seat_ids} não estão mais cedidos a este terminal.")
register("lease_exhausted", "Only {left} place(s) left in this terminal's lease.",
         "Restam apenas {left} lugar(es) na cessão deste terminal.")
register("event_canceled", "The event was canceled.", "O evento foi cancelado.")
register("offline_not_in_lease",
         "Offline: the central database cannot be reached, so only this terminal's leased"
         " seats can be sold now.",
         "Sem conexão: o banco central está inacessível; só os lugares cedidos a este"
         " terminal podem ser vendidos agora.")
register("offline_card_over_floor",
         "Offline card payments are limited to {limit} per sale; take cash.",
         "Pagamento com cartão sem conexão é limitado a {limit} por venda; receba em dinheiro.")
register("offline_card_total_reached",
         "The offline card total ({limit}) would be exceeded; take cash.",
         "O total de cartão sem conexão ({limit}) seria ultrapassado; receba em dinheiro.")
register("journal_unavailable", "The local journal cannot be written: {detail}",
         "O diário local não pode ser gravado: {detail}")
