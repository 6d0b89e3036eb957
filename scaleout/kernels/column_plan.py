"""Fitting table transformers and a ColumnTransformer's branches over :class:`Passes`.

A ``ColumnTransformer`` is a set of *branches*: each selects columns and runs
them through a chain of steps (an imputer then a scaler, an encoder, ...).
Step ``k`` of a branch is fitted on its columns transformed by the branch's
fitted steps ``0..k-1``. Every step is a generator of passes
(:mod:`scaleout.kernels.table_fit`); the driver here runs the pending passes
of all branches *together*: one pass over the data serves every branch that
needs one, each chunk going through each branch's fitted steps on the way.
So a ColumnTransformer of an imputer + scaler branch and an encoder branch
takes two passes, not three; a median adds its refinement passes to its own
branch only.

The fitted state is plain data: per step its class name, scikit-learn
parameters, summary and input :class:`~.table_fit.Layout`. scikit-learn's
fitted objects are rebuilt from it (:func:`fitted_step`), at fit time for the
later passes and after a load for predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
from sklearn import preprocessing as _skp
from sklearn.impute import SimpleImputer as _SkImputer

from .._config import get_config
from ..exceptions import DataError, UnsupportedOnBackend
from .passes import Passes
from .scalers import (
    Moments,
    column_moments,
    merge_moments,
    minmax_scaler_state,
    standard_scaler_state,
)
from .table_fit import (
    Layout,
    Request,
    as_layout,
    chunk_layout,
    encoder_passes,
    fitted_encoder,
    fitted_imputer,
    imputer_passes,
    layout_document,
    merge_layouts,
    onehot_nonzeros,
    representative_table,
)
from .table_stats import TooManyValues

__all__ = [
    "TABLE_STEPS",
    "check_column_transformer_params",
    "check_table_step_params",
    "fit_column_transformer",
    "fit_table_step",
    "fitted_step",
]

_SKLEARN = {
    "SimpleImputer": _SkImputer,
    "OneHotEncoder": _skp.OneHotEncoder,
    "OrdinalEncoder": _skp.OrdinalEncoder,
    "StandardScaler": _skp.StandardScaler,
    "MinMaxScaler": _skp.MinMaxScaler,
}
#: The steps a ColumnTransformer branch may chain (and fit out of core).
TABLE_STEPS = tuple(_SKLEARN)


def _moments(X: Any) -> Moments:
    return column_moments(np.asarray(X, dtype=np.float64))


def _scaler_passes(params: dict[str, Any]) -> Any:
    moments = yield Request(_moments, merge_moments, "column moments")
    return {"moments": moments.pack()}


def step_passes(name: str, params: dict[str, Any], limit: int | None = None) -> Any:
    """The pass generator of step class ``name`` (see :data:`TABLE_STEPS`).

    ``limit``: the most distinct values a value count keeps per column.
    """
    if name == "SimpleImputer":
        return imputer_passes(params, limit=limit)
    if name in ("OneHotEncoder", "OrdinalEncoder"):
        return encoder_passes(params, name, limit=limit)
    return _scaler_passes(params)


def fitted_step(name: str, params: dict[str, Any], summary: dict, layout: Layout) -> Any:
    """scikit-learn's fitted transformer of class ``name`` from its summary."""
    cls = _SKLEARN[name]
    if name == "SimpleImputer":
        return fitted_imputer(cls, params, summary, layout)
    if name in ("OneHotEncoder", "OrdinalEncoder"):
        return fitted_encoder(cls, params, summary, layout)
    moments = Moments.unpack(np.asarray(summary["moments"]))
    if name == "StandardScaler":
        state = standard_scaler_state(moments, params, weighted=False)
    else:
        state = minmax_scaler_state(moments, params)
    scaler = cls(**params)
    for key, value in state.items():
        setattr(scaler, key, value)
    scaler.n_features_in_ = len(as_layout(layout).dtypes)
    return scaler


# ---------------------------------------------------------------- the driver
def _branch_input(X: Any, columns: Sequence[int], prefix: Sequence[Any]) -> Any:
    if hasattr(X, "iloc"):
        Xb = X.iloc[:, list(columns)]
    else:
        Xb = np.asarray(X)[:, list(columns)]
    for step in prefix:
        Xb = step.transform(Xb)
    return Xb


