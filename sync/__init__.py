"""Offline operation of a terminal: a durable local journal, a connectivity watch with
hysteresis, selling from a lease while offline, and exactly-once replay on reconnect.

Built on core (leases, idempotency); core never imports this package.
"""
