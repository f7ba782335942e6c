"""Looking back: sales by hour, day, event, section, tender, terminal or operator (gross,
or net of refunds), occupancy over time, and the price path of an event. Read from the
same PostgreSQL as the sales (see docs/integration.md for why no second database)."""

from core.reports.history import occupancy, price_path
from core.reports.sales import BY, ReportRow, sales_report

__all__ = ["BY", "ReportRow", "occupancy", "price_path", "sales_report"]
