"""Out-of-core LinearRegression: one scatter pass, then a small solve.

One pass computes the centred scatter of ``[X | y]`` (``scatter.py``):
``Sxx = Xcᵀ Xc`` and ``sxy = Xcᵀ yc``. With the eigendecomposition
``Sxx = V diag(λ) Vᵀ``, the coefficients are the minimum-norm least-squares
solution ``b = V diag(1/λ) Vᵀ sxy`` over the numerically non-zero ``λ``
(scikit-learn's ``lstsq`` on centred X gives the same minimum-norm solution),
the intercept ``mean(y) - mean(X) @ b``, ``singular_ = sqrt(λ)``.
``positive=True`` runs non-negative least squares on the equivalent square
system ``R b ≈ r`` (``R = diag(√λ) Vᵀ``, ``Rᵀ r = sxy``), whose objective
equals ``||Xc b - yc||²`` up to a constant, as scikit-learn's ``nnls``.

With sample weights (``Batch.weights``) the scatter is the weighted one
(weighted means, ``Σ w (z - mean)(z - mean)ᵀ``): scikit-learn's fit on rows
scaled by ``√w`` after weighted centring, so integer weights give the model
of repeated rows.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import numpy as np
from scipy import optimize

from ..exceptions import UnsupportedOnBackend
from .passes import Passes
from .scatter import Scatter, chunk_scatter, merge, merge_uncentered, sorted_eigh

__all__ = ["check_linear_params", "fit_linear_regression", "linear_solution"]


def check_linear_params(params: dict[str, Any], *, backend: str = "dask") -> None:
    """Raise for LinearRegression options the kernel cannot honour.

    Parameters
    ----------
    params : dict
        ``LinearRegression.get_params()``.
    backend : str, default="dask"
        The engine running the kernel, named in the messages.

    Raises
    ------
    UnsupportedOnBackend
        For a ``positive`` that is not a bool.
    """
    if params.get("positive") not in (True, False):
        raise UnsupportedOnBackend(
            f"LinearRegression(positive={params.get('positive')!r}) is not supported by "
            f"backend '{backend}'; supported: True, False"
        )


def fit_linear_regression(
    passes: Passes, params: dict[str, Any], *, backend: str = "dask"
) -> dict[str, Any]:
    """Fit ordinary least squares in one pass.

    Returns
    -------
    dict
        ``coef_``, ``intercept_``, ``rank_``, ``singular_`` as scikit-learn.
    """
    check_linear_params(params, backend=backend)
    center = bool(params.get("fit_intercept", True))
    passes.expect_passes(1)  # one pass: nothing is kept
    stats = passes.map_reduce(
        partial(chunk_scatter, with_target=True, center=center),
        label="scatter of [X | y]",
        combine=merge if center else merge_uncentered,
    )
    return linear_solution(stats, passes.n_features, params, backend=backend)


def linear_solution(
    stats: Scatter, n_features: int, params: dict[str, Any], *, backend: str = "dask"
) -> dict[str, Any]:
    """scikit-learn's LinearRegression attributes from the scatter of ``[X | y]``.

    Parameters
    ----------
    stats : Scatter
        The (weighted) scatter of ``[X | y]``: centred when ``fit_intercept``,
        else ``Σ w z zᵀ`` (any engine may compute it).
    n_features : int
        Columns of ``X``.
    params : dict
        ``LinearRegression.get_params()``.
    backend : str, default="dask"
        The engine, named in warnings.

    Returns
    -------
    dict
        ``coef_``, ``intercept_``, ``rank_``, ``singular_`` as scikit-learn.
    """
    p = n_features
    center = bool(params.get("fit_intercept", True))
    Sxx, sxy = stats.M[:p, :p], stats.M[:p, p]
    coef, rank = _solve_normal_equations(
        Sxx, sxy, stats.n, bool(params.get("positive")), backend
    )
    intercept = float(stats.mean[p] - stats.mean[:p] @ coef) if center else 0.0
    return {
        "coef_": coef,
        "intercept_": intercept,
        "rank_": rank,
        "singular_": np.sqrt(sorted_eigh(Sxx)[0]),
    }


def _solve_normal_equations(
    Sxx: np.ndarray, sxy: np.ndarray, n: float, positive: bool, backend: str = "dask"
) -> tuple[np.ndarray, int]:
    """Minimum-norm (or non-negative) least squares from the centred scatter.

    Columns with zero variance get coefficient 0 (as scikit-learn's
    ``lstsq``); the rest are solved in the eigenbasis of the scatter, where
    directions with eigenvalues at rounding level are the null space and are
    left out (the minimum-norm solution).
    """
    live = np.diag(Sxx) > 0
    coef = np.zeros(len(sxy))
    if not live.any():
        return coef, 0
    eigenvalues, vectors = sorted_eigh(Sxx[np.ix_(live, live)])
    # Rounding leaves eigenvalues of about eps * max|λ| * size where the data has none.
    keep = eigenvalues > eigenvalues.max() * max(n, int(live.sum())) * np.finfo(float).eps
    condition = eigenvalues[0] / eigenvalues[keep][-1]  # κ² of the centred data
    if condition > 1e12:
        warnings.warn(
            f"LinearRegression on backend '{backend}': the data is ill-conditioned (condition "
            f"number ~{np.sqrt(condition):.1e}); the one-pass scatter solution may differ "
            "from scikit-learn's SVD solution by up to ~condition² * 1e-16 relative. "
            "Fit with an intercept, rescale the features, or use backend='sklearn'.",
            RuntimeWarning,
            stacklevel=2,
        )
    basis = vectors[:, keep]
    projected = basis.T @ sxy[live]
    if positive:
        root = np.sqrt(eigenvalues[keep])
        coef[live] = optimize.nnls(root[:, None] * basis.T, projected / root)[0]
    else:
        coef[live] = basis @ (projected / eigenvalues[keep])
    return coef, int(keep.sum())
