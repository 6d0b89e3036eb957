"""``scaleout fit | predict | explain``: one estimator on one dataset."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .._cli_args import parse_params, split_names
from ..exceptions import ScaleoutError

__all__ = ["add_commands", "algorithm_names", "read_data"]


def algorithm_names() -> list[str]:
    """Command-line names of every registered algorithm (``logistic_regression``, ...)."""
    from ..registry import algorithm_name, estimator_classes

    return sorted(algorithm_name(cls) for cls in estimator_classes(algorithms_only=True).values())


def read_data(
    data: str | list[str], target: str | None, features: str | None, estimator: Any = None
) -> Any:
    """The dataset of ``--data`` (one path, glob, directory or URL, or several files).

    The format follows :func:`scaleout.data.open_path`'s rule, the same as
    ``model.fit(path)`` and the training job; a raw table (string columns,
    missing values) for an estimator that starts with a table transformer.
    """
    from .._table import open_model_input

    return open_model_input(estimator, data, target, split_names(features))


def _build(args: argparse.Namespace) -> Any:
    """The estimator of ``ALGORITHM --param ...`` or of ``--pipeline SPEC`` (checked before
    any data is read)."""
    if args.pipeline is not None:
        if args.algorithm is not None:
            raise ScaleoutError(
                f"give either ALGORITHM ({args.algorithm!r}) or --pipeline, not both"
            )
        if args.param:
            raise ScaleoutError(
                "--param sets one algorithm's parameters; with --pipeline, put them in the "
                "pipeline spec"
            )
        from ..pipeline_spec import pipeline_from_spec

        # as in a job: a --backend other than auto overrides the spec's
        backend = None if args.backend in (None, "auto") else args.backend
        return pipeline_from_spec(args.pipeline, backend=backend)
    if args.algorithm is None:
        raise ScaleoutError(
            f"{args.command} needs ALGORITHM (one of {', '.join(algorithm_names())}) "
            "or --pipeline SPEC"
        )
    from ..registry import estimator_class

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


def _data(args: argparse.Namespace) -> str | list[str]:
    return args.data[0] if len(args.data) == 1 else list(args.data)


def cmd_fit(args: argparse.Namespace) -> int:
    from ..storage import check_writable

    check_writable(args.output)  # before the fit, not after it
    estimator = _build(args)  # a bad spec or parameter fails before any data is read
    data = read_data(_data(args), args.target, args.features, estimator)
    model = estimator.fit(data)
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

    from ..persist import load
    from ..storage import check_writable, local_output

    if args.output is not None:
        check_writable(args.output)
    model = load(args.model)
    data = read_data(_data(args), None, args.features, model)
    method = "transform" if not hasattr(model, "predict") else "predict"
    result = np.asarray(getattr(model, method)(data))
    columns = [result] if result.ndim == 1 else list(result.T)
    names = ["prediction"] if result.ndim == 1 else [f"c{i}" for i in range(len(columns))]
    table = pa.Table.from_arrays([pa.array(c) for c in columns], names=names)
    if args.output is None:
        print(table.to_pandas().to_string(max_rows=20))
        return 0
    csv = args.output.endswith(".csv")
    # a temporary file of its own, renamed over the output: concurrent runs writing the
    # same output never mix, and a killed run leaves no half file (see storage.local_output)
    with local_output(args.output, suffix=".csv" if csv else ".parquet") as tmp:
        if csv:
            pacsv.write_csv(table, tmp)
        else:
            pq.write_table(table, tmp)
    print(f"wrote {len(result)} predictions to {args.output}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from ..explain import explain

    estimator = _build(args)
    data = read_data(_data(args), args.target, args.features, estimator)
    print(explain(estimator, data))
    return 0


DATA_HELP = (
    "Parquet/CSV/.npy file, directory, glob or URL; repeat for several files of one "
    "format (the file suffix decides the format)"
)


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "algorithm", nargs="?", help=f"one of {', '.join(algorithm_names())} (or --pipeline)"
    )
    p.add_argument(
        "--pipeline",
        metavar="SPEC",
        help="a pipeline spec instead of ALGORITHM: a .json/.yaml/.yml file or URL naming the "
        "steps, columns and parameters (docs/clusters.md, 'Pipeline specs')",
    )
    p.add_argument("--data", required=True, action="append", metavar="PATH", help=DATA_HELP)
    p.add_argument("--target", help="target column (supervised algorithms)")
    p.add_argument("--features", help="comma-separated feature columns (default: all others)")
    p.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="estimator parameter, repeatable (values parsed as JSON)",
    )
    p.add_argument("--backend", help="engine: auto, sklearn, ... (default: auto)")


def add_commands(sub: Any) -> None:
    """Add ``fit``, ``predict`` and ``explain`` to the ``scaleout`` parser."""
    fit = sub.add_parser("fit", help="fit a model on data and save it")
    _model_args(fit)
    fit.add_argument("--output", "-o", required=True, help="model file to write (.scaleout)")
    fit.set_defaults(func=cmd_fit)

    predict = sub.add_parser("predict", help="predict with a saved model")
    predict.add_argument("model", help="a .scaleout model file")
    predict.add_argument("--data", required=True, action="append", metavar="PATH", help=DATA_HELP)
    predict.add_argument("--features", help="comma-separated feature columns")
    predict.add_argument("--output", "-o", help="write predictions (.parquet or .csv)")
    predict.set_defaults(func=cmd_predict)

    explain = sub.add_parser("explain", help="which engine would fit this, and why")
    _model_args(explain)
    explain.set_defaults(func=cmd_explain)
