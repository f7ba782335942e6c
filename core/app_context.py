"""Composition root: builds what core needs from settings. Nothing is built at import.

The types a context is made of live in ``core.context``; they are re-exported here for the
callers that have always imported them from this module.
"""

from __future__ import annotations

from config import Settings, load_settings
from core.context import CoreContext, SeatChange

__all__ = ["CoreContext", "SeatChange", "build_context"]


def build_context(settings: Settings | None = None, *, url: str | None = None,
                  pool_size: int | None = None) -> CoreContext:
    from core import metrics
    from core.db.engine import build_engine

    settings = settings or load_settings()
    ctx = CoreContext(settings=settings,
                      engine=build_engine(settings, url=url, pool_size=pool_size))
    ctx.listeners.append(metrics.count_change)
    metrics.instrument(ctx.engine)
    if settings.redis.url is not None:
        from core.live import install

        install(ctx)
    return ctx
