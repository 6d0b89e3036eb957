"""Newton's method for scikit-learn's L2 logistic objective, one pass over the chunks a step.

scikit-learn's ``LogisticRegression`` minimises, up to the constant factor
``Σ s_i`` (the same minimiser)::

    F(θ) = Σ s_i l_i(θ) + ‖W‖² / (2 C)

with ``s`` the row weights (sample times class weights), ``θ = [W | b]`` and
``l`` the half binomial loss (two classes: one coefficient row for the larger
class) or the half multinomial loss (three or more: the full symmetric rows).
For a finite ``C`` it is smooth and strictly convex in ``W``, so Newton's
method converges to its minimum quadratically, and Newton's steps are
affine invariant: a column of tiny spread (where L-BFGS line searches fail)
changes nothing.

A step needs, at the current ``θ``, the data part of ``F``, its gradient
``Σ s (p - y) x̃ᵀ`` and its Hessian ``Σ s (diag(p) - p pᵀ) ⊗ x̃ x̃ᵀ``
(``x̃ = [x, 1]``; two classes: ``Σ s p (1 - p) x̃ x̃ᵀ``). These are sums over
rows: :func:`chunk_newton_terms` computes them for one chunk as one flat
array, and the arrays of any chunking add up to the array of the whole data
(the merge is ``+``). :func:`minimise_newton` runs the steps on the driver,
given a function that makes one pass and returns that sum, so every engine
runs the same method (the Spark engine: numpy over Arrow batches on the
executors, ``backends/spark/logistic_newton.py``).

A step is accepted when ``F`` did not grow (else it is halved); the method
stops, after taking the step, when the Newton decrement ``-gᵀδ`` is below
:data:`DECREMENT_RTOL` of ``F`` (by quadratic convergence the next decrement
is of order its square). From zero that takes 5-8 passes on the parity data
sets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

__all__ = [
    "DECREMENT_RTOL",
    "MAX_HESSIAN_SIDE",
    "NewtonResult",
    "chunk_newton_terms",
    "hessian_side",
    "minimise_newton",
    "split_terms",
]

DECREMENT_RTOL = 1e-9
"""Take one last step and stop once the Newton decrement is below this share of the
objective: the decrement after the step is about its square (measured 1.3e-4 → 3.5e-8 →
2.8e-15), so the coefficients are then within about 1e-9 of the optimum, relative."""

MAX_HESSIAN_SIDE = 512
"""Largest Hessian side (``rows * (n_features + 1)``) Newton's method is used for: its
terms are 2 MiB a chunk; wider problems keep a first-order solver."""

MAX_HALVINGS = 40


@dataclass
class NewtonResult:
    """The minimiser and how the method reached it.

    Attributes
    ----------
    theta : ndarray of shape (rows, n_features + 1)
        Coefficients, the intercept last in each row.
    passes : int
        Passes over the data (one a step, one a halving).
    steps : int
        Newton steps taken.
    objective : float
        ``F`` at the last evaluated point.
    converged : bool
        Whether the decrement fell below :data:`DECREMENT_RTOL` of ``F``.
    decrements : list of float
        Each step's Newton decrement, relative to ``F``.
    """

    theta: np.ndarray
    passes: int
    steps: int
    objective: float
    converged: bool
    decrements: list[float] = field(default_factory=list)

    @property
    def coef(self) -> np.ndarray:
        return self.theta[:, :-1].copy()

    @property
    def intercept(self) -> np.ndarray:
        return self.theta[:, -1].copy()


def hessian_side(n_features: int, n_classes: int) -> int:
    """Side of the Hessian: one row of ``n_features + 1`` for two classes, one a class else."""
    rows = 1 if n_classes == 2 else n_classes
    return rows * (n_features + 1)


def terms_size(n_features: int, n_classes: int) -> int:
    """Length of :func:`chunk_newton_terms`'s array."""
    side = hessian_side(n_features, n_classes)
    return 1 + side + side * side


def split_terms(
    terms: np.ndarray, n_features: int, n_classes: int
) -> tuple[float, np.ndarray, np.ndarray]:
    """``(F_data, gradient (rows, n_features + 1), Hessian (side, side))`` of a terms array."""
    side = hessian_side(n_features, n_classes)
    rows = side // (n_features + 1)
    gradient = terms[1 : 1 + side].reshape(rows, n_features + 1)
    hessian = terms[1 + side :].reshape(side, side)
    return float(terms[0]), gradient, hessian


