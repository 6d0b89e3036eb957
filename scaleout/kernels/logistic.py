"""Out-of-core LogisticRegression: scikit-learn's lbfgs fit as passes over chunks.

scikit-learn's ``LogisticRegression(solver="lbfgs")`` minimises (see
``sklearn.linear_model._logistic._logistic_regression_path`` and
``sklearn.linear_model._linear_loss.LinearModelLoss``)::

    f(w) = sum_i s_i * loss(y_i, x_i @ W.T + b) / sum_i s_i + 0.5 * l2 * ||W||^2

with ``l2 = 1 / (C * sum_i s_i)`` (0 when ``C`` is infinite or there is no
penalty), the intercept ``b`` not penalised, ``s_i`` the sample weights (the
class weights of the rows' classes, or 1) and ``loss`` the half binomial loss
``log(1 + exp(z)) - y z`` (two classes, ``y`` in {0, 1}, the larger label
being 1, one coefficient vector) or the half multinomial loss
``logsumexp(z) - z_y`` (three or more classes, the full symmetric
``(n_classes, n_features)`` coefficient matrix). It calls
``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` from zeros with
``maxiter=max_iter, maxls=50, gtol=tol, ftol=64 * eps``.

This module makes the same call with the same objective, parameter layout,
starting point and options, so the iterates are scikit-learn's up to
floating-point summation order. Only the evaluation of ``f`` and its gradient
differs: each evaluation is one pass over the chunks, each chunk returning its
weighted loss sum, gradient sum and weight sum (vectorised: one ``X @ W`` and
one ``residual @ X`` per chunk), and the driver adds them up and divides.
Before that, one pass collects the sorted class labels and the rows per class
(needed by ``class_weight="balanced"`` and for the weight sum).

Passes: ``1 + nfev`` where ``nfev`` is the number of function evaluations of
L-BFGS-B (about one per iteration, more when a line search backtracks).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from scipy import optimize
from sklearn.exceptions import ConvergenceWarning

from .._task import check_classification_target
from ..data.dataset import Batch
from ..exceptions import DataError, UnsupportedOnBackend
from .passes import Passes
from .weights import class_weights

__all__ = ["check_logistic_params", "fit_logistic_regression"]


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


def _unsupported(option: str, value: Any, supported: str, backend: str) -> UnsupportedOnBackend:
    return UnsupportedOnBackend(
        f"LogisticRegression({option}={value!r}) is not supported by backend "
        f"'{backend}'; supported {supported}"
    )


def _effective_C(params: dict) -> float:
    """The inverse regularisation strength scikit-learn actually uses.

    ``penalty=None`` (explicit) and ``C=np.inf`` both mean no penalty.
    """
    if params.get("penalty", "deprecated") is None:
        return math.inf
    return float(params.get("C", 1.0))


def check_logistic_params(params: dict, *, backend: str = "dask") -> None:
    """Raise if the kernel cannot fit these LogisticRegression options exactly.

    Parameters
    ----------
    params : dict
        ``LogisticRegression.get_params()`` (scikit-learn 1.9 names).
    backend : str, default="dask"
        The engine running the kernel, named in the messages.

    Raises
    ------
    UnsupportedOnBackend
        For ``solver`` other than ``'lbfgs'``; an l1 or elastic-net penalty
        (``penalty='l1'``/``'elasticnet'``, or, with the default
        ``penalty='deprecated'`` and finite ``C``, ``l1_ratio`` other than 0 or
        None); ``dual=True``; ``warm_start=True``; ``class_weight`` other than
        None, a dict or ``'balanced'``. The message names the option, its value
        and what is supported.

    Notes
    -----
    ``intercept_scaling`` (unused by lbfgs), ``random_state``, ``n_jobs`` and
    ``verbose`` (no effect on scikit-learn's lbfgs with SciPy >= 1.15) are
    accepted and ignored, as scikit-learn ignores them.
    """
    solver = params.get("solver", "lbfgs")
    if solver != "lbfgs":
        raise _unsupported("solver", solver, "solvers: 'lbfgs'", backend)

    penalty = params.get("penalty", "deprecated")
    C = params.get("C", 1.0)
    l1_ratio = params.get("l1_ratio", 0.0)
    if penalty == "deprecated":
        # scikit-learn 1.9: the penalty follows from l1_ratio, and C=inf means none.
        if C != math.inf and l1_ratio is not None and l1_ratio != 0:
            raise _unsupported(
                "l1_ratio",
                l1_ratio,
                "l1_ratio values: 0.0, None (any value when C=np.inf); "
                "l1 and elastic-net penalties need solver 'saga' (sklearn backend)",
                backend,
            )
    elif penalty not in ("l2", None):
        raise _unsupported("penalty", penalty, "penalties: 'l2', None ('deprecated' = l2)", backend)

    if params.get("dual", False):
        raise _unsupported("dual", params["dual"], "dual values: False", backend)
    if params.get("warm_start", False):
        raise _unsupported("warm_start", params["warm_start"], "warm_start values: False", backend)

    class_weight = params.get("class_weight")
    if not (class_weight is None or class_weight == "balanced" or isinstance(class_weight, dict)):
        raise _unsupported(
            "class_weight", class_weight, "class_weight values: None, a dict, 'balanced'", backend
        )


# ---------------------------------------------------------------------------
# Per-chunk functions (module level: they must pickle to cluster workers)
# ---------------------------------------------------------------------------


def _chunk_class_counts(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Sorted labels in the chunk and the rows of each (their weight sum when weighted)."""
    if batch.y is None:
        raise DataError(
            f"LogisticRegression needs a target y; the data from {batch.source} has none"
        )
    if batch.weights is None:
        labels, counts = np.unique(batch.y, return_counts=True)
        return labels, counts.astype(np.int64)
    labels, index = np.unique(batch.y, return_inverse=True)
    weights = np.asarray(batch.weights, dtype=np.float64)
    return labels, np.bincount(index.ravel(), weights=weights, minlength=len(labels))


def _merge_class_counts(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Union of two (labels, counts) results; counts of shared labels added."""
    labels = np.concatenate([a[0], b[0]])
    counts = np.concatenate([a[1], b[1]])
    merged, inverse = np.unique(labels, return_inverse=True)
    total = np.zeros(len(merged), dtype=counts.dtype)
    np.add.at(total, inverse.ravel(), counts)
    return merged, total


def _row_weights(
    batch: Batch, class_weight: np.ndarray | None, label: np.ndarray
) -> np.ndarray | None:
    """``s_i``: the row's sample weight times its class's weight (None: all 1)."""
    sw = None if class_weight is None else class_weight[label]
    if batch.weights is not None:
        weights = np.asarray(batch.weights, dtype=np.float64)
        sw = weights if sw is None else sw * weights
    return sw


def _binary_loss_grad(
    batch: Batch,
    coef: np.ndarray,
    positive: Any,
    class_weight: np.ndarray | None,
    fit_intercept: bool,
) -> tuple[float, np.ndarray, float]:
    """Weighted half binomial loss sum, gradient sum and weight sum on one chunk.

    The weight of a row is its sample weight (``batch.weights``, 1 when None)
    times the weight of its class.

    Parameters
    ----------
    batch : Batch
        The chunk.
    coef : ndarray of shape (n_features + fit_intercept,)
        Coefficients, intercept last.
    positive : label
        The label encoded as 1 (the larger of the two classes).
    class_weight : ndarray of shape (2,) or None
        Weights of the negative and positive class.
    fit_intercept : bool
        Whether ``coef`` ends with an intercept.

    Returns
    -------
    loss_sum : float
    grad_sum : ndarray of shape coef.shape
    weight_sum : float
    """
    X = batch.X
    n_features = X.shape[1]
    positive_row = batch.y == positive
    z = X @ coef[:n_features]
    if fit_intercept:
        z += coef[-1]
    # With s = 1 - 2y (+1 for y = 0, -1 for y = 1), u = s z and t = exp(-|z|):
    #   loss = log(1 + exp(z)) - y z = log1p(t) + max(u, 0)
    #   dloss/dz = expit(z) - y = s * (t if u <= 0 else 1) / (1 + t)
    # both without cancellation for confident rows, as scikit-learn's Cython loss.
    s = np.where(positive_row, -1.0, 1.0)
    u = np.multiply(s, z, out=z)
    t = np.abs(u)
    np.negative(t, out=t)
    np.exp(t, out=t)
    pointwise = np.log1p(t)
    pointwise += np.maximum(u, 0.0)
    residual = np.where(u <= 0.0, t, 1.0)
    residual *= s
    t += 1.0
    residual /= t
    sw = _row_weights(batch, class_weight, positive_row.astype(np.intp))
    if sw is None:
        loss_sum = float(pointwise.sum())
        weight_sum = float(X.shape[0])
    else:
        loss_sum = float(sw @ pointwise)
        weight_sum = float(sw.sum())
        residual *= sw
    grad = np.empty_like(coef)
    grad[:n_features] = residual @ X
    if fit_intercept:
        grad[-1] = residual.sum()
    return loss_sum, grad, weight_sum


def _multinomial_loss_grad(
    batch: Batch,
    coef: np.ndarray,
    classes: np.ndarray,
    class_weight: np.ndarray | None,
    fit_intercept: bool,
) -> tuple[float, np.ndarray, float]:
    """Weighted half multinomial loss sum, gradient sum and weight sum on one chunk.

    The weight of a row is its sample weight (``batch.weights``, 1 when None)
    times the weight of its class.

    Parameters
    ----------
    batch : Batch
        The chunk.
    coef : ndarray of shape (n_classes, n_features + fit_intercept)
        Coefficients, intercepts in the last column.
    classes : ndarray of shape (n_classes,)
        Sorted class labels; row k of ``coef`` belongs to ``classes[k]``.
    class_weight : ndarray of shape (n_classes,) or None
        Weight of each class.
    fit_intercept : bool
        Whether ``coef`` ends with an intercept column.

    Returns
    -------
    loss_sum : float
    grad_sum : ndarray of shape coef.shape
    weight_sum : float
    """
    X = batch.X
    n_rows, n_features = X.shape
    label = np.searchsorted(classes, batch.y)
    rows = np.arange(n_rows)
    raw = X @ coef[:, :n_features].T
    if fit_intercept:
        raw += coef[:, -1]
    # loss_i = logsumexp(raw_i) - raw_i[y_i], with the row maximum taken out
    raw -= raw.max(axis=1, keepdims=True)
    true_raw = raw[rows, label]
    np.exp(raw, out=raw)
    norm = raw.sum(axis=1)
    pointwise = np.log(norm) - true_raw
    # d/draw = softmax(raw) - onehot(y)
    raw /= norm[:, None]
    raw[rows, label] -= 1.0
    sw = _row_weights(batch, class_weight, label)
    if sw is None:
        loss_sum = float(pointwise.sum())
        weight_sum = float(n_rows)
    else:
        loss_sum = float(sw @ pointwise)
        weight_sum = float(sw.sum())
        raw *= sw[:, None]
    grad = np.empty_like(coef)
    grad[:, :n_features] = raw.T @ X
    if fit_intercept:
        grad[:, -1] = raw.sum(axis=0)
    return loss_sum, grad, weight_sum


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def _collect_classes(
    passes: Passes, check_target: Callable[[np.ndarray], None] | None
) -> tuple[np.ndarray, np.ndarray]:
    """The sorted classes and their counts (one pass), checked before the solver starts."""
    classes, counts = passes.map_reduce(
        _chunk_class_counts, label="classes", combine=_merge_class_counts
    )
    if not len(classes):
        raise DataError("LogisticRegression: the data has no rows")
    (check_target or partial(check_classification_target, "LogisticRegression"))(classes)
    return classes, counts


def _objective(
    w: np.ndarray,
    passes: Passes,
    chunk_fn: Any,
    shape: tuple[int, ...],
    n_features: int,
    l2_reg_strength: float,
    counter: list[int],
) -> tuple[float, np.ndarray]:
    """Loss and gradient at ``w`` (scikit-learn's layout): one pass."""
    counter[0] += 1
    if len(shape) == 1:
        coef = w
    else:
        # classes of one feature are contiguous in w, as in scikit-learn
        coef = np.ascontiguousarray(w.reshape(shape, order="F"))
    loss_sum, grad_sum, weight_sum = passes.map_reduce(
        partial(chunk_fn, coef=coef), label=f"lbfgs eval {counter[0]}"
    )
    weights = coef[..., :n_features]
    loss = loss_sum / weight_sum + 0.5 * l2_reg_strength * float(np.sum(weights * weights))
    grad = grad_sum / weight_sum
    grad[..., :n_features] += l2_reg_strength * weights
    if len(shape) > 1:
        grad = grad.ravel(order="F")
    return float(loss), grad


def fit_logistic_regression(
    passes: Passes,
    params: dict,
    *,
    backend: str = "dask",
    check_target: Callable[[np.ndarray], None] | None = None,
) -> dict:
    """Fit scikit-learn's lbfgs logistic regression by passes over the chunks.

    Parameters
    ----------
    passes : Passes
        The chunked data (``y`` holds the class labels).
    params : dict
        ``LogisticRegression.get_params()``; checked with
        :func:`check_logistic_params`.

    Returns
    -------
    dict
        ``classes_`` (sorted labels, the labels' dtype), ``coef_`` of shape
        ``(1, n_features)`` for two classes or ``(n_classes, n_features)``,
        ``intercept_`` of shape ``(1,)`` or ``(n_classes,)`` (zeros without
        ``fit_intercept``), ``n_iter_`` (``int32`` array of shape ``(1,)``).

    Raises
    ------
    UnsupportedOnBackend
        See :func:`check_logistic_params`.
    DataError
        No target, a continuous target, or fewer than two classes.

    Warns
    -----
    ConvergenceWarning
        When L-BFGS-B stops without converging (e.g. at ``max_iter``), with
        scikit-learn's message.

    Notes
    -----
    Passes: one for the classes, then one per function evaluation.
    """
    check_logistic_params(params, backend=backend)
    fit_intercept = bool(params.get("fit_intercept", True))
    max_iter = int(params.get("max_iter", 100))
    tol = float(params.get("tol", 1e-4))
    C = _effective_C(params)

    passes.expect_passes(None)  # 1 + one per L-BFGS evaluation: keep the chunks
    classes, counts = _collect_classes(passes, check_target)
    n_classes = len(classes)
    n_features = passes.n_features
    class_weight = class_weights(params.get("class_weight"), classes, counts)
    if class_weight is None:
        sw_sum = float(counts.sum())
    else:
        sw_sum = float(counts @ class_weight)
    l2_reg_strength = 1.0 / (C * sw_sum)  # 0.0 when C is infinite

    n_dof = n_features + int(fit_intercept)
    if n_classes == 2:
        shape: tuple[int, ...] = (n_dof,)
        chunk_fn = partial(
            _binary_loss_grad,
            positive=classes[1],
            class_weight=class_weight,
            fit_intercept=fit_intercept,
        )
    else:
        shape = (n_classes, n_dof)
        chunk_fn = partial(
            _multinomial_loss_grad,
            classes=classes,
            class_weight=class_weight,
            fit_intercept=fit_intercept,
        )
    w0 = np.zeros(math.prod(shape), dtype=np.float64)

    counter = [0]
    result = optimize.minimize(
        _objective,
        w0,
        method="L-BFGS-B",
        jac=True,
        args=(passes, chunk_fn, shape, n_features, l2_reg_strength, counter),
        options={
            "maxiter": max_iter,
            "maxls": 50,
            "gtol": tol,
            "ftol": 64 * np.finfo(float).eps,
        },
    )
    n_iter = _check_lbfgs_result(result, max_iter)

    if n_classes == 2:
        coef = result.x[:n_features][None, :].copy()
        intercept = result.x[n_features:].copy() if fit_intercept else np.zeros(1)
    else:
        full = result.x.reshape(shape, order="F")
        coef = np.ascontiguousarray(full[:, :n_features])
        intercept = full[:, -1].copy() if fit_intercept else np.zeros(n_classes)
    return {
        "classes_": classes,
        "coef_": coef,
        "intercept_": intercept,
        "n_iter_": np.array([n_iter], dtype=np.int32),
    }


def _check_lbfgs_result(result: optimize.OptimizeResult, max_iter: int) -> int:
    """Iterations done; warn as scikit-learn's ``_check_optimize_result`` does."""
    n_iter = min(int(result.nit), max_iter)
    if result.status != 0:
        msg = (
            f"lbfgs failed to converge after {n_iter} iteration(s) "
            f"(status={result.status}):\n{result.message}\n"
        )
        if n_iter == max_iter:
            msg += (
                "\nIncrease the number of iterations to improve the "
                f"convergence (max_iter={max_iter})."
            )
        msg += (
            "\nYou might also want to scale the data as shown in:\n"
            "    https://scikit-learn.org/stable/modules/preprocessing.html\n"
            "Please also refer to the documentation for alternative solver options:\n"
            "    https://scikit-learn.org/stable/modules/linear_model.html"
            "#logistic-regression"
        )
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    return n_iter
