"""scikit-learn parameters → Spark MLlib parameters, and what Spark cannot honour.

:func:`check_supported` runs before any data moves (and before a Spark
session starts) and raises :class:`~scaleout.exceptions.UnsupportedOnBackend`
naming the parameter, its value and what the Spark engine supports. The
``*_params`` functions build the MLlib settings once the data's facts (row
count, classes, variances) are known.

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
                       gradient); at the same value Spark stops at least as close to
                       the optimum on the parity data sets.
fit_intercept          ``fitIntercept``
class_weight           a weight column: ``w_c`` per row of class c ('balanced':
                       ``sum(w) / (n_classes * sum of w in class c)``, as scikit-learn).
solver                 'lbfgs', 'newton-cg', 'newton-cholesky', 'sag', 'saga' minimise
                       the same objective: accepted. 'liblinear' (penalises the
                       intercept) is not.
dual, warm_start       only False.
=====================  ==============================================================

LinearRegression → ``pyspark.ml.regression.LinearRegression``: ``solver="normal"``
(the exact normal equations; "l-bfgs" above 4096 features, Spark's limit for
"normal"), ``regParam=0``, ``standardization=False``, ``fitIntercept``.
``positive=True`` is not supported.

DecisionTreeClassifier / DecisionTreeRegressor → ``pyspark.ml.*.DecisionTree*``

=========================  ==========================================================
scikit-learn               Spark MLlib
=========================  ==========================================================
max_depth                  ``maxDepth``; None → 30 (Spark's maximum), > 30 unsupported.
min_samples_leaf           ``minInstancesPerNode`` (a float: ``ceil(f * n)``).
min_samples_split          Spark has none: only values <= 2 * min_samples_leaf (which
                           every split satisfies anyway) are supported (fractions are
                           checked at fit, against the row count).
min_weight_fraction_leaf   ``minWeightFractionPerNode`` (< 0.5).
max_bins (scaleout's own)  ``maxBins``, default 256 as the dask engine (Spark's default
                           of 32 bins costs accuracy).
criterion                  ``impurity``: 'gini' → "gini", 'entropy'/'log_loss' →
                           "entropy", 'squared_error' → "variance".
min_impurity_decrease      only 0: Spark's ``minInfoGain`` is the gain inside the node,
                           scikit-learn's the gain weighted by the node's share of rows.
class_weight               a weight column, as for LogisticRegression.
random_state               ``seed`` (the row sample Spark places its bins on).
splitter                   only 'best'; max_features, max_leaf_nodes, monotonic_cst:
                           only None; ccp_alpha: only 0.
(always)                   ``pruneTree=False``: scikit-learn keeps sibling leaves that
                           predict the same class.
=========================  ==========================================================

KMeans → MLlib's k-means (Lloyd iterations on Spark, started from ``initialModel``)

=========================  ==========================================================
scikit-learn               Spark MLlib
=========================  ==========================================================
n_clusters                 ``k``
init='k-means++'           scikit-learn's greedy k-means++ on a uniform sample of at
                           most :data:`KMEANS_SAMPLE_ROWS` rows (all rows when fewer),
                           then ``initialModel``. Spark's own k-means|| start ends
                           well above scikit-learn's inertia on separated clusters.
init='random'              k rows drawn from that sample.
init=array                 ``initialModel`` as given.
n_init                     that many starts, the lowest cost kept ('auto': 1, or 10 for
                           init='random', as scikit-learn).
max_iter                   ``maxIterations``
tol                        ``epsilon = sqrt(tol * mean(var(X)) / k)``: scikit-learn stops
                           when the centres' total squared shift is <= tol * mean
                           feature variance, Spark when every centre moved <= epsilon;
                           this epsilon never stops earlier than scikit-learn would.
random_state               the sample's and the starts' seeds, and ``seed``.
algorithm                  'lloyd' and 'elkan' (the same iterations).
(labels_)                  scikit-learn's assignment of the rows, re-read on the driver,
                           for data within the memory budget; not kept beyond it nor
                           for a Spark DataFrame (``fit_stats_["labels_"]`` says why).
(one row)                  variance 0, so ``epsilon`` 0 (Spark's sample variance is NaN).
=========================  ==========================================================

PCA → ``pyspark.ml.feature.PCA``: ``k = n_components`` (None → min(n, p); a float
in (0, 1) → every component is computed and the smallest k whose cumulative
explained variance ratio exceeds it is kept, as scikit-learn). ``whiten=True``
and ``n_components='mle'`` are not supported. Every ``svd_solver`` gives the
exact result (Spark eigendecomposes the covariance matrix).

sample_weight (``fit(X, y, sample_weight)``): a weight column for
LinearRegression, LogisticRegression and the trees, with in-memory data only
(rows of files or Spark DataFrames cannot be matched to an array).
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from ...exceptions import InvalidParameterError, UnsupportedOnBackend

if TYPE_CHECKING:
    from ...base import ScaleoutEstimator

__all__ = [
    "DEFAULT_MAX_BINS",
    "KMEANS_SAMPLE_ROWS",
    "MAX_DEPTH",
    "PARAMETER_TABLE",
    "SUPPORTED",
    "check_supported",
    "effective_l1_ratio",
    "kmeans_epsilon",
    "kmeans_n_init",
    "linear_params",
    "logistic_params",
    "pca_k",
    "tree_params",
]

BACKEND = "spark"

DEFAULT_MAX_BINS = 256
"""Bins per feature when ``max_bins`` is not given (as the dask engine)."""

MAX_DEPTH = 30
"""Spark's deepest tree; also what ``max_depth=None`` grows to."""

