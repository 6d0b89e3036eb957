"""Per-class weights from per-class counts, as scikit-learn computes them."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

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
    """
    if rule is None:
        return None
    return np.asarray(
        compute_class_weight(rule, classes=classes, y=classes, sample_weight=counts.astype(float)),
        dtype=np.float64,
    )
