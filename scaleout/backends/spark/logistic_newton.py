"""Newton's method for scikit-learn's L2 logistic objective, one Spark pass a step.

MLlib's L-BFGS (Breeze) stops on a relative change of the objective's value,
so it ends about √ε from the optimum (weights and repeated rows then differ by
4e-7 relative), and on a column of tiny spread its line searches fail and it
returns coefficients far from the optimum, without a word. From MLlib's
answer, a few Newton steps reach scikit-learn's optimum to rounding:

    F(θ) = Σ s_i l_i(θ) + ‖W‖² / (2 C)

(``F`` is scikit-learn's objective times ``Σ s_i``: the same minimiser), with
``l`` the half binomial loss (two classes, one coefficient row) or the half
multinomial loss (three or more, the full symmetric rows). Each step is one
MLlib ``RowMatrix`` Gramian pass (:func:`~scaleout.backends.spark.stats.gramian`)
over columns built by SQL expressions from the current coefficients, whose
blocks hold the data parts of the Hessian, the gradient and ``F``:

- two classes: ``[√(s p (1-p)) x̃, x̃, s (p - y), s l]``, ``x̃ = [x, 1]``;
- K classes: ``[√(s p_k) x̃ (each k), √s p ⊗ x̃, x̃, s (p_k - y_k) (each k), s l]``,
  the Hessian being ``Σ s (diag(p) - p pᵀ) ⊗ x̃ x̃ᵀ``.

A step is accepted when ``F`` did not grow (else halved); the method stops,
after taking the last step, when the Newton decrement ``-gᵀδ`` is below
``1e-9 F`` (:data:`DECREMENT_RTOL`; by quadratic convergence the decrement after
it is of order ``1e-18 F``): one pass from MLlib's answer at 100,000 rows, two on
small data sets. The Gramian has ``2 (p + 1) + 2`` columns for two classes and
``(2K + 1)(p + 1) + K + 1`` for K: above :data:`MAX_GRAMIAN_COLUMNS` the
MLlib answer is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .compat import select_exprs
from .convert import LABEL, WEIGHT
from .stats import gramian

__all__ = ["MAX_GRAMIAN_COLUMNS", "NewtonResult", "gramian_columns", "newton_logistic"]

MAX_GRAMIAN_COLUMNS = 1024
"""Widest Gramian of a Newton pass (its packed triangle is 4 MiB a partition)."""

DECREMENT_RTOL = 1e-9
"""Take one last step and stop once the Newton decrement is below this share of the
objective: the decrement after the step is about its square (measured: at most 3 d²
on the parity data sets, e.g. 1.3e-4 → 3.5e-8 → 2.8e-15), so the coefficients are then
within about 1e-9 of the optimum, relative."""

MAX_STEPS = 50
MAX_HALVINGS = 40


@dataclass
class NewtonResult:
    """Coefficients at the optimum and how many passes reached it."""

    coef: np.ndarray
    intercept: np.ndarray
    passes: int
    objective: float
    converged: bool
    decrements: list[float]


def gramian_columns(n_features: int, n_classes: int) -> int:
    """Width of a Newton pass's Gramian for these data."""
    width = n_features + 1
    if n_classes == 2:
        return 2 * width + 2
    return (2 * n_classes + 1) * width + n_classes + 1


def _literal(value: float) -> str:
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def _linear(columns: list[str], coef: np.ndarray, intercept: float) -> str:
    terms = [f"{c} * {_literal(w)}" for c, w in zip(columns, coef, strict=True) if w != 0.0]
    return " + ".join([_literal(intercept), *terms])


def _select(frame: Any, *exprs: str) -> Any:
    """``frame.selectExpr(*exprs)`` in a few Py4J round trips."""
    return select_exprs(frame, list(exprs))


def _aliases(exprs: list[str]) -> list[str]:
    return [e.rsplit(" AS ", 1)[1] for e in exprs]


def _softplus(z: str) -> str:
    """``log(1 + exp(z))`` without overflow."""
    return f"(GREATEST({z}, 0D) + LOG1P(EXP(-ABS({z}))))"


