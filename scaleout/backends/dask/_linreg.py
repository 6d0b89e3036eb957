"""LinearRegression out of core: one pass of TSQR on ``[X | y]``, then a small solve.

With ``R = [[R11, r12], [0, r22]]`` the factor of the centred ``[Xc | yc]``,
the least-squares coefficients solve ``R11 b = r12`` (minimum-norm when X is
rank deficient, as scikit-learn's ``lstsq`` on centred X), and the intercept
is ``mean(y) - mean(X) @ b``. ``positive=True`` solves the same triangular
system with non-negative least squares, as scikit-learn's ``nnls``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from scipy import linalg, optimize

from ...exceptions import UnsupportedOnBackend
from .passes import Passes
from .tsqr import chunk_stats, merge, merge_uncentered


def check_linear_params(params: dict[str, Any]) -> None:
    """LinearRegression has no option the dask engine cannot honour."""
    if params.get("positive") not in (True, False):
        raise UnsupportedOnBackend("LinearRegression(positive=...) must be True or False")


def fit_linear_regression(passes: Passes, params: dict[str, Any]) -> dict[str, Any]:
    """Fit ordinary least squares in one pass.

    Returns
    -------
    dict
        ``coef_``, ``intercept_``, ``rank_``, ``singular_`` as scikit-learn.
    """
    center = bool(params.get("fit_intercept", True))
    stats = passes.map_reduce(
        partial(chunk_stats, with_target=True, center=center),
        label="TSQR of [X | y]",
        combine=merge if center else merge_uncentered,
    )
    p = passes.n_features
    R11, r12 = stats.R[:p, :p], stats.R[:p, p]
    singular = linalg.svdvals(R11)
    rank = int(np.sum(singular > singular.max(initial=0) * max(R11.shape) * np.finfo(float).eps))
    if params.get("positive"):
        coef = optimize.nnls(R11, r12)[0]
    else:
        coef = linalg.lstsq(R11, r12)[0]
    intercept = float(stats.mean[p] - stats.mean[:p] @ coef) if center else 0.0
    return {"coef_": coef, "intercept_": intercept, "rank_": rank, "singular_": singular}
