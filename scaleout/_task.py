"""What an engine receives to fit one estimator: the narrow engine contract.

An engine gets a :class:`FitTask` (the estimator class, its parameters and
what scikit-learn says about it), the data and the sample weights; it returns
the fitted state. It calls nothing on the estimator instance: the estimator
sets its own attributes from the state.

The one check of a classifier's target (:func:`check_classification_target`)
lives here too, so every engine runs the same check, with the same message,
before its heavy work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.multiclass import check_classification_targets

from .data.labels import check_label_types
from .exceptions import DataError

__all__ = ["FitTask", "check_classification_target"]


def check_classification_target(name: str, y: Any, target: str = "y") -> None:
    """Check a classifier's target, or the classes read from it, before the fit.

    Parameters
    ----------
    name : str
        The estimator's class name, for the message.
    y : array-like
        The target, or its distinct values (an engine that reads the classes
        in a first pass passes those).
    target : str, default "y"
        The target's name (its column), for the message.

    Raises
    ------
    DataError
        For labels that mix numbers and strings (naming the target and the
        types found), a continuous target, a target scikit-learn would not accept as
        classes, or fewer than two classes.
    """
    y = np.asarray(y)
    check_label_types(y, name=target, row_offset=None)
    if y.dtype.kind == "f" and np.any(y != y.astype(np.int64)):
        raise DataError(
            f"{name}: Unknown label type: continuous. Maybe you are trying to fit a "
            "classifier, which expects discrete classes on a regression target with "
            "continuous values."
        )
    if y.dtype.kind not in "biuf":  # strings, objects: scikit-learn's full check
        try:
            check_classification_targets(y)
        except ValueError as exc:
            raise DataError(f"{name}: {exc}") from None
    classes = pd.unique(y.ravel())  # hashing, O(n): no sort of the whole target
    if len(classes) < 2:
        raise DataError(
            f"{name} needs at least 2 classes in the target; got 1 class: "
            f"{classes.tolist()}. A classifier can't train when only one class is present."
        )


@dataclass(frozen=True)
class FitTask:
    """One estimator to fit, as an engine sees it.

    Attributes
    ----------
    estimator : type
        The scaleout estimator class (the key of the algorithm registry).
    params : dict
        Its parameters, ``backend`` excluded (scaleout's own options such as
        a tree's ``max_bins`` included).
    """

    estimator: type
    params: dict[str, Any]

    @classmethod
    def of(cls, estimator: Any) -> FitTask:
        """The task of fitting ``estimator`` (an unfitted scaleout estimator)."""
        params = estimator.get_params(deep=False)
        params.pop("backend", None)
        return cls(type(estimator), params)

    @property
    def name(self) -> str:
        """The estimator's class name, e.g. ``"LogisticRegression"``."""
        return self.estimator.__name__

    @property
    def sklearn_class(self) -> type:
        """The scikit-learn class the estimator mirrors."""
        return self.estimator._sklearn_class

    @property
    def supervised(self) -> bool:
        """Whether the fit needs a target."""
        return bool(self.estimator._supervised)

    @property
    def classifier(self) -> bool:
        """Whether the target holds classes."""
        return bool(self.estimator._classifier)

    @property
    def fitted_attrs(self) -> tuple[str, ...]:
        """scikit-learn's names of the fitted attributes the state may hold."""
        return tuple(self.estimator._fitted_attrs)

    def sklearn_params(self) -> dict[str, Any]:
        """The parameters scikit-learn's class takes (scaleout's own left out)."""
        own = set(self.estimator._scaleout_params)
        return {k: v for k, v in self.params.items() if k not in own}

    def check_target(self, y: Any) -> None:
        """The one target check (see :func:`check_classification_target`); regressors pass."""
        if self.classifier:
            check_classification_target(self.name, y)

    def fitted(self, state: dict[str, Any], n_features: int) -> Any:
        """A fitted estimator built from ``state``, to transform data with (pipelines).

        Parameters
        ----------
        state : dict
            What the engine returned for this task.
        n_features : int
            Columns the step was fitted on.
        """
        model = self.estimator(**self.params)
        for attr, value in state.items():
            setattr(model, attr, value)
        model.n_features_in_ = int(n_features)
        return model
