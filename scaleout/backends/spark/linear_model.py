"""LinearRegression and LogisticRegression on Spark MLlib.

Both are fitted by ``pyspark.ml``'s own estimators with the parameters of
:mod:`.params` (``standardization=False``; the penalty scaled by the row
count) and converted by :mod:`.models`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .algorithm import Algorithm, training_iterations
from .convert import LABEL, WEIGHT
from .models import linear_regression_state, logistic_state
from .params import linear_params, logistic_params

if TYPE_CHECKING:
    from .convert import Prepared


def _weight_col(prepared: Prepared) -> dict[str, str]:
    return {"weightCol": WEIGHT} if prepared.has_weights else {}


class LinearRegressionAlgorithm(Algorithm):
    """Ordinary least squares: MLlib's normal-equation solver, no penalty."""

    label = "value"
    weights = True

    def stage(
        self, params: dict[str, Any], prepared: Prepared, features: str, n_features: int
    ) -> Any:
        from pyspark.ml.regression import LinearRegression

        return LinearRegression(
            featuresCol=features,
            labelCol=LABEL,
            **_weight_col(prepared),
            **linear_params(params, n_features),
        )

    def state(
        self, model: Any, params: dict[str, Any], prepared: Prepared, n_features: int
    ) -> dict[str, Any]:
        return linear_regression_state(model)

    def info(self, model: Any) -> dict[str, Any]:
        return {"iterations": training_iterations(model)}

    def flip_features(self, state: dict[str, Any], signs: np.ndarray, name: str) -> None:
        state["coef_"] = state["coef_"] * signs


class LogisticRegressionAlgorithm(Algorithm):
    """Binary / multinomial logistic regression with scikit-learn's objective."""

    label = "class"
    weights = True

    def stage(
        self, params: dict[str, Any], prepared: Prepared, features: str, n_features: int
    ) -> Any:
        from pyspark.ml.classification import LogisticRegression

        settings = logistic_params(params, prepared.weight_sum, len(prepared.classes))
        return LogisticRegression(
            featuresCol=features, labelCol=LABEL, **_weight_col(prepared), **settings
        )

    def state(
        self, model: Any, params: dict[str, Any], prepared: Prepared, n_features: int
    ) -> dict[str, Any]:
        iterations = training_iterations(model)
        max_iter = int(params.get("max_iter", 100))
        if iterations >= max_iter:
            warnings.warn(
                f"Spark's L-BFGS stopped after max_iter={max_iter} iterations without reaching "
                f"tol={params.get('tol', 1e-4)}. Increase the number of iterations (max_iter) "
                "or scale the data.",
                ConvergenceWarning,
                stacklevel=5,
            )
        return logistic_state(model, prepared.classes, iterations)

    def info(self, model: Any) -> dict[str, Any]:
        return {"iterations": training_iterations(model)}

    def flip_features(self, state: dict[str, Any], signs: np.ndarray, name: str) -> None:
        state["coef_"] = state["coef_"] * signs[None, :]
