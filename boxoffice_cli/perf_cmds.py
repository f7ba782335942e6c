"""``boxoffice bench fleet`` and ``boxoffice bench scale``: whole sales from a fleet of
terminal processes, and the present measured before and after a year of history."""

from __future__ import annotations

import argparse
import json
from typing import Any


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, default=str))
    else:
        for k, v in result.items():
            print(f"{k:<28} {v}")


def cmd_bench_fleet(args: argparse.Namespace) -> int:
    from terminal.bootstrap import load_settings
    from terminal.fleet import run_fleet

    result = run_fleet(load_settings(), cashiers=args.cashiers, kiosks=args.kiosks,
                       seconds=args.seconds)
    _print(result, args.json)
    ok = result["oversold"] == 0 and result["duplicated"] == 0 and not result["crashes"]
    return 0 if ok else 1


def cmd_bench_scale(args: argparse.Namespace) -> int:
    from config import load_settings
    from core.bench.scale import run_bench

    result = run_bench(load_settings(), workers=args.workers, seconds=args.seconds,
                       scale=args.scale)
    _print(result, args.json)
    return 0 if result["oversold"] == 0 else 1


def register(sub: Any) -> None:
    from boxoffice_cli.main import subcommands_of

    b_sub = subcommands_of(sub, "bench")
    if b_sub is None:
        return
    bf = b_sub.add_parser("fleet", help="whole sales from terminal processes (counter and"
                                        " kiosk sessions) plus a polling monitor")
    bf.add_argument("--cashiers", type=int, default=8)
    bf.add_argument("--kiosks", type=int, default=8)
    bf.add_argument("--seconds", type=float, default=20.0)
    bf.add_argument("--json", action="store_true")
    bf.set_defaults(func=cmd_bench_fleet)
    bs = b_sub.add_parser("scale", help="holds, availability and the monitor snapshot before"
                                        " and after loading a year of history (scratch"
                                        " database only)")
    bs.add_argument("--workers", type=int, default=8)
    bs.add_argument("--seconds", type=float, default=10.0)
    bs.add_argument("--scale", type=float, default=1.0,
                    help="share of the year to load (1.0: ~1,000 events, 1M tickets,"
                         " 3M audit rows)")
    bs.add_argument("--json", action="store_true")
    bs.set_defaults(func=cmd_bench_scale)
