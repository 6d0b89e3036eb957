"""PCA out of core: one pass of centred scatter, then an eigendecomposition.

The eigenvalues of the centred scatter are the squared singular values of
the centred data and its eigenvectors the right singular vectors: this is
scikit-learn's ``svd_solver="covariance_eigh"`` (its default for tall data),
computed from one pass, with scikit-learn's sign convention (``svd_flip``
with ``u_based_decision=False``: the largest absolute entry of each
component is positive).
"""

from __future__ import annotations

import numbers
from functools import partial
from typing import Any

import numpy as np

from ..exceptions import InvalidParameterError, UnsupportedOnBackend
from .passes import Passes
from .scatter import chunk_scatter, merge, sorted_eigh

SUPPORTED_SOLVERS = ("auto", "full", "covariance_eigh", "arpack", "randomized")


def check_pca_params(params: dict[str, Any], *, backend: str = "dask") -> None:
    """Raise UnsupportedOnBackend for PCA options the kernel cannot honour.

    Parameters
    ----------
    params : dict
        ``PCA.get_params()``.
    backend : str, default="dask"
        The engine running the kernel, named in the messages.
    """
    n_components = params.get("n_components")
    if n_components == "mle":
        raise UnsupportedOnBackend(
            f"PCA(n_components='mle') is not supported by backend '{backend}'; supported: an int, "
            "a float in (0, 1), or None"
        )
    if params.get("svd_solver", "auto") not in SUPPORTED_SOLVERS:
        raise UnsupportedOnBackend(
            f"PCA(svd_solver={params['svd_solver']!r}) is not supported by backend '{backend}'; "
            f"supported: {SUPPORTED_SOLVERS} (all computed exactly)"
        )


def check_n_components(
    n_components: Any, n_rows: int | None, n_features: int, svd_solver: str = "auto"
) -> None:
    """Raise scikit-learn's error for an int ``n_components`` out of range.

    scikit-learn's PCA accepts ``0 <= n_components <= min(n_samples,
    n_features)`` (``1 <=`` for ``svd_solver`` "arpack" and "randomized", and
    strictly below the minimum for "arpack").

    Parameters
    ----------
    n_components : int, float, str or None
        Only an int is checked.
    n_rows : int or None
        Rows of the data; None when not known yet (then only ``n_features``
        bounds it).
    n_features : int
    svd_solver : str, default="auto"

    Raises
    ------
    InvalidParameterError
        Naming ``n_components``, the limit and the solver.
    """
    if not isinstance(n_components, numbers.Integral) or isinstance(n_components, bool):
        return
    limit = n_features if n_rows is None else min(n_rows, n_features)
    low = 1 if svd_solver in ("arpack", "randomized") else 0
    high = limit - 1 if svd_solver == "arpack" else limit
    if low <= n_components <= high:
        return
    bound = "n_features" if n_rows is None else "min(n_samples, n_features)"
    raise InvalidParameterError(
        f"PCA(n_components={n_components}) must be between {low} and {bound}={limit}"
        f"{' (exclusive)' if svd_solver == 'arpack' else ''} with svd_solver={svd_solver!r}: "
        f"the data has {n_features} features"
        + ("" if n_rows is None else f" and {n_rows} rows")
        + ". Choose a smaller n_components (or None for all components)."
    )


def _n_components(n_components: Any, ratio: np.ndarray, n_rows: int, n_features: int) -> int:
    if n_components is None:
        return min(n_rows, n_features)
    if isinstance(n_components, float) and 0 < n_components < 1:
        # as scikit-learn: the smallest k whose cumulative ratio exceeds the target
        cumulative = np.cumsum(ratio)
        return int(np.searchsorted(cumulative, n_components, side="right") + 1)
    return int(n_components)


def fit_pca(passes: Passes, params: dict[str, Any], *, backend: str = "dask") -> dict[str, Any]:
    """Fit PCA in one pass.

    Parameters
    ----------
    passes : Passes
    params : dict
        ``PCA.get_params()``.

    Returns
    -------
    dict
        ``components_``, ``explained_variance_``, ``explained_variance_ratio_``,
        ``singular_values_``, ``mean_``, ``n_components_``, ``n_samples_``,
        ``noise_variance_`` as scikit-learn defines them.
    """
    check_pca_params(params, backend=backend)
    if passes.weighted:
        raise UnsupportedOnBackend(
            f"PCA.fit(sample_weight=...) is not supported by backend '{backend}'; "
            "supported: sample_weight=None (scikit-learn's PCA takes no sample_weight)"
        )
    check_n_components(
        params.get("n_components"),
        passes.n_rows,
        passes.n_features,
        params.get("svd_solver", "auto"),
    )
    passes.expect_passes(1)  # one pass: nothing is kept
    stats = passes.map_reduce(
        partial(chunk_scatter, with_target=False), label="centred scatter", combine=merge
    )
    n, p = stats.n, passes.n_features
    eigenvalues, vectors = sorted_eigh(stats.M)
    Vt = vectors.T
    signs = np.sign(Vt[np.arange(len(Vt)), np.argmax(np.abs(Vt), axis=1)])
    signs[signs == 0] = 1.0
    Vt *= signs[:, None]
    singular = np.sqrt(eigenvalues)
    # The scatter is p x p, but the data has rank <= n - 1 after centring: as
    # scikit-learn, keep min(n, p) components.
    keep = min(n, p)
    singular, Vt = singular[:keep], Vt[:keep]
    variance = singular**2 / (n - 1)
    total = variance.sum()
    ratio = variance / total if total > 0 else np.zeros_like(variance)
    k = _n_components(params.get("n_components"), ratio, n, p)
    noise = float(variance[k:].mean()) if k < min(n, p) else 0.0
    return {
        "components_": Vt[:k].copy(),
        "explained_variance_": variance[:k].copy(),
        "explained_variance_ratio_": ratio[:k].copy(),
        "singular_values_": singular[:k].copy(),
        "mean_": stats.mean,
        "n_components_": k,
        "n_samples_": n,
        "noise_variance_": noise,
    }
