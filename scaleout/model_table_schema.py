"""The structure of a saved table transformer's summary (checked by ``so.load``).

The table transformers (``SimpleImputer``, ``OneHotEncoder``, ``OrdinalEncoder``,
``ColumnTransformer``) save the summary their fit computed (plain JSON values
and arrays; :mod:`scaleout.kernels.table_fit`); loading rebuilds scikit-learn's
transformer from it. These checks refuse anything but that structure before
the rebuild: types, lengths that must agree, known step classes, counts that
are non-negative integers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "check_column_summary",
    "check_layout",
    "layout_width",
    "step_summary_check",
    "step_values_check",
]

_STEPS = ("SimpleImputer", "OneHotEncoder", "OrdinalEncoder", "StandardScaler", "MinMaxScaler")
_DTYPES = ("bool", "int64", "float64", "object")
_STRATEGIES = ("mean", "median", "most_frequent", "constant")
_KINDS = ("steps", "drop", "passthrough")


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool, int, float))


def _is_list(value: Any, length: int | None = None) -> bool:
    return isinstance(value, list) and (length is None or len(value) == length)


def _keys(value: Any, keys: set[str], what: str) -> list[str]:
    if not isinstance(value, dict) or set(value) != keys:
        found = sorted(map(repr, value)) if isinstance(value, dict) else type(value).__name__
        return [f"{what} must have exactly the keys {sorted(keys)}, found {found}"]
    return []


def check_layout(value: Any) -> list[str]:
    """A layout: ``{"names": [str] or None, "dtypes": [dtype]}`` of one length."""
    problems = _keys(value, {"names", "dtypes"}, "layout")
    if problems:
        return problems
    dtypes, names = value["dtypes"], value["names"]
    if not _is_list(dtypes) or not dtypes or not all(d in _DTYPES for d in dtypes):
        return [f"layout dtypes must be a non-empty list of {_DTYPES}"]
    if names is not None and not (
        _is_list(names, len(dtypes)) and all(isinstance(n, str) for n in names)
    ):
        return ["layout names must be null or one str per dtype"]
    return []


def layout_width(value: Any) -> int:
    """The number of columns of a checked layout."""
    return len(value["dtypes"])


def _imputer(summary: Any, width: int | None) -> list[str]:
    problems = _keys(summary, {"strategy", "values", "missing"}, "SimpleImputer summary")
    if problems:
        return problems
    values, missing = summary["values"], summary["missing"]
    if summary["strategy"] not in _STRATEGIES:
        return [f"strategy must be one of {_STRATEGIES}"]
    if not _is_list(values, width) or not all(_scalar(v) for v in values):
        return ["values must be one scalar (or null) per column"]
    if not _is_list(missing, len(values)) or not all(isinstance(m, bool) for m in missing):
        return ["missing must be one bool per column"]
    return []


def _encoder(summary: Any, width: int | None) -> list[str]:
    problems = _keys(summary, {"values", "counts", "n_samples"}, "encoder summary")
    if problems:
        return problems
    values, counts, n = summary["values"], summary["counts"], summary["n_samples"]
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        return ["n_samples must be a non-negative int"]
    if not _is_list(values, width) or not _is_list(counts, len(values)):
        return ["values and counts must be one list per column"]
    for j, (v, c) in enumerate(zip(values, counts, strict=True)):
        if not _is_list(v) or not v or not all(_scalar(x) for x in v):
            return [f"values of column {j} must be a non-empty list of scalars"]
        if not _is_list(c, len(v)) or not all(
            isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in c
        ):
            return [f"counts of column {j} must be one non-negative int per value"]
    return []


def _scaler(summary: Any, width: int | None) -> list[str]:
    problems = _keys(summary, {"moments"}, "scaler summary")
    if problems:
        return problems
    moments = summary["moments"]
    if not isinstance(moments, np.ndarray) or moments.dtype.kind != "f" or moments.ndim != 1:
        return ["moments must be a 1-D float array"]
    if (len(moments) - 2) % 5 or (width is not None and (len(moments) - 2) // 5 != width):
        return [f"moments must hold 2 + 5 x {width} values, found {len(moments)}"]
    return []


_CHECKS: dict[str, Callable[[Any, int | None], list[str]]] = {
    "SimpleImputer": _imputer,
    "OneHotEncoder": _encoder,
    "OrdinalEncoder": _encoder,
    "StandardScaler": _scaler,
    "MinMaxScaler": _scaler,
}


def step_summary_check(name: str) -> Callable[[Any], list[str]]:
    """The check of step class ``name``'s summary (any number of columns)."""
    return lambda summary: _CHECKS[name](summary, None)


