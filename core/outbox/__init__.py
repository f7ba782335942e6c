"""The transactional outbox: services write messages in their own transaction
(``enqueue``); the worker delivers them to RabbitMQ and by email (``deliver_due``)."""

from core.outbox.write import CustomerContact, enqueue, record_contact, validated

__all__ = ["CustomerContact", "enqueue", "record_contact", "validated"]
