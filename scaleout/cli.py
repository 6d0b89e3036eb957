"""The ``scaleout`` command line: fit, predict, explain, demo, cluster, job, submit, emr."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .exceptions import ScaleoutError

ALGORITHMS = {
    "linear_regression": "LinearRegression",
    "logistic_regression": "LogisticRegression",
    "decision_tree_classifier": "DecisionTreeClassifier",
    "decision_tree_regressor": "DecisionTreeRegressor",
    "kmeans": "KMeans",
    "pca": "PCA",
}


def estimator_class(name: str) -> type:
    """Map ``logistic_regression`` / ``LogisticRegression`` to the class."""
    import scaleout

    by_lower = {k.replace("_", ""): v for k, v in ALGORITHMS.items()}
    key = name.replace("_", "").replace("-", "").lower()
    if key not in by_lower:
        raise ScaleoutError(f"unknown algorithm {name!r}; expected one of {sorted(ALGORITHMS)}")
    return getattr(scaleout, by_lower[key])


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``scaleout`` command."""
    parser = argparse.ArgumentParser(
        prog="scaleout", description="Fit scikit-learn models in memory, out of core or on Spark."
    )
    parser.add_argument("--version", action="version", version=f"scaleout {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def model_args(p: argparse.ArgumentParser, *, target: bool = True) -> None:
        p.add_argument("algorithm", help=f"one of {', '.join(sorted(ALGORITHMS))}")
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
