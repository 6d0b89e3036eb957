"""The ``scaleout`` command line: fit, predict, explain, demo, bench, cluster, job, submit, emr."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .exceptions import ScaleoutError
from .registry import estimator_class


def algorithm_names() -> list[str]:
    """Command-line names of every registered algorithm (``logistic_regression``, ...)."""
    from .registry import algorithm_name, estimator_classes

    return sorted(algorithm_name(cls) for cls in estimator_classes(algorithms_only=True).values())


def parse_params(items: Sequence[str], flag: str = "--param") -> dict[str, Any]:
    """Parse ``key=value`` strings; values are JSON when they parse, else strings."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ScaleoutError(f"{flag} expects key=value, got {item!r}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def _read(path: str, target: str | None, features: str | None) -> Any:
    from .data import as_dataset, read_csv, read_npy, read_parquet

    columns = features.split(",") if features else None
    lower = path.lower()
    if lower.endswith(".csv"):
        return read_csv(path, target=target, features=columns)
    if lower.endswith(".npy"):
        return read_npy(path)
    if lower.endswith((".parquet", ".pq")) or os.path.isdir(path) or any(c in path for c in "*?["):
        return read_parquet(path, target=target, features=columns)
    return as_dataset(path, target)


def _build(args: argparse.Namespace) -> Any:
    cls = estimator_class(args.algorithm)
    params = parse_params(args.param or [])
    if args.backend:
        params["backend"] = args.backend
    try:
        return cls(**params)
    except TypeError as exc:
        raise ScaleoutError(
            f"{cls.__name__}: {exc}. Check the list of available parameters with "
            f"`{cls.__name__}().get_params().keys()`"
        ) from None


def cmd_fit(args: argparse.Namespace) -> int:
    data = _read(args.data, args.target, args.features)
    model = _build(args).fit(data)
    model.save(args.output)
    stats = {k: v for k, v in model.fit_stats_.items() if not isinstance(v, dict)}
    print(
        json.dumps(
            {"model": args.output, "algorithm": type(model).__name__, **stats},
            indent=2,
            default=str,
        )
    )
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from .persist import load

    model = load(args.model)
    data = _read(args.data, None, args.features)
    method = "transform" if not hasattr(model, "predict") else "predict"
    result = np.asarray(getattr(model, method)(data))
    columns = [result] if result.ndim == 1 else list(result.T)
    names = ["prediction"] if result.ndim == 1 else [f"c{i}" for i in range(len(columns))]
    table = pa.Table.from_arrays([pa.array(c) for c in columns], names=names)
    if args.output is None:
        print(table.to_pandas().to_string(max_rows=20))
        return 0
    tmp = args.output + ".tmp"
    if args.output.endswith(".csv"):
        pacsv.write_csv(table, tmp)
    else:
        pq.write_table(table, tmp)
    os.replace(tmp, args.output)
    print(f"wrote {len(result)} predictions to {args.output}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from .explain import explain

    data = _read(args.data, args.target, args.features)
    print(explain(_build(args), data))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import format_table, run_demos

    backends = args.backends.split(",") if args.backends else None
    results = run_demos(
        backends,
        mnist_dir=args.mnist_dir,
        plot_dir=args.plot,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(format_table(results))
    return 0


def _bench_engines() -> tuple[str, ...]:
    from .bench.cases import ENGINES

    return ENGINES


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import cases
    from .bench.plots import write_plots
    from .bench.report import markdown, write_report
    from .bench.runner import SuiteSettings, run_suite

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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``scaleout`` command."""
    parser = argparse.ArgumentParser(
        prog="scaleout", description="Fit scikit-learn models in memory, out of core or on Spark."
    )
    parser.add_argument("--version", action="version", version=f"scaleout {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def model_args(p: argparse.ArgumentParser, *, target: bool = True) -> None:
        p.add_argument("algorithm", help=f"one of {', '.join(algorithm_names())}")
        p.add_argument(
            "--data", required=True, help="Parquet/CSV/.npy path, directory, glob or URL"
        )
        if target:
            p.add_argument("--target", help="target column (supervised algorithms)")
        p.add_argument("--features", help="comma-separated feature columns (default: all others)")
        p.add_argument(
            "--param",
            action="append",
            metavar="KEY=VALUE",
            help="estimator parameter, repeatable (values parsed as JSON)",
        )
        p.add_argument("--backend", help="engine: auto, sklearn, ... (default: auto)")

    fit = sub.add_parser("fit", help="fit a model on data and save it")
    model_args(fit)
    fit.add_argument("--output", "-o", required=True, help="model file to write (.scaleout)")
    fit.set_defaults(func=cmd_fit)

    predict = sub.add_parser("predict", help="predict with a saved model")
    predict.add_argument("model", help="a .scaleout model file")
    predict.add_argument("--data", required=True)
    predict.add_argument("--features", help="comma-separated feature columns")
    predict.add_argument("--output", "-o", help="write predictions (.parquet or .csv)")
    predict.set_defaults(func=cmd_predict)

    explain = sub.add_parser("explain", help="which engine would fit this, and why")
    model_args(explain)
    explain.set_defaults(func=cmd_explain)

    demo = sub.add_parser("demo", help="the six classic scikit-learn demos on every engine")
    demo.add_argument("--backends", help="comma-separated engines (default: all installed)")
    demo.add_argument(
        "--mnist-dir",
        default=os.environ.get("SCALEOUT_MNIST_DIR"),
        help="MNIST IDX directory (default $SCALEOUT_MNIST_DIR; "
        "falls back to scikit-learn's digits)",
    )
    demo.add_argument("--plot", metavar="DIR", help="write PNG plots into DIR")
    demo.set_defaults(func=cmd_demo)

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

    from .clusters.cli import add_subcommands

    add_subcommands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scaleout`` console script."""
    from .clusters.cli import parse

    args = parse(build_parser(), None if argv is None else list(argv))
    try:
        return args.func(args)
    except ScaleoutError as exc:
        print(f"scaleout: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
