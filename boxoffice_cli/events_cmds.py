"""``boxoffice events tail``: an example consumer of the box office's RabbitMQ events.

What an integrator copies: a queue of its own bound to the ``boxoffice.events`` topic
exchange (durable, so nothing is lost while the consumer is down), manual acks after
the message is handled, and duplicates dropped by the envelope's ``id`` (delivery is at
least once). The body is documented in docs/integration.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import OrderedDict
from typing import Any


def _broker_url() -> tuple[str, str]:
    from boxoffice_cli.main import _settings
    from core.errors import BoxOfficeError

    s = _settings()
    if s.broker.url is None:
        raise BoxOfficeError("broker_unavailable", detail="[broker] url is not configured")
    return s.broker.url.get_secret_value(), s.broker.exchange


def cmd_tail(args: argparse.Namespace) -> int:
    import pika
    import pika.exceptions

    from core.errors import BoxOfficeError

    url, exchange = _broker_url()
    try:
        conn = pika.BlockingConnection(pika.URLParameters(url))
    except pika.exceptions.AMQPError as exc:
        raise BoxOfficeError("broker_unavailable", detail=type(exc).__name__) from exc
    ch = conn.channel()
    ch.exchange_declare(exchange, exchange_type="topic", durable=True)
    if args.queue:
        # A named, durable queue: events published while this consumer is away wait in it.
        queue = ch.queue_declare(args.queue, durable=True).method.queue
    else:
        queue = ch.queue_declare("", exclusive=True).method.queue
    for key in args.key or ["#"]:
        ch.queue_bind(queue, exchange, routing_key=key)
    seen: OrderedDict[str, None] = OrderedDict()  # the last ids, to drop redeliveries
    count = 0

    def on_message(channel: Any, method: Any, props: Any, body: bytes) -> None:
        nonlocal count
        doc = json.loads(body)
        mid = str(doc.get("id") or props.message_id)
        if mid not in seen:
            seen[mid] = None
            if len(seen) > 100_000:
                seen.popitem(last=False)
            if args.json:
                print(json.dumps(doc, sort_keys=True), flush=True)
            else:
                print(f"{doc.get('occurred_at', '')}  {method.routing_key:<18} {mid}  "
                      f"{json.dumps(doc.get('data', {}), sort_keys=True)}", flush=True)
            count += 1
        channel.basic_ack(method.delivery_tag)
        if args.count and count >= args.count:
            channel.stop_consuming()

    ch.basic_qos(prefetch_count=100)
    ch.basic_consume(queue, on_message)
    print(f"listening on {exchange} ({', '.join(args.key or ['#'])}); Ctrl+C stops",
          file=sys.stderr, flush=True)
    try:
        ch.start_consuming()
    except KeyboardInterrupt:
        ch.stop_consuming()
    finally:
        if conn.is_open:
            conn.close()
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("events", help="the box office's RabbitMQ events")
    ps = p.add_subparsers(dest="sub", required=True)
    t = ps.add_parser("tail", help="consume and print events (an example consumer)")
    t.add_argument("--key", action="append",
                   help="routing key pattern, e.g. 'sale.*' (repeatable; default '#')")
    t.add_argument("--queue", help="a durable queue name (default: a temporary queue)")
    t.add_argument("--count", type=int, default=0, help="stop after N distinct events")
    t.add_argument("--json", action="store_true", help="one envelope per line")
    t.set_defaults(func=cmd_tail)
