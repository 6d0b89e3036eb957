"""What the Spark engine's algorithm modules share about parameters.

Each algorithm's checks (its :class:`~.algorithm.Algorithm`'s ``check_task``,
run by :meth:`~scaleout.engines.base.Backend.check_supported` before any data
moves and before a Spark session starts), its scikit-learn → MLlib parameter
mapping and its documentation table live in its own module
(:mod:`.linear_model`, :mod:`.tree`, :mod:`.cluster`, :mod:`.decomposition`).
This module keeps the constants and helpers several of them use: an
unsupported option raises :class:`~scaleout.exceptions.UnsupportedOnBackend`
naming the parameter, its value and what the Spark engine supports.

sample_weight (``fit(X, y, sample_weight)``): a weight column for
LinearRegression, LogisticRegression and the trees, with in-memory data only
(rows of files or Spark DataFrames cannot be matched to an array).
"""

from __future__ import annotations

import numbers
from typing import Any

from ...exceptions import UnsupportedOnBackend

__all__ = ["DEFAULT_MAX_BINS", "MAX_DEPTH"]

BACKEND = "spark"

DEFAULT_MAX_BINS = 256
"""Bins per feature when ``max_bins`` is not given (as the dask engine)."""

MAX_DEPTH = 30
"""Spark's deepest tree; also what ``max_depth=None`` grows to."""


def _unsupported(name: str, option: str, value: Any, supported: str) -> UnsupportedOnBackend:
    return UnsupportedOnBackend(
        f"{name}({option}={value!r}) is not supported by backend '{BACKEND}'; "
        f"supported: {supported}"
    )


def _check_class_weight(name: str, params: dict[str, Any]) -> None:
    class_weight = params.get("class_weight")
    if not (class_weight is None or class_weight == "balanced" or isinstance(class_weight, dict)):
        raise _unsupported(name, "class_weight", class_weight, "None, a dict, 'balanced'")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_default(value: Any, default: Any) -> bool:
    if default is None:
        return value is None
    return value is not None and not isinstance(value, str) and value == default