NORMAL_SOLVER_MAX_FEATURES = 4096
"""Spark's "normal" solver limit; wider data uses "l-bfgs"."""

KMEANS_SAMPLE_ROWS = 100_000
"""Rows sampled to the driver for the k-means++ start."""

#: (algorithm, scikit-learn parameter, Spark MLlib parameter or rule)
PARAMETER_TABLE: tuple[tuple[str, str, str], ...] = (
    ("LogisticRegression", "C", "regParam = 1 / (C * n); C=inf or penalty=None -> 0"),
    ("LogisticRegression", "(always)", "standardization = False"),
    ("LogisticRegression", "l1_ratio / penalty", "elasticNetParam (needs solver='saga')"),
    ("LogisticRegression", "(n classes)", "family = 'binomial' (2) / 'multinomial' (>= 3)"),
    ("LogisticRegression", "max_iter", "maxIter"),
    ("LogisticRegression", "tol", "tol (relative objective change)"),
    ("LogisticRegression", "fit_intercept", "fitIntercept"),
    ("LogisticRegression", "class_weight", "weightCol (per-class weights)"),
    ("LinearRegression", "(always)", "solver='normal', regParam=0, standardization=False"),
    ("LinearRegression", "fit_intercept", "fitIntercept"),
    ("DecisionTree*", "max_depth", "maxDepth (None -> 30)"),
    ("DecisionTree*", "min_samples_leaf", "minInstancesPerNode"),
    ("DecisionTree*", "min_weight_fraction_leaf", "minWeightFractionPerNode"),
    ("DecisionTree*", "max_bins", f"maxBins (default {DEFAULT_MAX_BINS})"),
    ("DecisionTree*", "criterion", "impurity: gini / entropy / variance"),
    ("DecisionTree*", "random_state", "seed"),
    ("DecisionTree*", "(always)", "pruneTree = False"),
    ("KMeans", "n_clusters", "k"),
    ("KMeans", "init", "initialModel (k-means++ / random rows on a sample, or the array)"),
    ("KMeans", "n_init", "repeated fits, lowest cost kept"),
    ("KMeans", "max_iter", "maxIterations"),
    ("KMeans", "tol", "epsilon = sqrt(tol * mean(var(X)) / k)"),
    ("KMeans", "random_state", "seed"),
    ("PCA", "n_components", "k (None -> min(n, p); float -> chosen from all components)"),
)

SUPPORTED = (
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "KMeans",
    "LinearRegression",
    "LogisticRegression",
    "PCA",
)

_LOGISTIC_SOLVERS = ("lbfgs", "newton-cg", "newton-cholesky", "sag", "saga")
_PCA_SOLVERS = ("auto", "full", "covariance_eigh", "arpack", "randomized")
_CLASSIFIER_CRITERIA = {"gini": "gini", "entropy": "entropy", "log_loss": "entropy"}
_REGRESSOR_CRITERIA = {"squared_error": "variance"}


