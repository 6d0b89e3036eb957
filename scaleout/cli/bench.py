"""``scaleout bench``: every algorithm x engine x size against the peers."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_commands"]


def _bench_engines() -> tuple[str, ...]:
    from ..bench.cases import ENGINES

    return ENGINES


def cmd_bench(args: argparse.Namespace) -> int:
    from ..bench import cases
    from ..bench.plots import write_plots
    from ..bench.report import markdown, write_report
    from ..bench.runner import SuiteSettings, run_suite

    preset = cases.QUICK if args.quick else cases.FULL
    settings = SuiteSettings(
        sizes=cases.parse_sizes(args.sizes) if args.sizes else preset.sizes,
        engines=cases.select(args.engines, cases.ENGINES, "engine")
        if args.engines
        else preset.engines,
        algorithms=cases.select(args.algorithms, list(cases.ALGORITHMS), "algorithm"),
        memory_budget=cases.parse_bytes(args.memory_budget)
        if args.memory_budget
        else preset.memory_budget,
        peers=not args.no_peers,
        features=args.features,
        workers=args.workers,
        repeats=args.repeats,
        max_case_seconds=args.max_case_seconds or preset.max_case_seconds,
        data_dir=args.data_dir,
        spark_executor_memory=args.spark_executor_memory,
        warmup=args.warmup or preset.warmup,
        extra={"preset": "quick" if args.quick else "full"},
    )
    report = run_suite(settings, progress=lambda line: print(line, file=sys.stderr, flush=True))
    written = write_report(report, args.out)
    if not args.no_plots:
        written.update(write_plots(report, args.out))
    print(markdown(report))
    for path in written.values():
        print(f"wrote {path}", file=sys.stderr)
    return 0


def add_commands(sub: Any) -> None:
    """Add ``bench`` to the ``scaleout`` parser."""
    bench = sub.add_parser(
        "bench",
        help="benchmark every algorithm x engine x size against the peers",
        description="Fit every algorithm on every engine at every size, with the peers "
        "(raw scikit-learn, dask-ml, hand-written pyspark.ml, a raw pyarrow scan) on the same "
        "files; write suite.json, suite.md and PNG plots. Default: the full suite "
        "(1e5, 1e6, 4e6 rows; budget 512MiB; all five engines; ~30 min on 2 cores).",
    )
    bench.add_argument(
        "--quick",
        action="store_true",
        help="small sizes (1e4, 5e4; budget 4MiB), no Spark standalone: a few minutes",
    )
    bench.add_argument("--sizes", help="comma-separated row counts, e.g. 1e5,1e6,4e6")
    bench.add_argument("--engines", help="comma-separated subset of " + ", ".join(_bench_engines()))
    bench.add_argument("--algorithms", help="comma-separated subset (default: all six)")
    bench.add_argument("--memory-budget", help="scaleout's memory_budget for the run, e.g. 512MiB")
    bench.add_argument("--no-peers", action="store_true", help="skip the peers and the scan")
    bench.add_argument("--features", type=int, default=20, help="feature columns (20)")
    bench.add_argument("--workers", type=int, default=2, help="cluster workers / local[N] (2)")
    bench.add_argument("--repeats", type=int, default=1, help="fits per case, best kept (1)")
    bench.add_argument(
        "--max-case-seconds",
        type=float,
        help="skip a case predicted (from the previous size) to take longer (600; quick 60)",
    )
    bench.add_argument("--data-dir", help="keep and reuse the generated Parquet data here")
    bench.add_argument(
        "--spark-executor-memory", default="3g", help="Spark standalone executor memory (3g)"
    )
    bench.add_argument(
        "--warmup",
        choices=["all", "one", "none"],
        help="fit every algorithm (all; default), the first (one; --quick) or none once on "
        "2,000 rows before an engine's cases",
    )
    bench.add_argument("--out", default="bench-output", help="output directory (bench-output)")
    bench.add_argument("--no-plots", action="store_true", help="no PNG plots")
    bench.set_defaults(func=cmd_bench)