def row_document(row: Any) -> dict[str, Any]:
    """A one-row table as plain data: its layout and values (``None`` for missing)."""
    layout = chunk_layout(row)
    values = row.iloc[0].tolist() if hasattr(row, "iloc") else np.asarray(row)[0].tolist()
    values = [None if isinstance(v, float) and v != v else v for v in values]
    return {**layout_document(layout), "values": values}


def row_table(document: dict[str, Any]) -> Any:
    """The one-row table of a :func:`row_document`."""
    return representative_table(as_layout(document), [[v] for v in document["values"]])


def _first_row(X: Any) -> Any:
    return X.iloc[:1] if hasattr(X, "iloc") else np.asarray(X)[:1]


def _apply_requests(specs: Sequence[tuple[Any, Any, Any]], batch: Any) -> tuple[Any, list[Any]]:
    """A row of the chunk, and per ``(columns, fitted prefix, fn)``: ``(layout, fn(input))``."""
    out = []
    for k, (columns, prefix, fn) in enumerate(specs):
        Xb = _branch_input(batch.X, columns, prefix)
        try:
            out.append((chunk_layout(Xb), fn(Xb)))
        except TooManyValues as exc:
            exc.branch, exc.source = k, batch.source
            raise
    return _first_row(batch.X), out


def _combine_each(combines: Sequence[Any], a: tuple[Any, list], b: tuple[Any, list]) -> Any:
    merged = []
    for k, (combine, (la, va), (lb, vb)) in enumerate(zip(combines, a[1], b[1], strict=True)):
        try:
            merged.append((merge_layouts(la, lb), combine(va, vb)))
        except TooManyValues as exc:
            exc.branch = k
            raise
    return a[0], merged


class _Branch:
    """One chain of steps over some columns, fitted step by step."""

    def __init__(self, name: str, steps: list[tuple[str, dict]], columns: list[int]) -> None:
        self.name, self.steps, self.columns = name, steps, columns
        self.fitted: list[Any] = []
        self.records: list[dict[str, Any]] = []
        self.generator: Any = None
        self.request: Request | None = None

    def start_next(self) -> None:
        """Prime the next step's generator (or finish)."""
        self.generator = self.request = None
        k = len(self.fitted)
        if k < len(self.steps):
            limit = get_config()["max_distinct_values"]
            self.generator = step_passes(*self.steps[k], limit=limit)
            self.request = next(self.generator)

    def too_many(self, exc: TooManyValues, names: Sequence[str]) -> DataError:
        """The error naming the column with too many distinct values."""
        step = self.steps[len(self.fitted)][0]
        if not self.fitted:
            column = f"column {names[self.columns[exc.column]]!r}"
        else:
            column = f"output column {exc.column} of {self.steps[len(self.fitted) - 1][0]}"
        where = f" (in {exc.source})" if getattr(exc, "source", None) else ""
        return DataError(
            f"{step} in {self.name!r}: {column} has more than {exc.limit:,} distinct values"
            f"{where}; an encoder keeps a count per category. Is it a continuous or "
            "identifier column? Leave it out, or raise the limit with "
            "so.config_context(max_distinct_values=...)."
        )

    def receive(self, layout: Layout, value: Any) -> None:
        try:
            self.request = self.generator.send(value)
        except StopIteration as done:
            name, params = self.steps[len(self.fitted)]
            summary = done.value
            self.fitted.append(fitted_step(name, params, summary, layout))
            self.records.append(
                {"class": name, "params": params, "summary": summary,
                 "layout": layout_document(layout)}
            )
            self.start_next()


def run_branches(passes: Passes, branches: list[_Branch]) -> Any:
    """Fit every branch, sharing each pass among the branches that need one.

    Returns a row of the data (read by the first pass; every fit makes one), as
    :func:`row_document`.
    """
    for branch in branches:
        branch.start_next()
    example = None
    while True:
        active = [b for b in branches if b.request is not None]
        if not active and example is not None:
            return example
        specs = [(b.columns, list(b.fitted), b.request.fn) for b in active]
        combines = [b.request.combine for b in active]
        label = ", ".join(sorted({b.request.label for b in active})) or "columns"
        try:
            row, results = passes.map_reduce(
                partial(_apply_requests, specs),
                label=label,
                combine=partial(_combine_each, combines),
            )
        except TooManyValues as exc:
            names = passes.feature_names or [f"x{j}" for j in range(passes.n_features)]
            raise active[getattr(exc, "branch", 0)].too_many(exc, names) from None
        example = row_document(row) if example is None else example
        for branch, (layout, value) in zip(active, results, strict=True):
            branch.receive(layout, value)


