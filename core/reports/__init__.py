"""Looking back: sales by hour, day, event, section, tender, terminal or operator (gross,
or net of refunds), occupancy over time, and the price path of an event. Read from the
same PostgreSQL as the sales (see docs/integration.md for why no second database)."""

from core.reports.charts import (
    MinuteSales,
    OccupancyLine,
    PricedEvent,
    minute_sales,
    occupancy_lines,
    priced_events,
)
from core.reports.history import PricePoint, occupancy, price_path
from core.reports.sales import BY, ReportRow, default_tz, sales_report

__all__ = ["BY", "MinuteSales", "OccupancyLine", "PricePoint", "PricedEvent", "ReportRow",
           "default_tz", "minute_sales", "occupancy", "occupancy_lines", "price_path",
           "priced_events", "sales_report"]
