"""The back office: rooms and seat maps, events, inventory control, prices by hand and
staff. Every service takes the acting ``Actor``, a client-generated idempotency key,
checks the actor's role, and writes its audit entry in its own transaction.

Each module keeps its SQL in module-level statements next to the one service that runs
them, so a service can later move into a ``SECURITY DEFINER`` function unchanged.
"""
