"""The back office: rooms and seat maps, events, inventory control, prices by hand and
staff. Every service takes the acting ``Actor``, a client-generated idempotency key,
checks the actor's role (supervisor or admin; staff: admin), and writes its audit entry
in its own transaction; seat, capacity, status and price changes are published to the
context's listeners after commit (open seat maps refresh).

Each module keeps its SQL in module-level statements next to the one service that runs
them, so a service can later move into a ``SECURITY DEFINER`` function unchanged.

- ``venue_format`` / ``venue_generate`` / ``venue_files``: room files (CSV, JSON, TOML
  spec), validation with every problem located, writing back.
- ``venues``: ``import_rooms`` (never moves a sold seat), ``read_room``, ``list_rooms``,
  ``draw``, ``event_states``.
- ``events``: ``create_event``, ``clone_event``, ``publish``, ``set_sales`` (pause,
  resume, close), ``reschedule``, ``list_events``, ``get_event``.
- ``cancel``: ``cancel_event`` (resumable, exactly once per order), ``cancel_summary``,
  ``owed_refunds``, ``pay_owed_refund``.
- ``inventory``: ``block_seats``, ``unblock_seats``, ``blocked_seats``,
  ``set_ga_capacity``, ``issue_comp``, ``seat_ids_for`` (labels like ``ORQ:A-12``).
- ``prices``: ``override_price``, ``decide_request``, ``set_dynamic``, ``price_history``,
  ``price_requests``.
- ``staff``: ``add_operator``, ``bootstrap_admin``, ``set_active``, ``set_role``,
  ``reset_pin``, ``list_operators``, ``note_sign_in``.
- ``seeding``: create-if-absent rooms and events for the demo and provisioning scripts.
"""