# ------------------------------------------------------------ one table step
def check_table_step_params(params: dict[str, Any], *, step: str, backend: str = "dask") -> None:
    """Refuse what the out-of-core fit of ``step`` cannot honour (before any data moves)."""
    if step == "SimpleImputer":
        from .table_fit import check_imputer_params

        check_imputer_params(params)
        strategy = params.get("strategy", "mean")
        if callable(strategy):
            raise UnsupportedOnBackend(
                f"SimpleImputer(strategy=<callable>) is not supported by backend {backend!r}; "
                "supported: 'mean', 'median', 'most_frequent', 'constant'"
            )


def fit_table_step(
    passes: Passes, params: dict[str, Any], *, step: str, backend: str = "dask"
) -> dict[str, Any]:
    """Fit one table transformer (all columns); its state ``{"summary_", "layout_"}``."""
    check_table_step_params(params, step=step, backend=backend)
    sk_params = {k: v for k, v in params.items() if k != "backend"}
    branch = _Branch(step, [(step, sk_params)], list(range(passes.n_features)))
    run_branches(passes, [branch])
    record = branch.records[0]
    return {"summary_": record["summary"], "layout_": record["layout"]}


# ------------------------------------------------------------ ColumnTransformer
def _column_indices(columns: Any, names: Sequence[str], where: str) -> list[int]:
    if isinstance(columns, str):
        raise UnsupportedOnBackend(
            f"{where}: a single column name {columns!r} (1-D input) is not supported; give a "
            f"list: [{columns!r}]"
        )
    if isinstance(columns, (int, np.integer)):
        columns = [int(columns)]
    if callable(columns) or isinstance(columns, slice) or not hasattr(columns, "__iter__"):
        raise UnsupportedOnBackend(
            f"{where}: columns must be a list of column names or positions, got "
            f"{type(columns).__name__}"
        )
    out = []
    for column in columns:
        if isinstance(column, (bool, np.bool_)):
            raise UnsupportedOnBackend(f"{where}: boolean column masks are not supported")
        if isinstance(column, (int, np.integer)):
            if not -len(names) <= int(column) < len(names):
                raise DataError(
                    f"{where}: column position {column} is out of range for {len(names)} columns"
                )
            out.append(int(column) % len(names))
        elif str(column) in names:
            out.append(list(names).index(str(column)))
        else:
            raise DataError(
                f"{where}: column {column!r} not found; available columns: "
                + ", ".join(repr(n) for n in names[:30])
            )
    return out


def branch_steps(transformer: Any, where: str) -> list[tuple[str, dict]] | str:
    """A branch's steps as ``(class name, scikit-learn params)``, or "drop" / "passthrough"."""
    if isinstance(transformer, str):
        if transformer in ("drop", "passthrough"):
            return transformer
        raise UnsupportedOnBackend(f"{where}: {transformer!r} is not 'drop' or 'passthrough'")
    chain = [s for _, s in transformer.steps] if hasattr(transformer, "steps") else [transformer]
    steps = []
    for step in chain:
        if step in (None, "passthrough"):
            continue
        name = type(step).__name__
        if name not in TABLE_STEPS or not type(step).__module__.startswith("scaleout"):
            raise UnsupportedOnBackend(
                f"{where}: {type(step).__module__}.{name} cannot be fitted out of core in a "
                f"ColumnTransformer; supported steps: scaleout's {', '.join(TABLE_STEPS)} "
                "(a scaleout Pipeline of them for several)"
            )
        params = {k: v for k, v in step.get_params(deep=False).items() if k != "backend"}
        if name == "SimpleImputer":
            check_table_step_params(params, step=name)
        steps.append((name, params))
    return steps


