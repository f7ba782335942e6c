"""``boxoffice bench failover``: the failover drill of ``core.drills.failover`` from the
command line (it starts its own scratch primary and standby; nothing configured is used)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def cmd_bench_failover(args: argparse.Namespace) -> int:
    from core.drills.failover import run_drill

    result = run_drill(terminals=args.terminals, before_s=args.before, after_s=args.after,
                       detect_s=args.detect)
    if args.json:
        print(json.dumps(result))
    else:
        width = max(len(k) for k in result)
        for k, v in result.items():
            print(f"{k:<{width}}  {v}")
    ok = (result["lost"] == 0 and result["duplicated"] == 0 and result["raw_errors"] == 0
          and result["resume_s"] is not None and result["resume_s"] <= args.max_resume)
    return 0 if ok else 1


def register(sub: Any) -> None:
    from boxoffice_cli.main import subcommands_of

    b_sub = subcommands_of(sub, "bench")
    if b_sub is not None:
        bf = b_sub.add_parser(
            "failover", help="drill: sales from several terminals while a scratch primary is"
            " killed and its synchronous standby promoted (starts its own servers)")
        bf.add_argument("--terminals", type=int, default=4, help="selling threads")
        bf.add_argument("--before", type=float, default=2.0, help="seconds of sales before"
                        " the kill")
        bf.add_argument("--after", type=float, default=2.0, help="seconds of sales after"
                        " every terminal resumed")
        bf.add_argument("--detect", type=float, default=1.0, help="seconds the dead primary"
                        " stays unpromoted (a failure detector's delay)")
        bf.add_argument("--max-resume", type=float, default=15.0,
                        help="exit 1 when resume_s is above this")
        bf.add_argument("--json", action="store_true")
        bf.set_defaults(func=cmd_bench_failover)