class _Pass:
    """Builds one step's Gramian columns and reads F, gradient and Hessian back."""

    def __init__(
        self, spark: Any, frame: Any, columns: list[str], n_classes: int, weighted: bool
    ) -> None:
        self.spark, self.frame, self.columns = spark, frame, columns
        self.K, self.p = n_classes, len(columns)
        self.s = WEIGHT if weighted else "CAST(1.0 AS DOUBLE)"

    def evaluate(self, coef: np.ndarray, intercept: np.ndarray) -> tuple[float, ...]:
        """``(F_data, gradient, Hessian)`` of the data part, in the layout of :meth:`pack`."""
        if self.K == 2:
            return self._binary(coef[0], float(intercept[0]))
        return self._multinomial(coef, intercept)

    def _xt(self) -> list[str]:
        return [*self.columns, "CAST(1.0 AS DOUBLE)"]

    def _binary(self, coef: np.ndarray, intercept: float) -> tuple[Any, ...]:
        z = _select(
            self.frame,
            *self.columns,
            LABEL,
            f"{self.s} AS __so_s",
            f"{_linear(self.columns, coef, intercept)} AS __so_z",
        )
        prob = _select(
            z,
            *self.columns,
            LABEL,
            "__so_s",
            "__so_z",
            "1D / (1D + EXP(-__so_z)) AS __so_p",
        )
        xt = self._xt()
        width = self.p + 1
        exprs = [
            *(
                f"SQRT(__so_s * __so_p * (1D - __so_p)) * {x} AS __so_a{j}"
                for j, x in enumerate(xt)
            ),
            *(f"{x} AS __so_x{j}_" for j, x in enumerate(xt)),
            f"__so_s * (__so_p - {LABEL}) AS __so_r",
            f"__so_s * ({_softplus('__so_z')} - {LABEL} * __so_z) AS __so_l",
        ]
        cols = _select(prob, *exprs)
        G = gramian(self.spark, cols, _aliases(exprs))
        hessian = G[:width, :width]
        gradient = G[width : 2 * width, 2 * width]
        objective = float(G[2 * width - 1, 2 * width + 1])
        return objective, gradient[None, :], hessian

    def _multinomial(self, coef: np.ndarray, intercept: np.ndarray) -> tuple[Any, ...]:
        K = self.K
        zs = [
            f"{_linear(self.columns, coef[k], float(intercept[k]))} AS __so_z{k}" for k in range(K)
        ]
        z = _select(self.frame, *self.columns, LABEL, f"{self.s} AS __so_s", *zs)
        top = f"GREATEST({', '.join(f'__so_z{k}' for k in range(K))})"
        shifted = _select(
            z, *self.columns, LABEL, "__so_s", *(f"__so_z{k}" for k in range(K)), f"{top} AS __so_m"
        )
        exps = _select(
            shifted,
            *self.columns,
            LABEL,
            "__so_s",
            "__so_m",
            *(f"__so_z{k}" for k in range(K)),
            *(f"EXP(__so_z{k} - __so_m) AS __so_e{k}" for k in range(K)),
        )
        total = " + ".join(f"__so_e{k}" for k in range(K))
        picked = "CASE " + " ".join(f"WHEN {LABEL} = {k} THEN __so_z{k}" for k in range(K)) + " END"
        probs = _select(
            exps,
            *self.columns,
            LABEL,
            "__so_s",
            *(f"__so_e{k} / ({total}) AS __so_p{k}" for k in range(K)),
            f"__so_m + LOG({total}) - ({picked}) AS __so_loss",
        )
        xt = self._xt()
        exprs = [
            *(
                f"SQRT(__so_s * __so_p{k}) * {x} AS __so_a{k}_{j}"
                for k in range(K)
                for j, x in enumerate(xt)
            ),
            *(
                f"SQRT(__so_s) * __so_p{k} * {x} AS __so_b{k}_{j}"
                for k in range(K)
                for j, x in enumerate(xt)
            ),
            *(f"{x} AS __so_x{j}_" for j, x in enumerate(xt)),
            *(
                f"__so_s * (__so_p{k} - CASE WHEN {LABEL} = {k} THEN 1D ELSE 0D END) AS __so_r{k}"
                for k in range(K)
            ),
            "__so_s * __so_loss AS __so_l",
        ]
        cols = _select(probs, *exprs)
        G = gramian(self.spark, cols, _aliases(exprs))
        width = self.p + 1
        size = K * width
        hessian = -G[size : 2 * size, size : 2 * size]
        for k in range(K):
            block = slice(k * width, (k + 1) * width)
            hessian[block, block] += G[block, block]
        x0 = 2 * size
        r0 = x0 + width
        gradient = np.stack([G[x0 : x0 + width, r0 + k] for k in range(K)])
        objective = float(G[x0 + width - 1, r0 + K])
        return objective, gradient, hessian


