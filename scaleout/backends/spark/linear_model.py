"""LinearRegression and LogisticRegression on Spark.

LinearRegression is one MLlib Gramian pass and the kernels' solve;
LogisticRegression with a finite L2 penalty is Newton's method over the
kernels' chunk terms (:mod:`.logistic_newton`). The other cases are fitted by
``pyspark.ml``'s own estimators (``standardization=False``; the penalty scaled
by the row count) and converted to scikit-learn's attributes here.

The mapping (:data:`PARAMETER_TABLE` holds the same rows)
----------------------------------------------------------

LogisticRegression → ``pyspark.ml.classification.LogisticRegression``

=====================  ==============================================================
scikit-learn           Spark MLlib
=====================  ==============================================================
C                      ``regParam = 1 / (C * n)``, n = rows (or the sum of the sample
                       and class weights); ``C=inf`` or ``penalty=None`` → 0.
                       Spark scales the penalty per row, scikit-learn per data set.
(always)               ``standardization=False``: Spark otherwise penalises the
                       coefficients of standardized features, another objective.
l1_ratio / penalty     ``elasticNetParam = l1_ratio`` (``penalty='l1'`` → 1, 'l2' → 0).
                       As in scikit-learn, ``l1_ratio > 0`` needs ``solver='saga'``;
                       Spark then minimises the same objective with OWL-QN.
(classes)              ``family="binomial"`` for 2 classes (one coefficient row, as
                       scikit-learn), ``"multinomial"`` for 3 or more.
max_iter, tol          ``maxIter``, ``tol``. Spark's tol is the relative change of the
                       objective between iterations (scikit-learn's is on the
                       gradient). A finite L2 penalty (the default) is not fitted by
                       MLlib but by Newton's method from zero (:mod:`.logistic_newton`:
                       one pass a step, numpy over Arrow batches), to the optimum to
                       rounding; ``max_iter`` bounds its steps, ``tol`` is not used.
fit_intercept          ``fitIntercept``
class_weight           a weight column: ``w_c`` per row of class c ('balanced':
                       ``sum(w) / (n_classes * sum of w in class c)``, as scikit-learn).
solver                 'lbfgs', 'newton-cg', 'newton-cholesky', 'sag', 'saga' minimise
                       the same objective: accepted. 'liblinear' (penalises the
                       intercept) is not.
dual, warm_start       only False.
=====================  ==============================================================

LinearRegression → one pass of MLlib's ``RowMatrix.computeGramianMatrix`` over
``[X | y]`` (weighted), then the kernels' minimum-norm (or non-negative, for
``positive=True``) solve, as the dask engine: scikit-learn's solution also for
collinear, constant or wider-than-tall data. Above 4096 features (Spark's limit
for its exact solver): ``pyspark.ml.regression.LinearRegression`` with
``solver="l-bfgs"``, ``regParam=0``, ``standardization=False``, ``fitIntercept``.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ...kernels.linear import check_linear_params, linear_solution
from ...kernels.logistic_newton import MAX_HESSIAN_SIDE, hessian_side
from .algorithm import Algorithm, training_iterations
from .convert import LABEL, WEIGHT
from .logistic_newton import newton_logistic
from .params import _check_class_weight, _unsupported
from .stats import gramian_scatter

if TYPE_CHECKING:
    from ...engines.base import FitTask
    from .convert import Prepared

#: (algorithm, scikit-learn parameter, Spark MLlib parameter or rule)
PARAMETER_TABLE: tuple[tuple[str, str, str], ...] = (
    ("LogisticRegression", "C", "regParam = 1 / (C * n); C=inf or penalty=None -> 0"),
    ("LogisticRegression", "(always)", "standardization = False"),
    ("LogisticRegression", "l1_ratio / penalty", "elasticNetParam (needs solver='saga')"),
    ("LogisticRegression", "(n classes)", "family = 'binomial' (2) / 'multinomial' (>= 3)"),
    ("LogisticRegression", "max_iter", "maxIter"),
    ("LogisticRegression", "tol", "tol (relative objective change)"),
    ("LogisticRegression", "(finite L2 penalty)", "Newton's method instead (kernels' terms)"),
    ("LogisticRegression", "fit_intercept", "fitIntercept"),
    ("LogisticRegression", "class_weight", "weightCol (per-class weights)"),
    ("LinearRegression", "(<= 4096 features)", "RowMatrix Gramian of [X | y], min-norm solve"),
    ("LinearRegression", "positive", "non-negative least squares on the Gramian (<= 4096)"),
    ("LinearRegression", "(> 4096 features)", "solver='l-bfgs', regParam=0, standardization=False"),
    ("LinearRegression", "fit_intercept", "centre the Gramian / fitIntercept"),
)

NORMAL_SOLVER_MAX_FEATURES = 4096
"""Spark's "normal" solver limit; wider data uses "l-bfgs"."""

