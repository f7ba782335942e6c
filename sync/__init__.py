"""Offline operation of a terminal: a durable local journal, a connectivity watch with
hysteresis, selling from a lease while offline, and exactly-once replay on reconnect.

Built on core (leases, idempotency); core never imports this package.
"""

import logging

# Print nothing unless the process configured logging (a TUI or a JSON CLI owns the
# terminal): without a handler, WARNINGs would reach stderr through the last resort.
logging.getLogger(__name__).addHandler(logging.NullHandler())
