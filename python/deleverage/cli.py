"""The ``deleverage`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def _bench_book(args: argparse.Namespace) -> int:
    from deleverage.bench.book import bench_book

    result = bench_book(
        args.messages,
        batch=args.batch,
        seed=args.seed,
        repeat=args.repeat,
        reference_messages=args.reference_messages,
        deep_book_orders=args.deep_book_orders,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    r = result
    print(f"order book: {r.messages:,} messages in batches of {r.batch:,} (seed {r.seed})")
    print(
        f"  batch API        {r.messages_per_s / 1e6:8.2f} M messages/s "
        f"(median of {args.repeat}: {r.messages_per_s_median / 1e6:.2f} M/s)"
    )
    print(
        f"  Python reference {r.reference_messages_per_s / 1e6:8.3f} M messages/s "
        f"on the first {r.reference_messages:,}"
    )
    print(f"  ratio            {r.ratio:8.0f}x")
    print(
        f"  deep book ({r.deep_book_orders:,} orders): {r.ns_per_add:.1f} ns/add, "
        f"{r.ns_per_cancel:.1f} ns/cancel, {r.ns_per_market:.1f} ns/market order"
    )
    print(
        f"  memory           {r.bytes_per_resting_order:8.1f} bytes per resting order (deep book); "
        f"{r.bytes_per_resting_order_stream_end:.1f} at the stream's end "
        f"({r.resting_orders_end:,} resting)"
    )
    print(
        f"  fills {r.fills:,}; stream generated in {r.generate_seconds:.2f} s; "
        f"wall {r.wall_seconds:.1f} s"
    )
    return 0


def _bench_margin(args: argparse.Namespace) -> int:
    from deleverage.bench.margin import bench_margin

    result = bench_margin(tuple(args.accounts), seed=args.seed)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"margin engine (seed {args.seed}); baseline: a full scan of every account per update")
    for r in result["results"]:  # type: ignore[union-attr]
        print(
            f"  {r['accounts']:>11,} accounts: created in {r['create_seconds']:.2f} s, "
            f"{r['bytes_per_account']:.1f} bytes/account"
        )
        print(
            f"      mark updates (no liquidation) {r['mark_updates_per_s'] / 1e6:8.1f} M/s   "
            f"full scan: C++ {r['scan_updates_per_s']:,.0f}/s, "
            f"numpy {r['numpy_scan_updates_per_s']:,.0f}/s   "
            f"(index {r['index_over_scan']:,.0f}x the C++ scan)"
        )
        print(
            f"      cascade: {r['liquidations']:,} liquidations over {r['cascade_steps']:,} "
            f"one-tick steps, {r['liquidations_per_s'] / 1e6:.2f} M/s"
        )
    return 0


def _bench_cross(args: argparse.Namespace) -> int:
    from deleverage.bench.cross import bench_cross

    r = bench_cross(args.accounts, updates=args.updates, seed=args.seed)
    if args.json:
        from dataclasses import asdict

        print(json.dumps(asdict(r)))
        return 0
    print(
        f"cross margin (seed {r.seed}): {r.accounts:,} accounts x {r.instruments} instruments, "
        f"{r.bytes_per_account:.1f} bytes/account, created in {r.create_seconds:.2f} s"
    )
    print(
        f"  price updates with checks {r.updates_per_s:12,.0f}/s over {r.updates:,} updates "
        f"({r.revalued_per_update:,.1f} accounts revalued per update, {r.rebases} epochs)"
    )
    print(
        f"  full revaluation          {r.full_scan_updates_per_s:12,.1f}/s (C++ scan), "
        f"{r.oracle_updates_per_s:,.2f}/s (numpy oracle on {r.oracle_accounts:,}, scaled)"
    )
    print(f"  ratio                     {r.ratio:12,.0f}x")
    return 0


def _load_scenario(spec: str):  # type: ignore[no-untyped-def]
    from pathlib import Path

    from deleverage.scenario import load_toml
    from deleverage.scenarios import PRESETS, load_preset

    if spec in PRESETS:
        return load_preset(spec)
    path = Path(spec)
    if path.suffix == ".toml" or path.exists():
        if not path.exists():
            raise ValueError(f"scenario: no such file {spec!r}")
        return load_toml(path)
    raise ValueError(
        f"scenario: {spec!r} is neither a .toml file nor a preset; presets: {', '.join(PRESETS)}"
    )


def _run(args: argparse.Namespace) -> int:
    from deleverage.simulate import simulate

    scenario = _load_scenario(args.scenario)
    if args.accounts is not None:
        scenario = scenario.with_accounts(args.accounts)
    result = simulate(scenario, args.seed, progress=None if not args.json else False)
    metrics = result.metrics()
    if args.json:
        print(json.dumps(metrics))
        return 0
    name = scenario.instruments[0].name
    print(
        f"{scenario.name}: {metrics['accounts']:,} accounts, {metrics['steps']:,} steps "
        f"of {scenario.clock.dt:g} s, seed {args.seed}, {metrics['wall_seconds']:.2f} s wall"
    )
    print(
        f"  {name}: peak {metrics['peak_price']:,.2f}, final {metrics['final_price']:,.2f}, "
        f"max drawdown {metrics['max_drawdown']:.2%}"
    )
    print(
        f"  liquidations {metrics['liquidations']:,} "
        f"(notional {metrics['liquidated_notional']:,.0f})"
    )
    print(
        f"  worst depth {metrics['min_depth_ratio']:.2f}x and widest spread "
        f"{metrics['max_spread_ratio']:.1f}x their pre-shock medians"
    )
    print(result.accounts.to_string(float_format=lambda x: f"{x:,.2f}"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deleverage",
        description="Simulator of leveraged markets and their forced-deleveraging cascades.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run",
        help="run a scenario (a preset name or a .toml file) and print its headline figures",
    )
    run.add_argument(
        "scenario",
        nargs="?",
        default="default",
        help="preset name or scenario .toml file (default: the built-in 'default')",
    )
    run.add_argument(
        "--accounts",
        type=_positive_int,
        default=None,
        help="scale the populations to this many accounts in total",
    )
    run.add_argument("--seed", type=int, default=0)
    run.add_argument(
        "--json", action="store_true", help="print one JSON object of headline metrics"
    )
    run.set_defaults(handler=_run)

    bench = commands.add_parser("bench", help="run a built-in benchmark")
    suites = bench.add_subparsers(dest="suite", required=True)
    book = suites.add_parser(
        "book",
        help="order book: the standard message stream through the batch API",
        description="Replay the standard seeded message stream (60%% limits within +-50 ticks "
        "of the mid, 30%% cancels of live orders, 10%% market orders) through the batch "
        "API, against the plain-Python reference book on a prefix.",
    )
    book.add_argument("--messages", type=_positive_int, default=10_000_000)
    book.add_argument("--batch", type=_positive_int, default=1 << 16)
    book.add_argument("--seed", type=_positive_int, default=1)
    book.add_argument("--repeat", type=_positive_int, default=3)
    book.add_argument("--reference-messages", type=_positive_int, default=200_000)
    book.add_argument("--deep-book-orders", type=_positive_int, default=1_000_000)
    book.add_argument("--json", action="store_true", help="print one JSON object")
    book.set_defaults(handler=_bench_book)

    margin = suites.add_parser(
        "margin",
        help="margin engine: mark updates with liquidation checks, cascades",
        description="Mark updates with liquidation checks at 1M and 10M accounts, a liquidation "
        "cascade, and a full scan of every account per update as the baseline.",
    )
    margin.add_argument(
        "--accounts",
        type=_positive_int,
        nargs="+",
        default=[1_000_000, 10_000_000],
        help="account counts to measure (default: 1000000 10000000)",
    )
    margin.add_argument("--seed", type=_positive_int, default=1)
    margin.add_argument("--json", action="store_true", help="print one JSON object")
    margin.set_defaults(handler=_bench_margin)

    cross = suites.add_parser(
        "cross",
        help="cross margin: price updates with liquidation checks over portfolios",
        description="Price updates (a new mark for each of 3 instruments, then a liquidation "
        "check) over cross-margined portfolios on a calm path, against a full revaluation of "
        "every account per update.",
    )
    cross.add_argument("--accounts", type=_positive_int, default=1_000_000)
    cross.add_argument("--updates", type=_positive_int, default=200_000)
    cross.add_argument("--seed", type=_positive_int, default=1)
    cross.add_argument("--json", action="store_true", help="print one JSON object")
    cross.set_defaults(handler=_bench_cross)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ValueError as err:
        print(f"deleverage: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