_LOGISTIC_SOLVERS = ("lbfgs", "newton-cg", "newton-cholesky", "sag", "saga")


def _weight_col(prepared: Prepared) -> dict[str, str]:
    return {"weightCol": WEIGHT} if prepared.has_weights else {}


class LinearRegressionAlgorithm(Algorithm):
    """Ordinary least squares: one MLlib Gramian pass, then the kernels' minimum-norm solve.

    Up to :data:`NORMAL_SOLVER_MAX_FEATURES` features, MLlib's
    ``RowMatrix.computeGramianMatrix`` gives the weighted scatter of
    ``[X | y]`` and :func:`~scaleout.kernels.linear.linear_solution` solves
    it as the dask engine does: scikit-learn's minimum-norm solution for
    collinear, constant or wider-than-tall data, ``positive=True`` by
    non-negative least squares, ``rank_`` and ``singular_``. MLlib's own
    normal solver picks another solution when the columns are dependent
    (and zeroes constant columns). Wider data, and a PCA step's output in a
    pipeline, use MLlib's ``LinearRegression`` (:meth:`stage`).
    """

    label = "value"
    weights = True

    def fit(
        self,
        spark: Any,
        params: dict[str, Any],
        prepared: Prepared,
        frame: Any,
        features: str,
        n_features: int,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """One Gramian pass over the raw columns and the target; the solve on the driver."""
        if n_features > NORMAL_SOLVER_MAX_FEATURES:
            if params.get("positive", False):
                raise _unsupported(
                    "LinearRegression",
                    "positive",
                    True,
                    f"False for more than {NORMAL_SOLVER_MAX_FEATURES} features",
                )
            return super().fit(spark, params, prepared, frame, features, n_features)
        start = time.perf_counter()
        stats = gramian_scatter(
            spark,
            frame,
            [*prepared.raw_columns, LABEL],
            WEIGHT if prepared.has_weights else None,
            center=bool(params.get("fit_intercept", True)),
        )
        state = linear_solution(stats, n_features, params, backend="spark")
        return state, {"solver": "gramian", "mllib_seconds": time.perf_counter() - start}

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

    def check_task(self, task: FitTask) -> None:
        """Raise :class:`~scaleout.exceptions.UnsupportedOnBackend` for a ``positive``
        that is not a bool."""
        check_linear_params(task.params, backend="spark")


class LogisticRegressionAlgorithm(Algorithm):
    """Binary / multinomial logistic regression with scikit-learn's objective."""

    label = "class"
    weights = True

    def fit(
        self,
        spark: Any,
        params: dict[str, Any],
        prepared: Prepared,
        frame: Any,
        features: str,
        n_features: int,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Newton's method from zero for a finite L2 penalty; MLlib's L-BFGS / OWL-QN else.

        With a finite L2 penalty (the default), every class of positive weight
        and a Hessian side ``rows * (n_features + 1)`` of at most
        :data:`~scaleout.kernels.logistic_newton.MAX_HESSIAN_SIDE`,
        :func:`~scaleout.backends.spark.logistic_newton.newton_logistic` fits
        scikit-learn's objective to its optimum (one pass a step, ``max_iter``
        steps at most, a :class:`~sklearn.exceptions.ConvergenceWarning` if they
        do not converge). MLlib's L-BFGS stops about √ε from the optimum, and
        far from it on a column of tiny spread; it fits the rest: L1 / elastic
        net (OWL-QN), ``C=inf`` (the optimum may not exist), a class without
        weight (its intercept is infinite) and wider problems.
        """
        n_classes = len(prepared.classes)
        C = _effective_C(params)
        weight_sums = prepared.class_weight_sums
        newton = (
            math.isfinite(C)
            and effective_l1_ratio(params) == 0
            and hessian_side(n_features, n_classes) <= MAX_HESSIAN_SIDE
            and not (weight_sums is not None and np.any(weight_sums <= 0))
        )
        if not newton:
            return super().fit(spark, params, prepared, frame, features, n_features)
        max_iter = int(params.get("max_iter", 100))
        start = time.perf_counter()
        result = newton_logistic(
            frame,
            prepared.raw_columns,
            n_classes,
            C=C,
            fit_intercept=bool(params.get("fit_intercept", True)),
            weighted=prepared.has_weights,
            max_steps=max_iter,
        )
        if not result.converged:
            warnings.warn(
                f"Newton's method stopped after max_iter={max_iter} steps without reaching "
                "the optimum. Increase the number of iterations (max_iter) or scale the data.",
                ConvergenceWarning,
                stacklevel=5,
            )
        coef = result.coef
        intercept = result.intercept
        if n_classes > 2:  # the softmax is unchanged by a common shift: centre as MLlib's
            coef = coef - coef.mean(axis=0)
            intercept = intercept - intercept.mean()
        state = {
            "classes_": prepared.classes,
            "coef_": np.ascontiguousarray(coef),
            "intercept_": intercept,
            "n_iter_": np.array([result.steps], dtype=np.int32),
        }
        info = {
            "solver": "newton",
            "iterations": result.steps,
            "newton_passes": result.passes,
            "newton_decrements": " ".join(f"{d:.1e}" for d in result.decrements),
            "newton_seconds": time.perf_counter() - start,
        }
        return state, info

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

    def check_task(self, task: FitTask) -> None:
        """Raise :class:`~scaleout.exceptions.UnsupportedOnBackend` for an option Spark
        cannot fit as scikit-learn would (solver, penalty, dual, warm_start, class_weight)."""
        _check_logistic(task.name, task.params)


# ------------------------------------------------------------ LinearRegression
def linear_params(params: dict[str, Any], n_features: int) -> dict[str, Any]:
    """MLlib ``LinearRegression`` settings for scikit-learn's ``params``."""
    solver = "normal" if n_features <= NORMAL_SOLVER_MAX_FEATURES else "l-bfgs"
    return {
        "solver": solver,
        "regParam": 0.0,
        "elasticNetParam": 0.0,
        "standardization": False,
        "fitIntercept": bool(params.get("fit_intercept", True)),
        "maxIter": 1000,
        "tol": 1e-10,
    }


def effective_l1_ratio(params: dict[str, Any]) -> float:
    """The L1 share of the penalty scikit-learn uses for these parameters."""
    penalty = params.get("penalty", "deprecated")
    if penalty == "l1":
        return 1.0
    if penalty == "l2":
        return 0.0
    l1_ratio = params.get("l1_ratio", 0.0)
    return 0.0 if l1_ratio is None else float(l1_ratio)


def _effective_C(params: dict[str, Any]) -> float:
    if params.get("penalty", "deprecated") is None:
        return math.inf
    return float(params.get("C", 1.0))


# ---------------------------------------------------------- LogisticRegression
def _check_logistic(name: str, params: dict[str, Any]) -> None:
    solver = params.get("solver", "lbfgs")
    if solver not in _LOGISTIC_SOLVERS:
        raise _unsupported(
            name,
            "solver",
            solver,
            f"{', '.join(map(repr, _LOGISTIC_SOLVERS))} (they minimise the same objective; "
            "'liblinear' penalises the intercept)",
        )
    penalty = params.get("penalty", "deprecated")
    if penalty not in ("deprecated", "l1", "l2", "elasticnet", None):
        raise _unsupported(name, "penalty", penalty, "'l1', 'l2', 'elasticnet', None")
    if _effective_C(params) != math.inf and effective_l1_ratio(params) > 0 and solver != "saga":
        raise _unsupported(
            name,
            "l1_ratio" if penalty in ("deprecated", "elasticnet") else "penalty",
            params.get("l1_ratio") if penalty in ("deprecated", "elasticnet") else penalty,
            "an L1 / elastic-net penalty with solver='saga' (as scikit-learn requires; Spark "
            "fits it with OWL-QN), or l1_ratio=0 with any solver",
        )
    if params.get("dual", False):
        raise _unsupported(name, "dual", params["dual"], "False")
    if params.get("warm_start", False):
        raise _unsupported(name, "warm_start", params["warm_start"], "False")
    _check_class_weight(name, params)


def logistic_params(params: dict[str, Any], weight_sum: float, n_classes: int) -> dict[str, Any]:
    """MLlib ``LogisticRegression`` settings for scikit-learn's ``params``.

    Parameters
    ----------
    params : dict
        ``LogisticRegression.get_params()``.
    weight_sum : float
        The number of rows, or the sum of the row weights when there are any.
    n_classes : int
        Number of distinct labels.

    Returns
    -------
    dict
        Keyword arguments of ``pyspark.ml.classification.LogisticRegression``.
    """
    C = _effective_C(params)
    reg = 0.0 if C == math.inf else 1.0 / (C * weight_sum)
    return {
        "regParam": reg,
        "elasticNetParam": effective_l1_ratio(params) if reg > 0 else 0.0,
        "standardization": False,
        "family": "binomial" if n_classes == 2 else "multinomial",
        "maxIter": int(params.get("max_iter", 100)),
        "tol": float(params.get("tol", 1e-4)),
        "fitIntercept": bool(params.get("fit_intercept", True)),
    }


# ------------------------------------------------------ fitted MLlib models
def linear_regression_state(model: Any) -> dict[str, Any]:
    """``coef_`` and ``intercept_`` of a fitted ``LinearRegressionModel``.

    scikit-learn's ``rank_`` and ``singular_`` (of the centred data) are not
    available from Spark and are not set.
    """
    return {
        "coef_": np.asarray(model.coefficients.toArray(), dtype=np.float64),
        "intercept_": float(model.intercept),
    }


def logistic_state(model: Any, classes: np.ndarray, n_iter: int) -> dict[str, Any]:
    """``classes_``, ``coef_``, ``intercept_``, ``n_iter_`` of a ``LogisticRegressionModel``.

    Binary: one coefficient row for ``classes_[1]``, as scikit-learn. Three or
    more classes: the multinomial rows, centred over the classes (the
    softmax is unchanged by a shift common to all classes; scikit-learn's
    lbfgs solution has the same zero-sum rows and intercepts).
    """
    if len(classes) == 2:
        coef = np.asarray(model.coefficients.toArray(), dtype=np.float64)[None, :]
        intercept = np.array([float(model.intercept)])
    else:
        coef = np.asarray(model.coefficientMatrix.toArray(), dtype=np.float64)
        intercept = np.asarray(model.interceptVector.toArray(), dtype=np.float64)
        coef = coef - coef.mean(axis=0)
        intercept = intercept - intercept.mean()
    return {
        "classes_": classes,
        "coef_": np.ascontiguousarray(coef),
        "intercept_": intercept,
        "n_iter_": np.array([n_iter], dtype=np.int32),
    }
