"""Class labels of one kind: all numbers or all strings.

A target such as ``[1, "a", 2, ...]`` (an object array mixing ints and
strings) cannot be sorted, so its classes cannot be ordered: NumPy raises a
raw ``TypeError`` deep in a fit, or scikit-learn an "Unknown label type". It
is refused up front, naming the target and the types found.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError

__all__ = ["check_label_types", "label_kinds"]

#: pandas' inferred kinds of an object array that may mix numbers and strings.
_MIXED = frozenset({"mixed", "mixed-integer"})


def _kind(value: Any) -> str:
    if isinstance(value, (numbers.Number, np.bool_)):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, bytes):
        return "bytes"
    return type(value).__name__


def label_kinds(y: np.ndarray) -> dict[str, tuple[int, Any]]:
    """The kinds of label in ``y`` (``"number"``, ``"str"``, ...), each with its first
    ``(index, value)``; missing values (None, NaN) are left out."""
    kinds: dict[str, tuple[int, Any]] = {}
    for i, value in enumerate(y.ravel()):
        if value is None or (isinstance(value, float) and value != value):
            continue
        kinds.setdefault(_kind(value), (i, value))
    return kinds


def check_label_types(
    y: Any, *, name: str = "y", row_offset: int | None = 0
) -> None:
    """Refuse an object target whose labels mix numbers and strings (or other types).

    Parameters
    ----------
    y : numpy.ndarray
        The target (or its distinct values). Only object arrays are looked at;
        the common cases (all strings, all numbers) cost one pandas type scan.
    name : str, default "y"
        The target's name, for the message.
    row_offset : int or None, default 0
        Global index of ``y[0]``, for the rows named in the message; None
        when ``y`` is not rows (e.g. the distinct classes).

    Raises
    ------
    DataError
        Naming the target, the types found and an example of each.
    """
    y = np.asarray(y)
    if y.dtype != object or not y.size:
        return
    if pd.api.types.infer_dtype(y.ravel(), skipna=True) not in _MIXED:
        return
    kinds = label_kinds(y)
    if len(kinds) < 2:
        return
    examples = ", ".join(
        f"{type(value).__name__} ({value!r}"
        + ("" if row_offset is None else f" at row {row_offset + i}")
        + ")"
        for i, value in sorted(kinds.values(), key=lambda item: item[0])
    )
    raise DataError(
        f"target {name!r} mixes label types: {examples}; the class labels must be all "
        "numbers or all strings: convert them first (e.g. y.astype(str))"
    )
