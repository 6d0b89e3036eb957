"""PCA on Spark MLlib.

A lone PCA fit is one pass: MLlib's ``RowMatrix.computeGramianMatrix`` over
the rows ``[x - shift, 1]`` gives the column sums, the row count and the
Gram matrix at once, hence the means and the covariance; the driver
eigendecomposes the (p x p) covariance as ``pyspark.ml.feature.PCA`` does
(which needs two passes: column statistics, then the covariance, through
the same ``RowMatrix``). The shift is the first row, so the sums of squares
do not cancel when the means are large against the spread. The rows are
checked inside that pass (``prepare(check_in_fit=True)``). In a pipeline,
PCA is the ``pyspark.ml.feature.PCA`` stage of a ``pyspark.ml.Pipeline``,
fed with centred vectors and the moments of the check job.

The mapping (:data:`PARAMETER_TABLE` holds the same row)
--------------------------------------------------------

PCA → ``pyspark.ml.feature.PCA``: ``k = n_components`` (None → min(n, p); a float
in (0, 1) → every component is computed and the smallest k whose cumulative
explained variance ratio exceeds it is kept, as scikit-learn). ``whiten=True``
and ``n_components='mle'`` are not supported. Every ``svd_solver`` gives the
exact result (Spark eigendecomposes the covariance matrix).
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from ...data.validate import MAX_ABS_VALUE, step_output_message
from ...exceptions import DataError, InvalidParameterError
from .algorithm import Algorithm
from .params import _unsupported
from .stats import gramian_moments

if TYPE_CHECKING:
    from ...engines.base import FitTask
    from .convert import Prepared

#: (algorithm, scikit-learn parameter, Spark MLlib parameter or rule)
PARAMETER_TABLE: tuple[tuple[str, str, str], ...] = (
    ("PCA", "n_components", "k (None -> min(n, p); float -> chosen from all components)"),
)

_PCA_SOLVERS = ("auto", "full", "covariance_eigh", "arpack", "randomized")

#: The output column of a PCA stage.
PCA_OUTPUT = "__so_pca"


class PCAAlgorithm(Algorithm):
    """PCA: ``k`` components of the centred data, signs as scikit-learn."""

    def fit(
        self,
        spark: Any,
        params: dict[str, Any],
        prepared: Prepared,
        frame: Any,
        features: str,
        n_features: int,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """One Gramian pass, then the eigendecomposition on the driver."""
        k = self.k(params, prepared.n_rows, n_features)
        means, covariance, n_rows = gramian_moments(spark, frame, prepared.raw_columns)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        order = np.argsort(eigenvalues)[::-1][:k]
        eigenvalues = np.clip(eigenvalues, 0.0, None)
        variances = np.clip(np.diag(covariance), 0.0, None)
        total = float(variances.sum())
        ratio = eigenvalues[order] / total if total > 0 else np.zeros(len(order))
        state = pca_state(
            eigenvectors[:, order],
            ratio,
            params.get("n_components"),
            means,
            variances,
            n_rows,
        )
        return state, {"solver": "gramian"}

    def k(self, params: dict[str, Any], n_rows: int, n_features: int) -> int:
        """Components Spark computes (all of them for a float ``n_components``)."""
        n_components = params.get("n_components")
        k = pca_k(n_components, n_rows, n_features)
        limit = min(n_rows, n_features)
        if k is None:
            return n_features
        if not 1 <= k <= limit:
            raise InvalidParameterError(
                f"n_components={n_components} must be between 1 and min(n_samples, "
                f"n_features)={limit} with svd_solver={params.get('svd_solver', 'auto')!r}"
            )
        return k

    def stage(
        self, params: dict[str, Any], prepared: Prepared, features: str, n_features: int
    ) -> Any:
        from pyspark.ml.feature import PCA

        k = self.k(params, prepared.n_rows, n_features)
        return PCA(k=k, inputCol=features, outputCol=PCA_OUTPUT)

    def state(
        self, model: Any, params: dict[str, Any], prepared: Prepared, n_features: int
    ) -> dict[str, Any]:
        return pca_state(
            np.asarray(model.pc.toArray()),
            np.asarray(model.explainedVariance.toArray()),
            params.get("n_components"),
            prepared.means,
            prepared.variances,
            prepared.n_rows,
        )

    @staticmethod
    def signs(model: Any) -> np.ndarray:
        """+1/-1 per Spark component: Spark's output times these is scikit-learn's."""
        return sign_flip(np.asarray(model.pc.toArray()).T)

    def check_task(self, task: FitTask) -> None:
        """Raise :class:`~scaleout.exceptions.UnsupportedOnBackend` for ``whiten=True``,
        ``n_components='mle'`` or an unknown ``svd_solver``."""
        _check_pca(task.name, task.params)


# ---------------------------------------------------------------- parameters
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


# ------------------------------------------------------- fitted MLlib models
def sign_flip(components: np.ndarray) -> np.ndarray:
    """scikit-learn's ``svd_flip`` convention: each row's largest |entry| positive."""
    rows = np.arange(components.shape[0])
    signs = np.sign(components[rows, np.argmax(np.abs(components), axis=1)])
    signs[signs == 0] = 1.0
    return signs


def pca_state(
    pc: np.ndarray,
    ratio: np.ndarray,
    n_components: Any,
    means: np.ndarray,
    variances: np.ndarray,
    n_rows: int,
) -> dict[str, Any]:
    """PCA's fitted attributes from Spark's ``pc`` (p x k) and ``explainedVariance``.

    Parameters
    ----------
    pc : ndarray of shape (n_features, k)
        Spark's principal components, one per column.
    ratio : ndarray of shape (k,)
        Spark's explained variance ratios (eigenvalue / trace of the covariance).
    n_components : int, float or None
        The scikit-learn parameter (a float keeps the smallest number of
        components whose cumulative ratio exceeds it).
    means, variances : ndarray of shape (n_features,)
        Column means and variances (``ddof=1``): the trace of the covariance
        is ``variances.sum()``.
    n_rows : int

    Returns
    -------
    dict
        ``components_`` (sign-normalised), ``explained_variance_``,
        ``explained_variance_ratio_``, ``singular_values_``, ``mean_``,
        ``n_components_``, ``n_samples_``, ``noise_variance_``.
    """
    p = pc.shape[0]
    total = float(np.sum(variances))
    ratio = np.asarray(ratio, dtype=np.float64)
    if isinstance(n_components, float) and 0 < n_components < 1:
        k = int(np.searchsorted(np.cumsum(ratio), n_components, side="right") + 1)
        k = min(k, len(ratio))
    else:
        k = pc.shape[1]
    components = np.array(pc.T[:k], dtype=np.float64, order="C", copy=True)
    components *= sign_flip(components)[:, None]
    explained = ratio[:k] * total
    keep = min(n_rows, p)
    noise = (total - explained.sum()) / (keep - k) if k < keep else 0.0
    return {
        "components_": components,
        "explained_variance_": explained,
        "explained_variance_ratio_": ratio[:k].copy(),
        "singular_values_": np.sqrt(np.maximum(explained, 0.0) * (n_rows - 1)),
        "mean_": np.asarray(means, dtype=np.float64),
        "n_components_": int(k),
        "n_samples_": int(n_rows),
        "noise_variance_": float(max(noise, 0.0)),
    }


def check_pca_output(frame: Any, state: dict[str, Any], consumer: str, source: str) -> None:
    """Refuse a pipeline's PCA output that the next step cannot take.

    The data check saw the pipeline's input; PCA's projections of valid data
    can exceed :data:`~scaleout.data.validate.MAX_ABS_VALUE`, which MLlib would
    fit without a word (coefficients ~1e-141 or exactly 0). On centred input
    each output column ``k`` is bounded by its singular value
    ``sqrt((n - 1) * explained_variance_[k])``: no Spark job when every bound
    is within the limit (nearly always); otherwise one aggregation of the
    columns' largest magnitudes.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        With the PCA stage's output column (:data:`PCA_OUTPUT`).
    state : dict
        The PCA's fitted state (:func:`pca_state`).
    consumer : str
        The next step's class name.
    source : str
        The data's description, for the message.

    Raises
    ------
    DataError
        Naming PCA as pipeline step 0, the output column and its largest magnitude.
    """
    bounds = np.asarray(state["singular_values_"], dtype=np.float64)
    suspect = [j for j, bound in enumerate(bounds) if not bound <= MAX_ABS_VALUE]
    if not suspect:
        return
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    values = vector_to_array(F.col(PCA_OUTPUT))
    tops = frame.select(*[F.max(F.abs(values[j])).alias(f"m{j}") for j in suspect]).first()
    where = "" if source.startswith("in-memory") else f" in {source}"
    for j in suspect:
        top = tops[f"m{j}"]
        if top is None:
            continue
        if math.isnan(top) or math.isinf(top):
            problem = f"contains {'NaN' if math.isnan(top) else 'infinity'}"
        elif top > MAX_ABS_VALUE:
            problem = f"has values too large for float64 arithmetic: |x| up to {top:.3g}"
        else:
            continue
        raise DataError(step_output_message("PCA", 0, consumer, j, problem, where))
