"""What a saved model of each registered estimator may hold: the schema ``so.load`` checks.

One :class:`Schema` per registered estimator class (a test checks that every
class of :func:`scaleout.registry.estimator_classes` has one and that it names
exactly the attributes the class saves). A schema lists every attribute a file
may have, with its type, dtype and shape; shapes are written with named
dimensions (``"n_features"``, ``"n_classes"``, ...) that must agree across all
attributes of the model (and with ``n_features_in_``), and ``checks`` add the
relations a shape cannot say (e.g. a binary LogisticRegression has one
coefficient row). Anything a schema does not name is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SCHEMAS", "Array", "Bool", "Document", "Float", "Int", "Schema", "Tree", "schema_of"]


@dataclass(frozen=True)
class Int:
    """A JSON integer (not a boolean) in ``[minimum, maximum]``.

    ``maximum`` may name a dimension; ``dim`` names the dimension the value is.
    """

    minimum: int = 0
    maximum: int | str | None = None
    dim: str | None = None


@dataclass(frozen=True)
class Float:
    """A JSON number (or an encoded non-finite float when ``finite`` is False)."""

    finite: bool = True
    minimum: float | None = None
    #: An int in the file stays an int (e.g. a count that is a float only when weighted).
    keep_int: bool = False


@dataclass(frozen=True)
class Array:
    """An array member.

    ``kind``: ``"float"`` (float32 or float64), ``"int"`` (signed or unsigned,
    at most 64 bits), ``"labels"`` (class labels: bool, int, float or str;
    unique) or ``"names"`` (str). ``shape`` holds sizes or dimension names.
    ``c_order``: made C-contiguous (compiled code that needs it reads it).
    ``nullable``: the attribute may be None (JSON null), as scikit-learn sets
    some attributes for some parameters (``StandardScaler(with_std=False).scale_``).
    """

    kind: str
    shape: tuple[int | str, ...]
    finite: bool = True
    minimum: float | None = None
    c_order: bool = False
    nullable: bool = False


@dataclass(frozen=True)
class Tree:
    """A scikit-learn ``Tree`` (see :mod:`scaleout.model_tree`)."""

    classifier: bool


@dataclass(frozen=True)
class Bool:
    """A JSON boolean."""


@dataclass(frozen=True)
class Document:
    """Plain data (JSON values, arrays) whose structure ``check(value)`` verifies.

    ``check`` returns a list of problems; ``dim`` (optional) names a dimension
    bound to ``size(value)``. The table transformers' summaries are documents
    (:mod:`scaleout.model_table_schema`).
    """

    check: Callable[[Any], list[str]]
    dim: str | None = None
    size: Callable[[Any], int] | None = None


Spec = Int | Float | Array | Tree | Document | Bool


@dataclass(frozen=True)
class Schema:
    """The attributes a saved model of one class may hold.

    Parameters
    ----------
    attributes : mapping of str to spec
        Every attribute a file may hold, checked in this order (so a
        dimension is bound by the first attribute that has it).
    checks : callable, optional
        ``checks(dims, params)`` returns a list of problems (strings) with the
        relations between dimensions and parameters.
    value_checks : callable, optional
        ``value_checks(values, params)``: problems with the decoded attributes
        themselves (e.g. which may be None for the parameters).
    output_width : str, optional
        The dimension that is the width of ``transform``'s output (a pipeline
        step's output must be the next step's ``n_features``).
    composite : bool
        A pipeline: its steps are models, checked each by their schema.
    """

    attributes: Mapping[str, Spec] = field(default_factory=dict)
    checks: Callable[[dict[str, int], dict[str, Any]], list[str]] | None = None
    value_checks: Callable[[dict[str, Any], dict[str, Any]], list[str]] | None = None
    output_width: str | None = None
    composite: bool = False


_COMMON: dict[str, Spec] = {
    "n_features_in_": Int(minimum=1, dim="n_features"),
    "feature_names_in_": Array("names", ("n_features",)),
}


def _with_common(**attributes: Spec) -> dict[str, Spec]:
    return {**_COMMON, **attributes}


def _linear_checks(dims: dict[str, int], params: dict[str, Any]) -> list[str]:
    if dims.get("n_singular", 0) > dims["n_features"]:
        return [f"singular_ has {dims['n_singular']} values for {dims['n_features']} features"]
    return []


def _logistic_checks(dims: dict[str, int], params: dict[str, Any]) -> list[str]:
    n_classes, rows = dims["n_classes"], dims["n_rows"]
    if n_classes < 2:
        return [f"classes_ has {n_classes} class; LogisticRegression needs at least 2"]
    expected = 1 if n_classes == 2 else n_classes
    if rows != expected:
        return [
            f"coef_ and intercept_ have {rows} rows for {n_classes} classes; expected {expected}"
        ]
    return []


def _kmeans_checks(dims: dict[str, int], params: dict[str, Any]) -> list[str]:
    if dims["n_clusters"] != params.get("n_clusters"):
        return [
            f"cluster_centers_ has {dims['n_clusters']} rows but the parameter n_clusters is "
            f"{params.get('n_clusters')!r}"
        ]
    return []


def _standard_scaler_values(values: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """The attributes ``transform`` reads must be there (not None) for the parameters."""
    needed = (["mean_"] if params.get("with_mean") else []) + (
        ["var_", "scale_"] if params.get("with_std") else []
    )
    missing = [name for name in needed if values.get(name) is None]
    if missing:
        return [f"{missing} must be arrays for with_mean={params.get('with_mean')!r}, "
                f"with_std={params.get('with_std')!r}; found none or null"]
    return []


SCHEMAS: dict[str, Schema] = {
    "LinearRegression": Schema(
        _with_common(
            coef_=Array("float", ("n_features",)),
            intercept_=Float(),
            rank_=Int(maximum="n_features"),
            # sqrt of the eigenvalues of X'X: NaN for a tiny negative one; unused by predict
            singular_=Array("float", ("n_singular",), finite=False),
        ),
        checks=_linear_checks,
    ),
    "LogisticRegression": Schema(
        _with_common(
            classes_=Array("labels", ("n_classes",)),
            coef_=Array("float", ("n_rows", "n_features")),
            intercept_=Array("float", ("n_rows",)),
            n_iter_=Array("int", (1,), minimum=0),
        ),
        checks=_logistic_checks,
    ),
    "DecisionTreeClassifier": Schema(
        _with_common(
            classes_=Array("labels", ("n_classes",)),
            n_classes_=Int(minimum=1, dim="n_classes"),
            n_outputs_=Int(minimum=1, maximum=1),
            max_features_=Int(minimum=1, maximum="n_features"),
            tree_=Tree(classifier=True),
        ),
    ),
    "DecisionTreeRegressor": Schema(
        _with_common(
            n_outputs_=Int(minimum=1, maximum=1),
            max_features_=Int(minimum=1, maximum="n_features"),
            tree_=Tree(classifier=False),
        ),
    ),
    "KMeans": Schema(
        _with_common(
            cluster_centers_=Array("float", ("n_clusters", "n_features"), c_order=True),
            inertia_=Float(minimum=0.0),
            n_iter_=Int(minimum=0),
        ),
        checks=_kmeans_checks,
        output_width="n_clusters",
    ),
    "PCA": Schema(
        _with_common(
            n_components_=Int(minimum=0, maximum="n_features", dim="n_components"),
            components_=Array("float", ("n_components", "n_features")),
            explained_variance_=Array("float", ("n_components",)),
            # NaN for constant data (0 / 0); unused by transform
            explained_variance_ratio_=Array("float", ("n_components",), finite=False),
            singular_values_=Array("float", ("n_components",)),
            mean_=Array("float", ("n_features",)),
            n_samples_=Int(minimum=1),
            noise_variance_=Float(),
        ),
        output_width="n_components",
    ),
    "StandardScaler": Schema(
        _with_common(
            # None for with_std=False (var_, scale_), or both options False (mean_ too)
            mean_=Array("float", ("n_features",), nullable=True),
            var_=Array("float", ("n_features",), minimum=0.0, nullable=True),
            scale_=Array("float", ("n_features",), minimum=0.0, nullable=True),
            # the row count, or the sum of the sample weights (a float) when weighted
            n_samples_seen_=Float(minimum=0.0, keep_int=True),
        ),
        value_checks=_standard_scaler_values,
        output_width="n_features",
    ),
    "MinMaxScaler": Schema(
        _with_common(
            min_=Array("float", ("n_features",)),
            scale_=Array("float", ("n_features",)),
            data_min_=Array("float", ("n_features",)),
            data_max_=Array("float", ("n_features",)),
            data_range_=Array("float", ("n_features",), minimum=0.0),
            n_samples_seen_=Int(minimum=1),
        ),
        output_width="n_features",
    ),
    "Pipeline": Schema(composite=True),
}


def _table_schemas() -> dict[str, Schema]:
    from .model_table_schema import (
        check_column_summary,
        check_layout,
        layout_width,
        step_summary_check,
        step_values_check,
    )

    def step(name: str) -> Schema:
        return Schema(
            _with_common(
                layout_=Document(check_layout, dim="n_features", size=layout_width),
                summary_=Document(step_summary_check(name)),
                # checked against the rebuilt transformer's output
                n_features_out_=Int(minimum=0),
            ),
            value_checks=step_values_check,
            output_width="rebuilt",
        )

    return {
        "SimpleImputer": step("SimpleImputer"),
        "OneHotEncoder": step("OneHotEncoder"),
        "OrdinalEncoder": step("OrdinalEncoder"),
        "ColumnTransformer": Schema(
            _with_common(
                summary_=Document(check_column_summary),
                n_features_out_=Int(minimum=0),
                # scikit-learn's decision on the training rows (not recomputed on load)
                sparse_output_=Bool(),
            ),
            output_width="rebuilt",
        ),
    }


SCHEMAS.update(_table_schemas())


def schema_of(name: str) -> Schema | None:
    """The schema of the estimator class called ``name``, or None."""
    return SCHEMAS.get(name)
