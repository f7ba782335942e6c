"""The worker's outbox job: the sinks configured in settings, kept for the process's
life (one broker connection), and one delivery pass per worker interval."""

from __future__ import annotations

import threading
import weakref

from core.context import CoreContext
from core.outbox.deliver import PassResult, Sink, deliver_due

# Keyed by the context's id (a CoreContext is not hashable); the weak reference tells a
# reused id from the context it was made for.
_SINKS: dict[int, tuple[weakref.ref[CoreContext], dict[str, Sink]]] = {}
_LOCK = threading.Lock()


def sinks_for(ctx: CoreContext) -> dict[str, Sink]:
    """The channels this process can deliver: broker if ``[broker] url``, email if
    ``[mail] host``. A channel without a sink keeps its messages queued."""
    with _LOCK:
        known = _SINKS.get(id(ctx))
        sinks = known[1] if known is not None and known[0]() is ctx else None
        if sinks is None:
            sinks = {}
            if ctx.settings.broker.url is not None:
                from core.outbox.broker import BrokerSink

                sinks["broker"] = BrokerSink(ctx.settings.broker)
            if ctx.settings.mail.host is not None:
                from core.outbox.mail import EmailSink

                sinks["email"] = EmailSink(ctx.engine, ctx.settings.mail)
            _SINKS[id(ctx)] = (weakref.ref(ctx), sinks)
        return sinks


def deliver_outbox(ctx: CoreContext) -> PassResult:
    return deliver_due(ctx.engine, sinks_for(ctx), ctx.settings.outbox)


def close_sinks(ctx: CoreContext) -> None:
    with _LOCK:
        known = _SINKS.pop(id(ctx), None)
        for sink in (known[1] if known is not None else {}).values():
            sink.close()