def _weighted_gram(X: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``Σ c x̃ x̃ᵀ`` with ``x̃ = [x, 1]``, without building ``x̃``."""
    p = X.shape[1]
    A = X * c[:, None]
    out = np.empty((p + 1, p + 1))
    out[:p, :p] = A.T @ X
    out[:p, p] = out[p, :p] = A.sum(axis=0)
    out[p, p] = c.sum()
    return out


def _weighted_sum(X: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``Σ r x̃`` with ``x̃ = [x, 1]``."""
    return np.append(r @ X, r.sum())


def chunk_newton_terms(
    X: np.ndarray, y: np.ndarray, weights: np.ndarray | None, theta: np.ndarray
) -> np.ndarray:
    """The data part of ``F``, its gradient and Hessian at ``theta``, summed over one chunk.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Float64 features.
    y : ndarray of shape (n_rows,)
        Class indices: 0 / 1 for two classes, ``0 .. K - 1`` for K.
    weights : ndarray of shape (n_rows,) or None
        Row weights ``s`` (1 when None).
    theta : ndarray of shape (1 or K, n_features + 1)
        Coefficients, the intercept last; one row means two classes.

    Returns
    -------
    ndarray of shape (1 + side + side², )
        ``[Σ s l, gradient (row-major), Hessian (row-major)]``, ``side`` being
        ``theta.size``; arrays of disjoint chunks add up to the whole's.
    """
    X = np.asarray(X, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    rows, width = theta.shape
    side = rows * width
    out = np.zeros(1 + side + side * side)
    if X.shape[0] == 0:
        return out
    s = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    labels = np.asarray(y).astype(np.intp, copy=False)
    gradient = out[1 : 1 + side].reshape(rows, width)
    hessian = out[1 + side :].reshape(side, side)
    if rows == 1:
        z = X @ theta[0, :-1]
        z += theta[0, -1]
        # loss = log(1 + exp(z)) - y z without overflow; p(1 - p) as expit(z) expit(-z)
        p, q = expit(z), expit(-z)
        loss = np.logaddexp(0.0, z) - labels * z
        out[0] = float(s @ loss)
        gradient[0] = _weighted_sum(X, s * (p - labels))
        hessian[:, :] = _weighted_gram(X, s * p * q)
        return out
    Z = X @ theta[:, :-1].T
    Z += theta[:, -1]
    top = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - top)
    total = E.sum(axis=1, keepdims=True)
    P = E / total
    picked = Z[np.arange(len(labels)), labels]
    out[0] = float(s @ (top[:, 0] + np.log(total[:, 0]) - picked))
    R = P.copy()
    R[np.arange(len(labels)), labels] -= 1.0
    R *= s[:, None]
    for k in range(rows):
        gradient[k] = _weighted_sum(X, R[:, k])
    SP = P * s[:, None]
    for k in range(rows):
        for m in range(k, rows):
            c = -SP[:, k] * P[:, m]
            if k == m:
                c = c + SP[:, k]
            block = _weighted_gram(X, c)
            hessian[k * width : (k + 1) * width, m * width : (m + 1) * width] = block
            if m != k:
                hessian[m * width : (m + 1) * width, k * width : (k + 1) * width] = block.T
    return out


def _penalised(
    data: tuple[float, np.ndarray, np.ndarray], theta: np.ndarray, C: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """Add ``‖W‖² / (2C)`` (the intercepts are not penalised) to the data part."""
    objective, gradient, hessian = data
    coef = theta[:, :-1]
    objective = objective + 0.5 * float(np.sum(coef * coef)) / C
    gradient = gradient.copy()
    gradient[:, :-1] += coef / C
    hessian = hessian.copy()
    width = theta.shape[1]
    for k in range(theta.shape[0]):
        idx = np.arange(k * width, (k + 1) * width - 1)
        hessian[idx, idx] += 1.0 / C
    return objective, gradient, hessian


def _newton_step(gradient: np.ndarray, hessian: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """``δ = -H⁺ g`` over the free parameters (the intercepts only with ``fit_intercept``)."""
    rows, width = gradient.shape
    free = np.ones((rows, width), dtype=bool)
    if not fit_intercept:
        free[:, -1] = False
    mask = free.ravel()
    g = gradient.ravel()[mask]
    H = hessian[np.ix_(mask, mask)]
    H = (H + H.T) / 2
    try:
        # the intercepts of K classes share one direction of zero curvature (their common
        # shift); lstsq gives the step orthogonal to it, keeping their sum at zero
        step = -np.linalg.lstsq(H, g, rcond=None)[0]
    except np.linalg.LinAlgError:
        step = np.zeros_like(g)
    full = np.zeros(rows * width)
    full[mask] = step
    return full.reshape(rows, width)


def minimise_newton(
    evaluate: Callable[[np.ndarray], np.ndarray],
    n_features: int,
    n_classes: int,
    *,
    C: float,
    fit_intercept: bool,
    max_steps: int,
    theta0: np.ndarray | None = None,
) -> NewtonResult:
    """Minimise scikit-learn's L2 logistic objective by Newton steps.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(theta)`` makes one pass over the data and returns the sum
        of :func:`chunk_newton_terms` over its chunks.
    n_features, n_classes : int
    C : float
        Inverse penalty strength, finite and > 0.
    fit_intercept : bool
        Without it the intercepts stay 0.
    max_steps : int
        Most Newton steps (scikit-learn's ``max_iter``).
    theta0 : ndarray of shape (1 or n_classes, n_features + 1), optional
        Starting point; zeros (scikit-learn's) by default.

    Returns
    -------
    NewtonResult
    """
    if not math.isfinite(C) or C <= 0:
        raise ValueError(f"minimise_newton needs a finite C > 0, got {C}")
    rows = 1 if n_classes == 2 else n_classes
    theta = (
        np.zeros((rows, n_features + 1))
        if theta0 is None
        else np.array(theta0, dtype=np.float64, copy=True)
    )
    previous: tuple[np.ndarray, float, np.ndarray] | None = None
    halvings = passes = steps = 0
    objective = math.inf
    converged = False
    decrements: list[float] = []
    while True:
        passes += 1
        data = split_terms(evaluate(theta), n_features, n_classes)
        objective, gradient, hessian = _penalised(data, theta, C)
        if previous is not None and not objective <= previous[1] * (1 + 1e-14) + 1e-300:
            if halvings >= MAX_HALVINGS:  # no decrease left at rounding level: stay
                theta, objective = previous[0], previous[1]
                break
            halvings += 1
            base, value, step = previous
            step = step / 2
            previous = (base, value, step)
            theta = base + step
            continue
        if steps >= max_steps:
            break
        step = _newton_step(gradient, hessian, fit_intercept)
        decrement = -float(np.sum(gradient * step))
        decrements.append(decrement / max(abs(objective), 1.0))
        previous = (theta, objective, step)
        theta = theta + step
        steps += 1
        converged = decrement <= DECREMENT_RTOL * max(abs(objective), 1.0)
        if converged:
            break
    return NewtonResult(theta, passes, steps, objective, converged, decrements)
