"""Run one card checkout in a separate process that kills itself (SIGKILL) at the step
named by BOXOFFICE_TEST_CRASH_AT. Used by test_crash.py."""

from __future__ import annotations

import json
import sys
import uuid

from config import Settings
from core.actors import Actor
from core.app_context import build_context
from core.sales import CardTender, checkout


def main() -> int:
    args = json.loads(sys.argv[1])
    settings = Settings(**args["settings"])
    ctx = build_context(settings, url=args["db_url"], pool_size=2)
    actor = Actor(args["terminal_id"], args["terminal_name"], None, None, "kiosk")
    checkout(ctx, actor, uuid.UUID(args["key"]), uuid.UUID(args["hold_id"]),
             CardTender("pm_card_visa"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