def check_column_transformer_params(params: dict[str, Any], *, backend: str = "dask") -> None:
    """Check every branch's steps (columns are checked against the data at fit)."""
    for i, spec in enumerate(params.get("transformers", [])):
        name, transformer = spec[0], spec[1]
        branch_steps(transformer, f"ColumnTransformer.transformers[{i}] ({name!r})")
    remainder = params.get("remainder", "drop")
    branch_steps(remainder, "ColumnTransformer(remainder=...)")
    if params.get("transformer_weights"):
        raise UnsupportedOnBackend(
            "ColumnTransformer(transformer_weights=...) is not supported out of core; "
            "supported: None"
        )


def fit_column_transformer(
    passes: Passes, params: dict[str, Any], *, backend: str = "dask"
) -> dict[str, Any]:
    """Fit a ColumnTransformer: every branch, sharing passes.

    Returns
    -------
    dict
        ``{"summary_": summary}``, the summary's ``branches_``: per branch
        ``{"name", "columns" (positions), "kind" ("steps", "drop",
        "passthrough"), "steps": [records]}``;
        ``example_``: the first row (the input scikit-learn's ColumnTransformer is
        rebuilt on); ``sparse_output_``: scikit-learn's decision from the output's
        density on the training rows.
    """
    check_column_transformer_params(params, backend=backend)
    names = list(passes.feature_names or [f"x{j}" for j in range(passes.n_features)])
    branches: list[dict[str, Any]] = []
    running: list[_Branch] = []
    used: set[int] = set()
    specs = [(s[0], s[1], s[2]) for s in params.get("transformers", [])]
    for i, (name, transformer, columns) in enumerate(specs):
        where = f"ColumnTransformer.transformers[{i}] ({name!r})"
        indices = _column_indices(columns, names, where)
        used.update(indices)
        branches.append({"name": name, "columns": indices, "spec": transformer})
    rest = [j for j in range(len(names)) if j not in used]
    remainder = params.get("remainder", "drop")
    if rest:
        branches.append({"name": "remainder", "columns": rest, "spec": remainder})
    for branch in branches:
        steps = branch_steps(branch["spec"], f"branch {branch['name']!r}")
        branch["kind"] = steps if isinstance(steps, str) else "steps"
        if branch["kind"] == "steps" and not steps:
            branch["kind"] = "passthrough"
        if branch["kind"] == "steps":
            running.append(_Branch(branch["name"], steps, branch["columns"]))
            branch["runner"] = running[-1]
    passes.expect_passes(None)
    example = run_branches(passes, running)
    state_branches = []
    for branch in branches:
        runner = branch.pop("runner", None)
        branch.pop("spec")
        branch["steps"] = runner.records if runner is not None else []
        state_branches.append(branch)
    summary = {"branches_": state_branches, "n_rows_": int(passes.n_rows), "example_": example}
    return {"summary_": summary}


def output_nonzeros(branches: list[dict[str, Any]], fitted: list[Any], n_rows: int) -> tuple:
    """``(non-zeros, entries, any sparse)`` of a ColumnTransformer's output on its training rows.

    As scikit-learn counts them: a sparse block (a OneHotEncoder with
    ``sparse_output``) its non-zeros (:func:`~.table_fit.onehot_nonzeros`), a
    dense block all its entries.
    """
    nonzeros = entries = 0
    sparse = False
    for branch, transformer in zip(branches, fitted, strict=True):
        if branch["kind"] == "drop":
            continue
        width = _output_width(branch, transformer)
        entries += n_rows * width
        last = branch["steps"][-1] if branch["steps"] else None
        if (
            last is not None
            and last["class"] == "OneHotEncoder"
            and last["params"].get("sparse_output", True)
        ):
            sparse = True
            encoder = transformer[-1] if hasattr(transformer, "steps") else transformer
            nonzeros += onehot_nonzeros(encoder, last["summary"], last["layout"])
        else:
            nonzeros += n_rows * width
    return nonzeros, entries, sparse


def _output_width(branch: dict[str, Any], transformer: Any) -> int:
    if branch["kind"] == "passthrough":
        return len(branch["columns"])
    last = transformer[-1] if hasattr(transformer, "steps") else transformer
    return len(last.get_feature_names_out()) if hasattr(last, "get_feature_names_out") else 0