def _unsupported(name: str, option: str, value: Any, supported: str) -> UnsupportedOnBackend:
    return UnsupportedOnBackend(
        f"{name}({option}={value!r}) is not supported by backend '{BACKEND}'; "
        f"supported: {supported}"
    )


def check_supported(estimator: ScaleoutEstimator) -> None:
    """Raise if the Spark engine cannot fit ``estimator`` as scikit-learn would.

    Parameters
    ----------
    estimator : ScaleoutEstimator
        Only its parameters are read: no data, no Spark session.

    Raises
    ------
    UnsupportedOnBackend
        For an estimator type or an option the Spark engine does not support,
        naming the option, its value and what is supported.
    InvalidParameterError
        For a ``max_bins`` that is not an int >= 2.
    """
    name = type(estimator).__name__
    checks = {
        "LinearRegression": _check_linear,
        "LogisticRegression": _check_logistic,
        "DecisionTreeClassifier": _check_tree,
        "DecisionTreeRegressor": _check_tree,
        "KMeans": _check_kmeans,
        "PCA": _check_pca,
    }
    check = checks.get(name)
    if check is None:
        raise UnsupportedOnBackend(
            f"{name} is not supported by backend '{BACKEND}'; supported: {list(SUPPORTED)}"
        )
    check(name, estimator.get_params(deep=False))


# ------------------------------------------------------------------ linear models
def _check_linear(name: str, params: dict[str, Any]) -> None:
    if params.get("positive", False):
        raise _unsupported(name, "positive", params["positive"], "False")


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


def _check_class_weight(name: str, params: dict[str, Any]) -> None:
    class_weight = params.get("class_weight")
    if not (class_weight is None or class_weight == "balanced" or isinstance(class_weight, dict)):
        raise _unsupported(name, "class_weight", class_weight, "None, a dict, 'balanced'")


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


# ------------------------------------------------------------------------- trees
def _max_bins(params: dict[str, Any]) -> int:
    value = params.get("max_bins", DEFAULT_MAX_BINS)
    if value is None:
        return DEFAULT_MAX_BINS
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 2:
        raise InvalidParameterError(f"max_bins must be an int >= 2; got {value!r}")
    return int(value)


def _check_tree(name: str, params: dict[str, Any]) -> None:
    classifier = name == "DecisionTreeClassifier"
    criteria = _CLASSIFIER_CRITERIA if classifier else _REGRESSOR_CRITERIA
    criterion = params.get("criterion", next(iter(criteria)))
    if criterion not in criteria:
        raise _unsupported(name, "criterion", criterion, ", ".join(map(repr, criteria)))
    if params.get("splitter", "best") != "best":
        raise _unsupported(name, "splitter", params["splitter"], "'best'")
    depth = params.get("max_depth")
    if depth is not None and depth > MAX_DEPTH:
        raise _unsupported(
            name, "max_depth", depth, f"None or at most {MAX_DEPTH} (Spark's deepest tree)"
        )
    fixed = {
        "max_features": (None, "None (every feature at every split)"),
        "max_leaf_nodes": (None, "None"),
        "monotonic_cst": (None, "None"),
        "ccp_alpha": (0.0, "0.0 (no pruning)"),
        "min_impurity_decrease": (
            0.0,
            "0.0 (Spark's minInfoGain is the gain inside a node, not weighted by the node's "
            "share of the rows as scikit-learn's)",
        ),
    }
    for option, (default, supported) in fixed.items():
        value = params.get(option, default)
        if not _is_default(value, default):
            raise _unsupported(name, option, value, supported)
    fraction = params.get("min_weight_fraction_leaf", 0.0)
    if fraction >= 0.5:
        raise _unsupported(name, "min_weight_fraction_leaf", fraction, "values below 0.5")
    split = params.get("min_samples_split", 2)
    leaf = params.get("min_samples_leaf", 1)
    # Fractions are checked at fit, once the row count is known.
    if _is_int(split) and _is_int(leaf) and split > 2 * leaf:
        raise _unsupported(
            name,
            "min_samples_split",
            split,
            "2, or any int <= 2 * min_samples_leaf (Spark has no such limit; a split needs "
            "2 * min_samples_leaf rows anyway)",
        )
    if classifier:
        _check_class_weight(name, params)
    _max_bins(params)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_default(value: Any, default: Any) -> bool:
    if default is None:
        return value is None
    return value is not None and not isinstance(value, str) and value == default


