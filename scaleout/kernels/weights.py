"""Per-class weights from per-class counts, as scikit-learn computes them."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from ..exceptions import DataError

__all__ = ["class_weights"]


def class_weights(rule: Any, classes: np.ndarray, counts: np.ndarray) -> np.ndarray | None:
    """``class_weight`` (None, a dict or "balanced") as one weight per class.

    Exactly scikit-learn's ``compute_class_weight``: ``y=classes`` with
    ``sample_weight=counts`` gives the same weighted class counts as the full
    target with its sample weights (or unit weights), so one pass of per-class
    counts is all it needs.

    Returns
    -------
    ndarray of shape (n_classes,) or None
        None when ``rule`` is None.

    Raises
    ------
    DataError
        When scikit-learn refuses the rule for these classes (a dict naming a
        class the target does not have).
    """
    if rule is None:
        return None
    try:
        weights = compute_class_weight(
            rule, classes=classes, y=classes, sample_weight=counts.astype(float)
        )
    except ValueError as exc:  # e.g. class_weight names a label absent from the target
        raise DataError(f"class_weight={rule!r}: {exc} (classes: {classes.tolist()})") from None
    return np.asarray(weights, dtype=np.float64)