def _kind_problems(summary: Any, layout: Any) -> list[str]:
    """Values that do not fit their column's dtype (strings in a numeric column, ...)."""
    if not isinstance(summary, dict) or "values" not in summary:
        return []
    columns = summary["values"]
    if "counts" not in summary:  # an imputer: one value per column
        columns = [[v] for v in columns]
    for j, (values, dtype) in enumerate(zip(columns, layout["dtypes"], strict=False)):
        for value in values:
            if value is None:
                continue
            text = isinstance(value, str)
            if (dtype == "object") != text and not (dtype == "object" and _scalar(value)):
                return [f"column {j} ({dtype}) holds {type(value).__name__} value {value!r:.40}"]
            if dtype == "object" and not text and any(isinstance(v, str) for v in values):
                return [f"column {j} mixes strings and numbers"]
    return []


def step_values_check(values: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """A single table step's summary against its layout (``value_checks``)."""
    layout, summary = values.get("layout_"), values.get("summary_")
    if layout is None or summary is None:
        return []
    width = layout_width(layout)
    n = len(summary.get("values", [])) if isinstance(summary, dict) else 0
    if n != width:
        return [f"the summary has {n} columns, the layout {width}"]
    return _kind_problems(summary, layout)


def _record(record: Any, where: str) -> list[str]:
    problems = _keys(record, {"class", "params", "summary", "layout"}, where)
    if problems:
        return problems
    if record["class"] not in _STEPS:
        return [f"{where}: class must be one of {_STEPS}"]
    if not isinstance(record["params"], dict):
        return [f"{where}: params must be an object"]
    problems = check_layout(record["layout"])
    if problems:
        return [f"{where}: {p}" for p in problems]
    width = layout_width(record["layout"])
    problems = _CHECKS[record["class"]](record["summary"], width)
    problems = problems or _kind_problems(record["summary"], record["layout"])
    return [f"{where}: {p}" for p in problems]


def check_column_summary(value: Any) -> list[str]:
    """A ColumnTransformer's summary: branches, the training row count, a row."""
    problems = _keys(value, {"branches_", "n_rows_", "example_"}, "ColumnTransformer summary")
    if problems:
        return problems
    n_rows, example = value["n_rows_"], value["example_"]
    if not isinstance(n_rows, int) or isinstance(n_rows, bool) or n_rows < 1:
        return ["n_rows_ must be a positive int"]
    if not isinstance(example, dict) or set(example) != {"names", "dtypes", "values"}:
        return ["example_ must hold names, dtypes and values"]
    problems = check_layout({"names": example["names"], "dtypes": example["dtypes"]})
    if problems:
        return [f"example_: {p}" for p in problems]
    width = len(example["dtypes"])
    if not _is_list(example["values"], width) or not all(_scalar(v) for v in example["values"]):
        return ["example_ values must be one scalar per column"]
    branches = value["branches_"]
    if not _is_list(branches) or not branches:
        return ["branches_ must be a non-empty list"]
    for i, branch in enumerate(branches):
        where = f"branch {i}"
        problems = _keys(branch, {"name", "columns", "kind", "steps"}, where)
        if problems:
            return problems
        columns = branch["columns"]
        if not isinstance(branch["name"], str) or branch["kind"] not in _KINDS:
            return [f"{where}: name must be a str and kind one of {_KINDS}"]
        if not _is_list(columns) or not all(
            isinstance(c, int) and not isinstance(c, bool) and 0 <= c < width for c in columns
        ):
            return [f"{where}: columns must be positions below {width}"]
        if not _is_list(branch["steps"]) or (branch["kind"] == "steps") != bool(branch["steps"]):
            return [f"{where}: steps must be a list, non-empty exactly for kind 'steps'"]
        for k, record in enumerate(branch["steps"]):
            problems = _record(record, f"{where} step {k}")
            if problems:
                return problems
    return []
