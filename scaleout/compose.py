"""Column-wise preprocessing of a raw table: :class:`ColumnTransformer`, on any engine.

Each branch selects columns by name (or position) and runs them through a
scaleout ``SimpleImputer``, ``OneHotEncoder``, ``OrdinalEncoder``,
``StandardScaler`` or ``MinMaxScaler``, or a :class:`~scaleout.Pipeline` of
them; ``"passthrough"`` and ``"drop"`` as in scikit-learn, ``remainder`` too.
The branches are fitted together, sharing passes
(:mod:`scaleout.kernels.column_plan`), on the sklearn engine in memory and on
dask out of core. The fitted transformer is scikit-learn's own
``ColumnTransformer`` around the branches' rebuilt scikit-learn transformers
(``to_sklearn()``), with scikit-learn's ``sparse_output_`` decision from the
density of the output on the training rows.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sklearn import compose as _skc
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline as _SkPipeline

from ._table import TableTransformer
from .kernels import Kernel
from .kernels.column_plan import (
    check_column_transformer_params,
    fitted_step,
    output_nonzeros,
    row_table,
)
from .registry import register_estimator

__all__ = ["ColumnTransformer", "make_column_transformer"]


def _branch_estimator(branch: dict[str, Any]) -> Any:
    if branch["kind"] != "steps":
        return branch["kind"]
    fitted = [
        fitted_step(step["class"], step["params"], step["summary"], step["layout"])
        for step in branch["steps"]
    ]
    if len(fitted) == 1:
        return fitted[0]
    return _SkPipeline(
        [
            (f"{s['class'].lower()}-{i}", f)
            for i, (s, f) in enumerate(zip(branch["steps"], fitted, strict=True))
        ]
    )


@register_estimator
class ColumnTransformer(TableTransformer):
    """Apply transformers to columns of a raw table, fitted on any engine.

    Parameters
    ----------
    transformers : list of (name, transformer, columns)
        ``transformer``: a scaleout ``SimpleImputer``, ``OneHotEncoder``,
        ``OrdinalEncoder``, ``StandardScaler``, ``MinMaxScaler``, a scaleout
        ``Pipeline`` of them, ``"passthrough"`` or ``"drop"``. ``columns``: a
        list of column names (or positions).
    remainder : {"drop", "passthrough"} or transformer, default="drop"
    sparse_threshold : float, default=0.3
    n_jobs, verbose, verbose_feature_names_out
        As in scikit-learn (``transformer_weights`` must be None).
    backend : str, default="auto"

    Attributes
    ----------
    transformers_, named_transformers_, output_indices_, sparse_output_,
    n_features_in_, feature_names_in_
        scikit-learn's (the transformers are scikit-learn's fitted ones).
    summary_
        Per branch the columns and each step's summary (what a saved model holds).
    """

    _sklearn_class = _skc.ColumnTransformer
    _kernel = Kernel(
        "scaleout.kernels.column_plan",
        "check_column_transformer_params",
        "fit_column_transformer",
    )
    _fitted_attrs = ("summary_", "n_features_out_", "sparse_output_")
    _required_attrs = ("summary_",)

    def __init__(
        self,
        transformers: list[tuple[str, Any, Any]],
        *,
        remainder: Any = "drop",
        sparse_threshold: float = 0.3,
        n_jobs: Any = None,
        transformer_weights: Any = None,
        verbose: bool = False,
        verbose_feature_names_out: bool = True,
        backend: str = "auto",
    ) -> None:
        self.transformers = transformers
        self.remainder = remainder
        self.sparse_threshold = sparse_threshold
        self.n_jobs = n_jobs
        self.transformer_weights = transformer_weights
        self.verbose = verbose
        self.verbose_feature_names_out = verbose_feature_names_out
        self.backend = backend

    def _validate_params(self) -> None:
        from ._params import validate_backend_param

        validate_backend_param(type(self).__name__, self.backend)
        check_column_transformer_params(self.get_params(deep=False))

    def _rebuild(self) -> Any:
        summary = self.summary_
        branches = summary["branches_"]
        fitted = [_branch_estimator(b) for b in branches]
        example = row_table(summary["example_"])
        names = list(getattr(example, "columns", []))

        def columns_of(branch: dict[str, Any]) -> Any:
            return [names[j] for j in branch["columns"]] if names else list(branch["columns"])

        frozen = [
            (b["name"], f if isinstance(f, str) else FrozenEstimator(f), columns_of(b))
            for b, f in zip(branches, fitted, strict=True)
            if b["name"] != "remainder"
        ]
        rest = [f for b, f in zip(branches, fitted, strict=True) if b["name"] == "remainder"]
        remainder = rest[0] if rest else "drop"
        if not isinstance(remainder, str):
            remainder = FrozenEstimator(remainder)
        sk = _skc.ColumnTransformer(
            frozen,
            remainder=remainder,
            sparse_threshold=self.sparse_threshold,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            verbose_feature_names_out=self.verbose_feature_names_out,
        )
        sk.fit(example)
        if isinstance(self.__dict__.get("sparse_output_"), bool):  # decided at fit (or loaded)
            sk.sparse_output_ = self.__dict__["sparse_output_"]
        else:
            nonzeros, entries, sparse = output_nonzeros(branches, fitted, summary["n_rows_"])
            dense = not (sparse and entries and nonzeros / entries < self.sparse_threshold)
            sk.sparse_output_ = not dense
        sk.transformers_ = [
            (name, t.estimator if isinstance(t, FrozenEstimator) else t, columns)
            for name, t, columns in sk.transformers_
        ]
        sk.transformers = [
            (name, t.estimator if isinstance(t, FrozenEstimator) else t, columns)
            for name, t, columns in sk.transformers
        ]
        if isinstance(sk.remainder, FrozenEstimator):
            sk.remainder = sk.remainder.estimator
        return sk


def make_column_transformer(
    *transformers: tuple[Any, Any],
    remainder: Any = "drop",
    sparse_threshold: float = 0.3,
    n_jobs: Any = None,
    verbose: bool = False,
    verbose_feature_names_out: bool = True,
    backend: str = "auto",
) -> ColumnTransformer:
    """Build a :class:`ColumnTransformer` from ``(transformer, columns)`` pairs.

    Names follow scikit-learn's ``make_column_transformer``: the lower-cased
    class name, ``-1``, ``-2``, ... when repeated.
    """
    names = [t if isinstance(t, str) else type(t).__name__.lower() for t, _ in transformers]
    counts = Counter(names)
    seen: Counter[str] = Counter()
    named = []
    for name, (transformer, columns) in zip(names, transformers, strict=True):
        if counts[name] > 1:
            seen[name] += 1
            name = f"{name}-{seen[name]}"
        named.append((name, transformer, columns))
    return ColumnTransformer(
        named,
        remainder=remainder,
        sparse_threshold=sparse_threshold,
        n_jobs=n_jobs,
        verbose=verbose,
        verbose_feature_names_out=verbose_feature_names_out,
        backend=backend,
    )

