"""SQLAlchemy models, one module per part of the domain; import all so metadata is complete."""

from core.db.models.base import Base
from core.db.models.inventory import EventSeat, GaInventory
from core.db.models.ops import AuditHead, AuditLog, CommandLog, Operator, Outbox, Terminal
from core.db.models.sales import Hold, HoldItem, Order, OrderLine
from core.db.models.venue import Event, PriceChange, PriceTier, PricingRule, Seat, Section, Venue

__all__ = [
    "AuditHead",
    "AuditLog",
    "Base",
    "CommandLog",
    "Event",
    "EventSeat",
    "GaInventory",
    "Hold",
    "HoldItem",
    "Operator",
    "Order",
    "OrderLine",
    "Outbox",
    "PriceChange",
    "PriceTier",
    "PricingRule",
    "Seat",
    "Section",
    "Terminal",
    "Venue",
]
