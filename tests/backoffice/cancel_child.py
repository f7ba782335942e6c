"""Run an event cancellation in a separate process that kills itself (SIGKILL) after
``kill_after`` orders, or, with ``kill_in_gateway``, inside the first card refund's
gateway call after that (the refund is committed as pending, the gateway may or may not
have taken it). It runs on the login in ``db_url`` (the back office console's admin login,
as ``boxoffice event cancel`` there would). Used by test_cancel.py."""

from __future__ import annotations

import json
import os
import signal
import sys
import uuid

from config import Settings
from core.actors import Actor, authenticate
from core.app_context import build_context
from core.backoffice.cancel import cancel_event


def main() -> int:
    args = json.loads(sys.argv[1])
    settings = Settings(**args["settings"])
    ctx = build_context(settings, url=args["db_url"], pool_size=2)
    actor = Actor(args["terminal_id"], args["terminal_name"], args["operator_id"],
                  "supervisor", "counter")
    done = 0
    if args.get("kill_in_gateway"):
        gw = ctx.payment_gateway()
        real = gw.refund

        def refund(*a, **kw):  # the refund reaches the gateway, then the process dies
            result = real(*a, **kw)
            if done >= args["kill_after"]:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        gw.refund = refund

    def progress(i: int, total: int, outcome: object) -> None:
        nonlocal done
        done = i
        if not args.get("kill_in_gateway") and i >= args["kill_after"]:
            os.kill(os.getpid(), signal.SIGKILL)

    # The supervisor types the PIN at the console: its proof signs this run.
    signed = authenticate(ctx.engine, args["login"], args["pin"])
    cancel_event(ctx, actor, uuid.uuid4(), args["event"], reason="crash test",
                 progress=progress, signed_in=signed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
