"""SQLAlchemy models, one module per part of the domain.

Every module in this package is imported here so ``Base.metadata`` is complete for
Alembic; a new part of the domain only adds its own module.
"""

import importlib
import pkgutil

from core.db.models.base import Base
from core.db.models.inventory import EventSeat, GaInventory
from core.db.models.ops import AuditHead, AuditLog, CommandLog, Operator, Outbox, Terminal
from core.db.models.sales import Hold, HoldItem, Order, OrderLine
from core.db.models.venue import Event, PriceChange, PriceTier, PricingRule, Seat, Section, Venue

for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")

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