def _penalised(
    data: tuple[float, np.ndarray, np.ndarray], coef: np.ndarray, C: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """Add ``‖W‖² / (2C)``; the gradient as an array ``(rows, p + 1)``, Hessian to match."""
    objective, gradient, hessian = data
    objective = objective + 0.5 * float(np.sum(coef * coef)) / C
    gradient = gradient.copy()
    gradient[:, :-1] += coef / C
    hessian = hessian.copy()
    width = coef.shape[1] + 1
    for k in range(gradient.shape[0]):
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
        # the intercepts of K classes share one direction of zero curvature
        # (their common shift); lstsq gives the step orthogonal to it
        step = -np.linalg.lstsq(H, g, rcond=None)[0]
    except np.linalg.LinAlgError:
        step = np.zeros_like(g)
    full = np.zeros(rows * width)
    full[mask] = step
    return full.reshape(rows, width)


def newton_logistic(
    spark: Any,
    frame: Any,
    columns: list[str],
    n_classes: int,
    coef: np.ndarray,
    intercept: np.ndarray,
    *,
    C: float,
    fit_intercept: bool,
    weighted: bool,
) -> NewtonResult:
    """Minimise scikit-learn's L2 logistic objective by Newton steps from ``(coef, intercept)``.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    frame : pyspark.sql.DataFrame
        The prepared frame: float64 ``columns``, the class index in ``LABEL``
        and, when ``weighted``, the row weights (sample times class weights)
        in ``WEIGHT``.
    columns : list of str
        The feature columns.
    n_classes : int
        Two: one coefficient row for class 1; more: one row a class.
    coef : ndarray of shape (1 or n_classes, n_features)
    intercept : ndarray of shape (1 or n_classes,)
        The starting point (MLlib's answer).
    C : float
        Inverse penalty strength (finite, > 0).
    fit_intercept : bool
    weighted : bool

    Returns
    -------
    NewtonResult
    """
    if not math.isfinite(C) or C <= 0:
        raise ValueError(f"newton_logistic needs a finite C > 0, got {C}")
    evaluator = _Pass(spark, frame, columns, n_classes, weighted)
    theta = np.hstack([coef, intercept[:, None]]).astype(np.float64)
    previous: tuple[np.ndarray, float, np.ndarray] | None = None
    halvings = passes = 0
    objective = math.inf
    converged = False
    decrements: list[float] = []
    for _ in range(MAX_STEPS + MAX_HALVINGS):
        passes += 1
        objective, gradient, hessian = _penalised(
            evaluator.evaluate(theta[:, :-1], theta[:, -1]), theta[:, :-1], C
        )
        if previous is not None and objective > previous[1] * (1 + 1e-14) + 1e-300:
            if halvings >= MAX_HALVINGS:
                theta, objective = previous[0], previous[1]
                break
            halvings += 1
            base, _, step = previous
            step = step / 2
            previous = (base, previous[1], step)
            theta = base + step
            continue
        step = _newton_step(gradient, hessian, fit_intercept)
        decrement = -float(np.sum(gradient * step))
        decrements.append(decrement / max(abs(objective), 1.0))
        previous = (theta, objective, step)
        theta = theta + step
        converged = decrement <= DECREMENT_RTOL * max(abs(objective), 1.0)
        if converged or passes >= MAX_STEPS:
            break
    return NewtonResult(
        theta[:, :-1].copy(), theta[:, -1].copy(), passes, objective, converged, decrements
    )