def tree_params(params: dict[str, Any], classifier: bool, n_rows: int) -> dict[str, Any]:
    """MLlib ``DecisionTree*`` settings for scikit-learn's ``params`` on ``n_rows`` rows."""
    criteria = _CLASSIFIER_CRITERIA if classifier else _REGRESSOR_CRITERIA
    depth = params.get("max_depth")
    leaf = params.get("min_samples_leaf", 1)
    if not _is_int(leaf):  # a fraction of the rows, as scikit-learn
        leaf = max(1, math.ceil(float(leaf) * n_rows))
    seed = params.get("random_state")
    return {
        "maxDepth": MAX_DEPTH if depth is None else int(depth),
        "maxBins": _max_bins(params),
        "minInstancesPerNode": int(leaf),
        "minWeightFractionPerNode": float(params.get("min_weight_fraction_leaf", 0.0)),
        "minInfoGain": 0.0,
        "impurity": criteria[params.get("criterion", next(iter(criteria)))],
        "seed": int(seed) if _is_int(seed) else 0,
    }


# ------------------------------------------------------------------------ KMeans
_INIT_SUPPORTED = "'k-means++', 'random', an array of shape (n_clusters, n_features)"


def _check_kmeans(name: str, params: dict[str, Any]) -> None:
    algorithm = params.get("algorithm", "lloyd")
    if algorithm not in ("lloyd", "elkan"):
        raise _unsupported(name, "algorithm", algorithm, "'lloyd', 'elkan' (the same result)")
    init = params.get("init", "k-means++")
    if isinstance(init, str):
        if init not in ("k-means++", "random"):
            raise _unsupported(name, "init", init, _INIT_SUPPORTED)
    elif callable(init) or np.ndim(init) != 2:
        raise _unsupported(name, "init", init, _INIT_SUPPORTED)


def kmeans_n_init(params: dict[str, Any]) -> int:
    """How many starts scikit-learn would run for these parameters."""
    init = params.get("init", "k-means++")
    if not isinstance(init, str):
        return 1
    n_init = params.get("n_init", "auto")
    if n_init == "auto":
        return 10 if init == "random" else 1
    return int(n_init)


def kmeans_epsilon(tol: float, mean_variance: float, n_clusters: int) -> float:
    """Spark's centre-movement threshold equivalent to scikit-learn's relative ``tol``.

    scikit-learn stops when ``sum_j ||c_j' - c_j||^2 <= tol * mean(var(X))``;
    MLlib stops when every ``||c_j' - c_j|| <= epsilon``. With
    ``epsilon^2 = tol * mean(var(X)) / k`` Spark's condition implies
    scikit-learn's, so Spark never stops earlier.
    """
    return math.sqrt(max(float(tol), 0.0) * max(float(mean_variance), 0.0) / n_clusters)


# ------------------------------------------------------------------------- PCA
def _check_pca(name: str, params: dict[str, Any]) -> None:
    if params.get("whiten", False):
        raise _unsupported(name, "whiten", params["whiten"], "False (Spark's PCA has no whitening)")
    n_components = params.get("n_components")
    if isinstance(n_components, str):
        raise _unsupported(name, "n_components", n_components, "an int, a float in (0, 1), or None")
    solver = params.get("svd_solver", "auto")
    if solver not in _PCA_SOLVERS:
        raise _unsupported(name, "svd_solver", solver, f"{_PCA_SOLVERS} (all computed exactly)")


def pca_k(n_components: Any, n_rows: int, n_features: int) -> int | None:
    """The ``k`` Spark fits: an int, or None when every component is needed first."""
    if n_components is None:
        return min(n_rows, n_features)
    if isinstance(n_components, numbers.Integral) and not isinstance(n_components, bool):
        return int(n_components)
    return None
